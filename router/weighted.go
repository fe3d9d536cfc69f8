package router

import (
	"strconv"

	"github.com/switchyard/switchyard/internal/sticky"
)

// Weighted splits traffic by candidate weight. With a sticky key (user or session) the
// choice is a pure function of the key, so each user stays on one arm of an A/B test
// while the weights and the healthy set stay the same.
type Weighted struct{}

var _ Selector = Weighted{}

// Select picks by weight.
func (Weighted) Select(req *Request, cands []*Candidate) (int, string) {
	var total float64
	for _, c := range cands {
		total += c.Weight
	}
	if total <= 0 {
		return 0, "weighted: no weights, first candidate"
	}
	var x float64
	how := "random"
	if req.StickyKey != "" {
		x, how = StickyUnit(req.StickyKey), "sticky"
	} else {
		x = req.Rand()
	}
	x *= total
	for i, c := range cands {
		if x < c.Weight {
			return i, "weighted " + how + " split, weight " + strconv.FormatFloat(c.Weight, 'g', -1, 64)
		}
		x -= c.Weight
	}
	return len(cands) - 1, "weighted " + how + " split"
}

// StickyUnit maps a key to a uniform number in [0,1) that depends only on the key.
func StickyUnit(key string) float64 { return sticky.Unit(key) }
