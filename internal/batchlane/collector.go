package batchlane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// Deferred is one request a client marked deferrable.
type Deferred struct {
	// Provider is the configured provider's name; it selects the Upstream and the Mode.
	Provider string
	// Model is the upstream model name; Body's model must be exactly this.
	Model string
	// Endpoint is the operation: /v1/chat/completions, /v1/completions or /v1/embeddings
	// (the /v1 prefix is optional).
	Endpoint string
	// Body is the JSON request body as it would be sent upstream (model already the
	// upstream name). Submit copies what it needs and does not keep Body.
	Body []byte
	// Key, Team and Feature are the attribution, returned on Status.
	Key, Team, Feature string
}

// Sender runs one deferred request synchronously through the gateway's upstream path
// (rate_budget mode). It returns the provider's answer status, body and usage, or an
// error when no answer came. It must not meter the request (the Recorder does) and must
// honour ctx. Called concurrently, at most Config.Workers at a time.
type Sender interface {
	Send(ctx context.Context, d Deferred) (status int, body []byte, usage provider.Usage, err error)
}

// Budget says whether the rate budget deferred requests draw from has room for one more
// now (rate_budget mode). It is asked before each request is started, and again every
// Config.BudgetRecheck while it says no. It must be cheap and safe for concurrent use.
type Budget interface {
	Room() bool
}

// Recorder is told, once, about every job that reaches a final state (completed, failed
// or expired), so the gateway can write its cost event: tokens from Status.Usage, priced
// at the list rate of Status.ServedModel (or Model) scaled by Status.PricePercent, with
// Status.JobID as the request id. It is called from the Collector's goroutines and must
// not block for long (hand the event to a queue).
type Recorder interface {
	Record(s Status)
}

// Options are a Collector's collaborators. Upstreams are needed for providers in
// provider_batch mode, Sender and Budget when any provider is in rate_budget mode.
type Options struct {
	// Upstreams are the providers' batch APIs, by provider name.
	Upstreams map[string]Upstream
	// Sender and Budget run rate_budget requests.
	Sender Sender
	Budget Budget
	// Recorder meters finished jobs; nil records nothing.
	Recorder Recorder
	// Jobs shares job statuses with other replicas (RedisJobs): each change of a job is
	// written there, and Result reads there the jobs this Collector does not hold. Nil
	// keeps them in the Collector's own table only.
	Jobs JobStore
	// Log receives warnings (failed submissions, lost batches); nil discards them.
	Log *slog.Logger
	// Now stamps jobs and ages finished ones (ResultTTL); nil means time.Now. Scheduling
	// (MaxWait, polls, retries) always uses the real clock.
	Now func() time.Time
}

// Errors returned by Submit and Result.
var (
	// ErrClosed: the Collector is closed (the gateway is stopping): answer 503.
	ErrClosed = errors.New("batchlane: collector closed")
	// ErrFull: Config.MaxJobs or Config.MaxStoredBytes is reached: answer 429 or run the
	// request synchronously.
	ErrFull = errors.New("batchlane: too many deferred jobs held")
	// ErrUnknownJob: no such job, or its result is past Config.ResultTTL: answer 404.
	ErrUnknownJob = errors.New("batchlane: unknown job")
	// ErrNoUpstream: the provider is in provider_batch mode but has no Upstream: a
	// configuration error; answer 400 (the route cannot defer).
	ErrNoUpstream = errors.New("batchlane: provider has no batch API configured")
	// ErrBadRequest wraps every reason a request cannot be deferred (streaming, bad
	// JSON, unsupported endpoint, model mismatch, too large): answer 400.
	ErrBadRequest = errors.New("batchlane: request cannot be deferred")
)

// Collector turns deferred requests into provider batch jobs (or rate-budgeted calls)
// and keeps their answers for the client to fetch. It is safe for concurrent use.
//
// Goroutines: one for the provider batches (sealing pending batches after MaxWait,
// uploading and creating them, polling them, storing results), one dispatching
// rate_budget requests, and at most Config.Workers running them; all stop in Close.
// Submit never blocks on I/O.
type Collector struct {
	cfg  Config
	opts Options
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex
	jobs    jobTable
	pending map[groupKey]*pendingBatch // provider_batch: batches still taking requests
	batches []*providerBatch           // provider_batch: sealed, submitted or finishing
	queue   []*job                     // rate_budget: FIFO of jobs waiting for room
	closing bool

	wake  chan struct{} // cap 1: the batch loop has something new to do
	ready chan struct{} // cap 1: the rate_budget queue got a job

	// stopCtx is cancelled when Close starts: no new polls, downloads or dispatches.
	stopCtx context.Context
	stop    context.CancelFunc
	// workCtx is cancelled when Close's context ends: uploads, batch creation and
	// running rate_budget requests are cut short then.
	workCtx  context.Context
	stopWork context.CancelFunc

	loopDone chan struct{}
	budgetWG sync.WaitGroup

	lastShareWarn atomic.Int64 // unix nanos of the last "job store write failed" warning
}

// New starts a Collector. cfg gets its defaults applied and is validated; opts must hold
// what cfg's modes need.
func New(cfg Config, opts Options) (*Collector, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("batch lane: %w", err)
	}
	if cfg.usesMode(ModeRateBudget) && (opts.Sender == nil || opts.Budget == nil) {
		return nil, errors.New("batch lane: rate_budget mode needs a Sender and a Budget")
	}
	for name, up := range opts.Upstreams {
		if up.Doer == nil || up.BaseURL == "" {
			return nil, fmt.Errorf("batch lane: upstream %q needs a base URL and a Doer", name)
		}
	}
	c := &Collector{cfg: cfg, opts: opts, log: opts.Log, now: opts.Now,
		jobs:     jobTable{m: map[string]*job{}},
		pending:  map[groupKey]*pendingBatch{},
		wake:     make(chan struct{}, 1),
		ready:    make(chan struct{}, 1),
		loopDone: make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.stopCtx, c.stop = context.WithCancel(context.Background())
	c.workCtx, c.stopWork = context.WithCancel(context.Background())
	go c.runBatches()
	c.budgetWG.Add(1)
	go c.runBudget()
	return c, nil
}

// endpoints the lane can defer, by the name they are given in a batch input.
var deferrable = map[string]string{
	"/v1/chat/completions": "/v1/chat/completions", "/chat/completions": "/v1/chat/completions",
	"/v1/completions": "/v1/completions", "/completions": "/v1/completions",
	"/v1/embeddings": "/v1/embeddings", "/embeddings": "/v1/embeddings",
}

// Submit accepts d and returns its job id at once; the answer is fetched later with
// Result. It waits for no I/O but, with a JobStore, one write of the queued job, bounded
// by Config.StoreTimeout (ctx is only checked on entry). It fails with
// ErrBadRequest (wrapped) for a request that cannot be deferred, ErrNoUpstream, ErrFull
// or ErrClosed. It does not keep d.Body.
func (c *Collector) Submit(ctx context.Context, d Deferred) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	endpoint, err := checkDeferred(&d)
	if err != nil {
		return "", err
	}
	d.Endpoint = endpoint
	mode := c.cfg.ModeFor(d.Provider)
	if _, ok := c.opts.Upstreams[d.Provider]; mode == ModeProviderBatch && !ok {
		return "", fmt.Errorf("%w: %q", ErrNoUpstream, d.Provider)
	}
	j := &job{st: Status{JobID: newJobID(), State: StateQueued, Lane: mode, Provider: d.Provider,
		Model: d.Model, Endpoint: endpoint, Key: d.Key, Team: d.Team, Feature: d.Feature,
		PricePercent: 100, CreatedAt: c.now()}}
	if mode == ModeProviderBatch {
		j.st.PricePercent = c.cfg.PricePercent
		line := appendInputLine(nil, j.st.JobID, endpoint, d.Body)
		if int64(len(line)) > c.cfg.MaxBatchBytes {
			return "", fmt.Errorf("%w: the request is larger than max_batch_bytes (%d)", ErrBadRequest, c.cfg.MaxBatchBytes)
		}
		// Shared before it is queued, so no later change of the job can be overwritten by
		// this first write. Should the queue refuse it, the id is never handed out.
		c.share(ctx, c.liveTTL(), j.st)
		return j.st.JobID, c.enqueueBatch(j, d, line)
	}
	d.Body = bytes.Clone(d.Body)
	j.d = d
	c.share(ctx, c.liveTTL(), j.st)
	return j.st.JobID, c.enqueueBudget(j)
}

// liveTTL is how long the shared copy of an unfinished job is kept: past every deadline
// the job can meet, so the copy of a job whose replica died before finishing it goes
// away in the end.
func (c *Collector) liveTTL() time.Duration {
	return c.cfg.MaxWait + c.cfg.CompletionWindow + c.cfg.PollGrace + c.cfg.ResultTTL
}

// share writes sts to the JobStore, if any, within Config.StoreTimeout. A failure is
// logged (at most every 10s) and otherwise ignored: the job still runs and is still
// served by this replica, and its next change is written again.
func (c *Collector) share(ctx context.Context, ttl time.Duration, sts ...Status) {
	if c.opts.Jobs == nil || len(sts) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.StoreTimeout)
	defer cancel()
	err := c.opts.Jobs.Put(ctx, ttl, sts...)
	if err == nil {
		return
	}
	now, last := time.Now().UnixNano(), c.lastShareWarn.Load()
	if now-last > int64(10*time.Second) && c.lastShareWarn.CompareAndSwap(last, now) {
		c.log.Warn("batch lane: writing jobs to the shared store failed; other replicas do not see them yet",
			"jobs", len(sts), "first", sts[0].JobID, "err", err)
	}
}

// checkDeferred validates d and returns its canonical endpoint.
func checkDeferred(d *Deferred) (string, error) {
	endpoint, ok := deferrable[d.Endpoint]
	switch {
	case !ok:
		return "", fmt.Errorf("%w: endpoint %q cannot be deferred (chat completions, completions and embeddings can)", ErrBadRequest, d.Endpoint)
	case d.Provider == "" || d.Model == "":
		return "", fmt.Errorf("%w: provider and model are required", ErrBadRequest)
	}
	body := bytes.TrimSpace(d.Body)
	if len(body) == 0 || body[0] != '{' || !jsonx.Valid(body) {
		return "", fmt.Errorf("%w: the body must be a JSON object", ErrBadRequest)
	}
	if jsonx.Get(body, "stream").Bool() {
		return "", fmt.Errorf("%w: a streamed request cannot be deferred", ErrBadRequest)
	}
	if m := jsonx.Get(body, "model").String(); m != d.Model {
		return "", fmt.Errorf("%w: the body's model %q is not %q", ErrBadRequest, m, d.Model)
	}
	return endpoint, nil
}

// admit checks the table's bounds for a new job of size bytes and adds it. Called with
// c.mu held.
func (c *Collector) admit(j *job, size int64) error {
	if c.closing {
		return ErrClosed
	}
	c.jobs.sweep(c.now(), c.cfg.ResultTTL)
	if len(c.jobs.m) >= c.cfg.MaxJobs || c.jobs.bytes+size > c.cfg.MaxStoredBytes {
		return ErrFull
	}
	c.jobs.m[j.st.JobID] = j
	c.jobs.resize(j, size)
	return nil
}

// Result returns a snapshot of the job's status, or ErrUnknownJob. A job this Collector
// does not hold is looked up in the JobStore, if any (one round trip, bounded by
// Config.StoreTimeout); a store that cannot answer is an error other than ErrUnknownJob
// (answer 503). The caller must check that Status.Key (or Team) matches whoever asks
// before showing it.
func (c *Collector) Result(ctx context.Context, jobID string) (Status, error) {
	c.mu.Lock()
	j, ok := c.jobs.m[jobID]
	var st Status
	if ok {
		st = j.st
	}
	c.mu.Unlock()
	switch {
	case ok && st.State.Final() && c.now().Sub(st.FinishedAt) > c.cfg.ResultTTL:
		return Status{}, ErrUnknownJob
	case ok:
		return st, nil
	case c.opts.Jobs == nil:
		return Status{}, ErrUnknownJob
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.StoreTimeout)
	defer cancel()
	st, err := c.opts.Jobs.Get(ctx, jobID)
	switch {
	case errors.Is(err, ErrUnknownJob):
		return Status{}, ErrUnknownJob
	case err != nil:
		return Status{}, fmt.Errorf("batchlane: reading job %s from the shared store: %w", jobID, err)
	case st.State.Final() && c.now().Sub(st.FinishedAt) > c.cfg.ResultTTL:
		return Status{}, ErrUnknownJob
	}
	return st, nil
}

// Stats are a Collector's current sizes.
type Stats struct {
	// Jobs is the number of jobs held, finished ones included; Bytes what they hold.
	Jobs  int
	Bytes int64
	// Pending is the number of requests waiting in pending batches or for budget room.
	Pending int
	// Batches is the number of provider batches being submitted, polled or collected.
	Batches int
}

// Stats returns the Collector's current sizes.
func (c *Collector) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{Jobs: len(c.jobs.m), Bytes: c.jobs.bytes, Pending: len(c.queue), Batches: len(c.batches)}
	for _, p := range c.pending {
		s.Pending += len(p.jobs)
	}
	return s
}

// Close stops the Collector: Submit fails with ErrClosed from now on; pending batches are
// submitted to their providers at once (MaxWait is not waited for) and requests already
// running in rate_budget mode finish, both within ctx; polling stops at once, and queued
// rate_budget requests fail. Jobs of batches still running at the provider stay
// "submitted" and their batch ids are logged: their results are not collected by this
// process (custom_id in the provider's output file is the job id). Close returns ctx's
// error when ctx ended first. Calling it again waits for the first call.
func (c *Collector) Close(ctx context.Context) error {
	c.mu.Lock()
	again := c.closing
	c.closing = true
	c.mu.Unlock()
	if again {
		<-c.loopDone
		c.budgetWG.Wait()
		return nil
	}
	c.stop()
	signal(c.wake)
	cut := context.AfterFunc(ctx, c.stopWork)
	defer cut()
	<-c.loopDone
	c.budgetWG.Wait()
	c.stopWork()
	c.mu.Lock()
	var inflight []string
	for _, b := range c.batches {
		inflight = append(inflight, b.key.provider+":"+b.batchID)
	}
	c.mu.Unlock()
	if len(inflight) > 0 {
		c.log.Warn("batch lane closed with provider batches still running; their results are not collected",
			"batches", strings.Join(inflight, ","))
	}
	return ctx.Err()
}

// settle moves jobs[i] to outs[i] and tells the Recorder about each job that became
// final, outside the lock.
func (c *Collector) settle(jobs []*job, outs []outcome) {
	now := c.now()
	var rec []Status
	c.mu.Lock()
	for i, j := range jobs {
		if c.jobs.finish(j, outs[i], now) {
			rec = append(rec, j.st)
		}
	}
	c.mu.Unlock()
	c.share(context.Background(), c.cfg.ResultTTL, rec...)
	if c.opts.Recorder != nil {
		for _, s := range rec {
			c.opts.Recorder.Record(s)
		}
	}
}

// signal wakes the goroutine waiting on ch, without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
