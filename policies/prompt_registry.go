package policies

import (
	"slices"

	"github.com/switchyard/switchyard/internal/yamlx"
)

// Registry is a compiled prompts directory: every prompt version, the labels and the
// pins. It is immutable once published (see KeepRollbacks) and safe for concurrent use;
// a reload compiles a new one, so it can sit in the same atomic snapshot as the policy.
// The only state that changes is inside rollouts' Rollback, which is concurrency-safe.
type Registry struct {
	version  string
	dir      string
	prompts  map[string]*promptEntry
	ids      []string
	warnings yamlx.Errors
	lock     map[string]lockEntry // prompts.lock as read
}

// ResolveAttrs are what pins match on and split by. The gateway fills them once per
// request.
type ResolveAttrs struct {
	// Feature and Team are the request's attribution.
	Feature, Team string
	// StickyKey keys splits with sticky: user: the request's user field, else the
	// gateway key's name. Empty: the split is random.
	StickyKey string
	// Session keys splits with sticky: session: x-switchyard-session, else
	// metadata.session_id. Empty: StickyKey is used.
	Session string
}

// promptEntry is one prompt ID's versions (sorted oldest first), labels and pins.
type promptEntry struct {
	id       string
	versions map[string]*PromptVersion
	sorted   []*PromptVersion
	labels   map[string]labelled
	pins     []*cPin
}

type labelled struct {
	v      *PromptVersion
	reason string
}

func (e *promptEntry) latest() *PromptVersion { return e.sorted[len(e.sorted)-1] }

// Reasons Resolve gives when no pin or label file line is involved.
const (
	reasonRequested  = "version requested"
	reasonLatest     = "label latest"
	reasonNoPinLabel = "no pin or production label: latest version"
)

// Resolve picks the version a request gets and says why:
//
//  1. ref.Version: that version;
//  2. ref.Label: the label's version ("latest": the highest version);
//  3. otherwise the first pin of the prompt matching attrs (a fixed version, or a split
//     sticky per user or session, whose rolled-back canaries give the baseline);
//  4. otherwise the production label;
//  5. otherwise the highest version.
//
// An unknown prompt, version or label is a *RefError. Resolve does not allocate; the
// reason is a constant string.
func (r *Registry) Resolve(ref Ref, attrs ResolveAttrs) (*PromptVersion, string, error) {
	e := r.prompts[ref.ID]
	if e == nil {
		return nil, "", &RefError{Ref: ref.String(), Reason: "unknown prompt"}
	}
	switch {
	case ref.Version != "":
		v := e.versions[ref.Version]
		if v == nil {
			return nil, "", &RefError{Ref: ref.String(), Reason: "unknown version"}
		}
		return v, reasonRequested, nil
	case ref.Label == LatestLabel:
		return e.latest(), reasonLatest, nil
	case ref.Label != "":
		l, ok := e.labels[ref.Label]
		if !ok {
			return nil, "", &RefError{Ref: ref.String(), Reason: "unknown label"}
		}
		return l.v, l.reason, nil
	}
	if p := e.pin(&attrs); p != nil {
		v, reason := p.choose(e.id, &attrs)
		return v, reason, nil
	}
	if l, ok := e.labels[ProductionLabel]; ok {
		return l.v, l.reason, nil
	}
	return e.latest(), reasonNoPinLabel, nil
}

// pin returns the first pin matching attrs, or nil.
func (e *promptEntry) pin(a *ResolveAttrs) *cPin {
	for _, p := range e.pins {
		if p.matches(a) {
			return p
		}
	}
	return nil
}

// Observe records a request's outcome (failed: the gateway counted it an error; cost in
// nano-USD) with the rollout that covers v's prompt for attrs, if it has a rollback and
// v is one of its versions. Requests that named that version or label explicitly count
// too. It reports whether this outcome rolled a canary back (log it). Safe for
// concurrent use, lock-free.
func (r *Registry) Observe(v *PromptVersion, attrs ResolveAttrs, failed bool, costNanoUSD int64) bool {
	e := r.prompts[v.ID]
	if e == nil {
		return false
	}
	p := e.pin(&attrs)
	if p == nil || p.rb == nil {
		return false
	}
	return p.rb.Observe(v.Version, failed, costNanoUSD)
}

// KeepRollbacks carries rollback state over from prev (the registry being replaced): a
// rollout whose prompt, match, arms, weights, stickiness and rollback settings are
// unchanged keeps its counts and decisions, so a reload for another reason neither
// forgets a rollback nor restarts the comparison. Call it on a freshly compiled registry
// before publishing it; prev may be nil.
func (r *Registry) KeepRollbacks(prev *Registry) {
	if prev == nil {
		return
	}
	old := map[string]*Rollback{}
	for _, e := range prev.prompts {
		for _, p := range e.pins {
			if p.rb != nil {
				old[p.fingerprint] = p.rb
			}
		}
	}
	for _, e := range r.prompts {
		for _, p := range e.pins {
			if rb, ok := old[p.fingerprint]; ok && p.rb != nil {
				p.rb = rb
			}
		}
	}
}

// RolloutStatus is one rollout with a rollback, for admin views.
type RolloutStatus struct {
	Prompt   string         `json:"prompt"`
	Pin      string         `json:"pin"`
	Rollback RollbackStatus `json:"rollback"`
}

// Rollouts returns the state of every rollout with a rollback, by prompt and pin order.
func (r *Registry) Rollouts() []RolloutStatus {
	var out []RolloutStatus
	for _, id := range r.ids {
		for _, p := range r.prompts[id].pins {
			if p.rb != nil {
				out = append(out, RolloutStatus{Prompt: id, Pin: p.where, Rollback: p.rb.Status()})
			}
		}
	}
	return out
}

// Version is the content hash of the directory's files: the registry's version id.
func (r *Registry) Version() string { return r.version }

// Dir is the directory the registry was loaded from.
func (r *Registry) Dir() string { return r.dir }

// Warnings are problems that do not stop loading: unpublished versions, unused
// variables. Do not modify the result.
func (r *Registry) Warnings() yamlx.Errors { return r.warnings }

// IDs returns the prompt IDs, sorted.
func (r *Registry) IDs() []string { return slices.Clone(r.ids) }

// Versions returns a prompt's versions, oldest first (nil for an unknown ID).
func (r *Registry) Versions(id string) []*PromptVersion {
	if e := r.prompts[id]; e != nil {
		return slices.Clone(e.sorted)
	}
	return nil
}

// Lookup returns one version, or nil.
func (r *Registry) Lookup(id, version string) *PromptVersion {
	if e := r.prompts[id]; e != nil {
		return e.versions[version]
	}
	return nil
}
