package batchlane

import (
	"context"
	"strings"
	"sync"
	"time"
)

// OwnerStore is where Owners keeps who owns each provider file and batch id. An owner
// is an opaque string ("key:etl", "team:data"). MemoryOwners keeps the table in process
// memory (the embedded default); RedisOwners shares it between replicas. Implementations
// are safe for concurrent use and honour ctx.
type OwnerStore interface {
	// Claim makes owner the owner of every id in ids that has no live owner, for ttl.
	// An id that has one keeps it: ownership is first come.
	Claim(ctx context.Context, owner string, ttl time.Duration, ids ...string) error
	// Owners returns the live owner of each id, "" for an id nobody owns, in ids' order.
	Owners(ctx context.Context, ids []string) ([]string, error)
	// Release forgets id when owner owns it.
	Release(ctx context.Context, id, owner string) error
}

var _ OwnerStore = (*MemoryOwners)(nil)

// MemoryOwners is an OwnerStore in process memory, bounded by a count: past it the
// oldest entries are forgotten. Entries past their ttl count as absent and are dropped
// when the bound is enforced. Safe for concurrent use; every method is O(ids) plus the
// amortised cost of eviction, and never fails.
type MemoryOwners struct {
	limit int
	now   func() time.Time

	mu   sync.Mutex
	m    map[string]owned
	fifo []ownedRef // insertion order, oldest first; entries may be stale
	seq  uint64
}

type owned struct {
	owner   string
	expires time.Time
	seq     uint64
}

type ownedRef struct {
	id  string
	seq uint64
}

// NewMemoryOwners returns an empty table of at most limit entries (at least 1). now is
// the clock; nil means time.Now.
func NewMemoryOwners(limit int, now func() time.Time) *MemoryOwners {
	if now == nil {
		now = time.Now
	}
	return &MemoryOwners{limit: max(limit, 1), now: now, m: map[string]owned{}}
}

// Claim implements OwnerStore.
func (s *MemoryOwners) Claim(_ context.Context, owner string, ttl time.Duration, ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, id := range ids {
		if e, ok := s.m[id]; ok && !now.After(e.expires) {
			continue
		}
		id = strings.Clone(id) // never keep a view into the caller's (reused) body
		s.seq++
		s.m[id] = owned{owner: owner, expires: now.Add(ttl), seq: s.seq}
		s.fifo = append(s.fifo, ownedRef{id, s.seq})
	}
	s.evict(now)
	return nil
}

// Owners implements OwnerStore.
func (s *MemoryOwners) Owners(_ context.Context, ids []string) ([]string, error) {
	out := make([]string, len(ids))
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for i, id := range ids {
		if e, ok := s.m[id]; ok && !now.After(e.expires) {
			out[i] = e.owner
		}
	}
	return out, nil
}

// Release implements OwnerStore.
func (s *MemoryOwners) Release(_ context.Context, id, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[id]; ok && e.owner == owner {
		delete(s.m, id)
	}
	return nil
}

// evict drops entries past their ttl or over the size bound, oldest first, and the
// stale references ahead of them. Called with s.mu held.
func (s *MemoryOwners) evict(now time.Time) {
	i := 0
	for ; i < len(s.fifo); i++ {
		r := s.fifo[i]
		e, ok := s.m[r.id]
		live := ok && e.seq == r.seq
		if live && len(s.m) <= s.limit && !now.After(e.expires) {
			break
		}
		if live {
			delete(s.m, r.id)
		}
	}
	s.fifo = s.fifo[i:] // append reallocates once the tail is full, freeing the head
}
