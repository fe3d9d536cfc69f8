package batchlane

import (
	"context"
	"sync"
	"time"
)

// JobStore keeps job statuses where every replica can read them, so a client may fetch
// a deferred job through any replica, not only the one that took it. The Collector that
// runs a job writes each change of it (queued, submitted, final) with Put, in order, from
// one goroutine at a time; Collector.Result reads it with Get when the job is not its
// own. MemoryJobs keeps them in process memory (for one process holding several
// Collectors, and for tests); RedisJobs shares them between replicas. Without a
// JobStore a Collector's own bounded table is the only copy (the embedded default).
// Implementations are safe for concurrent use and honour ctx.
type JobStore interface {
	// Put stores each status under its JobID, replacing what is there, for ttl.
	Put(ctx context.Context, ttl time.Duration, jobs ...Status) error
	// Get returns the stored status of a job, or ErrUnknownJob.
	Get(ctx context.Context, jobID string) (Status, error)
}

var _ JobStore = (*MemoryJobs)(nil)

// MemoryJobs is a JobStore in process memory. Entries past their ttl are absent, and are
// dropped in sweeps whose cost is amortised over Puts. Safe for concurrent use; it never
// fails.
type MemoryJobs struct {
	now func() time.Time

	mu        sync.Mutex
	m         map[string]storedJob
	nextSweep int
}

type storedJob struct {
	st      Status
	expires time.Time
}

// NewMemoryJobs returns an empty store. now is the clock; nil means time.Now.
func NewMemoryJobs(now func() time.Time) *MemoryJobs {
	if now == nil {
		now = time.Now
	}
	return &MemoryJobs{now: now, m: map[string]storedJob{}, nextSweep: 1024}
}

// Put implements JobStore.
func (s *MemoryJobs) Put(_ context.Context, ttl time.Duration, jobs ...Status) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, st := range jobs {
		s.m[st.JobID] = storedJob{st: st, expires: now.Add(ttl)}
	}
	if len(s.m) >= s.nextSweep {
		for id, e := range s.m {
			if now.After(e.expires) {
				delete(s.m, id)
			}
		}
		s.nextSweep = max(2*len(s.m), 1024)
	}
	return nil
}

// Get implements JobStore.
func (s *MemoryJobs) Get(_ context.Context, jobID string) (Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[jobID]
	if !ok || s.now().After(e.expires) {
		return Status{}, ErrUnknownJob
	}
	return e.st, nil
}
