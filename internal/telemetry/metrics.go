package telemetry

import (
	"context"
	"errors"
	"iter"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metric names. The gen_ai.* instruments and their bucket boundaries follow the GenAI
// semantic conventions; switchyard.* are the gateway's own.
const (
	MetricTokenUsage       = "gen_ai.client.token.usage"
	MetricOperationTime    = "gen_ai.client.operation.duration"
	MetricTimeToFirstToken = "gen_ai.server.time_to_first_token"
	MetricTimePerOutput    = "gen_ai.server.time_per_output_token"
	MetricRequests         = "switchyard.requests"
	MetricCost             = "switchyard.cost"
	MetricSavings          = "switchyard.savings"
	MetricCacheOutcomes    = "switchyard.cache.outcomes"
	MetricRouted           = "switchyard.routed"
	MetricCircuitState     = "switchyard.upstream.circuit_state"
	MetricInFlight         = "switchyard.upstream.in_flight"
	MetricLedgerQueue      = "switchyard.ledger.queue_depth"
)

var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	ttftBuckets     = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0}
	tpotBuckets     = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5}
)

// instruments are the synchronous instruments End records into.
type instruments struct {
	meter    metric.Meter
	tokens   metric.Int64Histogram
	duration metric.Float64Histogram
	ttft     metric.Float64Histogram
	tpot     metric.Float64Histogram
	requests metric.Int64Counter
	cost     metric.Float64Counter
	savings  metric.Float64UpDownCounter
	cache    metric.Int64Counter
	routed   metric.Int64Counter

	genai  memo[genaiKey, *genaiSeries]
	reqs   memo[requestsKey, []metric.AddOption]
	caches memo[cacheKey, []metric.AddOption]
	routes memo[routedKey, []metric.AddOption]
	money  memo[moneyKey, []metric.AddOption]
}

func newInstruments(m metric.Meter) (*instruments, error) {
	in := &instruments{meter: m}
	var err, e error
	in.tokens, e = m.Int64Histogram(MetricTokenUsage, metric.WithUnit("{token}"),
		metric.WithDescription("Number of input and output tokens used."),
		metric.WithExplicitBucketBoundaries(tokenBuckets...))
	err = errors.Join(err, e)
	in.duration, e = m.Float64Histogram(MetricOperationTime, metric.WithUnit("s"),
		metric.WithDescription("GenAI operation duration, as the gateway's clients see it."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	err = errors.Join(err, e)
	in.ttft, e = m.Float64Histogram(MetricTimeToFirstToken, metric.WithUnit("s"),
		metric.WithDescription("Time to the first streamed token reaching the client, for successful streams."),
		metric.WithExplicitBucketBoundaries(ttftBuckets...))
	err = errors.Join(err, e)
	in.tpot, e = m.Float64Histogram(MetricTimePerOutput, metric.WithUnit("s"),
		metric.WithDescription("Time per output token after the first, for successful streams."),
		metric.WithExplicitBucketBoundaries(tpotBuckets...))
	err = errors.Join(err, e)
	in.requests, e = m.Int64Counter(MetricRequests, metric.WithUnit("{request}"),
		metric.WithDescription("Requests by operation, route, requested model, status and error."))
	err = errors.Join(err, e)
	in.cost, e = m.Float64Counter(MetricCost, metric.WithUnit("USD"),
		metric.WithDescription("Provider cost of the requests, in US dollars."))
	err = errors.Join(err, e)
	in.savings, e = m.Float64UpDownCounter(MetricSavings, metric.WithUnit("USD"),
		metric.WithDescription("Savings from caching and routing, in US dollars; negative when routing chose a dearer model."))
	err = errors.Join(err, e)
	in.cache, e = m.Int64Counter(MetricCacheOutcomes, metric.WithUnit("{request}"),
		metric.WithDescription("Response cache outcomes (none, miss, hit, semantic, coalesced) by route."))
	err = errors.Join(err, e)
	in.routed, e = m.Int64Counter(MetricRouted, metric.WithUnit("{request}"),
		metric.WithDescription("Requests served per route and deployment (routing share)."))
	err = errors.Join(err, e)
	return in, err
}

const picoPerUSD = 1e12

// The metric series of a request are looked up in memos by their label values, so the
// attribute sets (costly to build: copied, sorted, hashed) are built once per series.

type genaiKey struct{ op, provider, reqModel, respModel, errType string }

type genaiSeries struct {
	duration, input, output, base []metric.RecordOption
}

func buildGenAI(k genaiKey) *genaiSeries {
	base := []attribute.KeyValue{
		attribute.String(KeyOperation, k.op),
		attribute.String(KeyProvider, k.provider),
		attribute.String(KeyRequestModel, k.reqModel),
		attribute.String(KeyResponseModel, k.respModel),
	}
	with := func(kv attribute.KeyValue) []metric.RecordOption {
		s := attribute.NewSet(append(base[:len(base):len(base)], kv)...)
		return []metric.RecordOption{metric.WithAttributeSet(s)}
	}
	g := &genaiSeries{
		base:   []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(base...))},
		input:  with(attribute.String(KeyTokenType, "input")),
		output: with(attribute.String(KeyTokenType, "output")),
	}
	g.duration = g.base
	if k.errType != "" {
		g.duration = with(attribute.String(KeyErrorType, k.errType))
	}
	return g
}

type requestsKey struct {
	op, route, reqModel, errType string
	status                       int
}

func buildRequests(k requestsKey) []metric.AddOption {
	return addOpts(
		attribute.String(KeyOperation, k.op),
		attribute.String(KeyRoute, k.route),
		attribute.String(KeyRequestModel, k.reqModel),
		attribute.Int(KeyHTTPStatus, k.status),
		attribute.String(KeyErrorType, k.errType),
	)
}

type cacheKey struct{ route, outcome string }

func buildCache(k cacheKey) []metric.AddOption {
	return addOpts(attribute.String(KeyRoute, k.route), attribute.String(KeyCacheOutcome, k.outcome))
}

type routedKey struct{ route, deployment, provider string }

func buildRouted(k routedKey) []metric.AddOption {
	return addOpts(attribute.String(KeyRoute, k.route), attribute.String(KeyDeployment, k.deployment),
		attribute.String(KeyProvider, k.provider))
}

type moneyKey struct{ feature, team, respModel, provider string }

func buildMoney(k moneyKey) []metric.AddOption {
	return addOpts(attribute.String(KeyFeature, k.feature), attribute.String(KeyTeam, k.team),
		attribute.String(KeyResponseModel, k.respModel), attribute.String(KeyProvider, k.provider))
}

func addOpts(kvs ...attribute.KeyValue) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
}

// record records one finished request. With lab non-nil, the models, feature and team
// are folded to the values it knows (see Labels); nil records them as given.
func (in *instruments) record(op string, res *Result, errType string, start, end time.Time, lab *Labels) {
	ctx := context.Background() // no exemplars: they would cost on every sampled request
	reqModel, respModel, feature, team := res.RequestModel, res.ResponseModel, res.Feature, res.Team
	if lab != nil {
		reqModel, respModel = lab.Model(reqModel), lab.Model(respModel)
		feature, team = lab.Feature(feature), lab.Team(team)
	}
	if res.Route == "" {
		reqModel = otherValue
	}
	g := in.genai.get(genaiKey{op, res.Provider, reqModel, respModel, errType}, buildGenAI)
	in.duration.Record(ctx, end.Sub(start).Seconds(), g.duration...)
	if res.Usage.Reported {
		in.tokens.Record(ctx, res.Usage.InputTokens, g.input...)
		in.tokens.Record(ctx, res.Usage.OutputTokens, g.output...)
	}
	if res.Stream && errType == "" && !res.FirstTokenAt.IsZero() {
		in.ttft.Record(ctx, res.FirstTokenAt.Sub(start).Seconds(), g.base...)
		if n := res.Usage.OutputTokens; res.Usage.Reported && n > 1 {
			in.tpot.Record(ctx, end.Sub(res.FirstTokenAt).Seconds()/float64(n-1), g.base...)
		}
	}
	in.requests.Add(ctx, 1, in.reqs.get(requestsKey{op, res.Route, reqModel, errType, res.StatusCode}, buildRequests)...)
	if res.CacheOutcome != "" {
		in.cache.Add(ctx, 1, in.caches.get(cacheKey{res.Route, res.CacheOutcome}, buildCache)...)
	}
	if res.Deployment != "" {
		in.routed.Add(ctx, 1, in.routes.get(routedKey{res.Route, res.Deployment, res.Provider}, buildRouted)...)
	}
	if res.CostPicoUSD != 0 || res.SavingsPicoUSD != 0 {
		money := in.money.get(moneyKey{feature, team, respModel, res.Provider}, buildMoney)
		if res.CostPicoUSD > 0 {
			in.cost.Add(ctx, float64(res.CostPicoUSD)/picoPerUSD, money...)
		}
		if res.SavingsPicoUSD != 0 {
			in.savings.Add(ctx, float64(res.SavingsPicoUSD)/picoPerUSD, money...)
		}
	}
}

// Circuit states reported by UpstreamState.Circuit, equal to the router's.
const (
	CircuitClosed   = 0
	CircuitOpen     = 1
	CircuitHalfOpen = 2
)

// UpstreamState is one deployment's live state as the gateway's health tracking sees it.
type UpstreamState struct {
	// Deployment is the routing target's id; Provider the configured provider's name.
	Deployment, Provider string
	// Circuit is CircuitClosed, CircuitOpen or CircuitHalfOpen.
	Circuit int
	// InFlight is the number of calls to the deployment now in progress.
	InFlight int64
}

// ObserveUpstreams registers states, called at each metric collection (every export
// interval and every scrape, on the collector's goroutine), to report every
// deployment's circuit state and in-flight calls as the switchyard.upstream.circuit_state
// and switchyard.upstream.in_flight gauges. states must be safe to call concurrently
// with the request path and should be quick. Registrations end at Shutdown.
func (t *Telemetry) ObserveUpstreams(states iter.Seq[UpstreamState]) error {
	if !t.Enabled() {
		return nil
	}
	m := t.inst.meter
	circuit, err1 := m.Int64ObservableGauge(MetricCircuitState, metric.WithUnit("{state}"),
		metric.WithDescription("Circuit breaker state per deployment: 0 closed, 1 open, 2 half-open."))
	inflight, err2 := m.Int64ObservableGauge(MetricInFlight, metric.WithUnit("{request}"),
		metric.WithDescription("Upstream calls in progress per deployment."))
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	return t.register(func(_ context.Context, o metric.Observer) error {
		for s := range states {
			attrs := metric.WithAttributes(
				attribute.String(KeyDeployment, s.Deployment),
				attribute.String(KeyProviderConfig, s.Provider),
			)
			o.ObserveInt64(circuit, int64(s.Circuit), attrs)
			o.ObserveInt64(inflight, s.InFlight, attrs)
		}
		return nil
	}, circuit, inflight)
}

// ObserveLedgerQueue registers depth, called at each metric collection, to report the
// cost ledger's queue of unwritten events as the switchyard.ledger.queue_depth gauge.
func (t *Telemetry) ObserveLedgerQueue(depth func() int64) error {
	if !t.Enabled() {
		return nil
	}
	g, err := t.inst.meter.Int64ObservableGauge(MetricLedgerQueue, metric.WithUnit("{event}"),
		metric.WithDescription("Cost events queued for the ledger and not yet written."))
	if err != nil {
		return err
	}
	return t.register(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(g, depth())
		return nil
	}, g)
}

func (t *Telemetry) register(cb metric.Callback, obs ...metric.Observable) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shut {
		return errors.New("telemetry: shut down")
	}
	r, err := t.inst.meter.RegisterCallback(cb, obs...)
	if err != nil {
		return err
	}
	t.regs = append(t.regs, r)
	return nil
}

// ObserveCount registers a cumulative counter (name in OTel form, e.g.
// switchyard.server.accept_errors; Prometheus adds _total) whose value is read at each
// metric collection.
func (t *Telemetry) ObserveCount(name, unit, desc string, value func() int64) error {
	if !t.Enabled() {
		return nil
	}
	c, err := t.inst.meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil {
		return err
	}
	return t.register(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(c, value())
		return nil
	}, c)
}
