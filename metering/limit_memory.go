package metering

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// memShards is the number of shards of each MemoryStore map (a power of two).
const memShards = 64

// MemoryStore keeps limit counters in this process. Counters live in one small struct per
// (scope, value) with its own mutex; a request locks only the (at most three) structs it
// touches, always in scope order, so there is no lock shared by all requests. The maps
// that find them are sharded. Windows are fixed (see windowsAt), so a counter is exact
// within its window. Expired counters and idempotency records are swept lazily by the
// requests themselves; no goroutine runs. Safe for concurrent use.
type MemoryStore struct {
	seed     maphash.Seed
	entities [memShards]entityShard
	records  [memShards]recordShard
}

var _ LimitStore = (*MemoryStore)(nil)

// NewMemoryStore returns an empty in-process store.
func NewMemoryStore() *MemoryStore {
	s := &MemoryStore{seed: maphash.MakeSeed()}
	for i := range s.entities {
		s.entities[i].m = make(map[entityKey]*memEntity)
		s.records[i].m = make(map[string]memRecord)
	}
	return s
}

type entityKey struct {
	scope uint8
	value string
}

// memEntity holds the counters of one (scope, value). dead marks an entity the sweeper
// removed from its map; a request that locked it looks it up again.
type memEntity struct {
	mu   sync.Mutex
	dead bool
	c    [numKinds]memCounter
}

// memCounter is one counter in its current window.
type memCounter struct {
	win window
	val int64
}

// value is the counter's value in w: zero if the counter's window is older than w.
// A counter already in a later window (a request whose clock lags) counts as is.
func (c *memCounter) value(w window) int64 {
	if c.win.start < w.start {
		return 0
	}
	return c.val
}

// add adds delta in window w: it starts w if the counter's window is older, adds to the
// counter's own window if that is later (a lagging clock) and delta is positive, and
// never goes below zero.
func (c *memCounter) add(w window, delta int64) {
	switch {
	case c.win.start < w.start:
		c.win, c.val = w, 0
	case c.win.start > w.start && delta < 0:
		return
	}
	c.val = max(c.val+delta, 0)
}

// entityShard and recordShard are padded to 64 bytes, a cache line, so that shards
// next to each other do not slow each other down.
type entityShard struct {
	mu        sync.RWMutex
	m         map[entityKey]*memEntity
	nextSweep int64 // Unix seconds
	_         [24]byte
}

// memRecord is a request id's idempotency record.
type memRecord struct {
	expires int64       // Unix nanoseconds
	at      int64       // the reservation's time, Unix nanoseconds
	ops     []counterOp // the reservation's ops with what each holds; nil once settled
}

type recordShard struct {
	mu        sync.Mutex
	m         map[string]memRecord
	nextSweep int64 // Unix nanoseconds
	_         [40]byte
}

func (s *MemoryStore) recordShard(id string) *recordShard {
	return &s.records[maphash.String(s.seed, id)&(memShards-1)]
}

// get returns id's record if it has not expired. Caller holds rs.mu.
func (rs *recordShard) get(id string, now int64) (memRecord, bool) {
	rec, ok := rs.m[id]
	return rec, ok && rec.expires > now
}

func (s *MemoryStore) reserve(_ context.Context, b reserveBatch) (reserveResult, error) {
	rs := s.recordShard(b.requestID)
	now := b.at.UnixNano()
	rs.mu.Lock()
	rec, dup := rs.get(b.requestID, now)
	rs.mu.Unlock()
	if dup {
		return duplicateOf(rec, b.ops), nil
	}
	var ents [numScopes]*memEntity
	s.lockEntities(b.ops, &ents, b.at.Unix())
	for i := range b.ops {
		op := &b.ops[i]
		op.used = ents[op.scope].c[op.kind].value(op.win)
		if op.mode == codeHard && op.used > op.max-op.amount {
			unlockEntities(&ents)
			return reserveResult{outcome: outcomeDenied, denied: i}, nil
		}
	}
	for i := range b.ops {
		op := &b.ops[i]
		if op.mode == codeShadow && op.used > op.max-op.amount {
			op.charged = notCharged
			continue
		}
		ents[op.scope].c[op.kind].add(op.win, op.amount)
		op.charged = op.amount
	}
	unlockEntities(&ents)

	rs.mu.Lock()
	if rec, dup := rs.get(b.requestID, now); dup { // a concurrent Reserve of this id won
		rs.mu.Unlock()
		s.rollback(b.ops, b.at.Unix())
		return duplicateOf(rec, b.ops), nil
	}
	rs.m[b.requestID] = memRecord{expires: now + int64(b.ttl), at: now, ops: b.ops}
	rs.sweep(now, b.ttl)
	rs.mu.Unlock()
	return reserveResult{outcome: outcomeAdmitted}, nil
}

// duplicateOf answers a Reserve of an id that rec already holds, copying what the
// original reservation charged into ops.
func duplicateOf(rec memRecord, ops []counterOp) reserveResult {
	if rec.ops == nil {
		return reserveResult{outcome: outcomeSettled, origAt: time.Unix(0, rec.at)}
	}
	for i := range ops {
		ops[i].charged = notCharged
		if len(rec.ops) == len(ops) { // else the rules changed in between: settle nothing
			ops[i].charged = rec.ops[i].charged
		}
	}
	return reserveResult{outcome: outcomeDuplicate, origAt: time.Unix(0, rec.at)}
}

// rollback takes back what a Reserve that lost a race with a duplicate had charged.
func (s *MemoryStore) rollback(ops []counterOp, now int64) {
	var ents [numScopes]*memEntity
	s.lockEntities(ops, &ents, now)
	for i := range ops {
		if ops[i].charged > 0 {
			ents[ops[i].scope].c[ops[i].kind].add(ops[i].win, -ops[i].charged)
		}
	}
	unlockEntities(&ents)
}

func (s *MemoryStore) settle(_ context.Context, b settleBatch) error {
	rs := s.recordShard(b.requestID)
	now := b.now.UnixNano()
	var charged [maxCounters]int64
	for i := range b.ops {
		charged[i] = b.ops[i].charged
	}
	rs.mu.Lock()
	rec, ok := rs.get(b.requestID, now)
	if ok && rec.ops == nil {
		rs.mu.Unlock()
		return nil // settled before
	}
	if ok && len(rec.ops) == len(b.ops) {
		for i := range rec.ops {
			charged[i] = rec.ops[i].charged
		}
	}
	rs.m[b.requestID] = memRecord{expires: now + int64(b.ttl), at: rec.at}
	rs.sweep(now, b.ttl)
	rs.mu.Unlock()

	var ents [numScopes]*memEntity
	s.lockEntities(b.ops, &ents, b.now.Unix())
	for i := range b.ops {
		op := &b.ops[i]
		if charged[i] == notCharged {
			continue
		}
		delta := b.actual[op.kind] - charged[i]
		if w, ok := settleTarget(op.win, b.cur[op.kind], delta); ok {
			ents[op.scope].c[op.kind].add(w, delta)
		}
	}
	unlockEntities(&ents)
	return nil
}

// sweep drops expired records, at most once per quarter of ttl. Caller holds rs.mu.
func (rs *recordShard) sweep(now int64, ttl time.Duration) {
	if now < rs.nextSweep {
		return
	}
	rs.nextSweep = now + int64(max(ttl/4, time.Second))
	for id, rec := range rs.m {
		if rec.expires <= now {
			delete(rs.m, id)
		}
	}
}

// lockEntities finds or creates the entity of every scope ops touch and locks them in
// scope order (ops are sorted by scope), so two requests never wait on each other in a
// cycle. Lookups happen before any entity is locked, so the sweeper, which holds a shard
// lock while it try-locks entities, cannot deadlock with a request. now is Unix seconds.
func (s *MemoryStore) lockEntities(ops []counterOp, ents *[numScopes]*memEntity, now int64) {
	for {
		*ents = [numScopes]*memEntity{}
		for i := range ops {
			if si := ops[i].scope; ents[si] == nil {
				ents[si] = s.entity(entityKey{si, ops[i].value}, now)
			}
		}
		locked := 0
		for _, e := range ents {
			if e == nil {
				continue
			}
			e.mu.Lock()
			if e.dead { // swept between lookup and lock: unlock all and look up again
				e.mu.Unlock()
				break
			}
			locked++
		}
		if locked == countEntities(ents) {
			return
		}
		for _, e := range ents {
			if e != nil && locked > 0 {
				e.mu.Unlock()
				locked--
			}
		}
	}
}

func countEntities(ents *[numScopes]*memEntity) int {
	n := 0
	for _, e := range ents {
		if e != nil {
			n++
		}
	}
	return n
}

func unlockEntities(ents *[numScopes]*memEntity) {
	for _, e := range ents {
		if e != nil {
			e.mu.Unlock()
		}
	}
}

// entity returns the entity for k, creating it (and sweeping its shard at most once a
// minute) if needed.
func (s *MemoryStore) entity(k entityKey, now int64) *memEntity {
	sh := &s.entities[(maphash.String(s.seed, k.value)+uint64(k.scope))&(memShards-1)]
	sh.mu.RLock()
	e := sh.m[k]
	sh.mu.RUnlock()
	if e != nil {
		return e
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e = sh.m[k]; e != nil {
		return e
	}
	if now >= sh.nextSweep {
		sh.nextSweep = now + 60
		for key, old := range sh.m {
			if old.mu.TryLock() { // a busy entity is in use: keep it
				if old.idle(now) {
					old.dead = true
					delete(sh.m, key)
				}
				old.mu.Unlock()
			}
		}
	}
	e = &memEntity{}
	sh.m[k] = e
	return e
}

// idle reports whether every counter's window has ended, so the entity holds nothing.
func (e *memEntity) idle(now int64) bool {
	for i := range e.c {
		if e.c[i].win.end > now && e.c[i].val != 0 {
			return false
		}
	}
	return true
}
