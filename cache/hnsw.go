package cache

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// hnsw is a Hierarchical Navigable Small World graph (Malkov & Yashunin, 2018) over unit
// vectors, searched for cosine similarity.
//
// The graph is built and walked on 1-bit sign codes of the first navDims dimensions
// (Hamming distance with popcount: one 64-byte cache line per comparison, against 6 KB and
// ~1 µs for a float32 dot product at 1,536 dimensions that misses the CPU cache), and the
// beam it returns is re-ranked by exact cosine on the full float32 vectors. A near
// duplicate, the case a cache serves, stands far apart from everything else even in
// those bits (OpenAI's text-embedding-3 vectors put most information first, by design),
// and a partition smaller than the beam is searched exhaustively.
//
// Deletion marks a node: it still routes searches but is never returned; the owner
// rebuilds the graph when too many nodes are marked. An hnsw is not safe for
// concurrent use by itself: the owner holds a read lock for search and a write lock
// for insert and delete.
type hnsw struct {
	dim, words   int
	m, m0, efC   int
	levelMult    float64
	vecs         []float32 // node i at [i*dim, (i+1)*dim)
	codes        []uint64  // node i at [i*words, (i+1)*words)
	nodes        []hnswNode
	entry        int32 // -1 when empty
	maxLevel     int
	deleted      int
	budgetFactor int // see budget
	rng          *rand.Rand
	visitedPool  sync.Pool
}

type hnswNode struct {
	links   [][]uint32 // per level, up to m0 (level 0) or m neighbours
	deleted bool
}

// candidate is a node and its distance (Hamming) or similarity (after re-ranking).
type candidate struct {
	id   uint32
	dist int32
	sim  float32
}

// Re-ranking bounds: graphs up to smallGraph nodes re-rank the whole beam; larger ones
// the rerankMin (or 8k) closest codes.
const (
	smallGraph = 2048
	rerankMin  = 32
)

// navDims is how many leading dimensions the navigation codes keep (512 bits: one cache
// line).
const navDims = 512

func newHNSW(dim, m, efC int, seed uint64) *hnsw {
	return &hnsw{
		dim: dim, words: (min(dim, navDims) + 63) / 64, m: m, m0: 2 * m, efC: efC,
		levelMult: 1 / math.Log(float64(m)), entry: -1, budgetFactor: 2,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

func (h *hnsw) len() int { return len(h.nodes) }

func (h *hnsw) live() int { return len(h.nodes) - h.deleted }

func (h *hnsw) code(id uint32) []uint64 {
	return h.codes[int(id)*h.words : int(id+1)*h.words]
}

func (h *hnsw) vec(id uint32) []float32 {
	return h.vecs[int(id)*h.dim : int(id+1)*h.dim]
}

// add inserts the unit vector v (len dim) and returns its id.
func (h *hnsw) add(v []float32) uint32 {
	id := uint32(len(h.nodes))
	h.vecs = append(h.vecs, v...)
	h.codes = signCode(h.codes, v[:min(len(v), navDims)])
	level := int(-math.Log(1-h.rng.Float64()) * h.levelMult)
	h.nodes = append(h.nodes, hnswNode{links: make([][]uint32, level+1)})
	if h.entry < 0 {
		h.entry, h.maxLevel = int32(id), level
		return id
	}
	q := h.code(id)
	ep := uint32(h.entry)
	for l := h.maxLevel; l > level; l-- {
		ep = h.greedy(q, ep, l)
	}
	vis := h.visited()
	defer h.visitedPool.Put(vis)
	for l := min(level, h.maxLevel); l >= 0; l-- {
		beam := h.searchLayer(q, ep, h.efC, l, vis)
		limit := h.m
		if l == 0 {
			limit = h.m0
		}
		nb := h.selectNeighbours(beam, limit)
		h.nodes[id].links[l] = nb
		for _, n := range nb {
			h.link(n, id, l, limit)
		}
		ep = beam[0].id
	}
	if level > h.maxLevel {
		h.entry, h.maxLevel = int32(id), level
	}
	return id
}

// link adds the edge from -> to on level l, pruning from's list with the heuristic when
// it overflows.
func (h *hnsw) link(from, to uint32, l, limit int) {
	links := append(h.nodes[from].links[l], to)
	if len(links) > limit {
		fc := h.code(from)
		cands := make([]candidate, len(links))
		for i, n := range links {
			cands[i] = candidate{id: n, dist: int32(hamming(fc, h.code(n)))}
		}
		slices.SortFunc(cands, func(a, b candidate) int { return int(a.dist - b.dist) })
		links = h.selectNeighbours(cands, limit)
	}
	h.nodes[from].links[l] = links
}

// selectNeighbours is the paper's heuristic (algorithm 4) over candidates sorted by
// distance: keep a candidate only if it is closer to the base than to every kept one,
// then fill up with the closest rejected ones.
func (h *hnsw) selectNeighbours(sorted []candidate, limit int) []uint32 {
	out := make([]uint32, 0, limit)
	var rejected []uint32
	for _, c := range sorted {
		if len(out) >= limit {
			break
		}
		cc := h.code(c.id)
		good := true
		for _, k := range out {
			if int32(hamming(cc, h.code(k))) < c.dist {
				good = false
				break
			}
		}
		if good {
			out = append(out, c.id)
		} else {
			rejected = append(rejected, c.id)
		}
	}
	for _, r := range rejected {
		if len(out) >= limit {
			break
		}
		out = append(out, r)
	}
	return out
}

// greedy walks level l from ep to the node closest to q.
func (h *hnsw) greedy(q []uint64, ep uint32, l int) uint32 {
	best := int32(hamming(q, h.code(ep)))
	for changed := true; changed; {
		changed = false
		for _, n := range h.nodes[ep].links[l] {
			if d := int32(hamming(q, h.code(n))); d < best {
				best, ep, changed = d, n, true
			}
		}
	}
	return ep
}

// visitedSet marks nodes seen during one search; a generation counter avoids clearing.
type visitedSet struct {
	gen  uint32
	mark []uint32
}

func (h *hnsw) visited() *visitedSet {
	v, _ := h.visitedPool.Get().(*visitedSet)
	if v == nil {
		v = &visitedSet{}
	}
	if len(v.mark) < len(h.nodes) {
		v.mark = make([]uint32, len(h.nodes)+len(h.nodes)/4+16)
		v.gen = 0
	}
	v.gen++
	if v.gen == 0 {
		clear(v.mark)
		v.gen = 1
	}
	return v
}

// searchLayer is the beam search on level l: it returns up to ef nodes closest to q,
// sorted by distance. Deleted nodes are included (the caller filters them).
func (h *hnsw) searchLayer(q []uint64, ep uint32, ef, l int, vis *visitedSet) []candidate {
	budget := h.budget(ef)
	vis.mark[ep] = vis.gen
	d := int32(hamming(q, h.code(ep)))
	frontier := minHeap{{id: ep, dist: d}}
	result := maxHeap{{id: ep, dist: d}}
	for len(frontier) > 0 {
		c := frontier.pop()
		if len(result) >= ef && c.dist > result[0].dist {
			break
		}
		for _, n := range h.nodes[c.id].links[l] {
			if vis.mark[n] == vis.gen {
				continue
			}
			vis.mark[n] = vis.gen
			if budget--; budget < 0 {
				frontier = frontier[:0]
				break
			}
			nd := int32(hamming(q, h.code(n)))
			if len(result) < ef || nd < result[0].dist {
				frontier.push(candidate{id: n, dist: nd})
				result.push(candidate{id: n, dist: nd})
				if len(result) > ef {
					result.pop()
				}
			}
		}
	}
	out := []candidate(result)
	slices.SortFunc(out, func(a, b candidate) int { return int(a.dist - b.dist) })
	return out
}

// budget bounds the distance computations of one beam search. Without it a query far
// from everything (the usual cache miss, and any query in high-dimensional random data,
// where all distances are nearly equal) never meets the stopping rule and walks most of
// the graph; with it a miss costs a bounded few tens of microseconds. A query close to a
// stored vector converges long before the budget.
func (h *hnsw) budget(ef int) int { return ef * h.m0 * h.budgetFactor }

// search returns up to k live nodes most similar to the unit vector v by exact cosine,
// best first, from a beam of ef found on the sign codes.
func (h *hnsw) search(v []float32, k, ef int) []candidate {
	if h.entry < 0 {
		return nil
	}
	q := signCode(make([]uint64, 0, h.words), v[:min(len(v), navDims)])
	ep := uint32(h.entry)
	for l := h.maxLevel; l > 0; l-- {
		ep = h.greedy(q, ep, l)
	}
	vis := h.visited()
	beam := h.searchLayer(q, ep, max(ef, k), 0, vis)
	h.visitedPool.Put(vis)
	// Re-rank the closest codes by exact cosine: the whole beam in a small graph (where
	// the codes of sparse vectors rank poorly), the head of it in a large one (where the
	// exact products, each a cache miss on 4*dim bytes, would dominate the search).
	if len(h.nodes) > smallGraph {
		beam = beam[:min(len(beam), max(8*k, rerankMin))]
	}
	out := beam[:0]
	for _, c := range beam {
		if h.nodes[c.id].deleted {
			continue
		}
		c.sim = dot(v, h.vec(c.id))
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b candidate) int {
		switch {
		case a.sim > b.sim:
			return -1
		case a.sim < b.sim:
			return 1
		}
		return 0
	})
	return out[:min(k, len(out))]
}

// remove marks id deleted.
func (h *hnsw) remove(id uint32) {
	if !h.nodes[id].deleted {
		h.nodes[id].deleted = true
		h.deleted++
	}
}

// minHeap and maxHeap order candidates by distance.
type minHeap []candidate

func (p *minHeap) push(c candidate) {
	*p = append(*p, c)
	s := *p
	for i := len(s) - 1; i > 0; {
		j := (i - 1) / 2
		if s[j].dist <= s[i].dist {
			break
		}
		s[i], s[j] = s[j], s[i]
		i = j
	}
}

func (p *minHeap) pop() candidate {
	s := *p
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s[l].dist < s[m].dist {
			m = l
		}
		if r < len(s) && s[r].dist < s[m].dist {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*p = s
	return top
}

type maxHeap []candidate

func (p *maxHeap) push(c candidate) {
	*p = append(*p, c)
	s := *p
	for i := len(s) - 1; i > 0; {
		j := (i - 1) / 2
		if s[j].dist >= s[i].dist {
			break
		}
		s[i], s[j] = s[j], s[i]
		i = j
	}
}

func (p *maxHeap) pop() candidate {
	s := *p
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s[l].dist > s[m].dist {
			m = l
		}
		if r < len(s) && s[r].dist > s[m].dist {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*p = s
	return top
}
