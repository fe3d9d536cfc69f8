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
	// API is the API the request came in through: chat, responses or messages. Empty
	// means chat.
	API string
}

// matcher is a compiled Match: sets instead of lists, the model list expanded to every
// name and alias of the same models.
type matcher struct {
	feature, team, key, model map[string]bool
	api                       map[string]bool
	headers, metadata         map[string]string
	minTokens, maxTokens      int
	tools, images             *bool
}

func (m *matcher) empty() bool {
	return m.feature == nil && m.team == nil && m.key == nil && m.model == nil && m.headers == nil &&
		m.metadata == nil && m.minTokens == 0 && m.maxTokens == 0 && m.tools == nil && m.images == nil &&
		m.api == nil
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
	m.api = compileAPIs(r, errs)
	return m
}

// compileAPIs checks match.api's values, each reported at its own line when unknown.
func compileAPIs(r *Route, errs *yamlx.Errors) map[string]bool {
	for i, v := range r.Match.API {
		if !knownAPI(v) {
			line := r.Line
			if i < len(r.apiLines) {
				line = r.apiLines[i]
			}
			errs.Add(r.File, line, "route %q: match.api: unknown API %q (want chat, responses or messages)", r.Name, v)
		}
	}
	return set(r.Match.API)
}

// knownAPI reports whether v is an API a route may match: chat, responses or messages.
func knownAPI(v string) bool {
	switch v {
	case "chat", "responses", "messages":
		return true
	}
	return false
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
		m.model != nil && !m.model[a.Model] ||
		m.api != nil && !m.api[apiOf(a)] {
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

// apiOf is a's API, chat when it is empty.
func apiOf(a *Attributes) string {
	if a.API == "" {
		return "chat"
	}
	return a.API
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
