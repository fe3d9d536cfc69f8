package router

import "time"

// LeastLatency prefers the candidate with the lowest EWMA time to first byte (total
// latency breaks ties). Candidates without samples are tried first, and a small share
// of requests (Exploration) goes to a random candidate so a recovered deployment is
// noticed.
type LeastLatency struct {
	// Exploration is the share of requests sent to a random candidate [0.05].
	Exploration float64
}

var _ Selector = LeastLatency{}

// Select picks the fastest candidate.
func (s LeastLatency) Select(req *Request, cands []*Candidate) (int, string) {
	if len(cands) > 1 && req.Rand() < s.Exploration {
		return int(req.Rand() * float64(len(cands))), "least latency: exploring"
	}
	best, bestTTFT, bestTotal := -1, time.Duration(0), time.Duration(0)
	for i, c := range cands {
		ttft, total, ok := c.Health.Latency()
		if !ok {
			return i, "least latency: no samples yet"
		}
		if best < 0 || ttft < bestTTFT || (ttft == bestTTFT && total < bestTotal) {
			best, bestTTFT, bestTotal = i, ttft, total
		}
	}
	return best, "least latency: ewma ttft " + bestTTFT.Round(time.Millisecond).String()
}
