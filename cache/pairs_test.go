package cache

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pair is one line of an evaluation file in testdata: two questions and their category.
type pair struct{ category, a, b string }

// loadPairs reads testdata/name: "category | question | question" per line, skipping
// blank lines and # comments. The questions are kept byte for byte (whitespace too).
func loadPairs(t testing.TB, name string) []pair {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []pair
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, " | ")
		if len(f) != 3 || f[0] == "" || strings.TrimSpace(f[1]) == "" || strings.TrimSpace(f[2]) == "" {
			t.Fatalf("%s:%d: want category | question | question", name, n)
		}
		out = append(out, pair{f[0], f[1], f[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// nearMisses are pairs of questions that look alike but ask different things
// (testdata/nearmiss.txt). No pair may ever produce a semantic hit.
func nearMisses(t testing.TB) []pair { return loadPairs(t, "nearmiss.txt") }

// paraphrases are formatting and wording variants that ask the same thing
// (testdata/paraphrase.txt); the hit rate over them is reported per category.
func paraphrases(t testing.TB) []pair { return loadPairs(t, "paraphrase.txt") }
