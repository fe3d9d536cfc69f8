package gateway

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/policies"
)

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// listModels answers GET /v1/models: the configured names and aliases, or, for a
// passthrough configuration whose provider can list, the provider's own list.
func (g *Gateway) listModels(ctx *fasthttp.RequestCtx) (rec record) {
	rec.op = provider.OpModels
	if !requireMethod(ctx, "GET") {
		return rec
	}
	p, err := g.keys.authenticate(ctx)
	if err != nil {
		rec.errCode = writeError(ctx, err).Code
		return rec
	}
	rec.principal = p
	pl := g.plan.Load()
	if w, ok := pl.snap.Models[policies.Wildcard]; ok && len(pl.names) == 0 && len(w.Deployments) > 0 {
		t := g.targets[w.Deployments[0].Provider]
		if l, ok := t.tr.(provider.Lister); ok {
			g.proxyList(ctx, &rec, t, l)
			return rec
		}
	}
	data := make([]modelObject, 0, len(pl.names))
	for _, n := range pl.names {
		data = append(data, modelObject{ID: n, Object: "model", Created: startTime, OwnedBy: ownerOf(pl, n)})
	}
	b, _ := jsonx.Marshal(map[string]any{"object": "list", "data": data})
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return rec
}

// ownerOf names the provider of a model's first deployment.
func ownerOf(pl *plan, name string) string {
	m, ok := pl.snap.Models[name]
	if !ok || len(m.Deployments) == 0 {
		return "switchyard"
	}
	return m.Deployments[0].Provider
}

// startTime is reported as every configured model's creation time.
var startTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

func (g *Gateway) proxyList(ctx *fasthttp.RequestCtx, rec *record, t *target, l provider.Lister) {
	out := outboundPool.Get().(*provider.Outbound)
	defer func() { out.Reset(); outboundPool.Put(out) }()
	if err := l.EncodeList(out); err != nil {
		rec.errCode = writeError(ctx, err).Code
		return
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	fillRequest(req, out)
	req.Header.SetBytesV(headerRequestID, ctx.Response.Header.Peek(headerRequestID))
	err := t.client.Do(context.Background(), req, resp, g.nonStreamTimeout())
	fasthttp.ReleaseRequest(req)
	if err != nil {
		rec.errCode = writeError(ctx, err).Code
		return
	}
	if resp.StatusCode() >= 300 {
		rec.errCode = writeError(ctx, t.tr.DecodeError(resp.StatusCode(), resp.Body(), "")).Code
		return
	}
	rec.provider = t.name
	ctx.SetContentType("application/json")
	ctx.SetBody(resp.Body())
}

// getModel answers GET /v1/models/{id} for configured models.
func (g *Gateway) getModel(ctx *fasthttp.RequestCtx, id []byte) (rec record) {
	rec.op = provider.OpModels
	if !requireMethod(ctx, "GET") {
		return rec
	}
	if _, err := g.keys.authenticate(ctx); err != nil {
		rec.errCode = writeError(ctx, err).Code
		return rec
	}
	pl := g.plan.Load()
	m, ok := pl.snap.Model(string(id))
	if !ok {
		rec.errCode = writeError(ctx, apierr.UnknownModel(string(id))).Code
		return rec
	}
	b, _ := jsonx.Marshal(modelObject{ID: string(id), Object: "model", Created: startTime, OwnedBy: ownerOf(pl, m.Name)})
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return rec
}
