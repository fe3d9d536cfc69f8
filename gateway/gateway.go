// Package gateway is Switchyard's HTTP front: the fasthttp server, the OpenAI-compatible
// routes, and the proxy loop that carries each request to its provider and the answer
// back, streamed event by event.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/internal/flight"
	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/respstore"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/internal/upstream"
	"github.com/switchyard/switchyard/policies"
	"github.com/switchyard/switchyard/router"
)

// Version is the gateway's version, set by the build (-ldflags -X).
var Version = "dev"

// Gateway serves one configuration. Build it with New, run it with Serve, stop it with
// Shutdown. It is safe for concurrent use by the server's goroutines.
type Gateway struct {
	cfg     *config.Config
	log     *slog.Logger
	targets map[string]*target
	plan    atomic.Pointer[plan]
	health  healthRegistry
	router  *router.Router
	meter   *meter
	limits  *limits // nil without rate limit rules
	tel     *telemetry.Telemetry
	embeds  *embedBatcher        // nil unless batching.embeddings is enabled
	cache   *cache.Cache         // nil unless cache.enabled
	flights *flight.Group        // nil unless coalescing is enabled
	lane    *batchlane.Collector // nil unless the batch lane is enabled
	// passthrough and owners serve /v1/files and /v1/batches (with the batch lane).
	passthrough *passthrough
	owners      *batchlane.Owners
	policy      *policies.Reloader // nil without a policy file
	prompts     atomic.Pointer[policies.Registry]
	promptR     *policies.Reloader      // nil without a prompts directory
	watchCtx    context.Context         // the policy and prompt watchers' context, made in New
	stop        context.CancelFunc      // stops the policy watcher
	keys        atomic.Pointer[keyring] // nil: no keys, authentication off; swapped by a config reload
	reloadMu    sync.Mutex              // one config reload at a time
	ids         *idSource
	srv         *fasthttp.Server
	mocks       []*mock.Server
	logReqs     bool

	streams    sync.WaitGroup // open streams: relays, flight producers and readers
	live       sync.Map       // *upstreamStream -> struct{}: the open ones, to cut at the shutdown deadline
	cutting    chan struct{}  // closed at the shutdown deadline: retry waits end
	cutOnce    sync.Once
	ready      chan struct{}         // closed once serving
	flightSeed maphash.Seed          // hashes coalescing keys
	shared     redis.UniversalClient // state shared by replicas (batch lane, prompt rollback); nil without
	dialects   dialects              // inbound dialect translators, by api
	responses  *respstore.SQL        // stored Responses API responses; nil with ledger none
	accepts    acceptStats
}

// New builds a gateway from a resolved configuration.
func New(cfg *config.Config, log *slog.Logger) (*Gateway, error) {
	g := &Gateway{cfg: cfg, log: log, ids: newIDSource(),
		logReqs: *cfg.Log.Requests, ready: make(chan struct{}), cutting: make(chan struct{}),
		flightSeed: maphash.MakeSeed()}
	g.watchCtx, g.stop = context.WithCancel(context.Background())
	g.keys.Store(newKeyring(cfg.Keys))
	targets := map[string]*target{}
	g.targets = targets
	for _, pc := range cfg.Providers {
		tr, err := provider.New(pc)
		if err != nil {
			return nil, err
		}
		var dial upstream.DialFunc
		if pc.Kind == provider.KindMock {
			m := mock.New(cfg.Mock(pc.Name), false)
			g.mocks = append(g.mocks, m)
			dial = m.ListenInMemory()
		}
		client, err := upstream.New(pc.BaseURL, cfg.Upstream, dial)
		if err != nil {
			return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
		}
		host, port := telemetry.ServerAddress(pc.BaseURL)
		targets[pc.Name] = &target{name: pc.Name, kind: pc.Kind, tr: tr, client: client, host: host, port: port, log: log,
			nativeResponses: pc.NativeResponses()}
	}
	m, err := newMeter(context.Background(), cfg.Metering, log)
	if err != nil {
		return nil, err // metering's errors say metering already
	}
	g.meter = m
	if g.tel, err = telemetry.New(context.Background(), cfg.Telemetry, log); err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	if err := g.observeGauges(); err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	if cfg.Cache.Enabled {
		cc := cfg.Cache
		if cc.Store == "redis" && cc.Redis.Addr == "" {
			cc.Redis.Addr, cc.Redis.Password, cc.Redis.DB = cfg.Redis.Addr, cfg.Redis.Password(), cfg.Redis.DB
		}
		deps := cache.Deps{Logger: log}
		if e := cc.Semantic.Embedder; e != "" && e != "local" {
			deps.Embedder = &modelEmbedder{g: g, model: e}
		}
		if g.cache, err = cache.New(cc, deps); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}
	if cfg.Batching.Coalesce.On() {
		if g.flights, err = flight.New(cfg.Batching.Coalesce.Config); err != nil {
			return nil, fmt.Errorf("coalescing: %w", err)
		}
	}
	shared, err := newSharedRedis(cfg) // batch lane and prompt rollback state shared by replicas (shared.go)
	if err != nil {
		return nil, err
	}
	g.shared = shared
	if err := g.newDialects(); err != nil {
		return nil, err
	}
	if cfg.BatchLane.Enabled {
		if g.lane, err = g.newBatchLane(laneJobs(cfg.BatchLane.Config, shared)); err != nil {
			return nil, fmt.Errorf("batch lane: %w", err)
		}
		g.passthrough = g.newPassthrough()
		g.owners = newOwners(cfg.BatchLane.Config, shared)
	}
	if cfg.Batching.Embeddings.Enabled {
		if g.embeds, err = newEmbedBatcher(g, cfg.Batching.Embeddings.Config); err != nil {
			return nil, fmt.Errorf("batching: %w", err)
		}
	}
	if g.limits, err = newLimits(cfg, log); err != nil {
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	g.router = router.New(router.Config{})
	if err := g.loadPolicy(); err != nil {
		return nil, err
	}
	if cfg.Prompts != "" {
		r, err := newPromptReloader(cfg.Prompts, shared, func(reg *policies.Registry) error {
			g.prompts.Store(reg)
			return nil
		}, log)
		if err != nil {
			return nil, err
		}
		g.promptR = r
	}
	g.srv = &fasthttp.Server{
		Handler:               g.handle,
		ErrorHandler:          g.serverError,
		Name:                  "switchyard",
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		MaxRequestBodySize:    cfg.Limits.MaxBodyBytes,
		ReadBufferSize:        cfg.Limits.MaxHeaderBytes,
		IdleTimeout:           120 * time.Second,
		ReadTimeout:           cfg.Timeouts.HeaderRead, // the body's own bound is set once the headers are in
		HeaderReceived: func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
			return fasthttp.RequestConfig{ReadTimeout: cfg.Timeouts.BodyRead}
		},
		CloseOnShutdown:               true,
		DisableHeaderNamesNormalizing: false,
		Logger:                        slogAdapter{log},
	}
	return g, nil
}

// loadPolicy compiles the routing policy: the policy file with its reloader when one is
// configured, otherwise the config's models list.
func (g *Gateway) loadPolicy() error {
	names := map[string]bool{}
	for n := range g.targets {
		names[n] = true
	}
	opts := policies.Options{Providers: names}
	if g.cfg.Policy == "" {
		srcs, err := policyFromModels(g.cfg.Models)
		if err != nil {
			return err
		}
		snap, err := policies.Compile(srcs, opts)
		if err != nil {
			return err
		}
		return g.applyPolicy(snap)
	}
	r, err := policies.NewReloader(g.cfg.Policy, opts, g.applyPolicy, g.log)
	if err != nil {
		return err
	}
	g.policy = r
	return nil
}

// applyPolicy builds the plan for a snapshot and swaps it in; requests already running
// keep the plan they loaded.
func (g *Gateway) applyPolicy(snap *policies.Snapshot) error {
	p, err := buildPlan(snap, g.targets, &g.health, g.cfg.Cache.WithDefaults().Defaults)
	if err != nil {
		return err
	}
	g.router.SetBudget(router.BudgetConfig{Ratio: snap.Retry.BudgetRatio, MinPerSecond: snap.Retry.BudgetMinPerSecond})
	g.setMetricLabels(snap)
	g.plan.Store(p)
	return nil
}

// PolicyVersion returns the version id of the routing policy in force.
func (g *Gateway) PolicyVersion() string { return g.plan.Load().snap.Version }

// ReloadPolicy re-reads the policy and prompt files and the configuration's live settings
// (keys, rate limits, prices) now (SIGHUP).
func (g *Gateway) ReloadPolicy() error {
	var errs []error
	if g.policy != nil {
		errs = append(errs, g.policy.Reload())
	}
	if g.promptR != nil {
		errs = append(errs, g.promptR.Reload())
	}
	errs = append(errs, g.ReloadConfig()) // keys, rate limits and prices
	return errors.Join(errs...)
}

// Serve accepts connections on ln until Shutdown. It returns nil after a clean shutdown.
func (g *Gateway) Serve(ln net.Listener) error {
	ctx := g.watchCtx
	if g.responses != nil {
		go g.purgeResponses(ctx, time.Hour)
	}
	if g.cfg.FromFile() {
		go g.watchConfig(ctx, 250*time.Millisecond)
	}
	if g.policy != nil {
		go g.policy.Watch(ctx, 0)
	}
	if g.promptR != nil {
		go g.promptR.Watch(ctx, 0)
	}
	close(g.ready)
	var err error
	ln = &backoffListener{Listener: ln, log: g.log, stats: &g.accepts, perIP: newIPCounter(g.cfg.Limits.MaxConnsPerIP)}
	if g.cfg.TLS.CertFile != "" {
		err = g.srv.ServeTLS(ln, g.cfg.TLS.CertFile, g.cfg.TLS.KeyFile)
	} else {
		err = g.srv.Serve(ln)
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, lets in-flight requests and streams finish until
// ctx ends, then closes what is left. It returns ctx's error when it had to cut streams.
func (g *Gateway) Shutdown(ctx context.Context) error {
	if g.stop != nil {
		g.stop()
	}
	err := g.srv.ShutdownWithContext(ctx)
	done := make(chan struct{})
	go func() { g.streams.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
		// Streams still open at the deadline are cut: each ends with an error event and
		// is metered, like any other stream that ends early; retry waits end.
		g.cutOnce.Do(func() { close(g.cutting) })
		g.live.Range(func(k, _ any) bool {
			k.(*upstreamStream).cut()
			return true
		})
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			g.log.Error("streams did not end after being cut at the shutdown deadline")
		}
	}
	if g.embeds != nil {
		g.embeds.Close()
	}
	if g.flights != nil {
		g.flights.Close()
	}
	if g.lane != nil { // submits what is pending; its jobs are metered before the ledger closes
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = g.lane.Close(cctx)
		cancel()
	}
	if g.cache != nil {
		_ = g.cache.Close()
	}
	if g.shared != nil {
		_ = g.shared.Close()
	}
	if g.responses != nil {
		_ = g.responses.Close()
	}
	// The ledger gets its own deadline: events already accepted must be written even
	// when the streams used up the shutdown time.
	lctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if merr := g.meter.close(lctx); merr != nil {
		g.log.Error("ledger flush at shutdown incomplete", "error", merr.Error())
		err = errors.Join(err, merr)
	}
	g.limits.close()
	if terr := g.tel.Shutdown(lctx); terr != nil {
		g.log.Warn("telemetry flush at shutdown incomplete", "error", terr.Error())
	}
	for _, t := range g.targets {
		t.client.Close()
	}
	for _, m := range g.mocks {
		_ = m.Close()
	}
	return err
}

// Close releases what New started (the in-process mock provider) for a gateway that
// never served, such as one built to explain a routing decision.
func (g *Gateway) Close() {
	_ = g.meter.close(context.Background())
	for _, m := range g.mocks {
		_ = m.Close()
	}
}

// slogAdapter lets fasthttp's internal messages reach the structured log.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Printf(format string, args ...any) {
	a.log.Debug(fmt.Sprintf(format, args...), "component", "fasthttp")
}
