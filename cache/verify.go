package cache

import (
	"slices"
	"strings"
)

// The verification modes (SemanticConfig.Verify).
const (
	VerifyStrict   = "strict"
	VerifyCritical = "critical"
)

// verifyMatch decides whether a stored question (cand) may answer the asked one (query)
// after the vectors matched. It returns "" when it may, else the reason it may not.
//
// Checks, in order:
//  1. names: a word written as a name in either text (capitalised, an acronym) is treated
//     as a name in both, so "France" and "france" are the same critical word;
//  2. critical words (numbers, names, negations, question words, modals, comparatives
//     and directions, units, dates, code identifiers, symbols) must be the same multiset,
//     and those that name things (numbers, names, identifiers, units, dates, symbols) in
//     the same order ("100 celsius in fahrenheit" is not "100 fahrenheit in celsius");
//     in critical mode, a word capitalised at the start of either text must be in both;
//  3. role markers (to, from, in, than, per, ...) used by both texts must be followed by
//     the same words ("miles to km" is not "km to miles");
//  4. strict mode only: every other content word of each text must be in the other, up
//     to plural, or one typo (edit or transposition) in words of five letters or more
//     that share their first letter;
//  5. a text with no content word at all ("hi") only matches the very same words.
func verifyMatch(query, cand textInfo, mode string) string {
	names := map[string]bool{}
	for _, t := range query.tokens {
		if t.class == clsEntity {
			names[t.norm] = true
		}
	}
	for _, t := range cand.tokens {
		if t.class == clsEntity {
			names[t.norm] = true
		}
	}
	qc, qw := split(query, names)
	cc, cw := split(cand, names)
	if len(qc)+len(qw) == 0 || len(cc)+len(cw) == 0 {
		if sameTokens(query, cand) {
			return ""
		}
		return "no content words"
	}
	if r := compareCritical(qc, cc); r != "" {
		return r
	}
	if mode == VerifyCritical {
		for _, w := range append(query.capitalised, cand.capitalised...) {
			if !slices.Contains(qw, w) || !slices.Contains(cw, w) {
				return "capitalised word " + quoteWord(w) + " differs"
			}
		}
	}
	if r := compareRoles(query, cand); r != "" {
		return r
	}
	if mode == VerifyStrict {
		if w := unmatched(qw, cw); w != "" {
			return "content word " + quoteWord(w) + " differs"
		}
		if w := unmatched(cw, qw); w != "" {
			return "content word " + quoteWord(w) + " differs"
		}
	}
	return ""
}

func quoteWord(w string) string { return `"` + w + `"` }

// split separates a text's critical tokens (in order) from its other content words.
func split(t textInfo, names map[string]bool) (critical []token, content []string) {
	for _, tok := range t.tokens {
		switch {
		case tok.class == clsStop:
		case tok.class.critical():
			critical = append(critical, tok)
		case names[tok.norm]:
			critical = append(critical, token{tok.norm, clsEntity})
		default:
			content = append(content, tok.norm)
		}
	}
	return critical, content
}

func sameTokens(a, b textInfo) bool {
	return slices.EqualFunc(a.tokens, b.tokens, func(x, y token) bool { return x.norm == y.norm })
}

// compareCritical requires the same critical words in the same order, and names the
// first difference.
func compareCritical(q, c []token) string {
	qs, cs := sortedNorms(q), sortedNorms(c)
	if !slices.Equal(qs, cs) {
		return "critical words differ: " + diffWord(qs, cs)
	}
	qo, co := ordered(q), ordered(c)
	for i := range qo {
		if qo[i] != co[i] {
			return "critical words in another order"
		}
	}
	return ""
}

// ordered returns the critical words whose order carries meaning (which is converted to
// which, which is compared to which): numbers, names, identifiers, units, dates, symbols.
// Question words, negations, modals and directions may move ("in Python, how ...").
func ordered(ts []token) []string {
	var out []string
	for _, t := range ts {
		switch t.class {
		case clsQuestion, clsNegation, clsModal, clsDirection:
		default:
			out = append(out, t.norm)
		}
	}
	return out
}

func sortedNorms(ts []token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.norm
	}
	slices.Sort(out)
	return out
}

// diffWord names one word in the symmetric difference of two sorted lists.
func diffWord(a, b []string) string {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch strings.Compare(a[i], b[j]) {
		case 0:
			i, j = i+1, j+1
		case -1:
			return quoteWord(a[i])
		default:
			return quoteWord(b[j])
		}
	}
	if i < len(a) {
		return quoteWord(a[i])
	}
	if j < len(b) {
		return quoteWord(b[j])
	}
	return ""
}

// compareRoles checks the words that follow each role marker present in both texts.
func compareRoles(q, c textInfo) string {
	qr, cr := roles(q), roles(c)
	for m, qf := range qr {
		cf, ok := cr[m]
		if !ok {
			continue
		}
		slices.Sort(qf)
		slices.Sort(cf)
		if !slices.Equal(slices.Compact(qf), slices.Compact(cf)) {
			return "different words after " + quoteWord(m)
		}
	}
	return ""
}

// roles maps each role marker in t to the first content word after each occurrence.
func roles(t textInfo) map[string][]string {
	var out map[string][]string
	for i, tok := range t.tokens {
		if !roleMarkers[tok.norm] {
			continue
		}
		for _, next := range t.tokens[i+1:] {
			if next.class != clsStop {
				if out == nil {
					out = map[string][]string{}
				}
				out[tok.norm] = append(out[tok.norm], next.norm)
				break
			}
		}
	}
	return out
}

// unmatched returns the first word of a with no match in b ("" when all match).
func unmatched(a, b []string) string {
next:
	for _, w := range a {
		for _, x := range b {
			if w == x || typoOf(w, x) {
				continue next
			}
		}
		return w
	}
	return ""
}

// typoOf reports whether a and b differ by one typo: both at least five letters, same
// first letter, Damerau-Levenshtein distance 1 (one insertion, deletion, substitution or
// adjacent transposition).
func typoOf(a, b string) bool {
	if len(a) < 5 || len(b) < 5 || a[0] != b[0] {
		return false
	}
	switch len(a) - len(b) {
	case 0:
		diff := -1
		for i := 0; i < len(a); i++ {
			if a[i] != b[i] {
				if diff >= 0 {
					// second difference: only an adjacent transposition is allowed
					return diff == i-1 && a[diff] == b[i] && a[i] == b[diff] && a[i+1:] == b[i+1:]
				}
				diff = i
			}
		}
		return true
	case 1:
		return oneInsertion(b, a)
	case -1:
		return oneInsertion(a, b)
	}
	return false
}

// oneInsertion reports whether long is short with one byte inserted.
func oneInsertion(short, long string) bool {
	i := 0
	for i < len(short) && short[i] == long[i] {
		i++
	}
	return short[i:] == long[i+1:]
}
