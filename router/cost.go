package router

import "strconv"

// CostAware sends the request to the cheapest candidate that satisfies the route's
// constraints: the prompt and completion fit the context window, the model takes the
// request's tools and images, and its quality tier is at least MinTier.
type CostAware struct {
	// MinTier is the least quality tier acceptable [0: any].
	MinTier int
	// DefaultOutputTokens is the completion size assumed when max_tokens is unset [256].
	DefaultOutputTokens int
}

var _ Selector = CostAware{}

// Select picks the cheapest suitable candidate, or the strongest one when none fits.
func (s CostAware) Select(req *Request, cands []*Candidate) (int, string) {
	out := req.MaxTokens
	if out <= 0 {
		out = s.DefaultOutputTokens
		if out <= 0 {
			out = 256
		}
	}
	best, bestCost := -1, 0.0
	for i, c := range cands {
		if !s.fits(req, c, out) {
			continue
		}
		cost := c.InputPrice*float64(req.PromptTokens) + c.OutputPrice*float64(out)
		if best < 0 || cost < bestCost {
			best, bestCost = i, cost
		}
	}
	if best >= 0 {
		return best, "cost: cheapest suitable, est $" + strconv.FormatFloat(bestCost/1e6, 'f', 6, 64)
	}
	strongest := 0
	for i, c := range cands {
		if c.Tier > cands[strongest].Tier || (c.Tier == cands[strongest].Tier && c.ContextWindow > cands[strongest].ContextWindow) {
			strongest = i
		}
	}
	return strongest, "cost: no candidate fits the constraints, strongest chosen"
}

func (s CostAware) fits(req *Request, c *Candidate, out int) bool {
	if c.Tier < s.MinTier {
		return false
	}
	if c.ContextWindow > 0 && req.PromptTokens+out > c.ContextWindow {
		return false
	}
	if (req.HasTools && c.NoTools) || (req.HasImages && c.NoImages) {
		return false
	}
	return true
}
