package cache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// semIndex is the in-process vector index: one HNSW graph per partition (a scope plus a
// hash of everything in the request but the compared text, and the embedder), so a
// candidate can only come from a request that differs in its final user turn alone.
// Partitions live in shards locked independently; a partition has its own RWMutex
// (searches share it, inserts take it alone). Safe for concurrent use.
type semIndex struct {
	shards     [16]semShard
	seed       maphash.Seed
	m, efC     int
	maxVectors int64
	live       atomic.Int64 // live vectors, all partitions
	lex        *lexicon     // analyses indexed questions for verification
}

type semShard struct {
	mu    sync.RWMutex
	parts map[string]*partition
}

// partition is one HNSW graph and what each node stands for.
type partition struct {
	mu    sync.RWMutex
	scope Scope
	g     *hnsw
	byKey map[string]uint32
	meta  []nodeMeta
}

// nodeMeta is what a node stands for: the entry key, its question (analysed once, for
// verification) and when it expires.
type nodeMeta struct {
	key     string
	text    string
	info    textInfo
	expires int64 // Unix nanoseconds
}

// match is a search result.
type match struct {
	key  string
	text string
	info textInfo
	sim  float32
}

// newSemIndex builds an empty index; lx (nil: the built-in lexicon) analyses questions.
func newSemIndex(cfg SemanticConfig, lx *lexicon) *semIndex {
	s := &semIndex{seed: maphash.MakeSeed(), m: cfg.M, efC: cfg.EfConstruction, maxVectors: int64(cfg.MaxVectors), lex: lx}
	for i := range s.shards {
		s.shards[i].parts = map[string]*partition{}
	}
	return s
}

func (s *semIndex) shard(part string) *semShard {
	return &s.shards[maphash.String(s.seed, part)%uint64(len(s.shards))]
}

func (s *semIndex) get(part string) *partition {
	sh := s.shard(part)
	sh.mu.RLock()
	p := sh.parts[part]
	sh.mu.RUnlock()
	return p
}

// insert indexes the unit vector v for the entry key in partition part. A key already
// indexed there only has its expiry and text refreshed. It reports false when the index
// is full (MaxVectors) or v has the wrong dimension.
func (s *semIndex) insert(part string, scope Scope, key, text string, v []float32, expires int64) bool {
	sh := s.shard(part)
	sh.mu.Lock()
	p := sh.parts[part]
	if p == nil {
		p = &partition{scope: scope, byKey: map[string]uint32{}}
		sh.parts[part] = p
	}
	sh.mu.Unlock()

	p.mu.Lock()
	defer p.mu.Unlock()
	if id, ok := p.byKey[key]; ok {
		if p.g.nodes[id].deleted {
			p.g.nodes[id].deleted = false
			p.g.deleted--
			s.live.Add(1)
		}
		p.meta[id].expires = expires
		return true
	}
	if s.live.Load() >= s.maxVectors {
		return false
	}
	if p.g == nil {
		p.g = newHNSW(len(v), s.m, s.efC, maphash.String(s.seed, part))
	}
	if len(v) != p.g.dim {
		return false
	}
	id := p.g.add(v)
	p.byKey[key] = id
	p.meta = append(p.meta, nodeMeta{key: key, text: text, info: s.lex.analyze(text), expires: expires})
	s.live.Add(1)
	return true
}

// search returns up to k live matches in partition part with similarity at least min,
// best first.
func (s *semIndex) search(part string, v []float32, k, ef int, min float32, now int64) []match {
	p := s.get(part)
	if p == nil {
		return nil
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.g == nil || len(v) != p.g.dim {
		return nil
	}
	var out []match
	for _, c := range p.g.search(v, k, ef) {
		m := &p.meta[c.id]
		if c.sim < min || m.expires <= now {
			continue
		}
		out = append(out, match{key: m.key, text: m.text, info: m.info, sim: c.sim})
	}
	return out
}

// remove unindexes key from partition part (its entry is gone from the store).
func (s *semIndex) remove(part, key string) {
	p := s.get(part)
	if p == nil {
		return
	}
	p.mu.Lock()
	if id, ok := p.byKey[key]; ok && !p.g.nodes[id].deleted {
		p.g.remove(id)
		s.live.Add(-1)
	}
	p.mu.Unlock()
}

// purge drops every partition whose scope matches filter; it returns the vectors dropped.
func (s *semIndex) purge(filter Scope) int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for name, p := range sh.parts {
			if filter.matches(p.scope) {
				p.mu.RLock()
				if p.g != nil {
					n += p.g.live()
				}
				p.mu.RUnlock()
				delete(sh.parts, name)
			}
		}
		sh.mu.Unlock()
	}
	s.live.Add(int64(-n))
	return n
}

// sweep marks expired nodes deleted, rebuilds partitions that are mostly deleted and
// drops empty ones. The cache's janitor calls it; it locks one partition at a time.
func (s *semIndex) sweep(now int64) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		parts := make([]string, 0, len(sh.parts))
		for name := range sh.parts {
			parts = append(parts, name)
		}
		sh.mu.RUnlock()
		for _, name := range parts {
			if p := s.get(name); p != nil && s.sweepPartition(p, now) {
				sh.mu.Lock()
				if sh.parts[name] == p {
					delete(sh.parts, name)
				}
				sh.mu.Unlock()
			}
		}
	}
}

// sweepPartition expires p's nodes and compacts it; it reports whether p is now empty.
func (s *semIndex) sweepPartition(p *partition, now int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.g == nil {
		return true
	}
	for id := range p.meta {
		if !p.g.nodes[id].deleted && p.meta[id].expires <= now {
			p.g.remove(uint32(id))
			s.live.Add(-1)
		}
	}
	if p.g.live() == 0 {
		return true
	}
	if p.g.deleted > 64 && p.g.deleted > p.g.live() {
		p.rebuild()
	}
	return false
}

// rebuild replaces the graph by one of the live nodes only. The caller holds p.mu.
func (p *partition) rebuild() {
	old, oldMeta := p.g, p.meta
	p.g = newHNSW(old.dim, old.m, old.efC, uint64(len(old.nodes)))
	p.byKey = make(map[string]uint32, old.live())
	p.meta = make([]nodeMeta, 0, old.live())
	for id := range oldMeta {
		if old.nodes[id].deleted {
			continue
		}
		nid := p.g.add(old.vec(uint32(id)))
		p.byKey[oldMeta[id].key] = nid
		p.meta = append(p.meta, oldMeta[id])
	}
}

// size returns the live vectors and partitions.
func (s *semIndex) size() (vectors int64, partitions int) {
	for i := range s.shards {
		s.shards[i].mu.RLock()
		partitions += len(s.shards[i].parts)
		s.shards[i].mu.RUnlock()
	}
	return s.live.Load(), partitions
}
