package cache

import (
	"slices"
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
	brk   bool   // punctuation (a clause break) comes before it
	chunk uint16 // its phrase: a new one starts at each clause break, role marker and "or"
}

// textInfo is the analysis of one compared text.
type textInfo struct {
	tokens []token
	// capitalised holds words capitalised at the start of a sentence that are not common
	// question openers: maybe names ("Paris: ..."), maybe not ("Tips for ..."). They are
	// ordinary content words, but critical verification requires them too.
	capitalised []string
	// places are the words the order guard compares (placed, once in the text), sorted
	// by word; roles are each role marker with the word after it, sorted.
	places []place
	roles  []roleWord
}

// rawTok is a token as cut from the text, before classification.
type rawTok struct {
	s             string
	sentenceStart bool
	symbol        bool
	brk           bool // punctuation since the previous token
}

// analyzeText analyses text with the built-in lexicon alone (see lexicon.analyze).
func analyzeText(text string) textInfo { return (*lexicon)(nil).analyze(text) }

// analyze cuts text into classified tokens: contractions expanded ("what's" is "what
// is", "don't" and "dont" are "do not"), spelled numbers turned into digits, plurals
// reduced, words replaced by their lexicon entry ("purchase" is "buy", "learning" is
// "learn"), case folded (keeping capitalisation only as a sign of a name), a possessive
// put after what it owns with an "of" ("France's capital" is "capital of France"), and
// each token given its phrase (token.chunk) for the order guard. lx may be nil.
func (lx *lexicon) analyze(text string) textInfo {
	raws := cutTokens(text)
	shouting := mostlyUpper(text)
	out := make([]token, 0, len(raws)+2)
	var caps []string
	var possessives []int
	for i, r := range raws {
		if r.symbol {
			tok := symbolToken(r.s)
			tok.brk = r.brk
			out = append(out, tok)
			continue
		}
		parts, possessive := splitWord(r.s)
		for j, part := range parts {
			next := ""
			if i+1 < len(raws) {
				next = strings.ToLower(raws[i+1].s)
			}
			start := r.sentenceStart && j == 0
			tok := lx.classify(part, start, shouting, next)
			tok.brk = r.brk && j == 0
			if start && tok.class == clsWord && !shouting && isName(part, strings.ToLower(part), true) {
				caps = append(caps, tok.norm)
			}
			if possessive && (tok.class == clsWord || tok.class == clsEntity) {
				possessives = append(possessives, len(out))
			}
			out = append(out, tok)
		}
	}
	out = movePossessives(out, possessives)
	markChunks(out)
	return textInfo{tokens: out, capitalised: caps, places: places(out), roles: roles(out)}
}

// splitWord expands a contraction (with or without its apostrophe) into its words and
// reports whether the word was a possessive ("France's").
func splitWord(s string) (parts []string, possessive bool) {
	lower := strings.ToLower(s)
	if p, ok := bareContractions[lower]; ok && (s == lower || len(s) > 1 && s[1:] == lower[1:]) {
		return p, false
	}
	parts = expandContraction(s)
	if i := strings.IndexAny(s, "'’"); i >= 0 && len(parts) == 1 {
		possessive = strings.ToLower(strings.TrimLeft(s[i:], "'’")) == "s"
	}
	return parts, possessive
}

// movePossessives rewrites each possessive at the given indexes (ascending) as "of" and
// the possessor after the words it owns: "the dog's big owner" is "the big owner of
// dog", so that it compares with "the owner of the dog" and not with "the dog of the
// owner". A possessive followed by no content word stays where it is.
func movePossessives(ts []token, at []int) []token {
	for k := len(at) - 1; k >= 0; k-- {
		i := at[k]
		end := i + 1
		for end < len(ts) && !ts[end].brk && placed(ts[end].class) && !roleMarkers[ts[end].norm] {
			end++
		}
		if end == i+1 {
			continue
		}
		owner := ts[i]
		ts[i+1].brk, owner.brk = owner.brk, false
		moved := append([]token{}, ts[i+1:end]...)
		moved = append(moved, token{norm: "of", class: clsStop}, owner)
		ts = slices.Replace(ts, i, end, moved...)
	}
	return ts
}

// markChunks numbers the phrases of ts: a phrase starts at a clause break, at a role
// marker and at "or".
func markChunks(ts []token) {
	var chunk uint16
	for i := range ts {
		if i > 0 && (ts[i].brk || roleMarkers[ts[i].norm] || ts[i].norm == "or") {
			chunk++
		}
		ts[i].chunk = chunk
	}
}

// cutTokens splits text into words, numbers, identifiers and symbols.
func cutTokens(text string) []rawTok {
	var out []rawTok
	start := -1
	sentenceStart := true
	tokStart, brk, tokBrk := false, false, false
	flush := func(end int) {
		if start >= 0 {
			out = append(out, rawTok{s: text[start:end], sentenceStart: tokStart, brk: tokBrk})
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
				start, tokStart, tokBrk, brk = i, sentenceStart, brk, false
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
			out = append(out, rawTok{s: text[i : i+w], symbol: true, brk: brk})
			brk = false
		default:
			flush(i)
			if strings.ContainsRune(".!?:;\n", r) {
				sentenceStart = true
			}
			if strings.ContainsRune(".,!?:;()[]{}\"“”—–\n", r) {
				brk = true
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
		return token{norm: "percent", class: clsUnit}
	case "$":
		return token{norm: "usd", class: clsUnit}
	case "€":
		return token{norm: "eur", class: clsUnit}
	case "£":
		return token{norm: "gbp", class: clsUnit}
	case "&":
		return token{norm: "and", class: clsStop}
	}
	return token{norm: s, class: clsSymbol}
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
// A word is classified as its lexicon entry (lx may be nil: the built-in lexicon).
func (lx *lexicon) classify(w string, sentenceStart, shouting bool, next string) token {
	lower := strings.ToLower(w)
	if isNumeric(lower) {
		return token{norm: strings.ReplaceAll(lower, ",", ""), class: clsNumber}
	}
	if d, ok := numberWords[lower]; ok {
		return token{norm: d, class: clsNumber}
	}
	if isIdentifier(w) {
		return token{norm: lower, class: clsIdent}
	}
	lower = lx.canonical(lower)
	stem := stemWord(lower)
	switch {
	case negationWords[lower]:
		return token{norm: "not", class: clsNegation}
	case questionWords[lower]:
		return token{norm: lower, class: clsQuestion}
	case modalWords[lower]:
		if next == "you" || next == "u" {
			return token{norm: lower, class: clsStop}
		}
		return token{norm: lower, class: clsModal}
	case dateWords[lower]:
		return token{norm: lower, class: clsDate}
	case unitWords[lower] || unitWords[stem]:
		return token{norm: stem, class: clsUnit}
	case directionWords[lower]:
		return token{norm: lower, class: clsDirection}
	case fillerWords[lower]:
		return token{norm: lower, class: clsStop}
	case !shouting && !sentenceStart && isName(w, lower, false):
		return token{norm: lower, class: clsEntity} // a capitalised stop word ("US", "IT") is a name too
	case stopWords[lower]:
		return token{norm: lower, class: clsStop}
	}
	return token{norm: stem, class: clsWord}
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
