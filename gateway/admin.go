package gateway

import (
	"crypto/sha256"
	"crypto/subtle"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/policies"
)

// adminAuth checks the admin key (Authorization: Bearer KEY) in constant time. Without
// an admin key configured the admin routes do not exist (404).
func (g *Gateway) adminAuth(ctx *fasthttp.RequestCtx) error {
	key := g.cfg.AdminKey()
	if key == "" {
		return apierr.NotFound(string(ctx.Path()))
	}
	h := ctx.Request.Header.Peek("Authorization")
	if len(h) <= len(bearer) {
		return apierr.InvalidKey(true)
	}
	got, want := sha256.Sum256(h[len(bearer):]), sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return apierr.InvalidKey(false)
	}
	return nil
}

// adminPolicy answers GET /admin/policy: the version in force, when it loaded, its
// sources, and the last rejected reload with its file:line errors.
func (g *Gateway) adminPolicy(ctx *fasthttp.RequestCtx) {
	if !requireMethod(ctx, "GET") {
		return
	}
	if err := g.adminAuth(ctx); err != nil {
		writeError(ctx, err)
		return
	}
	st := &policies.Status{}
	if g.policy != nil {
		st = g.policy.Status()
	} else {
		snap := g.plan.Load().snap
		st = &policies.Status{Version: snap.Version, LoadedAt: snap.LoadedAt, Sources: snap.Sources, Reloads: 1}
	}
	b, _ := jsonx.Marshal(st)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
