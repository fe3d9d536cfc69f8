package gateway

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/metering"
	"github.com/switchyard/switchyard/policies"
)

// adminRequest admits a request to an admin route, in this order, answering the client
// and returning false at the first check that fails:
//
//   - without an admin key configured the admin routes do not exist: 404, whatever the
//     method;
//   - a method other than method: 405 with Allow;
//   - the admin key (Authorization: Bearer KEY), compared in constant time: 401;
//   - every query parameter must be one of params: an unknown one is 400
//     unknown_parameter naming it, so a typo (?modle=) never widens what the call does.
func (g *Gateway) adminRequest(ctx *fasthttp.RequestCtx, method string, params ...string) bool {
	if g.cfg.AdminKey() == "" {
		writeError(ctx, apierr.NotFound(string(ctx.Path())))
		return false
	}
	if !requireMethod(ctx, method) {
		return false
	}
	if err := g.adminAuth(ctx); err != nil {
		writeError(ctx, err)
		return false
	}
	if err := onlyParams(ctx, params); err != nil {
		writeError(ctx, err)
		return false
	}
	return true
}

// onlyParams returns a 400 naming the first query parameter that is not in params.
func onlyParams(ctx *fasthttp.RequestCtx, params []string) error {
	for k := range ctx.QueryArgs().All() {
		if !slices.Contains(params, string(k)) {
			want := "none"
			if len(params) > 0 {
				want = strings.Join(params, ", ")
			}
			return apierr.BadRequest("unknown_parameter", string(k),
				fmt.Sprintf("unknown query parameter %q on %s (accepted: %s)", k, ctx.Path(), want))
		}
	}
	return nil
}

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
	if !g.adminRequest(ctx, "GET") {
		return
	}
	var st *policies.Status
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

// spendParams are the query parameters GET /admin/spend accepts.
var spendParams = []string{"from", "to", "period", "group_by", "format", "report", "forecast_days"}

// adminSpend answers GET /admin/spend?from=DAY&to=DAY&group_by=LIST&format=csv|json
// &report=spend|economics&forecast_days=N with the same export as `switchyard spend
// export`, read from this gateway's ledger.
func (g *Gateway) adminSpend(ctx *fasthttp.RequestCtx) {
	if !g.adminRequest(ctx, "GET", spendParams...) {
		return
	}
	if g.meter.store == nil {
		writeError(ctx, apierr.BadRequest("no_ledger", "", "this gateway keeps no ledger (metering.ledger is none)"))
		return
	}
	a := ctx.QueryArgs()
	days, err := a.GetUint("forecast_days")
	if err != nil && a.Has("forecast_days") {
		writeError(ctx, apierr.BadRequest("invalid_value", "forecast_days", "forecast_days must be a whole number of days"))
		return
	}
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

// limitJSON is one limit of one rule in GET /admin/limits. Requests and tokens are
// integers; spend is decimal strings of US dollars (exact).
type limitJSON struct {
	Scope        string `json:"scope"`
	Match        string `json:"match"`
	Value        string `json:"value"`
	Mode         string `json:"mode"`
	OnRedisError string `json:"on_redis_error"`
	Limit        string `json:"limit"`
	Cap          *int64 `json:"cap,omitempty"`
	Used         *int64 `json:"used,omitempty"`
	Remaining    *int64 `json:"remaining,omitempty"`
	CapUSD       string `json:"cap_usd,omitempty"`
	UsedUSD      string `json:"used_usd,omitempty"`
	RemainingUSD string `json:"remaining_usd,omitempty"`
	ResetsAt     string `json:"resets_at"`
	ResetSeconds int64  `json:"reset_seconds"`
}

// adminLimits answers GET /admin/limits[?key=&team=&feature=]: every configured limit
// with what its current window holds, its cap and when the window resets. A rule naming
// a value reports that value; a "*" rule each value the gateway's keys name, plus the
// values asked for in the query (repeatable). Usage includes in-flight estimates. With
// no rules configured the list is empty.
func (g *Gateway) adminLimits(ctx *fasthttp.RequestCtx) {
	if !g.adminRequest(ctx, "GET", "key", "team", "feature") {
		return
	}
	out := struct {
		Limits []limitJSON `json:"limits"`
	}{Limits: []limitJSON{}}
	if g.limits != nil {
		values := map[metering.Scope][]string{}
		for s, vs := range g.limits.known {
			values[s] = append(values[s], vs...)
		}
		for _, s := range []metering.Scope{metering.ScopeKey, metering.ScopeTeam, metering.ScopeFeature} {
			for _, v := range ctx.QueryArgs().PeekMulti(string(s)) {
				if !slices.Contains(values[s], string(v)) {
					values[s] = append(values[s], string(v))
				}
			}
		}
		now := time.Now()
		us, err := g.limits.l.Usage(ctx, now, values)
		if err != nil {
			writeError(ctx, apierr.Unavailable("limits_unavailable", "rate limits cannot be read right now"))
			return
		}
		for i := range us {
			out.Limits = append(out.Limits, limitOf(&us[i], now))
		}
	}
	b, _ := jsonx.Marshal(out)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func limitOf(u *metering.LimitUsage, now time.Time) limitJSON {
	j := limitJSON{Scope: string(u.Scope), Match: u.Match, Value: u.Value, Mode: string(u.Mode),
		OnRedisError: string(u.OnRedisError), Limit: u.Limit.String(),
		ResetsAt: u.Resets.Format(time.RFC3339), ResetSeconds: int64(math.Ceil(u.Resets.Sub(now).Seconds()))}
	if u.Limit == metering.LimitDailySpend || u.Limit == metering.LimitMonthlySpend {
		j.CapUSD, j.UsedUSD = metering.Money(u.Max).String(), metering.Money(u.Used).String()
		j.RemainingUSD = metering.Money(u.Remaining()).String()
		return j
	}
	capacity, used, left := u.Max, u.Used, u.Remaining()
	j.Cap, j.Used, j.Remaining = &capacity, &used, &left
	return j
}
