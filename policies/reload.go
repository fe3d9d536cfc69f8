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
	what string // "policy" or "prompts", for logs
	read func() ([]Source, error)
	vers func([]Source) string
	load func([]Source) (*Status, error) // compile and apply; the Status of what now serves
	log  *slog.Logger
	mu   sync.Mutex
	last string // version of the sources last seen, valid or not
	// readErr is the text of the last read error, until a read succeeds.
	readErr string
	status  atomic.Pointer[Status]
}

// NewReloader loads the policy at path once (which must succeed) and applies it.
func NewReloader(path string, opts Options, apply func(*Snapshot) error, log *slog.Logger) (*Reloader, error) {
	r := &Reloader{what: "policy", log: log,
		read: func() ([]Source, error) { return Read(path) },
		vers: Version,
		load: func(srcs []Source) (*Status, error) {
			snap, err := Compile(srcs, opts)
			if err == nil {
				err = apply(snap)
			}
			if err != nil {
				return nil, err
			}
			return &Status{Version: snap.Version, LoadedAt: snap.LoadedAt, Sources: snap.Sources}, nil
		}}
	return r, r.start()
}

// NewPromptReloader loads the prompt directory once (which must succeed) and applies
// it; each reload keeps the rollback state of the registry it replaces.
func NewPromptReloader(dir string, apply func(*Registry) error, log *slog.Logger) (*Reloader, error) {
	var current *Registry
	r := &Reloader{what: "prompts", log: log,
		read: func() ([]Source, error) { return ReadPrompts(dir) },
		vers: func(srcs []Source) string { return PromptsVersion(dir, srcs) },
		load: func(srcs []Source) (*Status, error) {
			reg, err := CompilePrompts(dir, srcs)
			if err != nil {
				return nil, err
			}
			reg.KeepRollbacks(current)
			if err := apply(reg); err != nil {
				return nil, err
			}
			current = reg
			names := make([]string, len(srcs))
			for i, s := range srcs {
				names[i] = s.Name
			}
			return &Status{Version: reg.Version(), LoadedAt: time.Now(), Sources: names}, nil
		}}
	return r, r.start()
}

func (r *Reloader) start() error {
	r.status.Store(&Status{})
	return r.Reload()
}

// Status returns the current status (do not modify it).
func (r *Reloader) Status() *Status { return r.status.Load() }

// Reload reads the path and, when its content changed since the last attempt, compiles
// and applies it. It returns the rejection error, if any.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	srcs, err := r.read()
	if err != nil {
		// A file that cannot be read (missing, too large) fails every poll the same way:
		// it is counted and logged once, and returned again without either.
		if msg := err.Error(); msg != r.readErr {
			r.readErr = msg
			return r.reject("", err)
		}
		return err
	}
	r.readErr = ""
	v := r.vers(srcs)
	if v == r.last {
		return nil
	}
	r.last = v
	st, err := r.load(srcs)
	if err != nil {
		return r.reject(v, err)
	}
	old := r.status.Load()
	st.Reloads, st.Rejected = old.Reloads+1, old.Rejected
	r.status.Store(st)
	if r.log != nil {
		r.log.Info(r.what+" loaded", "version", st.Version, "sources", st.Sources)
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
		r.log.Error(r.what+" rejected; the previous version keeps serving", "serving", old.Version,
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
