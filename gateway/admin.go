package gateway

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/metering"
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
	if len(h) <= len(bearer) || !bytes.EqualFold(h[:len(bearer)], bearer) {
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

// adminSpend answers GET /admin/spend?from=DAY&to=DAY&group_by=LIST&format=csv|json
// &report=spend|economics&forecast_days=N with the same export as `switchyard spend
// export`, read from this gateway's ledger.
func (g *Gateway) adminSpend(ctx *fasthttp.RequestCtx) {
	if !requireMethod(ctx, "GET") {
		return
	}
	if err := g.adminAuth(ctx); err != nil {
		writeError(ctx, err)
		return
	}
	if g.meter.store == nil {
		writeError(ctx, apierr.BadRequest("no_ledger", "", "this gateway keeps no ledger (metering.ledger is none)"))
		return
	}
	a := ctx.QueryArgs()
	days, _ := a.GetUint("forecast_days")
	q, err := metering.ExportRequest{From: string(a.Peek("from")), To: string(a.Peek("to")), Period: string(a.Peek("period")),
		GroupBy: string(a.Peek("group_by")), Format: string(a.Peek("format")), Report: string(a.Peek("report")),
		ForecastDays: days}.Parse()
	if err != nil {
		writeError(ctx, apierr.BadRequest("invalid_value", "", err.Error()))
		return
	}
	var buf bytes.Buffer
	if err := g.meter.store.Export(ctx, q, &buf); err != nil {
		g.log.Error("spend export failed", "error", err.Error())
		writeError(ctx, apierr.Internal("the spend export failed"))
		return
	}
	ctx.SetContentType(q.ContentType())
	ctx.SetBody(buf.Bytes())
}
