package gateway

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/config"
)

// Principal is who a request is attributed to: the gateway key and its team and feature,
// possibly overridden by the request where the key allows it.
type Principal struct {
	Key     string `json:"key"`
	Team    string `json:"team"`
	Feature string `json:"feature"`
	// attribution is true when the request may name its own team and feature.
	attribution bool
	// ownTeam is the team configured on the gateway key ("default" without keys), which
	// no header or metadata changes: ownership and isolation use it, never Team.
	ownTeam string
}

// keyring authenticates gateway keys. Keys are held only as SHA-256 digests; a
// presented key is hashed and compared in constant time with the digest found for it.
type keyring struct {
	byDigest map[[sha256.Size]byte]*config.Key
}

func newKeyring(keys []config.Key) *keyring {
	if len(keys) == 0 {
		return nil
	}
	kr := &keyring{byDigest: make(map[[sha256.Size]byte]*config.Key, len(keys))}
	for i := range keys {
		var d [sha256.Size]byte
		_, _ = hex.Decode(d[:], []byte(keys[i].SHA256))
		kr.byDigest[d] = &keys[i]
	}
	return kr
}

var bearer = []byte("Bearer ")

// authenticate returns the principal for the request. With no keyring (no keys
// configured) every request is anonymous and attributed by its headers.
func (kr *keyring) authenticate(ctx *fasthttp.RequestCtx) (Principal, error) {
	if kr == nil {
		p := Principal{Key: "anonymous", Team: "default", Feature: "default", attribution: true, ownTeam: "default"}
		applyAttributionHeaders(ctx, &p)
		return p, nil
	}
	h := ctx.Request.Header.Peek("Authorization")
	var presented []byte
	switch {
	case len(h) > len(bearer) && bytes.EqualFold(h[:len(bearer)], bearer):
		presented = bytes.TrimSpace(h[len(bearer):])
	case len(ctx.Request.Header.Peek("Api-Key")) > 0: // Azure-style clients
		presented = ctx.Request.Header.Peek("Api-Key")
	case len(ctx.Request.Header.Peek("X-Api-Key")) > 0: // Anthropic's SDKs and Claude Code
		presented = ctx.Request.Header.Peek("X-Api-Key")
	}
	if len(presented) == 0 {
		return Principal{}, apierr.InvalidKey(true)
	}
	d := sha256.Sum256(presented)
	k, ok := kr.byDigest[d]
	if !ok {
		return Principal{}, apierr.InvalidKey(false)
	}
	var want [sha256.Size]byte
	_, _ = hex.Decode(want[:], []byte(k.SHA256))
	if subtle.ConstantTimeCompare(d[:], want[:]) != 1 {
		return Principal{}, apierr.InvalidKey(false)
	}
	p := Principal{Key: k.Name, Team: k.Team, Feature: k.Feature, attribution: k.AllowAttributionHeaders, ownTeam: k.Team}
	if p.attribution {
		applyAttributionHeaders(ctx, &p)
	}
	return p, nil
}

// applyMetadataAttribution takes team and feature from the request's metadata
// (metadata.team, metadata.feature) when the key allows attribution and no header set
// them: the OpenAI SDKs can send metadata where adding headers is awkward.
func applyMetadataAttribution(ctx *fasthttp.RequestCtx, f *fields, p *Principal) {
	if !p.attribution || !f.metadata.Exists() {
		return
	}
	if len(ctx.Request.Header.Peek("X-Switchyard-Feature")) == 0 {
		if v := f.metadata.Get("feature").String(); saneID([]byte(v)) {
			p.Feature = v
		}
	}
	if len(ctx.Request.Header.Peek("X-Switchyard-Team")) == 0 {
		if v := f.metadata.Get("team").String(); saneID([]byte(v)) {
			p.Team = v
		}
	}
}

// applyAttributionHeaders overrides team and feature from x-switchyard-team and
// x-switchyard-feature when they are sane identifiers.
func applyAttributionHeaders(ctx *fasthttp.RequestCtx, p *Principal) {
	if v := ctx.Request.Header.Peek("X-Switchyard-Feature"); saneID(v) {
		p.Feature = string(v)
	}
	if v := ctx.Request.Header.Peek("X-Switchyard-Team"); saneID(v) {
		p.Team = string(v)
	}
}
