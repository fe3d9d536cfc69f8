package cache

import (
	"fmt"
	"strings"
	"testing"
)

func TestVerifyNamesTheGuard(t *testing.T) {
	tests := []struct {
		name, query, cand, guard string
	}{
		{"the same question in other words passes", "Hey, what's the capital of France?", "what is the capital of france", ""},
		{"a phrase moved as a whole passes", "In Python, how do I reverse a list?", "How do I reverse a list in Python?", ""},
		{"a phrase moved with its marker passes", "From the airport to downtown, what's the fastest route?", "What's the fastest route from the airport to downtown?", ""},
		{"a possessive is the same as of", "Who is the dog's owner?", "Who is the owner of the dog?", ""},
		{"alternatives around or may trade places", "Which is bigger, a wolf or a coyote?", "Which is bigger, a coyote or a wolf?", ""},
		{"a synonym passes", "How do I purchase a used automobile?", "How do I buy a used car?", ""},
		{"words swapped around every are refused", "Is every square a rectangle?", "Is every rectangle a square?", GuardOrder},
		{"words swapped around than are refused", "Is water denser than ice?", "Is ice denser than water?", GuardOrder},
		{"words swapped around to are refused", "Convert a string to an integer", "Convert an integer to a string", GuardOrder},
		{"words swapped around before are refused", "Should I stretch before running?", "Should I run before stretching?", GuardOrder},
		{"subject and object swapped are refused", "Does the dog chase the cat?", "Does the cat chase the dog?", GuardOrder},
		{"objects swapped between clauses are refused", "Do plants absorb oxygen and release carbon dioxide?", "Do plants absorb carbon dioxide and release oxygen?", GuardOrder},
		{"a possessive against the other of is refused", "Who is the dog's owner?", "Who is the dog of the owner?", GuardOrder},
		{"a passive against the active is refused", "Is the cat chased by the dog?", "Does the cat chase the dog?", GuardOrder},
		{"a fronted phrase cannot carry the subject away", "In the kitchen, does the cat eat the mouse?", "Does the mouse eat the cat in the kitchen?", GuardOrder},
		{"a number is refused as a number", "What is 2 + 2?", "What is 2 + 3?", GuardNumber},
		{"a name is refused as a name", "What is the capital of France?", "What is the capital of Germany?", GuardName},
		{"a negation is refused as a negation", "Can I take ibuprofen with food?", "Can I take ibuprofen without food?", GuardNegation},
		{"a question word is refused as a question", "Why is the sky blue?", "When is the sky blue?", GuardQuestion},
		{"a comparative is refused as a direction", "Is Python faster than Java?", "Is Python slower than Java?", GuardDirection},
		{"a synonym keeps its guard: purchase is buy, not sell", "How do I purchase shares?", "How do I sell shares?", GuardDirection},
		{"a unit is refused as a unit", "How many grams are in a pound?", "How many ounces are in a pound?", GuardUnit},
		{"a date is refused as a date", "Is the office open on Monday?", "Is the office open on Tuesday?", GuardDate},
		{"an identifier is refused as code", "What does os.path.join do?", "What does os.path.split do?", GuardCode},
		{"another content word is refused as a word", "How do I bake bread?", "How do I bake cake?", GuardWord},
		{"a text without content words only matches itself", "hi", "hello", GuardEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, q := range [][2]string{{tt.query, tt.cand}, {tt.cand, tt.query}} {
				r := verifyMatch(analyzeText(q[0]), analyzeText(q[1]), VerifyStrict)
				if r.guard != tt.guard {
					t.Fatalf("%q against %q: guard %q (%s), want %q", q[0], q[1], r.guard, r, tt.guard)
				}
			}
		})
	}
}

func TestOrderGuardAppliesInCriticalMode(t *testing.T) {
	// Critical mode ignores ordinary words that differ, not where the shared ones stand.
	r := verifyMatch(analyzeText("Does the moon orbit the earth?"), analyzeText("Does the earth orbit the moon?"), VerifyCritical)
	if r.guard != GuardOrder {
		t.Fatalf("guard %q, want order", r.guard)
	}
}

func TestTheRefusingGuardIsOnTheLookup(t *testing.T) {
	c := newCache(t, semanticConfig(SemanticOn), Deps{})
	storeAnswer(t, c, testScope, "Is every square a rectangle?", "yes")
	h := ask(c, testScope, "Is every rectangle a square?")
	if h.Served() || h.Refused != GuardOrder || h.Shadow == nil || h.Shadow.Guard != GuardOrder || !strings.HasPrefix(h.Shadow.Rejected, "order: ") {
		t.Fatalf("swap: %v refused %q shadow %+v", h.Outcome, h.Refused, h.Shadow)
	}
	if h := ask(c, testScope, "is every square a rectangle"); h.Outcome != Semantic || h.Refused != "" {
		t.Fatalf("near duplicate: %v refused %q", h.Outcome, h.Refused)
	}
	if h := ask(c, testScope, "What is the capital of Peru?"); h.Refused != "" {
		t.Fatalf("unrelated question: refused %q", h.Refused)
	}
}

// BenchmarkVerify is the guards' cost for one candidate of a semantic lookup (a lookup
// verifies up to candidates, 4 by default): the query is analysed once per lookup and
// the candidate once when indexed, so only verification is timed.
func BenchmarkVerify(b *testing.B) {
	pairs := []struct{ name, query, cand string }{
		{"paraphrase passes", "Hey, could you tell me how I reverse a list in Python?", "In Python, how do I reverse a list?"},
		{"order swap refused", "Is every square a rectangle?", "Is every rectangle a square?"},
		{"number refused", "Convert 5 km to miles", "Convert 50 km to miles"},
		{"long paraphrase passes", strings.Repeat("How do I sort the rows of my spreadsheet by date in Excel? ", 8),
			strings.Repeat("In Excel, how do I sort the rows of my spreadsheet by date? ", 8)},
	}
	for _, p := range pairs {
		q, c := analyzeText(p.query), analyzeText(p.cand)
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = verifyMatch(q, c, VerifyStrict)
			}
		})
	}
}

// BenchmarkAnalyze is the text analysis of one question (done once per lookup for the
// query, once per stored entry for the candidate): lexicon, phrases, places and roles.
func BenchmarkAnalyze(b *testing.B) {
	text := "Hey, could you tell me how I reverse a list in Python?"
	b.ReportAllocs()
	for b.Loop() {
		_ = analyzeText(text)
	}
}

func ExampleGuardOrder() {
	r := verifyMatch(analyzeText("Is every square a rectangle?"), analyzeText("Is every rectangle a square?"), VerifyStrict)
	fmt.Println(r.guard)
	// Output: order
}
