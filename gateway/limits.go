package gateway

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/metering"
)

// limits admits requests against the configured rate limits and budgets: it reserves
// the request's estimated tokens and cost before the upstream call and settles them to
// the metered actuals when the request ends.
type limits struct {
	l      *metering.Limiter
	redis  *redis.Client // nil with the memory store
	log    *slog.Logger
	output outputAverages
	// known are the scope values the gateway's keys name, listed by GET /admin/limits
	// for the "*" rules.
	known map[metering.Scope][]string
}

// newLimits returns nil when no rules are configured.
func newLimits(cfg *config.Config, log *slog.Logger) (*limits, error) {
	rl := cfg.RateLimits
	if len(rl.Rules) == 0 {
		return nil, nil
	}
	out := &limits{log: log, known: knownScopeValues(cfg.Keys)}
	var store metering.LimitStore
	if rl.Store == "redis" {
		out.redis = redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr, Password: cfg.Redis.Password(), DB: cfg.Redis.DB,
			ContextTimeoutEnabled: true, DialTimeout: time.Second, MaxRetries: 1})
		rs, err := metering.NewRedisStore(out.redis, rl.Redis)
		if err != nil {
			return nil, err
		}
		store = rs
	} else {
		store = metering.NewMemoryStore()
	}
	l, err := metering.NewLimiter(rl.Rules, store, metering.LimiterOptions{
		IdempotencyTTL: cfg.Timeouts.Request + 5*time.Minute, Logger: log})
	if err != nil {
		return nil, err
	}
	out.l = l
	return out, nil
}

// knownScopeValues are the key names, teams and features the configured keys name (the
// anonymous principal's without keys).
func knownScopeValues(keys []config.Key) map[metering.Scope][]string {
	out := map[metering.Scope][]string{}
	add := func(s metering.Scope, v string) {
		for _, have := range out[s] {
			if have == v {
				return
			}
		}
		out[s] = append(out[s], v)
	}
	if len(keys) == 0 {
		add(metering.ScopeKey, "anonymous")
		add(metering.ScopeTeam, "default")
		add(metering.ScopeFeature, "default")
	}
	for _, k := range keys {
		add(metering.ScopeKey, k.Name)
		add(metering.ScopeTeam, k.Team)
		add(metering.ScopeFeature, k.Feature)
	}
	return out
}

func (lm *limits) close() {
	if lm != nil && lm.redis != nil {
		_ = lm.redis.Close()
	}
}

// defaultOutputEstimate is the output tokens a request is assumed to use while its route
// has answered none yet and the request gives no max_tokens.
const defaultOutputEstimate = 256

// outputAverages keeps, per route, a running average of the output tokens of answered
// requests: the output estimate of a request that sets no max_tokens. Safe for
// concurrent use; an observation costs a map read and a compare-and-swap.
type outputAverages struct {
	byRoute sync.Map // route name → *outputAverage
}

// outputAverage is an exponentially weighted average with weight 1/8 for the newest
// answer, in sixteenths of a token; zero until the first answer.
type outputAverage struct{ v atomic.Int64 }

// estimate returns the route's average output, rounded up, or defaultOutputEstimate.
func (o *outputAverages) estimate(route string) int64 {
	if a, ok := o.byRoute.Load(route); ok {
		if v := a.(*outputAverage).v.Load(); v > 0 {
			return (v + 15) / 16
		}
	}
	return defaultOutputEstimate
}

// observe adds one answer's output tokens to the route's average.
func (o *outputAverages) observe(route string, tokens int64) {
	a, ok := o.byRoute.Load(route)
	if !ok {
		a, _ = o.byRoute.LoadOrStore(route, &outputAverage{})
	}
	avg, x := a.(*outputAverage), max(tokens, 0)*16
	for {
		old := avg.v.Load()
		next := x
		if old > 0 {
			next = old + (x-old)/8
		}
		next = max(next, 1) // 0 means "no answer yet"
		if avg.v.CompareAndSwap(old, next) {
			return
		}
	}
}

// outputEstimate is the output tokens reserved for a request: none for embeddings,
// max_tokens when the request sets it (an upper bound), else the route's running
// average.
func (lm *limits) outputEstimate(op provider.Op, route string, maxTokens int) int64 {
	switch {
	case op == provider.OpEmbedding:
		return 0
	case maxTokens > 0:
		return int64(maxTokens)
	}
	return lm.output.estimate(route)
}

// reserve charges the request's estimate. It returns the client's error when a hard
// limit denies it (429 with Retry-After) or the limits cannot be checked and a rule
// fails closed (503). An admitted request's answer carries x-ratelimit-* headers for
// the hard requests and tokens per minute limits that apply (see setRateHeaders).
func (g *Gateway) reserve(ctx *fasthttp.RequestCtx, rec *record, pr []byte, maxTokens int) error {
	prompt := g.meter.estimate(rec, pr)
	out := g.limits.outputEstimate(rec.op, rec.route, maxTokens)
	now := time.Now()
	cost, _ := g.meter.pricer.Cost(rec.priceRequested, now, metering.Tokens{Input: prompt, Output: out})
	res, err := g.limits.l.Reserve(context.Background(), metering.ReserveRequest{
		RequestID: string(ctx.Response.Header.Peek(headerRequestID)),
		Key:       rec.principal.Key, Team: rec.principal.Team, Feature: rec.principal.Feature,
		EstimatedTokens: prompt + out, EstimatedCost: cost, Now: now,
	})
	if err != nil {
		var le *metering.LimitError
		if errors.As(err, &le) {
			retry := strconv.Itoa(le.RetryAfterSeconds())
			if le.TooLarge() {
				retry = "" // the request alone is over the limit: waiting will not help
			}
			e := apierr.RateLimited(le.Error(), retry)
			e.Code = "budget_exceeded"
			if le.Limit == metering.LimitRPM || le.Limit == metering.LimitTPM {
				e.Code = "rate_limit_exceeded"
				w := metering.RateWindow{Limit: le.Max, Remaining: max(le.Max-le.Used, 0), Reset: le.RetryAfter}
				setRateWindow(&ctx.Response.Header, rateKind(le.Limit), w)
			}
			return e
		}
		return apierr.Unavailable("limits_unavailable", "rate limits cannot be checked right now")
	}
	for _, b := range res.Breaches {
		g.log.Warn("limit breached", "request_id", res.RequestID, "mode", string(b.Mode), "scope", string(b.Scope),
			"value", b.Value, "limit", b.Limit.String())
	}
	setRateHeaders(&ctx.Response.Header, res.Headroom())
	rec.reservation, rec.promptTokens = &res, prompt
	return nil
}

func rateKind(k metering.LimitKind) string {
	if k == metering.LimitRPM {
		return "requests"
	}
	return "tokens"
}

// setRateHeaders sends OpenAI's rate-limit headers for the limits in h:
// x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests
// and the same for tokens. Remaining counts this request (its estimate, for tokens); the
// reset is the time until the UTC minute's window ends ("41.5s").
func setRateHeaders(hd *fasthttp.ResponseHeader, h metering.RateHeadroom) {
	setRateWindow(hd, "requests", h.Requests)
	setRateWindow(hd, "tokens", h.Tokens)
}

func setRateWindow(hd *fasthttp.ResponseHeader, kind string, w metering.RateWindow) {
	if w.Limit <= 0 {
		return
	}
	hd.Set("X-Ratelimit-Limit-"+kind, strconv.FormatInt(w.Limit, 10))
	hd.Set("X-Ratelimit-Remaining-"+kind, strconv.FormatInt(w.Remaining, 10))
	hd.Set("X-Ratelimit-Reset-"+kind, w.Reset.Round(time.Millisecond).String())
}

// settle corrects the reservation to what the request actually used, and adds a
// successful answer's output tokens to its route's average. A failed settle is logged by
// the limiter (rate-limited), not here.
func (g *Gateway) settle(rec *record) {
	if rec.reservation == nil {
		return
	}
	if rec.measured && rec.op != provider.OpEmbedding {
		g.limits.output.observe(rec.route, rec.outputTokens)
	}
	_ = g.limits.l.Settle(context.Background(), *rec.reservation, rec.tokens, rec.cost)
	rec.reservation = nil
}
