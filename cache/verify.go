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

// The guards that can refuse a semantic candidate, as reported in Hit.Refused,
// ShadowMatch.Guard and the gateway's x-switchyard-cache-refused header.
const (
	GuardNumber    = "number"    // a number differs ("2 + 2" against "2 + 3")
	GuardName      = "name"      // a name differs ("France" against "Germany")
	GuardNegation  = "negation"  // a negation differs ("with food" against "without food")
	GuardQuestion  = "question"  // the question word differs ("who" against "where")
	GuardModal     = "modal"     // a modal differs ("can I" against "should I")
	GuardDirection = "direction" // a comparative, antonym or direction differs ("faster" against "slower")
	GuardUnit      = "unit"      // a unit or currency differs
	GuardDate      = "date"      // a month, weekday or relative day differs
	GuardCode      = "code"      // a code identifier differs ("os.path.join" against "os.path.split")
	GuardSymbol    = "symbol"    // an operator or sign differs
	GuardOrder     = "order"     // the same words in another order around a relation ("A to B" against "B to A")
	GuardWord      = "word"      // strict mode: another content word differs ("bread" against "cake")
	GuardEmpty     = "empty"     // a text without content words ("hi") only matches the very same words
)

// guardOf names the guard that compares tokens of class c.
var guardOf = [...]string{
	clsWord: GuardWord, clsStop: GuardWord, clsNumber: GuardNumber, clsIdent: GuardCode,
	clsSymbol: GuardSymbol, clsEntity: GuardName, clsNegation: GuardNegation,
	clsQuestion: GuardQuestion, clsModal: GuardModal, clsDirection: GuardDirection,
	clsUnit: GuardUnit, clsDate: GuardDate,
}

// refusal is why verification refused a candidate: the guard (one of the Guard names)
// and a sentence for logs. The zero refusal accepts.
type refusal struct {
	guard, detail string
}

func refuse(guard, detail string) refusal { return refusal{guard, detail} }

// ok reports whether the candidate was accepted.
func (r refusal) ok() bool { return r.guard == "" }

// String is the guard and the detail, for logs and ShadowMatch.Rejected.
func (r refusal) String() string {
	if r.ok() {
		return ""
	}
	return r.guard + ": " + r.detail
}

// verifyMatch decides whether a stored question (cand) may answer the asked one (query)
// after the vectors matched. It returns the zero refusal when it may. Both texts were
// analysed with the same lexicon, so synonyms already compare equal.
//
// Checks, in order:
//  1. names: a word written as a name in either text (capitalised, an acronym) is treated
//     as a name in both, so "France" and "france" are the same critical word;
//  2. critical words (numbers, names, negations, question words, modals, comparatives
//     and directions, units, dates, code identifiers, symbols) must be the same multiset,
//     and those that name things (numbers, names, identifiers, units, dates, symbols) in
//     the same order ("100 celsius in fahrenheit" is not "100 fahrenheit in celsius");
//     in critical mode, a word capitalised at the start of either text must be in both;
//  3. order: role markers (to, from, than, of, every, before, ...) used by both texts must
//     be followed by the same words ("miles to km" is not "km to miles"), and the words
//     of both texts must keep their order within each phrase (compareOrder: "does the
//     dog chase the cat" is not "does the cat chase the dog"; "in Python, how do I ..."
//     may move as a whole);
//  4. strict mode only: every other content word of each text must be in the other, up
//     to plural, or one typo (edit or transposition) in words of five letters or more
//     that share their first letter;
//  5. a text with no content word at all ("hi") only matches the very same words.
//
// It allocates little and costs about a microsecond for a short question.
func verifyMatch(query, cand textInfo, mode string) refusal {
	var names map[string]bool
	for _, info := range [2]*textInfo{&query, &cand} {
		for _, t := range info.tokens {
			if t.class == clsEntity {
				if names == nil {
					names = map[string]bool{}
				}
				names[t.norm] = true
			}
		}
	}
	qc, qw := split(query, names)
	cc, cw := split(cand, names)
	if len(qc)+len(qw) == 0 || len(cc)+len(cw) == 0 {
		if sameTokens(query, cand) {
			return refusal{}
		}
		return refuse(GuardEmpty, "no content words")
	}
	if r := compareCritical(qc, cc); !r.ok() {
		return r
	}
	if mode == VerifyCritical {
		for _, w := range append(query.capitalised, cand.capitalised...) {
			if !slices.Contains(qw, w) || !slices.Contains(cw, w) {
				return refuse(GuardName, "capitalised word "+quoteWord(w)+" differs")
			}
		}
	}
	if r := compareRoles(query, cand); !r.ok() {
		return r
	}
	if r := compareOrder(query.places, cand.places); !r.ok() {
		return r
	}
	if mode == VerifyStrict {
		if w := unmatched(qw, cw); w != "" {
			return refuse(GuardWord, "content word "+quoteWord(w)+" differs")
		}
		if w := unmatched(cw, qw); w != "" {
			return refuse(GuardWord, "content word "+quoteWord(w)+" differs")
		}
	}
	return refusal{}
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
			critical = append(critical, token{norm: tok.norm, class: clsEntity})
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
// guard of the first difference.
func compareCritical(q, c []token) refusal {
	qs, cs := sortedTokens(q), sortedTokens(c)
	if d, ok := diffToken(qs, cs); ok {
		return refuse(guardOf[d.class], "critical words differ: "+quoteWord(d.norm))
	}
	qo, co := ordered(q), ordered(c)
	for i := range qo {
		if qo[i] != co[i] {
			return refuse(GuardOrder, "critical words in another order: "+quoteWord(qo[i])+" and "+quoteWord(co[i]))
		}
	}
	return refusal{}
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

func sortedTokens(ts []token) []token {
	out := slices.Clone(ts)
	slices.SortFunc(out, func(a, b token) int { return strings.Compare(a.norm, b.norm) })
	return out
}

// diffToken returns one token in the symmetric difference of two lists sorted by norm.
func diffToken(a, b []token) (token, bool) {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch strings.Compare(a[i].norm, b[j].norm) {
		case 0:
			i, j = i+1, j+1
		case -1:
			return a[i], true
		default:
			return b[j], true
		}
	}
	if i < len(a) {
		return a[i], true
	}
	if j < len(b) {
		return b[j], true
	}
	return token{}, false
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
