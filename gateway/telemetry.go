package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/internal/upstream"
	"github.com/switchyard/switchyard/metering"
	"github.com/switchyard/switchyard/policies"
	"github.com/switchyard/switchyard/router"
)

// traced is a request's telemetry state, carried in its record (the relay copies it).
// With telemetry off every field stays zero and every call below returns at once.
type traced struct {
	ctx     context.Context
	span    *telemetry.RequestSpan
	attempt telemetry.AttemptSpan // the attempt that answered, ended by the relay for streams
	retries int
	falls   int
}

// startTrace opens the request's server span, continuing the client's trace context.
func (g *Gateway) startTrace(ex *exchange) {
	if !g.tel.Enabled() {
		return
	}
	rc, rec := ex.rc, &ex.rec
	c := g.tel.Extract(context.Background(), func(k string) string { return string(rc.Request.Header.Peek(k)) })
	rec.tr.ctx, rec.tr.span = g.tel.StartRequest(c, telemetry.RequestInfo{Operation: telemetry.Operation(rec.op), RequestID: ex.id})
	rec.tr.span.SetRequestBody(rc.PostBody())
}

// startAttempt opens a client span for one upstream call and injects its trace context
// into the upstream request.
func (g *Gateway) startAttempt(rec *record, t *target, c *router.Candidate, pr *provider.Request, n int, req *fasthttp.Request) telemetry.AttemptSpan {
	if rec.tr.span == nil {
		return telemetry.AttemptSpan{}
	}
	a := rec.tr.span.StartAttempt(telemetry.AttemptInfo{Attempt: n, Provider: telemetry.ProviderName(t.kind),
		ProviderConfig: t.name, Deployment: c.ID, Model: pr.Model, ServerAddress: t.host, ServerPort: t.port, Stream: pr.Stream})
	a.Inject(func(k, v string) { req.Header.Set(k, v) })
	return a
}

// endAttempt closes an attempt's span with its outcome.
func endAttempt(a telemetry.AttemptSpan, status int, err *apierr.Error, usage provider.Usage) {
	res := telemetry.AttemptResult{StatusCode: status, Usage: usage}
	if err != nil {
		res.ErrorType = err.Code
	}
	a.End(res)
}

// endTrace closes the request span with everything the request did, and publishes the
// cost event as telemetry.
func (g *Gateway) endTrace(rec *record, ev *metering.Event, start time.Time, ttft time.Duration) {
	if rec.tr.span == nil {
		return
	}
	if ev != nil {
		g.tel.EmitCostEvent(rec.tr.ctx, costEvent(ev, rec.deployment))
	}
	res := telemetry.Result{StatusCode: rec.status, ErrorType: rec.errCode, RequestModel: rec.model,
		ResponseModel: rec.upstream, Provider: telemetry.ProviderName(rec.kind), Stream: rec.stream, Usage: rec.usage,
		Feature: rec.principal.Feature, Team: rec.principal.Team, Key: rec.principal.Key, Route: rec.route,
		PolicyVersion: rec.policy, PromptID: rec.promptID, PromptVersion: rec.promptVersion, Deployment: rec.deployment,
		CacheOutcome: string(rec.cache), Retries: rec.tr.retries, Fallbacks: rec.tr.falls,
		CostPicoUSD: int64(rec.cost), SavingsPicoUSD: int64(rec.savings)}
	if ev != nil {
		res.UsageSource = string(ev.UsageSource)
	}
	if ttft > 0 {
		res.FirstTokenAt = start.Add(ttft)
	}
	rec.tr.span.End(res)
}

func costEvent(ev *metering.Event, deployment string) *telemetry.CostEvent {
	return &telemetry.CostEvent{RequestID: ev.RequestID, Time: ev.Time, Key: ev.Key, Team: ev.Team, Feature: ev.Feature,
		User: ev.User, Route: ev.Route, PolicyVersion: ev.PolicyVersion, PromptID: ev.PromptID, PromptVersion: ev.PromptVersion,
		RequestedModel: ev.RequestedModel, ServedModel: ev.ServedModel, Provider: ev.Provider, Deployment: deployment,
		CacheOutcome: string(ev.Cache), InputTokens: ev.Tokens.Input, CachedInputTokens: ev.Tokens.CachedInput,
		CacheWriteTokens: ev.Tokens.CacheWrite, OutputTokens: ev.Tokens.Output, ReasoningTokens: ev.Tokens.Reasoning,
		UsageSource: string(ev.UsageSource), PriceVersion: ev.PriceVersion, CostPicoUSD: int64(ev.Cost),
		CounterfactualPicoUSD: int64(ev.Counterfactual), SavingsPicoUSD: int64(ev.Savings), Unpriced: ev.Unpriced,
		Status: ev.Status, ErrorCode: ev.ErrorCode, Stream: ev.Stream, Dialect: ev.Dialect}
}

// setMetricLabels tells telemetry which model, feature and team values metric labels
// may take under snap, the policy about to serve; any other value a client sends (a
// model through the "*" model, x-switchyard-feature / x-switchyard-team, metadata) is
// counted as _OTHER. applyPolicy calls it for every snapshot it swaps in; anything that
// changes the keys at run time must call it too.
func (g *Gateway) setMetricLabels(snap *policies.Snapshot) {
	g.setMetricLabelsFor(snap, g.cfg.Keys)
}

// setMetricLabelsFor is setMetricLabels with the gateway keys in force (a config reload
// changes them).
func (g *Gateway) setMetricLabelsFor(snap *policies.Snapshot, keys []config.Key) {
	if g.tel.Enabled() {
		g.tel.SetLabels(metricLabels(g.cfg.Models, keys, snap))
	}
}

// metricLabels lists the configured values: the models named in the config and in the
// policy (names, aliases and the providers' model names of their deployments, the
// wildcard excepted), the features and teams of the gateway keys, the ones the policy's
// routes match on, and "default" (the attribution of anonymous requests and keys
// without a feature).
func metricLabels(cfgModels []config.Model, keys []config.Key, snap *policies.Snapshot) *telemetry.Labels {
	var models, features, teams []string
	for _, m := range cfgModels {
		if m.Name != policies.Wildcard {
			models = append(models, m.Name, m.UpstreamModel)
			models = append(models, m.Aliases...)
		}
	}
	if snap != nil {
		for name, m := range snap.Models {
			if name != policies.Wildcard {
				models = append(models, name)
			}
			for _, d := range m.Deployments { // a wildcard's deployment may name a fixed model
				models = append(models, d.Model)
			}
		}
		features, teams = snap.AttributionValues()
	}
	features, teams = append(features, "default"), append(teams, "default")
	for _, k := range keys {
		features, teams = append(features, k.Feature), append(teams, k.Team)
	}
	return telemetry.NewLabels(models, features, teams)
}

// observeGauges registers the callbacks for upstream health and ledger queue depth.
func (g *Gateway) observeGauges() error {
	err := g.tel.ObserveUpstreams(func(yield func(telemetry.UpstreamState) bool) {
		g.health.mu.Lock()
		states := make([]telemetry.UpstreamState, 0, len(g.health.byID))
		for id, h := range g.health.byID {
			states = append(states, telemetry.UpstreamState{Deployment: id, Provider: g.health.provider[id],
				Circuit: h.State(), InFlight: h.InFlight()})
		}
		g.health.mu.Unlock()
		for _, s := range states {
			if !yield(s) {
				return
			}
		}
	})
	err = errors.Join(err,
		g.tel.ObserveCount("switchyard.server.accept_errors", "{error}",
			"Accept errors (out of file descriptors, aborted connections) waited out instead of stopping the server.",
			func() int64 { return int64(g.accepts.errors.Load()) }),
		g.tel.ObserveCount("switchyard.upstream.stale_retries", "{request}",
			"Requests sent again on a fresh connection because their pooled one had been closed by the server while idle.",
			func() int64 { return int64(g.upstreamStats().StaleRetries) }),
		g.tel.ObserveCount("switchyard.upstream.pool_exhausted", "{request}",
			"Requests that found every connection to their provider busy for upstream.max_conn_wait (503).",
			func() int64 { return int64(g.upstreamStats().PoolExhausted) }))
	if w, ok := g.meter.ledger.(*metering.Writer); ok {
		err = errors.Join(err, g.tel.ObserveLedgerQueue(func() int64 { return int64(w.Stats().Queued) }),
			g.tel.ObserveCount("switchyard.ledger.spilled_events", "{event}",
				"Cost events written to the spill journal because the ledger could not take them.",
				func() int64 { return w.Stats().Spilled }),
			g.tel.ObserveCount("switchyard.ledger.replayed_events", "{event}",
				"Cost events replayed from the spill journal into the ledger.",
				func() int64 { return w.Stats().Replayed }),
			g.tel.ObserveCount("switchyard.ledger.dropped_events", "{event}",
				"Cost events lost: the ledger and the spill journal could not take them.",
				func() int64 { return w.Stats().Dropped }),
			g.tel.ObserveCount("switchyard.ledger.write_failures", "{write}",
				"Failed ledger write attempts.",
				func() int64 { return w.Stats().WriteFailures }))
	}
	return err
}

// serveMetrics answers GET /metrics in the Prometheus text format.
func (g *Gateway) serveMetrics(ctx *fasthttp.RequestCtx) {
	if !requireMethod(ctx, "GET") {
		return
	}
	ct, err := g.tel.WriteMetrics(ctx)
	if err != nil {
		writeError(ctx, apierr.NotFound("/metrics (telemetry.prometheus is off)"))
		return
	}
	ctx.SetContentType(ct)
}

// FlushTelemetry exports every finished span and metric now (tests, diagnostics).
func (g *Gateway) FlushTelemetry(ctx context.Context) error { return g.tel.ForceFlush(ctx) }

// upstreamStats adds up the connection pools' counters over every provider.
func (g *Gateway) upstreamStats() upstream.Stats {
	var s upstream.Stats
	for _, t := range g.targets {
		ts := t.client.Stats()
		s.Open += ts.Open
		s.Idle += ts.Idle
		s.Dials += ts.Dials
		s.StaleRetries += ts.StaleRetries
		s.PoolExhausted += ts.PoolExhausted
	}
	return s
}
