package router

import "strconv"

// Complexity sends easy requests to a cheap model and hard ones to a strong model: the
// request's score (see Score) picks the first tier whose Below bound exceeds it.
type Complexity struct {
	// Tiers in ascending order of Below; the last one's Below is above 1.
	Tiers []Tier
}

// Tier is one band of complexity scores and the model that serves it.
type Tier struct {
	// Name labels the tier in decisions ("easy", "hard").
	Name string
	// Below is the exclusive upper bound of the band's scores.
	Below float64
	// Model is the logical model that serves the band.
	Model string
}

var _ Selector = Complexity{}

// Select picks the tier's model; when none of its deployments is available it takes
// the nearest stronger tier, then the nearest weaker one.
func (s Complexity) Select(req *Request, cands []*Candidate) (int, string) {
	t := len(s.Tiers) - 1
	for i, tier := range s.Tiers {
		if req.Score < tier.Below {
			t = i
			break
		}
	}
	score := strconv.FormatFloat(req.Score, 'f', 2, 64)
	order := make([]int, 0, len(s.Tiers))
	for i := t; i < len(s.Tiers); i++ {
		order = append(order, i)
	}
	for i := t - 1; i >= 0; i-- {
		order = append(order, i)
	}
	for _, ti := range order {
		// the tier model's deployments, split by weight
		var total float64
		first := -1
		for ci, c := range cands {
			if c.Model == s.Tiers[ti].Model {
				total += c.Weight
				if first < 0 {
					first = ci
				}
			}
		}
		if first < 0 {
			continue
		}
		pick, x := first, req.Rand()*total
		for ci, c := range cands {
			if c.Model == s.Tiers[ti].Model {
				pick = ci
				if x < c.Weight {
					break
				}
				x -= c.Weight
			}
		}
		why := "complexity: score " + score + " -> tier " + s.Tiers[ti].Name
		if ti != t {
			why += " (tier " + s.Tiers[t].Name + " unavailable)"
		}
		return pick, why
	}
	return 0, "complexity: no tier model available, first candidate"
}

// TierName returns the name of the tier a score falls in.
func (s Complexity) TierName(score float64) string {
	for _, tier := range s.Tiers {
		if score < tier.Below {
			return tier.Name
		}
	}
	if len(s.Tiers) == 0 {
		return ""
	}
	return s.Tiers[len(s.Tiers)-1].Name
}
