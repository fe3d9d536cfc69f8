package policies

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Status describes the policy in force and the last reload problem, for /admin/policy.
type Status struct {
	Version     string    `json:"version"`
	LoadedAt    time.Time `json:"loaded_at"`
	Sources     []string  `json:"sources"`
	Reloads     int64     `json:"reloads"`
	Rejected    int64     `json:"rejected"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// Reloader keeps a policy path compiled: it reloads when the files change (polled) or
// when asked (SIGHUP), and hands each valid snapshot to apply, which swaps it in. A file
// that fails to load or apply is rejected and logged with file:line; the last good
// snapshot keeps serving. Reloads are serialised; Status is safe to read concurrently.
type Reloader struct {
	path   string
	opts   Options
	apply  func(*Snapshot) error
	log    *slog.Logger
	mu     sync.Mutex
	last   string // version of the sources last seen, valid or not
	status atomic.Pointer[Status]
}

// NewReloader loads path once (which must succeed) and applies it.
func NewReloader(path string, opts Options, apply func(*Snapshot) error, log *slog.Logger) (*Reloader, error) {
	r := &Reloader{path: path, opts: opts, apply: apply, log: log}
	r.status.Store(&Status{})
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Status returns the current status (do not modify it).
func (r *Reloader) Status() *Status { return r.status.Load() }

// Reload reads the path and, when its content changed since the last attempt, compiles
// and applies it. It returns the rejection error, if any.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	srcs, err := Read(r.path)
	if err != nil {
		return r.reject("", err)
	}
	v := Version(srcs)
	if v == r.last {
		return nil
	}
	r.last = v
	snap, err := Compile(srcs, r.opts)
	if err == nil {
		err = r.apply(snap)
	}
	if err != nil {
		return r.reject(v, err)
	}
	old := r.status.Load()
	st := &Status{Version: snap.Version, LoadedAt: snap.LoadedAt, Sources: snap.Sources,
		Reloads: old.Reloads + 1, Rejected: old.Rejected}
	r.status.Store(st)
	if r.log != nil {
		r.log.Info("policy loaded", "version", snap.Version, "sources", snap.Sources)
	}
	return nil
}

func (r *Reloader) reject(version string, err error) error {
	old := r.status.Load()
	st := *old
	st.Rejected++
	st.LastError, st.LastErrorAt = err.Error(), time.Now()
	r.status.Store(&st)
	if r.log != nil && old.Version != "" {
		r.log.Error("policy rejected; the previous version keeps serving", "serving", old.Version,
			"rejected", version, "error", err.Error())
	}
	return err
}

// Watch polls the path every interval (250ms when 0) until ctx ends. Polling the
// content (not file events) also catches the symlink swaps of mounted config maps.
func (r *Reloader) Watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.Reload()
		}
	}
}
