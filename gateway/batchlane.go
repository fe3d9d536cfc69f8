package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/metering"
)

// The batch lane: a request marked x-switchyard-priority: batch, on a route that allows
// it, is not sent at once. It joins a provider batch job (or, for providers without a
// batch API, waits for room in the rate budget); the client gets a job id at once and
// fetches the answer later from GET /v1/switchyard/jobs/{id}. Each job is metered when
// it finishes, at the batch price.

const headerPriority = "X-Switchyard-Priority"

// passthrough is where OpenAI files and batches calls are forwarded.
type passthrough struct {
	target  *target
	baseURL string
	headers []provider.Header
}

// newPassthrough picks batch_lane.passthrough_provider, or the first OpenAI-schema one.
func (g *Gateway) newPassthrough() *passthrough {
	for i := range g.cfg.Providers {
		pc := &g.cfg.Providers[i]
		want := g.cfg.BatchLane.PassthroughProvider
		if (want != "" && pc.Name == want) || (want == "" && pc.Kind == provider.KindOpenAI) {
			return &passthrough{target: g.targets[pc.Name], baseURL: pc.BaseURL, headers: pc.AuthHeaders()}
		}
	}
	return nil
}

// newBatchLane starts the collector with every OpenAI-schema provider's batch API,
// sharing its jobs in jobs (nil: in its own table only).
func (g *Gateway) newBatchLane(jobs batchlane.JobStore) (*batchlane.Collector, error) {
	ups := map[string]batchlane.Upstream{}
	for i := range g.cfg.Providers {
		pc := &g.cfg.Providers[i]
		if pc.Kind != provider.KindOpenAI {
			continue // Azure and Anthropic batch APIs are not supported; mock has none
		}
		ups[pc.Name] = batchlane.Upstream{BaseURL: pc.BaseURL, Header: pc.AuthHeaders(),
			Doer: &batchlane.HTTPDoer{Client: &http.Client{Timeout: 5 * time.Minute}}}
	}
	return batchlane.New(g.cfg.BatchLane.Config, batchlane.Options{Upstreams: ups, Sender: laneSender{g},
		Budget: laneBudget{g}, Recorder: laneRecorder{g}, Log: g.log, Jobs: jobs})
}

// wantsDeferral reports whether the client asked for the batch lane.
func wantsDeferral(ctx *fasthttp.RequestCtx) bool {
	return strings.EqualFold(string(ctx.Request.Header.Peek(headerPriority)), "batch")
}

// defer_ queues a routed request in the batch lane and answers 202 with its job.
func (g *Gateway) deferRequest(ctx *fasthttp.RequestCtx, pl *plan, sel *selection, pr *provider.Request, rec *record) error {
	if g.lane == nil {
		return apierr.BadRequest("batch_lane_disabled", "", "this gateway has no batch lane (batch_lane.enabled)")
	}
	if !pl.snap.Routes[sel.routeIndex].Deferrable {
		return apierr.Forbidden("route " + rec.route + " does not allow deferred requests (deferrable: true)")
	}
	if pr.Stream {
		return apierr.BadRequest("invalid_value", "stream", "a deferred request cannot stream")
	}
	c := sel.dec.Candidate
	t := g.targets[c.Provider]
	pr.Model = c.UpstreamModel
	if pr.Model == "" {
		pr.Model = pr.ClientModel
	}
	out := outboundPool.Get().(*provider.Outbound)
	defer func() { out.Reset(); outboundPool.Put(out) }()
	if err := t.tr.Encode(pr, out); err != nil {
		return err
	}
	id, err := g.lane.Submit(context.Background(), batchlane.Deferred{Provider: c.Provider, Model: pr.Model,
		Endpoint: endpointOf(pr.Op), Body: out.Body,
		Key: rec.principal.Key, Team: rec.principal.Team, Feature: rec.principal.Feature})
	switch {
	case errors.Is(err, batchlane.ErrFull):
		return apierr.RateLimited("too many deferred requests are waiting", "60")
	case errors.Is(err, batchlane.ErrClosed):
		return apierr.Unavailable("server_shutting_down", "the gateway is shutting down")
	case err != nil:
		return apierr.BadRequest("cannot_defer", "", err.Error())
	}
	rec.provider, rec.served, rec.upstream = "batch-lane", c.Model, pr.Model
	ctx.Response.Header.Set("X-Switchyard-Job", id)
	setRouteHeaders(&ctx.Response.Header, rec)
	writeJob(ctx, 202, id, string(batchlane.StateQueued))
	return nil
}

func endpointOf(op provider.Op) string {
	switch op {
	case provider.OpCompletion:
		return "/v1/completions"
	case provider.OpEmbedding:
		return "/v1/embeddings"
	}
	return "/v1/chat/completions"
}

func writeJob(ctx *fasthttp.RequestCtx, status int, id, state string) {
	b, _ := jsonx.Marshal(map[string]string{"id": id, "object": "switchyard.job", "status": state})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// getJob answers GET /v1/switchyard/jobs/{id}: 202 with the job while it waits, the
// provider's own answer once completed, an OpenAI error once failed or expired. Only the
// gateway key that submitted a job can see it.
func (g *Gateway) getJob(ctx *fasthttp.RequestCtx, id string) {
	if !requireMethod(ctx, "GET") {
		return
	}
	p, err := g.keyring().authenticate(ctx)
	if err != nil {
		writeError(ctx, err)
		return
	}
	if g.lane == nil {
		writeError(ctx, apierr.NotFound(string(ctx.Path())))
		return
	}
	st, err := g.lane.Result(context.Background(), id)
	if err != nil && !errors.Is(err, batchlane.ErrUnknownJob) {
		g.log.Error("batch lane job lookup failed", "job", id, "error", err.Error())
		writeError(ctx, apierr.Unavailable("job_store_unavailable", "the batch lane's job store cannot be read; try again"))
		return
	}
	if err != nil || st.Key != p.Key {
		writeError(ctx, apierr.New(404, apierr.TypeInvalidRequest, "job_not_found", "", "no job "+strconv.Quote(id)))
		return
	}
	ctx.Response.Header.Set("X-Switchyard-Job-Status", string(st.State))
	switch st.State {
	case batchlane.StateCompleted:
		ctx.SetStatusCode(st.HTTPStatus)
		ctx.SetContentType("application/json")
		ctx.SetBody(st.Response)
	case batchlane.StateFailed:
		writeError(ctx, apierr.BadGateway("batch_failed", st.Error))
	case batchlane.StateExpired:
		e := apierr.Timeout(st.Error)
		e.Code = "batch_expired"
		writeError(ctx, e)
	default:
		writeJob(ctx, 202, st.JobID, string(st.State))
	}
}

// laneRecorder meters each finished job once, at its share of list price.
type laneRecorder struct{ g *Gateway }

func (r laneRecorder) Record(s batchlane.Status) {
	ev := &metering.Event{RequestID: s.JobID, Time: s.CreatedAt, Key: s.Key, Team: s.Team, Feature: s.Feature,
		Route: "batch-lane", RequestedModel: s.Model, ServedModel: s.ServedModel, Provider: s.Provider,
		Cache: metering.CacheNone, Tokens: metering.TokensOf(s.Usage), UsageSource: metering.UsageMeasured,
		LatencyMS: s.FinishedAt.Sub(s.CreatedAt).Milliseconds(), Status: s.HTTPStatus}
	if ev.ServedModel == "" {
		ev.ServedModel = s.Model
	}
	if s.State != batchlane.StateCompleted {
		ev.ErrorCode, ev.Tokens = "batch_"+string(s.State), metering.Tokens{}
	}
	r.g.meter.pricer.Price(ev)
	ev.Cost = batchlane.AtBatchPrice(ev.Cost, s.PricePercent) // the counterfactual stays at list price
	if !ev.Unpriced {
		ev.Savings = ev.Counterfactual - ev.Cost
		ev.SavingsSource = metering.SavingsBatchLane
	}
	if r.g.meter.ledger != nil {
		if err := r.g.meter.ledger.Append(ev); err != nil {
			r.g.log.Error("cost event not recorded", "job", s.JobID, "error", err.Error())
		}
	}
}

// laneSender runs a rate-budgeted deferred request straight to its provider.
type laneSender struct{ g *Gateway }

func (s laneSender) Send(ctx context.Context, d batchlane.Deferred) (int, []byte, provider.Usage, error) {
	t, ok := s.g.targets[d.Provider]
	if !ok {
		return 0, nil, provider.Usage{}, errors.New("unknown provider " + d.Provider)
	}
	op := provider.OpChat
	switch strings.TrimPrefix(d.Endpoint, "/v1") {
	case "/completions":
		op = provider.OpCompletion
	case "/embeddings":
		op = provider.OpEmbedding
	}
	pr := provider.Request{Op: op, Body: d.Body, Model: d.Model, ClientModel: d.Model}
	ans, err := s.g.callTarget(ctx, t, &pr)
	if err != nil || ans.status >= 300 {
		return ans.status, ans.body, provider.Usage{}, err
	}
	body, usage, err := t.tr.Decode(&pr, ans.body, nil)
	if err != nil {
		return 0, nil, provider.Usage{}, err
	}
	return ans.status, body, usage, nil
}

// laneBudget has room while the gateway's upstream calls in flight are fewer than
// batch_lane.max_inflight: deferred work fills quiet periods and yields to live traffic.
type laneBudget struct{ g *Gateway }

func (b laneBudget) Room() bool {
	b.g.health.mu.Lock()
	defer b.g.health.mu.Unlock()
	var n int64
	for _, h := range b.g.health.byID {
		n += h.InFlight()
	}
	return n < int64(b.g.cfg.BatchLane.MaxInflight)
}
