package policies

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// RollbackStore keeps canary rollback decisions where every replica sees them. A rollout
// is named by an id that is the same on every replica loading the same pins (its prompt,
// match, arms, weights, stickiness and rollback settings); a decision is a canary
// version and the reason it was rolled back. Decisions latch: once stored, a version
// stays rolled back until the store forgets it. MemoryRollbackStore keeps them in
// process memory, RedisRollbackStore shares them between replicas. Implementations are
// safe for concurrent use and honour ctx.
type RollbackStore interface {
	// Trip records that version of rollout was rolled back for reason, unless it is
	// already (the first reason stays).
	Trip(ctx context.Context, rollout, version, reason string) error
	// Tripped returns the decisions for each of rollouts: reason by version, by rollout
	// id; a rollout without any is absent.
	Tripped(ctx context.Context, rollouts []string) (map[string]map[string]string, error)
}

var _ RollbackStore = (*MemoryRollbackStore)(nil)

// MemoryRollbackStore is a RollbackStore in process memory, for several registries in
// one process and for tests. It never fails and is not bounded: one entry per rolled
// back canary.
type MemoryRollbackStore struct {
	mu sync.Mutex
	m  map[string]map[string]string
}

// NewMemoryRollbackStore returns an empty store.
func NewMemoryRollbackStore() *MemoryRollbackStore {
	return &MemoryRollbackStore{m: map[string]map[string]string{}}
}

// Trip implements RollbackStore.
func (s *MemoryRollbackStore) Trip(_ context.Context, rollout, version, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[rollout] == nil {
		s.m[rollout] = map[string]string{}
	}
	if _, ok := s.m[rollout][version]; !ok {
		s.m[rollout][version] = reason
	}
	return nil
}

// Tripped implements RollbackStore.
func (s *MemoryRollbackStore) Tripped(_ context.Context, rollouts []string) (map[string]map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]string{}
	for _, id := range rollouts {
		if d := s.m[id]; len(d) > 0 {
			out[id] = make(map[string]string, len(d))
			for v, r := range d {
				out[id][v] = r
			}
		}
	}
	return out, nil
}

// rolloutID names a rollout in a RollbackStore: a hash of its fingerprint.
func rolloutID(fingerprint string) string {
	h := sha256.Sum256([]byte(fingerprint))
	return hex.EncodeToString(h[:16])
}

// RollbackShareOptions tune a RollbackShare. Zero fields take the defaults.
type RollbackShareOptions struct {
	// Interval is how often decisions are exchanged with the store: a canary rolled back
	// on one replica is rolled back on the others within about two intervals. Default 1s.
	Interval time.Duration
	// Timeout bounds one exchange (two store round trips and one per new local
	// decision). Default 1s.
	Timeout time.Duration
	// Log receives a warning when an exchange fails (at most one every 10s); nil
	// discards them.
	Log *slog.Logger
}

// RollbackShare exchanges the rollback decisions of the registry in force with a
// RollbackStore: Sync writes the canaries this process rolled back and latches those
// other replicas rolled back. The counts behind the decisions stay per process. It does
// not own a goroutine: NewSharedPromptReloader syncs from the prompt reloader's polling,
// and anything else may call Sync. Safe for concurrent use; syncs are serialised.
type RollbackShare struct {
	store RollbackStore
	opts  RollbackShareOptions

	reg      atomic.Pointer[Registry]
	due      atomic.Int64 // unix nanos: the next sync due by the interval
	mu       sync.Mutex   // serialises Sync
	lastWarn atomic.Int64
}

// NewRollbackShare returns a share over store.
func NewRollbackShare(store RollbackStore, opts RollbackShareOptions) *RollbackShare {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &RollbackShare{store: store, opts: opts}
}

// Track makes reg the registry whose decisions Sync exchanges.
func (s *RollbackShare) Track(reg *Registry) { s.reg.Store(reg) }

// Sync exchanges the tracked registry's decisions with the store now: it writes every
// decision of this process the store does not hold, then latches every decision the
// store holds that this process has not taken. It returns the store's error, after
// doing what it could.
func (s *RollbackShare) Sync(ctx context.Context) error {
	reg := s.reg.Load()
	if reg == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	rbs := reg.rollbacks()
	ids := make([]string, len(rbs))
	for i, rb := range rbs {
		ids[i] = rb.id
		for a := 1; a < len(rb.versions); a++ {
			arm := &rb.arms[a]
			if !arm.tripped.Load() || arm.shared.Load() {
				continue
			}
			if err := s.store.Trip(ctx, rb.id, rb.versions[a], *arm.reason.Load()); err != nil {
				return err
			}
			arm.shared.Store(true)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	got, err := s.store.Tripped(ctx, ids)
	if err != nil {
		return err
	}
	for _, rb := range rbs {
		for a := 1; a < len(rb.versions); a++ {
			reason, ok := got[rb.id][rb.versions[a]]
			arm := &rb.arms[a]
			switch {
			case ok:
				rb.trip(a, reason+" (decided by another replica)")
				arm.shared.Store(true)
			case arm.tripped.Load():
				arm.shared.Store(false) // the store forgot it (expired, flushed): write it again
			}
		}
	}
	return nil
}

// syncIfDue runs Sync when the interval has passed since the last one, logging a
// failure (rate-limited). Cheap when not due: one atomic load.
func (s *RollbackShare) syncIfDue() {
	now := time.Now().UnixNano()
	due := s.due.Load()
	if now < due || !s.due.CompareAndSwap(due, now+int64(s.opts.Interval)) {
		return
	}
	s.syncLogged()
}

// syncLogged runs Sync and logs its failure, at most once every 10s.
func (s *RollbackShare) syncLogged() {
	err := s.Sync(context.Background())
	if err == nil {
		return
	}
	now, last := time.Now().UnixNano(), s.lastWarn.Load()
	if now-last > int64(10*time.Second) && s.lastWarn.CompareAndSwap(last, now) {
		s.opts.Log.Warn("prompt rollback decisions not exchanged with the shared store; this replica decides alone meanwhile",
			"error", err.Error())
	}
}

// rollbacks returns the registry's rollbacks, each once, by prompt and pin order.
func (r *Registry) rollbacks() []*Rollback {
	var out []*Rollback
	for _, id := range r.ids {
		for _, p := range r.prompts[id].pins {
			if p.rb != nil && !slices.Contains(out, p.rb) {
				out = append(out, p.rb)
			}
		}
	}
	return out
}

// NewSharedPromptReloader is NewPromptReloader with rollback decisions shared through
// share: every registry is synced with the store before it is published (so a replica
// that starts, or reloads, never serves a canary another replica rolled back, when the
// store answers), and again every share interval from the reloader's polling (Watch).
func NewSharedPromptReloader(dir string, share *RollbackShare, apply func(*Registry) error, log *slog.Logger) (*Reloader, error) {
	r, err := NewPromptReloader(dir, func(reg *Registry) error {
		prev := share.reg.Load()
		share.Track(reg)
		share.syncLogged()
		share.due.Store(time.Now().Add(share.opts.Interval).UnixNano())
		if err := apply(reg); err != nil {
			share.Track(prev)
			return err
		}
		return nil
	}, log)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	read := r.read
	r.read = func() ([]Source, error) {
		share.syncIfDue()
		return read()
	}
	r.mu.Unlock()
	return r, nil
}
