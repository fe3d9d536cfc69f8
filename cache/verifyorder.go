package cache

import (
	"slices"
	"strings"
)

// The order guard. The local embedder is order-blind and strict verification compares
// words as sets, so "Is every square a rectangle?" and "Is every rectangle a square?"
// look the same to both. Word order carries meaning around a relation: which side of
// "than", "to", "from", "before", "of" or "every" a word is on, and which of subject and
// object comes first around a verb. A whole phrase may still move: "In Python, how do I
// reverse a list?" asks what "How do I reverse a list in Python?" asks.
//
// Each text is cut into phrases (token.chunk): a phrase starts at punctuation, at a role
// marker and at "or". The guard then refuses a candidate when
//
//   - a role marker used by both texts is followed by other words (compareRoles), or
//     "by" (the agent of a passive) is in one text only, before a word of the other;
//   - two words in the same phrase in both texts come in the other order (compareOrder:
//     "the dog chases the cat" against "the cat chases the dog");
//   - the words are grouped into phrases that do not nest: neither text's phrases are
//     a refinement of the other's ("absorb oxygen, release carbon dioxide" against
//     "absorb carbon dioxide, release oxygen").
//
// Words that occur twice in a text, and critical words that may move (question words,
// negations, modals, directions, symbols), are not compared by position. The known blind
// spot is a fronted phrase that a pronoun refers back to ("The cat: does it chase the
// dog?"); such prompts are rare.

// place is a word the order guard compares, with where it stands: its position among
// the text's tokens and its phrase.
type place struct {
	norm       string
	pos, chunk uint16
}

// placed reports whether tokens of class c hold a place the order guard compares:
// content words, names, numbers, identifiers, units and dates.
func placed(c tokClass) bool {
	switch c {
	case clsWord, clsEntity, clsNumber, clsIdent, clsUnit, clsDate:
		return true
	}
	return false
}

// places returns the placed words of ts that occur once, sorted by word.
func places(ts []token) []place {
	out := make([]place, 0, len(ts))
	for i, t := range ts {
		if placed(t.class) && i <= 0xffff {
			out = append(out, place{norm: t.norm, pos: uint16(i), chunk: t.chunk})
		}
	}
	slices.SortFunc(out, func(a, b place) int { return strings.Compare(a.norm, b.norm) })
	w := 0
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && out[j].norm == out[i].norm {
			j++
		}
		if j == i+1 {
			out[w] = out[i]
			w++
		}
		i = j
	}
	return out[:w]
}

// roleWord is a role marker (after markerCanon) and the first non-stop word after it.
type roleWord struct {
	marker, word string
}

// roles returns each role marker of ts with the word after it, sorted, without repeats.
func roles(ts []token) []roleWord {
	var out []roleWord
	for i, tok := range ts {
		if !roleMarkers[tok.norm] {
			continue
		}
		m := tok.norm
		if c, ok := markerCanon[m]; ok {
			m = c
		}
		for _, next := range ts[i+1:] {
			if next.class != clsStop {
				out = append(out, roleWord{m, next.norm})
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b roleWord) int {
		if c := strings.Compare(a.marker, b.marker); c != 0 {
			return c
		}
		return strings.Compare(a.word, b.word)
	})
	return slices.Compact(out)
}

// compareRoles checks the words that follow each role marker present in both texts,
// and that "by" before a word of the other text is not in one text only.
func compareRoles(q, c textInfo) refusal {
	i, j := 0, 0
	for i < len(q.roles) || j < len(c.roles) {
		var qm, cm string
		if i < len(q.roles) {
			qm = q.roles[i].marker
		}
		if j < len(c.roles) {
			cm = c.roles[j].marker
		}
		switch {
		case j == len(c.roles) || i < len(q.roles) && qm < cm:
			if r := agentOnlyIn(q.roles[i], c); !r.ok() {
				return r
			}
			i++
		case i == len(q.roles) || cm < qm:
			if r := agentOnlyIn(c.roles[j], q); !r.ok() {
				return r
			}
			j++
		default: // the same marker in both: the same words must follow it
			ie, je := i, j
			for ie < len(q.roles) && q.roles[ie].marker == qm {
				ie++
			}
			for je < len(c.roles) && c.roles[je].marker == qm {
				je++
			}
			if !slices.Equal(q.roles[i:ie], c.roles[j:je]) {
				return refuse(GuardOrder, "different words after "+quoteWord(qm))
			}
			i, j = ie, je
		}
	}
	return refusal{}
}

// agentOnlyIn refuses when r is "by" (a marker the other text lacks) before a word that
// the other text has: "is the cat chased by the dog" against "does the cat chase the
// dog" (who chases whom is swapped).
func agentOnlyIn(r roleWord, other textInfo) refusal {
	if r.marker != "by" {
		return refusal{}
	}
	if _, found := slices.BinarySearchFunc(other.places, r.word, func(p place, w string) int { return strings.Compare(p.norm, w) }); found {
		return refuse(GuardOrder, `"by" `+quoteWord(r.word)+" in one text only")
	}
	return refusal{}
}

// pairPlace is a word placed in both texts: its position and phrase in each.
type pairPlace struct {
	qp, cp uint16
	qc, cc uint16
}

// compareOrder compares the positions of the words placed in both texts (q and c are
// places results, sorted by word). It is linear in the words but for the pairs within one
// phrase.
func compareOrder(q, c []place) refusal {
	var buf [32]pairPlace
	m := buf[:0]
	for i, j := 0, 0; i < len(q) && j < len(c); {
		switch strings.Compare(q[i].norm, c[j].norm) {
		case -1:
			i++
		case 1:
			j++
		default:
			m = append(m, pairPlace{q[i].pos, c[j].pos, q[i].chunk, c[j].chunk})
			i, j = i+1, j+1
		}
	}
	if len(m) < 2 {
		return refusal{}
	}
	slices.SortFunc(m, func(a, b pairPlace) int { return int(a.qp) - int(b.qp) })
	qNests, cNests := true, true // each query phrase within one candidate phrase, and back
	for a := range m {
		for b := a + 1; b < len(m) && m[b].qc == m[a].qc; b++ {
			if m[b].cc != m[a].cc {
				qNests = false
			} else if m[b].cp < m[a].cp {
				return refuse(GuardOrder, "words in the same phrase trade places: "+wordAt(q, m[a].qp)+" and "+wordAt(q, m[b].qp))
			}
		}
		for b := a + 1; b < len(m); b++ {
			if m[b].cc == m[a].cc && m[b].qc != m[a].qc {
				cNests = false
			}
		}
	}
	if !qNests && !cNests {
		return refuse(GuardOrder, "words regrouped into other phrases")
	}
	return refusal{}
}

// wordAt returns the quoted word of q at token position pos (for a refusal's detail).
func wordAt(q []place, pos uint16) string {
	for _, p := range q {
		if p.pos == pos {
			return quoteWord(p.norm)
		}
	}
	return `""`
}
