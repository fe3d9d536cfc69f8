package gateway

import (
	"bytes"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/provider"
)

// handle dispatches one request. Routes are few and fixed, so a switch beats a router.
func (g *Gateway) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	rid := setRequestID(ctx, g.ids)
	path := ctx.Path()
	var rec record
	switch string(path) {
	case "/v1/chat/completions", "/chat/completions":
		rec = g.proxy(ctx, provider.OpChat)
	case "/v1/completions", "/completions":
		rec = g.proxy(ctx, provider.OpCompletion)
	case "/v1/embeddings", "/embeddings":
		rec = g.proxy(ctx, provider.OpEmbedding)
	case "/v1/models", "/models":
		rec = g.listModels(ctx)
	case "/metrics":
		g.serveMetrics(ctx)
		return
	case "/healthz":
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"ok"}`)
		return
	case "/readyz":
		g.readyz(ctx)
		return
	case "/admin/policy":
		g.adminPolicy(ctx)
		return
	case "/admin/spend":
		g.adminSpend(ctx)
		return
	case "/admin/cache":
		g.adminCache(ctx)
		return
	default:
		if isBatchAPI(path) {
			g.batchPassthrough(ctx)
			return
		}
		if bytes.HasPrefix(path, []byte("/v1/switchyard/jobs/")) {
			g.getJob(ctx, string(path[len("/v1/switchyard/jobs/"):]))
			return
		}
		if bytes.HasPrefix(path, []byte("/v1/models/")) {
			rec = g.getModel(ctx, path[len("/v1/models/"):])
			break
		}
		writeError(ctx, apierr.NotFound(string(path)))
	}
	if rec.stream {
		return // the relay logs when the stream ends
	}
	if rec.status == 0 {
		rec.status = ctx.Response.StatusCode()
	}
	if rec.coalescedLeader {
		return // its headless run meters, traces and logs it
	}
	d := time.Since(start)
	g.finish(&rec, string(rid), start, d, 0, usageState{complete: rec.status < 300}, ctx.PostBody())
	setCostHeaders(ctx, &rec)
	g.logRequest(ctx, rid, &rec, d)
}

func (g *Gateway) readyz(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	select {
	case <-g.ready:
		ctx.SetBodyString(`{"status":"ready"}`)
	default:
		ctx.SetStatusCode(503)
		ctx.SetBodyString(`{"status":"starting"}`)
	}
}

// requireMethod answers 405 unless the request uses method.
func requireMethod(ctx *fasthttp.RequestCtx, method string) bool {
	if string(ctx.Method()) == method {
		return true
	}
	ctx.Response.Header.Set("Allow", method)
	writeError(ctx, apierr.MethodNotAllowed(string(ctx.Method()), string(ctx.Path())))
	return false
}
