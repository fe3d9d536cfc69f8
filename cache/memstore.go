package cache

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryStore is the in-process Store: entries bounded in bytes, spread over shards that
// lock independently (no lock is shared by all requests), each evicting with S3-FIFO
// (Yang et al., SOSP'23): new entries enter a small FIFO queue (10% of the shard's bytes)
// and are promoted to the main FIFO only if read again before they leave it; the main
// queue gives read entries another round (CLOCK-like, up to 3). One-hit wonders thus
// leave quickly and a scan cannot flush the entries that are read. Reads take a shard's
// read lock and bump an atomic counter; expired entries are dropped when met and by Sweep.
type MemoryStore struct {
	shards   []memShard
	seed     maphash.Seed
	maxEntry int64
	now      func() time.Time
}

var _ Store = (*MemoryStore)(nil)

type memShard struct {
	mu          sync.RWMutex
	items       map[string]*memItem
	small, main fifo
	ghost       ghostSet
	capBytes    int64
	smallCap    int64
	_           [40]byte // keep shards on separate cache lines
}

type memItem struct {
	key        string
	e          *Entry
	size       int64
	expires    int64 // Unix nanoseconds
	freq       atomic.Int32
	inSmall    bool
	prev, next *memItem
}

// NewMemoryStore returns a store holding at most cfg.MaxBytes (after WithDefaults) in
// cfg.Shards shards. now is the clock (time.Now when nil).
func NewMemoryStore(cfg MemoryConfig, now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	n := max(cfg.Shards, 1)
	s := &MemoryStore{shards: make([]memShard, n), seed: maphash.MakeSeed(), maxEntry: cfg.MaxEntryBytes, now: now}
	per := cfg.MaxBytes / int64(n)
	if s.maxEntry <= 0 || s.maxEntry > per {
		s.maxEntry = per
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.items = make(map[string]*memItem)
		sh.capBytes = per
		sh.smallCap = per / 10
		sh.ghost.init(1024)
	}
	return s
}

func (s *MemoryStore) shard(key string) *memShard {
	return &s.shards[maphash.String(s.seed, key)&uint64(len(s.shards)-1)]
}

// Get returns the live entry under key. It never fails.
func (s *MemoryStore) Get(_ context.Context, key string) (*Entry, error) {
	sh := s.shard(key)
	sh.mu.RLock()
	it := sh.items[key]
	sh.mu.RUnlock()
	if it == nil {
		return nil, nil
	}
	if it.expires <= s.now().UnixNano() {
		sh.mu.Lock()
		if cur := sh.items[key]; cur == it {
			sh.remove(it)
		}
		sh.mu.Unlock()
		return nil, nil
	}
	if it.freq.Load() < 3 {
		it.freq.Add(1)
	}
	return it.e, nil
}

// Set stores e, evicting as needed. Entries above the size limit get ErrTooLarge.
func (s *MemoryStore) Set(_ context.Context, e *Entry) error {
	size := e.size()
	if size > s.maxEntry {
		return ErrTooLarge
	}
	it := &memItem{key: e.Key, e: e, size: size, expires: e.Expires.UnixNano()}
	h := maphash.String(s.seed, e.Key)
	sh := &s.shards[h&uint64(len(s.shards)-1)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old := sh.items[e.Key]; old != nil {
		sh.remove(old)
	}
	sh.items[e.Key] = it
	if sh.ghost.take(h) {
		sh.main.pushHead(it)
	} else {
		it.inSmall = true
		sh.small.pushHead(it)
	}
	now := s.now().UnixNano()
	for sh.small.bytes+sh.main.bytes > sh.capBytes {
		if sh.small.bytes > sh.smallCap || sh.main.tail == nil {
			sh.evictSmall(now, s.seed)
		} else {
			sh.evictMain(now)
		}
	}
	return nil
}

// evictSmall takes the small queue's oldest entry: read since it entered, it moves to
// the main queue; otherwise it leaves, remembered in the ghost set so that a quick
// re-insertion goes straight to main.
func (sh *memShard) evictSmall(now int64, seed maphash.Seed) {
	it := sh.small.tail
	sh.small.unlink(it)
	it.inSmall = false
	if it.freq.Load() > 0 && it.expires > now {
		it.freq.Store(0)
		sh.main.pushHead(it)
		return
	}
	delete(sh.items, it.key)
	sh.ghost.add(maphash.String(seed, it.key), len(sh.items))
}

// evictMain takes the main queue's oldest entry: read since its last round, it goes
// round again with one read fewer; otherwise it leaves.
func (sh *memShard) evictMain(now int64) {
	it := sh.main.tail
	sh.main.unlink(it)
	if f := it.freq.Load(); f > 0 && it.expires > now {
		it.freq.Store(f - 1)
		sh.main.pushHead(it)
		return
	}
	delete(sh.items, it.key)
}

func (sh *memShard) remove(it *memItem) {
	if it.inSmall {
		sh.small.unlink(it)
	} else {
		sh.main.unlink(it)
	}
	delete(sh.items, it.key)
}

// Purge removes the entries whose scope matches filter. It locks one shard at a time.
func (s *MemoryStore) Purge(_ context.Context, filter Scope) (int, error) {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, it := range sh.items {
			if filter.matches(it.e.Scope) {
				sh.remove(it)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// Sweep removes expired entries, one shard at a time; the cache's janitor calls it.
func (s *MemoryStore) Sweep() int {
	now := s.now().UnixNano()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, it := range sh.items {
			if it.expires <= now {
				sh.remove(it)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// Stats returns the entries held and their estimated bytes.
func (s *MemoryStore) Stats() (entries int, bytes int64) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		entries += len(sh.items)
		bytes += sh.small.bytes + sh.main.bytes
		sh.mu.RUnlock()
	}
	return entries, bytes
}

// fifo is an intrusive doubly linked queue: push at head, evict at tail.
type fifo struct {
	head, tail *memItem
	bytes      int64
}

func (q *fifo) pushHead(it *memItem) {
	it.prev, it.next = nil, q.head
	if q.head != nil {
		q.head.prev = it
	}
	q.head = it
	if q.tail == nil {
		q.tail = it
	}
	q.bytes += it.size
}

func (q *fifo) unlink(it *memItem) {
	if it.prev != nil {
		it.prev.next = it.next
	} else {
		q.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		q.tail = it.prev
	}
	it.prev, it.next = nil, nil
	q.bytes -= it.size
}

// ghostSet remembers the hashes of recently evicted keys, FIFO, about as many as the
// shard holds entries.
type ghostSet struct {
	set  map[uint64]struct{}
	ring []uint64
	pos  int
}

func (g *ghostSet) init(n int) {
	g.set = make(map[uint64]struct{}, n)
	g.ring = make([]uint64, 0, n)
}

// add remembers h, forgetting the oldest once more than max(limit, 1024) are held.
func (g *ghostSet) add(h uint64, limit int) {
	limit = max(limit, 1024)
	if len(g.ring) < limit {
		g.ring = append(g.ring, h)
	} else {
		g.pos %= len(g.ring)
		delete(g.set, g.ring[g.pos])
		g.ring[g.pos] = h
		g.pos++
	}
	g.set[h] = struct{}{}
}

// take reports whether h was remembered, forgetting it.
func (g *ghostSet) take(h uint64) bool {
	if _, ok := g.set[h]; !ok {
		return false
	}
	delete(g.set, h)
	return true
}
