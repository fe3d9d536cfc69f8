package policies

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/internal/sticky"
	"github.com/switchyard/switchyard/internal/yamlx"
)

// PinsFile is pins.yaml in the prompts directory: labels and per-feature or per-team
// pins and rollouts. It is optional.
type PinsFile struct {
	// Labels name versions per prompt: labels[prompt][label] = version. A label is
	// lower-case letters, digits, '_' or '-', starting with a letter; "latest" is built
	// in (the highest version) and may not be set. "production" is what requests with no
	// version and no pin get.
	Labels map[string]map[string]PromptVersionText `yaml:"labels"`
	// Pins are tried in order for requests that name a prompt without a version; the
	// first pin for that prompt whose match holds decides.
	Pins []*Pin `yaml:"pins"`
}

// Pin fixes the version a feature or team gets, or splits it between versions.
// Exactly one of Version, Label and Split is set.
type Pin struct {
	// Prompt is the prompt ID. Required.
	Prompt string `yaml:"prompt"`
	// Match selects requests by feature and team; absent, the pin applies to every
	// request for the prompt.
	Match *PinMatch `yaml:"match"`
	// Version pins an exact version.
	Version *PromptVersionText `yaml:"version"`
	// Label pins whatever version a label names (including "latest").
	Label string `yaml:"label"`
	// Split shares requests between versions by weight (relative; percentages read
	// best). List the baseline first: it is what a rollback returns to, and growing the
	// last arm's weight only moves users towards it.
	Split []*PinArm `yaml:"split"`
	// Sticky keys a split: "user" (the request's user, else the gateway key) or
	// "session" (x-switchyard-session or metadata.session_id, else as user). Default user.
	// A request without a key is split at random.
	Sticky string `yaml:"sticky"`
	// Rollback moves a split's canaries back to the baseline when they do worse.
	Rollback *RollbackConfig `yaml:"rollback"`

	Line int    `yaml:"-"`
	File string `yaml:"-"`
}

// PinMatch is a pin's conditions; both present lists must contain the request's value.
type PinMatch struct {
	Feature []string `yaml:"feature"`
	Team    []string `yaml:"team"`
}

// PinArm is one arm of a split: a version (or a label's version) and its weight.
type PinArm struct {
	Version *PromptVersionText `yaml:"version"`
	Label   string             `yaml:"label"`
	// Weight is the arm's share, relative to the others. Required, above 0.
	Weight *float64 `yaml:"weight"`

	Line int `yaml:"-"`
}

func (p *Pin) UnmarshalYAML(n *yaml.Node) error {
	type plain Pin
	p.Line = n.Line
	return n.Decode((*plain)(p))
}

func (a *PinArm) UnmarshalYAML(n *yaml.Node) error {
	type plain PinArm
	a.Line = n.Line
	return n.Decode((*plain)(a))
}

// cPin is a compiled pin: a fixed version, or split arms with cumulative bounds.
type cPin struct {
	where         string // "pins.yaml:12"
	feature, team map[string]bool
	fixed         *PromptVersion
	fixedReason   string
	arms          []cArm
	session       bool
	rb            *Rollback
	fingerprint   string // identifies an unchanged rollout across reloads
}

type cArm struct {
	v          *PromptVersion
	upTo       float64 // the arm serves sticky units below upTo (and at or above the previous arm's)
	reason     string
	backReason string // when rolled back
}

func (p *cPin) matches(a *ResolveAttrs) bool {
	return (p.feature == nil || p.feature[a.Feature]) && (p.team == nil || p.team[a.Team])
}

// choose picks the pin's version for a request.
func (p *cPin) choose(id string, a *ResolveAttrs) (*PromptVersion, string) {
	if p.fixed != nil {
		return p.fixed, p.fixedReason
	}
	key := a.StickyKey
	if p.session && a.Session != "" {
		key = a.Session
	}
	var x float64
	if key == "" {
		x = rand.Float64()
	} else {
		x = sticky.Salted(id, key)
	}
	i := len(p.arms) - 1
	for j := range p.arms {
		if x < p.arms[j].upTo {
			i = j
			break
		}
	}
	if i > 0 && p.rb != nil && p.rb.rolledBack(i) {
		return p.arms[0].v, p.arms[i].backReason
	}
	return p.arms[i].v, p.arms[i].reason
}

// compilePins validates pins.yaml against the compiled prompts and attaches labels and
// pins to them. A label or pin that serves an unpublished version is a warning.
func compilePins(pf *PinsFile, file string, prompts map[string]*promptEntry, errs, warns *yamlx.Errors) {
	unpublished := func(v *PromptVersion, line int, what string) {
		if v != nil && !v.Published {
			warns.Add(file, line, "%s serves %s, which is not published", what, v.Ref)
		}
	}
	where := func(line int) string { return filepath.Base(file) + ":" + strconv.Itoa(line) }
	for _, id := range sortedKeys(pf.Labels) {
		e := prompts[id]
		for _, name := range sortedKeys(pf.Labels[id]) {
			ver := pf.Labels[id][name]
			switch {
			case e == nil:
				errs.Add(file, ver.Line, "labels: unknown prompt %q", id)
			case name == LatestLabel:
				errs.Add(file, ver.Line, "labels: %q is built in (the highest version) and cannot be set", name)
			case !promptLabelPattern.MatchString(name):
				errs.Add(file, ver.Line, "labels: label %q must be lower-case letters, digits, '_' or '-', starting with a letter", name)
			case e.versions[ver.Value] == nil:
				errs.Add(file, ver.Line, "labels: %s %s: unknown version %q", id, name, ver.Value)
			default:
				e.labels[name] = labelled{v: e.versions[ver.Value], reason: "label " + name + " (" + where(ver.Line) + ")"}
				unpublished(e.versions[ver.Value], ver.Line, "label "+name+" of "+id)
			}
		}
	}
	for _, p := range pf.Pins {
		if p == nil {
			continue
		}
		e := prompts[p.Prompt]
		if e == nil {
			errs.Add(file, p.Line, "pin: unknown prompt %q", p.Prompt)
			continue
		}
		if cp := compilePin(p, e, where(p.Line), errs); cp != nil {
			checkReachable(e, cp, p, errs)
			e.pins = append(e.pins, cp)
			unpublished(cp.fixed, p.Line, "the pin")
			for _, a := range cp.arms {
				unpublished(a.v, p.Line, "the split")
			}
		}
	}
}

// compilePin compiles one pin of prompt e, or returns nil after reporting its problems.
func compilePin(p *Pin, e *promptEntry, where string, errs *yamlx.Errors) *cPin {
	before := len(*errs)
	cp := &cPin{where: where}
	if p.Match != nil {
		cp.feature, cp.team = set(p.Match.Feature), set(p.Match.Team)
	}
	n := 0
	for _, given := range []bool{p.Version != nil, p.Label != "", len(p.Split) > 0} {
		if given {
			n++
		}
	}
	if n != 1 {
		errs.Add(p.File, p.Line, "pin for %q needs exactly one of version, label and split", p.Prompt)
		return nil
	}
	switch p.Sticky {
	case "", "user":
	case "session":
		cp.session = true
	default:
		errs.Add(p.File, p.Line, "pin for %q: sticky %q must be user or session", p.Prompt, p.Sticky)
	}
	if len(p.Split) == 0 {
		if p.Sticky != "" || p.Rollback != nil {
			errs.Add(p.File, p.Line, "pin for %q: sticky and rollback apply to a split only", p.Prompt)
		}
		if cp.fixed = e.pick(p.Version, p.Label, p.File, p.Line, errs); cp.fixed != nil {
			cp.fixedReason = "pin " + where + ": " + cp.fixed.Ref
			if p.Label != "" {
				cp.fixedReason = "pin " + where + ": label " + p.Label + ", " + cp.fixed.Ref
			}
		}
	} else {
		compileSplit(p, e, cp, errs)
	}
	if len(*errs) > before {
		return nil
	}
	cp.fingerprint = fmt.Sprintf("%s|%v|%v|%+v|%s|%+v", p.Prompt, sortedKeys(cp.feature), sortedKeys(cp.team), armsKey(cp), p.Sticky, rollbackKey(p.Rollback))
	if cp.rb != nil {
		cp.rb.id = rolloutID(cp.fingerprint)
	}
	return cp
}

func compileSplit(p *Pin, e *promptEntry, cp *cPin, errs *yamlx.Errors) {
	if len(p.Split) < 2 {
		errs.Add(p.File, p.Line, "pin for %q: a split needs at least two arms (or pin one version)", p.Prompt)
		return
	}
	var total float64
	var versions []string
	for _, a := range p.Split {
		if a == nil {
			errs.Add(p.File, p.Line, "pin for %q: empty split arm", p.Prompt)
			return
		}
		if (a.Version != nil) == (a.Label != "") {
			errs.Add(p.File, a.Line, "split arm needs exactly one of version and label")
			continue
		}
		v := e.pick(a.Version, a.Label, p.File, a.Line, errs)
		if a.Weight == nil || *a.Weight <= 0 || math.IsNaN(*a.Weight) || math.IsInf(*a.Weight, 0) {
			errs.Add(p.File, a.Line, "split arm needs a weight above 0")
			continue
		}
		if v == nil {
			continue
		}
		if slices.Contains(versions, v.Version) {
			errs.Add(p.File, a.Line, "split names version %s twice", v.Ref)
			continue
		}
		versions = append(versions, v.Version)
		total += *a.Weight
		cp.arms = append(cp.arms, cArm{v: v, upTo: total})
	}
	if len(cp.arms) != len(p.Split) {
		return
	}
	prev := 0.0
	for i := range cp.arms {
		a := &cp.arms[i]
		share := (a.upTo - prev) / total
		prev, a.upTo = a.upTo, a.upTo/total
		a.reason = fmt.Sprintf("pin %s: split, %s arm (%.4g%%)", cp.where, a.v.Ref, share*100)
	}
	cp.arms[len(cp.arms)-1].upTo = 1
	if p.Rollback != nil {
		rb, err := NewRollback(*p.Rollback, versions, nil)
		if err != nil {
			errs.Add(p.File, p.Rollback.Line, "pin for %q: %v", p.Prompt, err)
			return
		}
		cp.rb = rb
		for i := 1; i < len(cp.arms); i++ {
			cp.arms[i].backReason = fmt.Sprintf("pin %s: split, %s arm rolled back to %s (%s)", cp.where, cp.arms[i].v.Ref, cp.arms[0].v.Ref, p.Rollback.Metric)
		}
	}
}

// pick resolves a pin's or arm's version or label; nil after reporting a problem.
func (e *promptEntry) pick(ver *PromptVersionText, label, file string, line int, errs *yamlx.Errors) *PromptVersion {
	if ver != nil {
		v := e.versions[ver.Value]
		if v == nil {
			errs.Add(file, ver.Line, "prompt %q has no version %q", e.id, ver.Value)
		}
		return v
	}
	if label == LatestLabel {
		return e.latest()
	}
	l, ok := e.labels[label]
	if !ok {
		errs.Add(file, line, "prompt %q has no label %q (set it under labels)", e.id, label)
		return nil
	}
	return l.v
}

// checkReachable reports a pin that an earlier pin of the same prompt always pre-empts.
func checkReachable(e *promptEntry, cp *cPin, p *Pin, errs *yamlx.Errors) {
	for _, prev := range e.pins {
		switch {
		case prev.feature == nil && prev.team == nil:
			errs.Add(p.File, p.Line, "pin for %q is unreachable: the pin at %s matches every request", p.Prompt, prev.where)
			return
		case sameSet(prev.feature, cp.feature) && sameSet(prev.team, cp.team):
			errs.Add(p.File, p.Line, "pin for %q is unreachable: the pin at %s has the same match", p.Prompt, prev.where)
			return
		}
	}
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func armsKey(cp *cPin) string {
	var b strings.Builder
	for _, a := range cp.arms {
		fmt.Fprintf(&b, "%s<%g;", a.v.Version, a.upTo)
	}
	if cp.fixed != nil {
		b.WriteString(cp.fixed.Version)
	}
	return b.String()
}

func rollbackKey(c *RollbackConfig) string {
	if c == nil {
		return ""
	}
	d := c.withDefaults()
	margin := math.NaN()
	if d.Margin != nil {
		margin = *d.Margin
	}
	return fmt.Sprintf("%s/%g/%d/%s", d.Metric, margin, d.MinRequests, d.Window)
}
