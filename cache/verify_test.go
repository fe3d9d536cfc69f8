package cache

import "testing"

// guardPairs are a typical semantic lookup's verification inputs: a paraphrase that
// passes every guard (so every guard runs) and near misses refused at different guards.
var guardPairs = []struct{ name, query, cand string }{
	{"paraphrase passes", "Hey, could you tell me how I reverse a list in Python?", "In Python, how do I reverse a list?"},
	{"order swap refused", "Is every square a rectangle?", "Is every rectangle a square?"},
	{"number refused", "Convert 5 km to miles", "Convert 50 km to miles"},
}

// BenchmarkVerify is the guards' cost for one candidate of a semantic lookup (a lookup
// verifies up to candidates, 4 by default): the query is analysed once per lookup and
// the candidate once when indexed, so only verification is timed.
func BenchmarkVerify(b *testing.B) {
	for _, p := range guardPairs {
		q, c := analyzeText(p.query), analyzeText(p.cand)
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = verifyMatch(q, c, VerifyStrict)
			}
		})
	}
}
