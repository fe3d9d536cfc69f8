package policies

import (
	"strings"

	"github.com/switchyard/switchyard/internal/yamlx"
)

// Attributes are what routes match on. The gateway fills them once per request.
type Attributes struct {
	Feature, Team, Key string
	// Model is the model name the client sent.
	Model string
	// Header returns a request header's value ("" when absent); name is canonical-cased.
	Header func(name string) string
	// Metadata returns a string value of the request's metadata object ("" when absent).
	Metadata func(key string) string
	// PromptTokens is the estimated prompt size.
	PromptTokens int
	// HasTools and HasImages describe the request.
	HasTools, HasImages bool
}

// matcher is a compiled Match: sets instead of lists, the model list expanded to every
// name and alias of the same models.
type matcher struct {
	feature, team, key, model map[string]bool
	headers, metadata         map[string]string
	minTokens, maxTokens      int
	tools, images             *bool
}

func (m *matcher) empty() bool {
	return m.feature == nil && m.team == nil && m.key == nil && m.model == nil && m.headers == nil &&
		m.metadata == nil && m.minTokens == 0 && m.maxTokens == 0 && m.tools == nil && m.images == nil
}

func set(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	s := make(map[string]bool, len(list))
	for _, v := range list {
		s[v] = true
	}
	return s
}

func (s *Snapshot) compileMatch(r *Route, errs *yamlx.Errors) matcher {
	if r.Match == nil {
		return matcher{}
	}
	mt := r.Match
	m := matcher{feature: set(mt.Feature), team: set(mt.Team), key: set(mt.Key),
		minTokens: mt.MinPromptTokens, maxTokens: mt.MaxPromptTokens, tools: mt.Tools, images: mt.Images}
	if len(mt.Model) > 0 {
		m.model = map[string]bool{}
		for _, name := range mt.Model {
			m.model[name] = true
			cm, ok := s.Models[name]
			if !ok {
				continue // a passthrough name; matched literally
			}
			for n, other := range s.Models {
				if other == cm {
					m.model[n] = true
				}
			}
		}
	}
	if len(mt.Headers) > 0 {
		m.headers = map[string]string{}
		for k, v := range mt.Headers {
			m.headers[canonicalHeader(k)] = v
		}
	}
	if len(mt.Metadata) > 0 {
		m.metadata = mt.Metadata
	}
	if m.maxTokens > 0 && m.minTokens > m.maxTokens {
		errs.Add(r.File, r.Line, "route %q: min_prompt_tokens is above max_prompt_tokens", r.Name)
	}
	return m
}

// canonicalHeader turns "x-env" into "X-Env".
func canonicalHeader(k string) string {
	b := []byte(strings.ToLower(k))
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '-'
	}
	return string(b)
}

func (m *matcher) matches(a *Attributes) bool {
	if m.feature != nil && !m.feature[a.Feature] ||
		m.team != nil && !m.team[a.Team] ||
		m.key != nil && !m.key[a.Key] ||
		m.model != nil && !m.model[a.Model] {
		return false
	}
	if m.minTokens > 0 && a.PromptTokens < m.minTokens || m.maxTokens > 0 && a.PromptTokens > m.maxTokens {
		return false
	}
	if m.tools != nil && *m.tools != a.HasTools || m.images != nil && *m.images != a.HasImages {
		return false
	}
	for k, v := range m.headers {
		if a.Header == nil || a.Header(k) != v {
			return false
		}
	}
	for k, v := range m.metadata {
		if a.Metadata == nil || a.Metadata(k) != v {
			return false
		}
	}
	return true
}

// Match returns the first route whose conditions hold. A compiled snapshot always has a
// default route, so the result is never nil.
func (s *Snapshot) Match(a *Attributes) *CRoute {
	for _, r := range s.Routes {
		if r.match.matches(a) {
			return r
		}
	}
	return s.Routes[len(s.Routes)-1]
}

// Model resolves a client model name (a name, an alias, or any name via the wildcard).
func (s *Snapshot) Model(name string) (*CModel, bool) {
	if m, ok := s.Models[name]; ok {
		return m, true
	}
	m, ok := s.Models[Wildcard]
	return m, ok
}
