package cache

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokClass says why a token matters to verification.
type tokClass uint8

const (
	clsWord      tokClass = iota // ordinary content word
	clsStop                      // stop or filler word: ignored
	clsNumber                    // digits, spelled numbers, ordinals
	clsIdent                     // code identifiers: snake_case, dotted.names, camelCase, x86
	clsSymbol                    // operators and signs: + - * / = < > ^ # |
	clsEntity                    // names: capitalised words, acronyms
	clsNegation                  // not, never, without, ...
	clsQuestion                  // who, where, when, why, how
	clsModal                     // can, should, must (when not a "can you" wrapper)
	clsDirection                 // comparatives, antonym pairs, directions
	clsUnit                      // units and currencies
	clsDate                      // months, weekdays, relative days
)

// critical reports whether tokens of class c must match exactly, never by typo.
func (c tokClass) critical() bool { return c >= clsNumber }

// token is one analysed word.
type token struct {
	norm  string
	class tokClass
}

// textInfo is the analysis of one compared text.
type textInfo struct {
	tokens []token
	// capitalised holds words capitalised at the start of a sentence that are not common
	// question openers: maybe names ("Paris: ..."), maybe not ("Tips for ..."). They are
	// ordinary content words, but critical verification requires them too.
	capitalised []string
}

// rawTok is a token as cut from the text, before classification.
type rawTok struct {
	s             string
	sentenceStart bool
	symbol        bool
}

// analyzeText cuts text into classified tokens: contractions expanded ("what's" is
// "what is", "don't" is "do not"), spelled numbers turned into digits, plurals reduced,
// case folded (keeping capitalisation only as a sign of a name).
func analyzeText(text string) textInfo {
	raws := cutTokens(text)
	shouting := mostlyUpper(text)
	var out []token
	var caps []string
	for i, r := range raws {
		if r.symbol {
			out = append(out, symbolToken(r.s))
			continue
		}
		for _, part := range expandContraction(r.s) {
			next := ""
			if i+1 < len(raws) {
				next = strings.ToLower(raws[i+1].s)
			}
			start := r.sentenceStart && part == firstPart(r.s)
			tok := classify(part, start, shouting, next)
			if start && tok.class == clsWord && !shouting && isName(part, strings.ToLower(part), true) {
				caps = append(caps, tok.norm)
			}
			out = append(out, tok)
		}
	}
	return textInfo{tokens: out, capitalised: caps}
}

func firstPart(s string) string {
	if p := expandContraction(s); len(p) > 0 {
		return p[0]
	}
	return s
}

// cutTokens splits text into words, numbers, identifiers and symbols.
func cutTokens(text string) []rawTok {
	var out []rawTok
	start := -1
	sentenceStart := true
	tokStart := false
	flush := func(end int) {
		if start >= 0 {
			out = append(out, rawTok{s: text[start:end], sentenceStart: tokStart})
			start = -1
			sentenceStart = false
		}
	}
	for i := 0; i < len(text); {
		r, w := utf8.DecodeRuneInString(text[i:])
		prev, _ := utf8.DecodeLastRuneInString(text[:i])
		next, _ := utf8.DecodeRuneInString(text[i+w:])
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			if start < 0 {
				start, tokStart = i, sentenceStart
			}
		case (r == '\'' || r == '’') && start >= 0 && unicode.IsLetter(next):
			// inside a contraction or possessive: keep
		case (r == '.' || r == ',') && start >= 0 && unicode.IsDigit(prev) && unicode.IsDigit(next):
			// 3.14, 1,000: keep (commas are dropped when classifying)
		case r == '.' && start >= 0 && isAlnum(prev) && unicode.IsLetter(next):
			// os.path.join: keep
		case r == '-' && start >= 0 && isAlnum(prev) && isAlnum(next) && !(unicode.IsDigit(prev) && unicode.IsDigit(next)):
			flush(i) // hyphenated word: two tokens
		case strings.ContainsRune("+-*/=<>^#|%$€£&~@", r):
			flush(i)
			out = append(out, rawTok{s: text[i : i+w], symbol: true})
		default:
			flush(i)
			if strings.ContainsRune(".!?:;\n", r) {
				sentenceStart = true
			}
		}
		i += w
	}
	flush(len(text))
	return out
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// mostlyUpper reports whether the text is written mostly in capitals, in which case
// capitalisation says nothing about names.
func mostlyUpper(text string) bool {
	up, letters := 0, 0
	for _, r := range text {
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsUpper(r) {
				up++
			}
		}
	}
	return letters > 0 && up*2 > letters
}

// symbolToken classifies a one-character symbol; currency signs and % become units.
func symbolToken(s string) token {
	switch s {
	case "%":
		return token{"percent", clsUnit}
	case "$":
		return token{"usd", clsUnit}
	case "€":
		return token{"eur", clsUnit}
	case "£":
		return token{"gbp", clsUnit}
	case "&":
		return token{"and", clsStop}
	}
	return token{s, clsSymbol}
}

// expandContraction splits "what's" into what+is, "don't" into do+not, "France's" into
// France; other words come back alone.
func expandContraction(s string) []string {
	i := strings.IndexAny(s, "'’")
	if i < 0 {
		return []string{s}
	}
	base, suffix := s[:i], strings.ToLower(strings.TrimLeft(s[i:], "'’"))
	lower := strings.ToLower(s)
	lower = strings.ReplaceAll(lower, "’", "'")
	if strings.HasSuffix(lower, "n't") {
		switch lower {
		case "can't":
			return []string{"can", "not"}
		case "won't":
			return []string{"will", "not"}
		case "shan't":
			return []string{"shall", "not"}
		case "ain't":
			return []string{"is", "not"}
		}
		return []string{s[:len(s)-3], "not"}
	}
	switch suffix {
	case "re":
		return []string{base, "are"}
	case "ll":
		return []string{base, "will"}
	case "ve":
		return []string{base, "have"}
	case "m":
		return []string{base, "am"}
	case "d":
		return []string{base, "would"}
	case "s":
		switch strings.ToLower(base) {
		case "what", "who", "where", "how", "it", "that", "there", "here", "he", "she", "when", "why":
			return []string{base, "is"}
		case "let":
			return []string{base, "us"}
		}
		return []string{base} // possessive
	}
	return []string{base + suffix}
}

// classify turns one word into a token. next is the following raw token, lower-cased.
func classify(w string, sentenceStart, shouting bool, next string) token {
	lower := strings.ToLower(w)
	if isNumeric(lower) {
		return token{strings.ReplaceAll(lower, ",", ""), clsNumber}
	}
	if d, ok := numberWords[lower]; ok {
		return token{d, clsNumber}
	}
	if isIdentifier(w) {
		return token{lower, clsIdent}
	}
	stem := stemWord(lower)
	switch {
	case negationWords[lower]:
		return token{"not", clsNegation}
	case questionWords[lower]:
		return token{lower, clsQuestion}
	case modalWords[lower]:
		if next == "you" || next == "u" {
			return token{lower, clsStop}
		}
		return token{lower, clsModal}
	case dateWords[lower]:
		return token{lower, clsDate}
	case unitWords[lower] || unitWords[stem]:
		return token{stem, clsUnit}
	case directionWords[lower]:
		return token{lower, clsDirection}
	case fillerWords[lower]:
		return token{lower, clsStop}
	case !shouting && !sentenceStart && isName(w, lower, false):
		return token{lower, clsEntity} // a capitalised stop word ("US", "IT") is a name too
	case stopWords[lower]:
		return token{lower, clsStop}
	}
	return token{stem, clsWord}
}

// isNumeric reports whether s is digits (with . or , separators) or an ordinal (1st).
func isNumeric(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || c == ',':
		default:
			if digits > 0 && i == len(s)-2 {
				switch s[i:] {
				case "st", "nd", "rd", "th":
					return true
				}
			}
			return false
		}
	}
	return digits > 0
}

// isIdentifier reports code-like tokens: snake_case, dotted.names, letters mixed with
// digits (x86, utf8, E1101), camelCase.
func isIdentifier(w string) bool {
	if strings.ContainsAny(w, "_.") {
		return true
	}
	var letter, digit, lowerSeen, camel bool
	for i, r := range w {
		switch {
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsLetter(r):
			letter = true
			if unicode.IsLower(r) {
				lowerSeen = true
			} else if lowerSeen && i > 0 {
				camel = true
			}
		}
	}
	return (letter && digit) || camel
}

// isName reports capitalised words taken as names: an acronym (two or more capitals), or
// a capitalised word that is not the first of a sentence, or is first but not a common
// question opener (the caller treats that last case as only maybe a name).
func isName(w, lower string, sentenceStart bool) bool {
	r, _ := utf8.DecodeRuneInString(w)
	if !unicode.IsUpper(r) {
		return false
	}
	upper := 0
	for _, c := range w {
		if unicode.IsUpper(c) {
			upper++
		}
	}
	if upper >= 2 && upper == utf8.RuneCountInString(w) {
		return !fillerWords[lower]
	}
	if !sentenceStart {
		return !stopWords[lower] && !fillerWords[lower]
	}
	return !sentenceVerbs[lower] && !stopWords[lower] && !fillerWords[lower] &&
		!questionWords[lower] && !modalWords[lower] && !negationWords[lower]
}

// stemWord reduces an English plural to its singular, conservatively.
func stemWord(w string) string {
	n := len(w)
	switch {
	case n <= 3:
		return w
	case strings.HasSuffix(w, "ies") && n > 4:
		return w[:n-3] + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "xes"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"):
		return w[:n-2]
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"), strings.HasSuffix(w, "is"):
		return w
	case w[n-1] == 's':
		return w[:n-1]
	}
	return w
}
