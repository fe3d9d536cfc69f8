package gateway

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/metering"
)

// limits admits requests against the configured rate limits and budgets: it reserves
// the request's estimated tokens and cost before the upstream call and settles them to
// the metered actuals when the request ends.
type limits struct {
	l     *metering.Limiter
	redis *redis.Client // nil with the memory store
	log   *slog.Logger
}

// newLimits returns nil when no rules are configured.
func newLimits(cfg *config.Config, log *slog.Logger) (*limits, error) {
	rl := cfg.RateLimits
	if len(rl.Rules) == 0 {
		return nil, nil
	}
	out := &limits{log: log}
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

func (lm *limits) close() {
	if lm != nil && lm.redis != nil {
		_ = lm.redis.Close()
	}
}

// reserve charges the request's estimate. It returns the client's error when a hard
// limit denies it (429 with Retry-After) or the limits cannot be checked and a rule
// fails closed (503).
func (g *Gateway) reserve(ctx *fasthttp.RequestCtx, rec *record, pr []byte, maxTokens int) error {
	prompt := g.meter.estimate(rec, pr)
	out := int64(maxTokens)
	if out <= 0 {
		out = 256
	}
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
			}
			return e
		}
		return apierr.Unavailable("limits_unavailable", "rate limits cannot be checked right now")
	}
	for _, b := range res.Breaches {
		g.log.Warn("limit breached", "request_id", res.RequestID, "mode", string(b.Mode), "scope", string(b.Scope),
			"value", b.Value, "limit", b.Limit.String())
	}
	rec.reservation, rec.promptTokens = &res, prompt
	return nil
}

// settle corrects the reservation to what the request actually used.
func (g *Gateway) settle(rec *record) {
	if rec.reservation == nil {
		return
	}
	if err := g.limits.l.Settle(context.Background(), *rec.reservation, rec.tokens, rec.cost); err != nil {
		g.log.Warn("limit settle failed", "request_id", rec.reservation.RequestID, "error", err.Error())
	}
	rec.reservation = nil
}
