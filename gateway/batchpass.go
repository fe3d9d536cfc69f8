package gateway

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/metering"
)

// isBatchAPI reports whether path is one of the OpenAI files or batches routes that pass
// through to the batch lane's provider.
func isBatchAPI(path []byte) bool {
	for _, p := range [][]byte{[]byte("/v1/files"), []byte("/v1/batches"), []byte("/files"), []byte("/batches")} {
		if bytes.Equal(path, p) || (bytes.HasPrefix(path, p) && path[len(p)] == '/') {
			return true
		}
	}
	return false
}

// batchPassthrough forwards an OpenAI files or batches call to the batch lane's provider,
// byte for byte, with the gateway's credentials. Callers only see the files and batches
// they created (batch_lane.isolation). Batch results downloaded through here are metered,
// one cost event per result line, at the batch price.
func (g *Gateway) batchPassthrough(ctx *fasthttp.RequestCtx) {
	p, err := g.keyring().authenticate(ctx)
	if err != nil {
		writeError(ctx, err)
		return
	}
	pt := g.passthrough
	if pt == nil {
		writeError(ctx, apierr.NotFound(string(ctx.Path())))
		return
	}
	tgt, err := batchlane.Route(string(ctx.Method()), string(ctx.Path()), string(ctx.QueryArgs().QueryString()), pt.baseURL)
	var me *batchlane.MethodError
	switch {
	case errors.As(err, &me):
		ctx.Response.Header.Set("Allow", me.Allow)
		writeError(ctx, apierr.MethodNotAllowed(string(ctx.Method()), string(ctx.Path())))
		return
	case errors.Is(err, batchlane.ErrNotPassthrough):
		writeError(ctx, apierr.NotFound(string(ctx.Path())))
		return
	case err != nil:
		writeError(ctx, apierr.BadRequest("invalid_value", "", err.Error()))
		return
	}
	// Ownership is the key's own team, never the x-switchyard-team a client may send for
	// attribution (issue 12, defect 6).
	caller := batchlane.Caller{Key: p.Key, Team: p.ownTeam}
	body := ctx.PostBody()
	switch err := g.owners.Authorize(context.Background(), tgt, body, caller); {
	case errors.Is(err, batchlane.ErrNotOwned):
		writeError(ctx, apierr.New(404, apierr.TypeInvalidRequest, "not_found", "", "no such file or batch"))
		return
	case err != nil:
		g.log.Error("batch passthrough refused: the ownership table cannot be read", "error", err.Error())
		writeError(ctx, ownershipUnavailable())
		return
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(tgt.Method)
	req.SetRequestURI(tgt.URL)
	for k, v := range ctx.Request.Header.All() {
		if batchlane.ForwardRequestHeader(string(k)) {
			req.Header.SetBytesKV(k, v)
		}
	}
	for _, h := range pt.headers {
		req.Header.Set(h.Key, h.Value)
	}
	req.SetBodyRaw(body)
	err = pt.target.client.Do(context.Background(), req, resp, 5*time.Minute)
	fasthttp.ReleaseRequest(req)
	if err != nil {
		writeError(ctx, err)
		return
	}
	out := resp.Body()
	if err := g.owners.Learn(context.Background(), tgt, resp.StatusCode(), out, caller); err != nil {
		// Fails closed: what the answer created stays unreachable through the gateway.
		g.log.Error("batch passthrough: ownership not recorded", "key", p.Key, "error", err.Error())
	}
	if tgt.Action == batchlane.ActionList {
		if out, err = g.owners.FilterList(context.Background(), out, caller); err != nil {
			g.log.Error("batch passthrough list withheld: the ownership table cannot be read", "error", err.Error())
			writeError(ctx, ownershipUnavailable())
			return
		}
	}
	if tgt.Resource == batchlane.ResourceFile && tgt.Action == batchlane.ActionContent && resp.StatusCode() < 300 {
		g.meterBatchResults(out, p, pt.target.name)
	}
	for k, v := range resp.Header.All() {
		if batchlane.ForwardResponseHeader(string(k)) {
			ctx.Response.Header.SetBytesKV(k, v)
		}
	}
	ctx.SetStatusCode(resp.StatusCode())
	ctx.SetBody(out)
}

// ownershipUnavailable is the 503 for a passthrough call whose ownership cannot be
// checked: the table fails closed.
func ownershipUnavailable() error {
	return apierr.Unavailable("ownership_unavailable", "the batch lane's ownership table cannot be read; try again")
}

// meterBatchResults records one cost event per result line that carries usage, with the
// provider's line id as request id, so downloading a file twice never bills it twice.
func (g *Gateway) meterBatchResults(jsonl []byte, p Principal, prov string) {
	lines, err := batchlane.ParseResults(jsonl)
	if err != nil {
		g.log.Warn("batch results partly unreadable", "error", err.Error())
	}
	for _, l := range lines {
		if !l.Usage.Reported || l.ID == "" {
			continue
		}
		ev := &metering.Event{RequestID: l.ID, Time: time.Now(), Key: p.Key, Team: p.Team, Feature: p.Feature,
			Route: "batch-passthrough", RequestedModel: l.Model, ServedModel: l.Model, Provider: prov,
			Cache: metering.CacheNone, Tokens: metering.TokensOf(l.Usage), UsageSource: metering.UsageMeasured,
			Status: l.StatusCode, ErrorCode: l.ErrorCode}
		g.meter.pricer.Price(ev)
		ev.Cost = batchlane.AtBatchPrice(ev.Cost, g.cfg.BatchLane.PricePercent)
		ev.Counterfactual, ev.Savings = ev.Cost, 0 // a batch the client chose claims no saving
		if g.meter.ledger != nil {
			if err := g.meter.ledger.Append(ev); err != nil {
				g.log.Error("cost event not recorded", "request_id", l.ID, "error", err.Error())
			}
		}
	}
}
