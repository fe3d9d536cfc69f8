package policies

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/yamlx"
)

// Requested is the target model that means "the model the client asked for".
const Requested = "$requested"

// Wildcard is the model name that serves any model name not defined otherwise.
const Wildcard = "*"

// Strategies are the route strategy names.
var Strategies = []string{"weighted", "priority", "least_latency", "least_inflight", "cost", "complexity"}

// ErrorClasses are the fallback error class names ("any" is also accepted).
var ErrorClasses = []string{"connect", "timeout", "rate_limit", "server_error", "context_length", "content_filter"}

// Snapshot is a compiled, validated policy. It is immutable: a reload builds a new one
// and swaps it in, and requests keep the snapshot they started with.
type Snapshot struct {
	// Version is the content hash of the sources.
	Version string
	// LoadedAt is when the snapshot was compiled.
	LoadedAt time.Time
	// Sources are the files it was compiled from.
	Sources []string
	// Models by name and by alias; the wildcard under "*".
	Models map[string]*CModel
	// Routes in match order; the last matches everything.
	Routes []*CRoute
	// Health and Retry are the file's settings (zero fields mean router defaults).
	Health Health
	Retry  Retry
}

// CModel is a compiled model.
type CModel struct {
	Name string
	*Model
}

// SupportsTools and SupportsImages apply the defaults (true).
func (m *CModel) SupportsTools() bool  { return m.Tools == nil || *m.Tools }
func (m *CModel) SupportsImages() bool { return m.Images == nil || *m.Images }

// DeploymentWeight returns d's weight (default 1).
func DeploymentWeight(d *Deployment) float64 {
	if d.Weight == nil {
		return 1
	}
	return *d.Weight
}

// CRoute is a compiled route.
type CRoute struct {
	Name        string
	Index       int
	Strategy    string
	Targets     []CTarget
	Requested   bool
	Sticky      string
	Exploration float64
	MinTier     int
	Tiers       []CTier
	Fallbacks   []CFallback
	MaxAttempts int
	Cache       *RouteCache
	Coalesce    *bool
	Deferrable  bool
	Idempotent  bool
	File        string
	Line        int
	match       matcher
}

// CTarget is a route target with its weight resolved.
type CTarget struct {
	Model  string
	Weight float64
}

// CTier is a complexity band; the last has Below > 1.
type CTier struct {
	Name  string
	Below float64
	Model string
}

// CFallback is a fallback rule.
type CFallback struct {
	On []string
	To []string
}

// Options tune compilation.
type Options struct {
	// Providers are the provider names the gateway config defines; deployments naming
	// another are errors. Nil skips the check (policy check without a config).
	Providers map[string]bool
	// Now stamps LoadedAt (time.Now when nil).
	Now func() time.Time
}

// Load reads, parses and compiles the policy at path (a file or a directory).
func Load(path string, opts Options) (*Snapshot, error) {
	srcs, err := Read(path)
	if err != nil {
		return nil, err
	}
	return Compile(srcs, opts)
}

// Compile parses, validates and compiles sources. Every problem is reported, each with
// its file and line.
func Compile(srcs []Source, opts Options) (*Snapshot, error) {
	f, err := Parse(srcs)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	s := &Snapshot{Version: Version(srcs), LoadedAt: now(), Models: map[string]*CModel{}}
	for _, src := range srcs {
		s.Sources = append(s.Sources, src.Name)
	}
	var errs yamlx.Errors
	s.compileModels(f, opts, &errs)
	s.compileRoutes(f, &errs)
	if f.Health != nil {
		s.Health = *f.Health
	}
	if f.Retry != nil {
		s.Retry = *f.Retry
	}
	checkRetry(srcs[0].Name, s, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

func (s *Snapshot) compileModels(f *File, opts Options, errs *yamlx.Errors) {
	names := make([]string, 0, len(f.Models))
	for n := range f.Models {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		m := f.Models[name]
		if m == nil {
			errs.Add("", 0, "model %q is empty", name)
			continue
		}
		cm := &CModel{Name: name, Model: m}
		s.Models[name] = cm
		if len(m.Deployments) == 0 {
			errs.Add(m.File, m.Line, "model %q has no deployments", name)
		}
		seen := map[string]bool{}
		for _, d := range m.Deployments {
			if d.Provider == "" {
				errs.Add(d.File, d.Line, "deployment of model %q needs a provider", name)
			} else if opts.Providers != nil && !opts.Providers[d.Provider] {
				errs.Add(d.File, d.Line, "model %q: unknown provider %q", name, d.Provider)
			}
			if d.Weight != nil && (*d.Weight < 0 || math.IsNaN(*d.Weight)) {
				errs.Add(d.File, d.Line, "model %q: deployment weight must not be negative", name)
			}
			if d.Name == "" {
				d.Name = d.Provider + "/" + firstNonEmpty(d.Model, name)
			}
			if seen[d.Name] {
				errs.Add(d.File, d.Line, "model %q: deployment %q is listed twice", name, d.Name)
			}
			seen[d.Name] = true
		}
		if m.Tier == 0 {
			m.Tier = 1
		}
		if m.ContextWindow < 0 || m.InputPrice < 0 || m.OutputPrice < 0 {
			errs.Add(m.File, m.Line, "model %q: context_window and prices must not be negative", name)
		}
	}
	for _, name := range names {
		m := f.Models[name]
		if m == nil {
			continue
		}
		for _, a := range m.Aliases {
			if prev, ok := s.Models[a]; ok {
				errs.Add(m.File, m.Line, "alias %q of model %q is already a name or alias of %q", a, name, prev.Name)
				continue
			}
			s.Models[a] = s.Models[name]
		}
		for _, fb := range m.Fallback {
			if _, ok := f.Models[fb]; !ok {
				errs.Add(m.File, m.Line, "model %q falls back to unknown model %q", name, fb)
			}
		}
	}
	if cyc := fallbackCycle(f.Models, names); cyc != nil {
		m := f.Models[cyc[0]]
		errs.Add(m.File, m.Line, "fallback chain has a cycle: %s", strings.Join(cyc, " -> "))
	}
}

// fallbackCycle returns a cycle in the models' fallback graph, or nil.
func fallbackCycle(models map[string]*Model, names []string) []string {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(n string) []string
	visit = func(n string) []string {
		switch state[n] {
		case active:
			for i, s := range stack {
				if s == n {
					return append(append([]string(nil), stack[i:]...), n)
				}
			}
		case done:
			return nil
		}
		state[n] = active
		stack = append(stack, n)
		if m := models[n]; m != nil {
			for _, next := range m.Fallback {
				if _, ok := models[next]; ok {
					if c := visit(next); c != nil {
						return c
					}
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	for _, n := range names {
		if c := visit(n); c != nil {
			return c
		}
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func checkRetry(file string, s *Snapshot, errs *yamlx.Errors) {
	r, h := s.Retry, s.Health
	if r.MaxAttempts < 0 || r.BudgetRatio < 0 || r.BudgetMinPerSecond < 0 || r.BackoffBase < 0 || r.BackoffMax < 0 {
		errs.Add(file, 0, "retry settings must not be negative")
	}
	if h.ErrorRate < 0 || h.ErrorRate > 1 {
		errs.Add(file, 0, "health.error_rate must be between 0 and 1")
	}
	if h.FailureThreshold < 0 || h.MinRequests < 0 || h.Window < 0 || h.Cooldown < 0 || h.HalfOpenProbes < 0 {
		errs.Add(file, 0, "health settings must not be negative")
	}
}
