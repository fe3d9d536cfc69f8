package router

import "strconv"

// LeastInFlight sends each request to the candidate with the fewest attempts running,
// breaking ties at random.
type LeastInFlight struct{}

var _ Selector = LeastInFlight{}

// Select picks the least busy candidate.
func (LeastInFlight) Select(req *Request, cands []*Candidate) (int, string) {
	best, ties := 0, 1
	min := cands[0].Health.InFlight()
	for i := 1; i < len(cands); i++ {
		n := cands[i].Health.InFlight()
		switch {
		case n < min:
			best, min, ties = i, n, 1
		case n == min:
			ties++
			if req.Rand()*float64(ties) < 1 { // reservoir choice among ties
				best = i
			}
		}
	}
	return best, "least in-flight: " + strconv.FormatInt(min, 10) + " running"
}
