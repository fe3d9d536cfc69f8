package gateway

import (
	"bytes"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/provider"
)

// handle dispatches one request. Routes are few and fixed, so a switch beats a router.
// The inference routes run as an exchange; the others answer at once. A panic answers
// that request with a 500 and leaves every other request alone.
func (g *Gateway) handle(ctx *fasthttp.RequestCtx) {
	rid := setRequestID(ctx, g.ids)
	path := ctx.Path()
	if op, a, ok := proxyOp(path); ok {
		ex := g.newExchange(ctx, op, rid)
		ex.api, ex.tr = a, g.dialects[a]
		defer ex.handlerDone()
		defer g.recoverExchange(ex)
		g.proxy(ex)
		return
	}
	defer g.recoverRequest(ctx)
	start := time.Now()
	var rec record
	switch string(path) {
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
	case "/v1/messages/count_tokens", "/messages/count_tokens":
		g.countTokens(ctx)
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
	case "/admin/limits":
		g.adminLimits(ctx)
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
		if rest, ok := bytes.CutPrefix(path, []byte("/v1/responses/")); ok {
			g.responsesByID(ctx, string(rest))
			return
		}
		if bytes.HasPrefix(path, []byte("/v1/models/")) {
			rec = g.getModel(ctx, path[len("/v1/models/"):])
			break
		}
		writeError(ctx, apierr.NotFound(string(path)))
		return
	}
	// Listing models spends nothing: it is logged, never metered.
	g.logLine(string(rid), &rec, ctx.Response.StatusCode(), time.Since(start), 0, true)
}

// proxyOp names the inference operation a path serves and the API it speaks.
func proxyOp(path []byte) (provider.Op, api, bool) {
	switch string(path) {
	case "/v1/chat/completions", "/chat/completions":
		return provider.OpChat, apiChat, true
	case "/v1/completions", "/completions":
		return provider.OpCompletion, apiChat, true
	case "/v1/embeddings", "/embeddings":
		return provider.OpEmbedding, apiChat, true
	case "/v1/responses", "/responses":
		return provider.OpChat, apiResponses, true
	case "/v1/messages", "/messages":
		return provider.OpChat, apiMessages, true
	}
	return 0, 0, false
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
