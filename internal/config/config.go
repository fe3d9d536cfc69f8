// Package config loads the gateway's configuration file: strictly (an unknown key is an
// error naming its file and line), with secrets read from the environment, defaults
// applied in one place (Defaults) and errors separated from warnings (Validate).
package config

import (
	"time"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/flight"
	"github.com/switchyard/switchyard/internal/microbatch"
	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/respstore"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/internal/upstream"
	"github.com/switchyard/switchyard/metering"
)

// Config is the whole gateway configuration. Every field documents its unit and default.
type Config struct {
	// Listen is the address the gateway serves on. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// TLS, when both files are set, serves HTTPS instead of HTTP.
	TLS TLS `yaml:"tls"`
	// AdminKeyEnv names the environment variable holding the admin key for /admin/ routes.
	// Empty disables the admin routes.
	AdminKeyEnv string `yaml:"admin_key_env"`
	// Limits bound what one request may carry.
	Limits Limits `yaml:"limits"`
	// Timeouts bound each phase of an upstream call and the shutdown.
	Timeouts Timeouts `yaml:"timeouts"`
	// Upstream tunes the connection pools to providers.
	Upstream upstream.Config `yaml:"upstream"`
	// Providers are the upstream APIs. At least one is required. A provider of kind mock
	// may have a mock section (latency, chunk pacing, failures; see docs/configuration.md).
	Providers Providers `yaml:"providers"`
	// Models map the names clients send to a provider and its model name: the simple
	// form of routing. Required unless Policy is set; not allowed with it.
	Models []Model `yaml:"models"`
	// Policy is a routing policy file or directory (models, routes, fallbacks, health;
	// see docs/policies.md), reloaded when it changes and on SIGHUP. Relative paths are
	// relative to the config file. Default none (the models list routes).
	Policy string `yaml:"policy"`
	// Prompts is a prompt registry directory (prompt files, pins.yaml, prompts.lock; see
	// docs/prompts.md), reloaded like the policy. Relative to the config file. Default none.
	Prompts string `yaml:"prompts"`
	// Responses configures the Responses API's stored responses (kept in the ledger's
	// database; none with ledger none): responses.retention, default 720h (30 days).
	Responses respstore.Config `yaml:"responses"`
	// Keys are the gateway keys clients authenticate with. With none, authentication is
	// off (the embedded default); with any, every /v1 request needs one.
	Keys []Key `yaml:"keys"`
	// Log configures the structured logs on stderr.
	Log Log `yaml:"log"`
	// Metering configures token metering, prices and the cost ledger.
	Metering Metering `yaml:"metering"`
	// RateLimits are request, token and spend limits per key, team and feature.
	RateLimits RateLimits `yaml:"rate_limits"`
	// Redis is the shared state server replicas use (rate limits with store: redis).
	Redis Redis `yaml:"redis"`
	// Cache configures the exact and semantic response cache (see docs/cache.md).
	// Default off.
	Cache cache.Config `yaml:"cache"`
	// Batching configures request merging (see docs/batching.md).
	Batching Batching `yaml:"batching"`
	// BatchLane collects deferrable requests (x-switchyard-priority: batch, on routes with
	// deferrable: true) into provider batch jobs (see docs/batch-lane.md). Default off.
	BatchLane BatchLane `yaml:"batch_lane"`
	// Telemetry configures OpenTelemetry traces, metrics, cost-event logs and the
	// Prometheus /metrics endpoint (see docs/telemetry.md). Default off.
	Telemetry telemetry.Config `yaml:"telemetry"`

	// file is where the config came from ("" for the embedded default).
	file   string
	getenv func(string) string // the secrets source it was loaded with, for Reread
	// adminKey is the resolved admin key.
	adminKey string
	// mocks are the mock sections of providers of kind mock, by provider name.
	mocks map[string]mock.Config
}

// TLS names the certificate and key files (PEM) for HTTPS.
type TLS struct {
	// CertFile is the certificate chain file. Default none.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the private key file. Default none.
	KeyFile string `yaml:"key_file"`
}

// Limits bound a request.
type Limits struct {
	// MaxBodyBytes is the largest request body accepted, in bytes; larger ones get 413.
	// Default 16 MiB (16777216).
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// MaxJSONDepth is the deepest nesting of arrays and objects a request body may have;
	// a deeper one gets 400 invalid_json before anything walks it. Default 128.
	MaxJSONDepth int `yaml:"max_json_depth"`
	// MaxHeaderBytes is the largest request head (request line and headers) accepted, in
	// bytes; a larger one gets 431 and the connection is closed. It is also each client
	// connection's read buffer. Default 8192.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxConnsPerIP caps the connections one client address may hold open; past it, new
	// connections from that address are closed at once. Default 0 (no cap).
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
}

// Timeouts bound each phase of an upstream call. They are separate so a slow but
// steadily streaming answer is not cut by a short idle timeout, and vice versa.
type Timeouts struct {
	// Connect bounds opening an upstream connection. Default 5s.
	Connect time.Duration `yaml:"connect"`
	// FirstByte bounds the wait for the upstream's response headers. A non-streamed
	// answer arrives with its headers, so for those it bounds the whole call. Default 120s.
	FirstByte time.Duration `yaml:"first_byte"`
	// Idle bounds the silence between two streamed chunks. Default 60s.
	Idle time.Duration `yaml:"idle"`
	// Request bounds a whole request, stream included. Default 10m.
	Request time.Duration `yaml:"request"`
	// Shutdown is how long in-flight requests and streams may run after SIGTERM. Default 30s.
	Shutdown time.Duration `yaml:"shutdown"`
	// HeaderRead bounds how long a client may take to send a request's headers, from
	// its connection opening (or its first byte on a kept-alive connection); a slower
	// client's connection is closed. Default 10s.
	HeaderRead time.Duration `yaml:"header_read"`
	// BodyRead bounds how long a client may take to send a request's body once its
	// headers arrived; a slower one gets 408. Default 30s.
	BodyRead time.Duration `yaml:"body_read"`
	// Ping is how long a translated Messages API stream may be silent before the client
	// gets a ping event, as Anthropic sends them. Default 10s.
	Ping time.Duration `yaml:"ping"`
}

// Model maps a public model name to a provider.
type Model struct {
	// Name is the model name clients send. "*" matches any name not matched otherwise and
	// passes it to the provider unchanged. Required, unique.
	Name string `yaml:"name"`
	// Provider names the entry in providers that serves this model. Required.
	Provider string `yaml:"provider"`
	// UpstreamModel is the provider's name for the model (for azure, the deployment).
	// Default: Name.
	UpstreamModel string `yaml:"upstream_model"`
	// Aliases are other names clients may send for this model.
	Aliases []string `yaml:"aliases"`
}

// Key is one gateway key and the attribution it carries.
type Key struct {
	// Name identifies the key in logs, metrics and the ledger. Required, unique.
	Name string `yaml:"name"`
	// KeyEnv names the environment variable holding the key. Exactly one of KeyEnv and
	// SHA256 is required.
	KeyEnv string `yaml:"key_env"`
	// SHA256 is the hex SHA-256 of the key, for keys that must not be on the host at all.
	SHA256 string `yaml:"sha256"`
	// Team is the team the key's requests are attributed to. Default: the key's name.
	Team string `yaml:"team"`
	// Feature is the default feature for the key's requests. Default "default".
	Feature string `yaml:"feature"`
	// AllowAttributionHeaders lets requests override team and feature with the
	// x-switchyard-team and x-switchyard-feature headers, or, when a header is absent,
	// metadata.team and metadata.feature in the body. Default false.
	AllowAttributionHeaders bool `yaml:"allow_attribution_headers"`
}

// Metering configures cost events and where they are kept.
type Metering struct {
	// Ledger is where cost events go: "sqlite:PATH" (embedded, WAL, batched writes),
	// "postgres://..." (shared by replicas) or "none" (no ledger: events are only logged).
	// A relative sqlite path is relative to the process's working directory (not to the
	// config file). Default sqlite:switchyard-ledger.db in the working directory.
	Ledger string `yaml:"ledger"`
	// LedgerEnv names an environment variable holding the ledger URL, for URLs with
	// credentials; it wins over Ledger. Default none.
	LedgerEnv string `yaml:"ledger_env"`
	// Prices extends or replaces the embedded price catalogue.
	Prices metering.PriceConfig `yaml:"prices"`
	// Writer tunes the ledger's batching queue.
	Writer metering.WriterConfig `yaml:"writer"`
}

// RateLimits configures budgets and rate limits (see docs/limits.md).
type RateLimits struct {
	// Store keeps the counters: "memory" (one process) or "redis" (shared by replicas,
	// needs redis.addr). Default memory.
	Store string `yaml:"store"`
	// Redis tunes the Redis store (key prefix, per-call timeout, cooldown after a failure).
	Redis metering.RedisStoreConfig `yaml:"redis"`
	// Rules are the limits; with none, nothing is limited.
	Rules []metering.LimitConfig `yaml:"rules"`
}

// Batching configures request merging.
type Batching struct {
	// Coalesce merges identical in-flight requests into one upstream call.
	Coalesce Coalescing `yaml:"coalesce"`
	// Embeddings merges concurrent small /v1/embeddings requests for the same deployment,
	// model and parameters into one upstream call with an array input.
	Embeddings EmbeddingsBatching `yaml:"embeddings"`
}

// BatchLane configures the batch lane.
type BatchLane struct {
	// Enabled turns the batch lane on. Default false.
	Enabled bool `yaml:"enabled"`
	// MaxInflight is the rate budget of providers in rate_budget mode: deferred requests
	// start only while fewer upstream calls than this are in flight. Default 8.
	MaxInflight int `yaml:"max_inflight"`
	// PassthroughProvider names the provider that /v1/files and /v1/batches pass through
	// to. Default: the first provider of kind openai.
	PassthroughProvider string `yaml:"passthrough_provider"`
	// Config is the lane's own settings (mode, price_percent, max_wait, ...).
	batchlane.Config `yaml:",inline"`
}

// Coalescing configures request coalescing.
type Coalescing struct {
	// Enabled turns coalescing on: identical deterministic requests in flight at the same
	// time (same canonical key and scope as the exact cache) share one upstream call.
	// Routes may opt out, or in for sampled requests, with coalesce in the policy.
	// Default true.
	Enabled *bool `yaml:"enabled"`
	// Config bounds a flight: max_log_bytes (1 MiB), the answer bytes kept for late
	// followers.
	flight.Config `yaml:",inline"`
}

// On reports whether coalescing is enabled.
func (c Coalescing) On() bool { return c.Enabled == nil || *c.Enabled }

// EmbeddingsBatching is the embeddings micro-batch window.
type EmbeddingsBatching struct {
	// Enabled turns micro-batching on. A lone request then waits up to max_wait for
	// company. Default false.
	Enabled bool `yaml:"enabled"`
	// Config is the window: max_wait (5ms), max_items (64), max_tokens (8000),
	// max_queue (4096), split_concurrency (8).
	microbatch.Config `yaml:",inline"`
}

// Redis locates the shared Redis (or Valkey) server.
type Redis struct {
	// Addr is host:port. Default none (no Redis).
	Addr string `yaml:"addr"`
	// PasswordEnv names the environment variable holding the password. Default none.
	PasswordEnv string `yaml:"password_env"`
	// DB is the database number. Default 0.
	DB int `yaml:"db"`

	password string
}

// Password returns the resolved Redis password.
func (r *Redis) Password() string { return r.password }

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Requests logs one line per request at info level. Default true.
	Requests *bool `yaml:"requests"`
}

// File returns the path the config was loaded from, empty for the embedded default.
func (c *Config) File() string { return c.file }

// AdminKey returns the resolved admin key, empty when admin routes are off.
func (c *Config) AdminKey() string { return c.adminKey }

// Defaults fills every zero field with its default. It is the only place defaults live.
func (c *Config) Defaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.Limits.MaxBodyBytes <= 0 {
		c.Limits.MaxBodyBytes = 16 << 20
	}
	if c.Limits.MaxJSONDepth <= 0 {
		c.Limits.MaxJSONDepth = 128
	}
	if c.Limits.MaxHeaderBytes <= 0 {
		c.Limits.MaxHeaderBytes = 8 << 10
	}
	t := &c.Timeouts
	if t.Connect <= 0 {
		t.Connect = 5 * time.Second
	}
	if t.FirstByte <= 0 {
		t.FirstByte = 120 * time.Second
	}
	if t.Idle <= 0 {
		t.Idle = 60 * time.Second
	}
	if t.Request <= 0 {
		t.Request = 10 * time.Minute
	}
	if t.Shutdown <= 0 {
		t.Shutdown = 30 * time.Second
	}
	if t.HeaderRead <= 0 {
		t.HeaderRead = 10 * time.Second
	}
	if t.BodyRead <= 0 {
		t.BodyRead = 30 * time.Second
	}
	if t.Ping <= 0 {
		t.Ping = 10 * time.Second
	}
	c.Upstream.ConnectTimeout = t.Connect
	c.Upstream = c.Upstream.WithDefaults()
	if c.Metering.Ledger == "" {
		c.Metering.Ledger = DefaultLedger
	}
	c.Metering.Writer.Defaults()
	if c.RateLimits.Store == "" {
		c.RateLimits.Store = "memory"
	}
	c.RateLimits.Redis.Defaults()
	c.Telemetry.Defaults()
	c.Batching.Embeddings.Config = c.Batching.Embeddings.Config.WithDefaults()
	c.Batching.Coalesce.Config = c.Batching.Coalesce.Config.WithDefaults()
	if c.BatchLane.MaxInflight <= 0 {
		c.BatchLane.MaxInflight = 8
	}
	c.BatchLane.Config = c.BatchLane.Config.WithDefaults()
	for i := range c.RateLimits.Rules {
		c.RateLimits.Rules[i].Defaults()
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Requests == nil {
		on := true
		c.Log.Requests = &on
	}
	for i := range c.Models {
		if c.Models[i].UpstreamModel == "" && c.Models[i].Name != "*" {
			c.Models[i].UpstreamModel = c.Models[i].Name
		}
	}
	for i := range c.Keys {
		if c.Keys[i].Team == "" {
			c.Keys[i].Team = c.Keys[i].Name
		}
		if c.Keys[i].Feature == "" {
			c.Keys[i].Feature = "default"
		}
	}
}
