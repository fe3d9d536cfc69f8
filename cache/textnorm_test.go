package cache

import (
	"fmt"
	"strings"
	"testing"
)

func norms(text string) string {
	var out []string
	for _, t := range analyzeText(text).tokens {
		if t.class != clsStop {
			out = append(out, t.norm+"/"+className[t.class])
		}
	}
	return strings.Join(out, " ")
}

var className = map[tokClass]string{
	clsWord: "w", clsNumber: "num", clsIdent: "id", clsSymbol: "sym", clsEntity: "name",
	clsNegation: "neg", clsQuestion: "q", clsModal: "modal", clsDirection: "dir",
	clsUnit: "unit", clsDate: "date",
}

func TestAnalyzeText(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"filler, case and punctuation go", "Hey, can you PLEASE tell me the capital of france?!", "capital/w france/w"},
		{"contractions are expanded", "What's wrong? I can't log in", "wrong/w can/modal not/neg log/w"},
		{"possessives are dropped", "the capital is France's", "capital/w france/name"},
		{"spelled numbers become digits", "three apples or 3 apples", "3/num apple/w or/dir 3/num apple/w"},
		{"decimals and thousands stay one number", "pi is 3.14 and a big number is 1,000", "pi/w 3.14/num big/w number/w 1000/num"},
		{"code identifiers", "call os.path.join or my_var or useEffect on x86", "call/w os.path.join/id or/dir my_var/id or/dir useeffect/id x86/id"},
		{"names mid-sentence and acronyms", "Is the EU bigger than Texas?", "eu/name bigger/dir texas/name"},
		{"a modal before you is filler, otherwise it counts", "Can you say if I should go", "say/w if/w should/modal go/w"},
		{"units, dates and symbols", "5 km on Monday is 20% of 2 + 2", "5/num km/unit monday/date 20/num percent/unit 2/num +/sym 2/num"},
		{"a capitalised first word is only maybe a name", "Tips for Paris", "tip/w paris/name"},
		{"plurals are reduced", "cities boxes lists class", "city/w box/w list/w class/w"},
		{"contractions without apostrophes are expanded", "whats wrong, i dont know", "wrong/w not/neg"},
		{"a possessive goes after what it owns", "the dog's big owner", "big/w owner/w dog/w"},
		{"synonyms and -ing forms are their lexicon entry", "purchasing automobiles", "buy/dir car/w"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := norms(tt.text); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPhrasesStartAtPunctuationMarkersAndOr(t *testing.T) {
	var got []string
	for _, tok := range analyzeText("In Python, reverse a list or a tuple").tokens {
		if tok.class != clsStop {
			got = append(got, fmt.Sprintf("%s/%d", tok.norm, tok.chunk))
		}
	}
	if want := "python/0 reverse/1 list/1 or/2 tuple/2"; strings.Join(got, " ") != want {
		t.Fatalf("got %s, want %s", strings.Join(got, " "), want)
	}
}

func TestTypoTolerance(t *testing.T) {
	tests := []struct {
		a, b string
		typo bool
	}{
		{"capital", "captial", true},
		{"entanglement", "entanglment", true},
		{"vaccine", "vacine", true},
		{"climate", "climates", true},
		{"iran", "iraq", false},     // too short
		{"affect", "effect", false}, // first letter differs
		{"install", "uninstall", false},
		{"weather", "whether", false}, // two edits
	}
	for _, tt := range tests {
		if got := typoOf(tt.a, tt.b); got != tt.typo {
			t.Errorf("typoOf(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
