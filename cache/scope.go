package cache

import (
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// Scope is what an entry belongs to. It is always part of the key: two requests with the
// same body but different scopes never share an entry. Every field is compared exactly.
type Scope struct {
	// Tenant is the gateway key id or the team the request is attributed to.
	Tenant string `json:"tenant"`
	// Feature is the product feature the request is metered under.
	Feature string `json:"feature"`
	// Model is the model the route resolved to (what will serve the request).
	Model string `json:"model"`
	// PromptVersion is the pinned prompt version, empty when none applies.
	PromptVersion string `json:"prompt_version"`
}

// matches reports whether the entry scope e falls under the filter s, where empty
// fields of s match anything (used by Purge).
func (s Scope) matches(e Scope) bool {
	return (s.Tenant == "" || s.Tenant == e.Tenant) &&
		(s.Feature == "" || s.Feature == e.Feature) &&
		(s.Model == "" || s.Model == e.Model) &&
		(s.PromptVersion == "" || s.PromptVersion == e.PromptVersion)
}

// writeTo writes the scope into h unambiguously (each field length-prefixed).
func (s Scope) writeTo(h hash.Hash) {
	for _, f := range [...]string{s.Tenant, s.Feature, s.Model, s.PromptVersion} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
}

// partTag is a short, fixed-width hash of one scope field, used in store key names so a
// store can purge by scope with a prefix or pattern match. Collisions only widen a purge.
func partTag(s string) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], fnv64(s))
	return hex.EncodeToString(b[:6])
}

// keyName builds the store name of an entry: the four scope tags then the request hash.
// Layout: <tenant>.<feature>.<model>.<prompt>.<sha256 hex>; see scopePattern.
func keyName(s Scope, sum [32]byte) string {
	b := make([]byte, 0, 4*13+64)
	for _, f := range [...]string{s.Tenant, s.Feature, s.Model, s.PromptVersion} {
		b = append(b, partTag(f)...)
		b = append(b, '.')
	}
	return string(hex.AppendEncode(b, sum[:]))
}

// scopePattern returns a glob (Redis MATCH syntax) over key names selecting the scope
// filter f, empty fields matching anything.
func scopePattern(f Scope) string {
	b := make([]byte, 0, 4*13+1)
	for _, p := range [...]string{f.Tenant, f.Feature, f.Model, f.PromptVersion} {
		if p == "" {
			b = append(b, "????????????"...)
		} else {
			b = append(b, partTag(p)...)
		}
		b = append(b, '.')
	}
	return string(append(b, '*'))
}
