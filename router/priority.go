package router

// Priority sends everything to the first available candidate in policy order; the next
// ones only serve while those before them are unhealthy.
type Priority struct{}

var _ Selector = Priority{}

// Select picks the first candidate (cands holds only available ones, in order).
func (Priority) Select(_ *Request, cands []*Candidate) (int, string) {
	return 0, "priority: first healthy in order"
}
