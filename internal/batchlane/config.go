package batchlane

import (
	"errors"
	"fmt"
	"time"
)

// Mode is how a provider's deferred requests run.
type Mode string

// Modes.
const (
	// ModeProviderBatch packs deferred requests into the provider's Batch API jobs
	// (/v1/files + /v1/batches), billed at the provider's batch price.
	ModeProviderBatch Mode = "provider_batch"
	// ModeRateBudget runs deferred requests one by one through the gateway's Sender when
	// the Budget has room: for providers without a Batch API. Billed at list price.
	ModeRateBudget Mode = "rate_budget"
)

// Isolation values: whose provider files and batches a gateway caller may see.
const (
	IsolationKey  = "key"  // each gateway key sees only what it created
	IsolationTeam = "team" // each team sees what any of its keys created
	IsolationNone = "none" // everyone sees the whole provider account (single tenant)
)

// Store values: where the job and ownership tables live.
const (
	StoreMemory = "memory" // this process only
	StoreRedis  = "redis"  // shared by the replicas using one Redis
)

// Config shapes the batch lane. Every field documents its unit and default; defaults are
// applied in one place, WithDefaults. The zero Config is valid.
type Config struct {
	// PricePercent is the share of list price the provider charges for batch work, in
	// percent: OpenAI's and Anthropic's Batch APIs charge 50. The price catalogue has no
	// batch rates, so cost events of batch work are list cost × PricePercent / 100 (see
	// AtBatchPrice). Default 50.
	PricePercent int `yaml:"price_percent"`

	// Isolation decides whose files and batches a caller of the /v1/files and /v1/batches
	// passthrough may see and use: "key" (only those its own gateway key created), "team"
	// (those created by any key of its team) or "none" (the whole provider account; only
	// for single-tenant deployments). Default "key".
	Isolation string `yaml:"isolation"`
	// MaxOwners bounds the ownership table (one entry per file or batch created through
	// the passthrough); past it the oldest entries are forgotten and their files and
	// batches become unreachable through the gateway (404). Default 100000.
	MaxOwners int `yaml:"max_owners"`
	// OwnerTTL is how long the ownership of a file or batch is remembered. Default 720h
	// (30 days).
	OwnerTTL time.Duration `yaml:"owner_ttl"`

	// Store is where the job table and the ownership table live: "memory" (this process
	// only; lost on restart) or "redis" (the top-level redis server, shared by every
	// replica that uses the same server and RedisPrefix: a job submitted through one is
	// fetched through any, a file uploaded through one is owned on all). Default memory.
	Store string `yaml:"store"`
	// RedisPrefix starts every Redis key the batch lane writes. Default
	// "{switchyard:batchlane}:" (the braces keep every key in one Redis Cluster slot).
	RedisPrefix string `yaml:"redis_prefix"`
	// StoreTimeout bounds one call to the store (one Redis round trip, pipelined). Default
	// 2s.
	StoreTimeout time.Duration `yaml:"store_timeout"`

	// Mode is how deferred requests run: "provider_batch" or "rate_budget". Default
	// provider_batch.
	Mode Mode `yaml:"mode"`
	// ProviderModes overrides Mode for the providers it names (by configured provider
	// name), e.g. rate_budget for a vLLM server next to OpenAI's batch API. Default none.
	ProviderModes map[string]Mode `yaml:"provider_modes"`

	// MaxRequests is the most requests in one provider batch: a pending batch that
	// reaches it is submitted at once. Default 1000 (OpenAI allows 50000).
	MaxRequests int `yaml:"max_requests"`
	// MaxBatchBytes is the most bytes of JSONL in one provider batch file; a request that
	// would take a pending batch past it submits that batch first and starts the next.
	// Default 100 MiB (OpenAI allows 200 MB).
	MaxBatchBytes int64 `yaml:"max_batch_bytes"`
	// MaxWait is the longest a pending batch waits for more requests after its first one
	// before it is submitted. Default 10m.
	MaxWait time.Duration `yaml:"max_wait"`
	// CompletionWindow is the batch's completion_window, in whole hours. Default 24h, the
	// only value OpenAI accepts today.
	CompletionWindow time.Duration `yaml:"completion_window"`
	// PollInterval is how often a submitted batch's status is fetched. Default 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// PollGrace is how long past CompletionWindow a batch is still polled before its jobs
	// are failed as lost. Default 1h.
	PollGrace time.Duration `yaml:"poll_grace"`
	// RequestTimeout bounds one call to the provider's files or batches API, file uploads
	// and downloads included. Default 2m.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// SubmitAttempts is how many times uploading a batch file and creating the batch are
	// tried before the batch's jobs fail. Retries back off from 1s, doubling, at most
	// PollInterval apart. Default 5.
	SubmitAttempts int `yaml:"submit_attempts"`
	// KeepFiles keeps the batch's input, output and error files at the provider once its
	// results are stored; by default they are deleted (they hold users' prompts and
	// answers). Default false.
	KeepFiles bool `yaml:"keep_files"`

	// MaxJobs bounds the jobs held in memory: queued, running and finished ones not yet
	// past ResultTTL. A Submit past it fails with ErrFull. Default 100000.
	MaxJobs int `yaml:"max_jobs"`
	// MaxStoredBytes bounds the bytes held for jobs: pending request bodies plus stored
	// answers. A Submit past it fails with ErrFull. Default 512 MiB.
	MaxStoredBytes int64 `yaml:"max_stored_bytes"`
	// ResultTTL is how long a finished job's answer is kept for the client to fetch,
	// counted from when it finished. Default 24h.
	ResultTTL time.Duration `yaml:"result_ttl"`

	// Workers is how many rate_budget requests run at once. Default 4.
	Workers int `yaml:"workers"`
	// BudgetRecheck is how often a rate_budget request waiting for room asks the Budget
	// again. Default 1s.
	BudgetRecheck time.Duration `yaml:"budget_recheck"`
}

// WithDefaults returns c with every zero field set to its default. It is the only place
// defaults live.
func (c Config) WithDefaults() Config {
	setDefault(&c.PricePercent, 50)
	setDefault(&c.Isolation, IsolationKey)
	setDefault(&c.MaxOwners, 100_000)
	setDefault(&c.OwnerTTL, 30*24*time.Hour)
	setDefault(&c.Store, StoreMemory)
	setDefault(&c.RedisPrefix, "{switchyard:batchlane}:")
	setDefault(&c.StoreTimeout, 2*time.Second)
	setDefault(&c.Mode, ModeProviderBatch)
	setDefault(&c.MaxRequests, 1000)
	setDefault(&c.MaxBatchBytes, 100<<20)
	setDefault(&c.MaxWait, 10*time.Minute)
	setDefault(&c.CompletionWindow, 24*time.Hour)
	setDefault(&c.PollInterval, 30*time.Second)
	setDefault(&c.PollGrace, time.Hour)
	setDefault(&c.RequestTimeout, 2*time.Minute)
	setDefault(&c.SubmitAttempts, 5)
	setDefault(&c.MaxJobs, 100_000)
	setDefault(&c.MaxStoredBytes, 512<<20)
	setDefault(&c.ResultTTL, 24*time.Hour)
	setDefault(&c.Workers, 4)
	setDefault(&c.BudgetRecheck, time.Second)
	return c
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Validate reports every error in c (after WithDefaults), joined.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if c.PricePercent < 1 || c.PricePercent > 100 {
		bad("price_percent", "%d is outside 1..100", c.PricePercent)
	}
	switch c.Isolation {
	case IsolationKey, IsolationTeam, IsolationNone:
	default:
		bad("isolation", "%q is not key, team or none", c.Isolation)
	}
	if c.Store != StoreMemory && c.Store != StoreRedis {
		bad("store", "%q is not memory or redis", c.Store)
	}
	if c.MaxOwners < 1 {
		bad("max_owners", "%d is below 1", c.MaxOwners)
	}
	if !c.Mode.valid() {
		bad("mode", "%q is not provider_batch or rate_budget", c.Mode)
	}
	for name, m := range c.ProviderModes {
		if !m.valid() {
			bad("provider_modes."+name, "%q is not provider_batch or rate_budget", m)
		}
	}
	if c.MaxRequests < 1 || c.MaxRequests > 50_000 {
		bad("max_requests", "%d is outside 1..50000", c.MaxRequests)
	}
	if c.MaxBatchBytes < 1<<10 || c.MaxBatchBytes > 200_000_000 {
		bad("max_batch_bytes", "%d is outside 1 KiB..200 MB", c.MaxBatchBytes)
	}
	if c.CompletionWindow < time.Hour || c.CompletionWindow%time.Hour != 0 {
		bad("completion_window", "%v is not a whole number of hours", c.CompletionWindow)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"owner_ttl", c.OwnerTTL}, {"store_timeout", c.StoreTimeout}, {"max_wait", c.MaxWait}, {"poll_interval", c.PollInterval},
		{"poll_grace", c.PollGrace}, {"request_timeout", c.RequestTimeout},
		{"result_ttl", c.ResultTTL}, {"budget_recheck", c.BudgetRecheck}} {
		if d.v <= 0 {
			bad(d.name, "%v is not positive", d.v)
		}
	}
	if c.SubmitAttempts < 1 {
		bad("submit_attempts", "%d is below 1", c.SubmitAttempts)
	}
	if c.MaxJobs < c.MaxRequests {
		bad("max_jobs", "%d is below max_requests (%d)", c.MaxJobs, c.MaxRequests)
	}
	if c.MaxStoredBytes < c.MaxBatchBytes {
		bad("max_stored_bytes", "%d is below max_batch_bytes (%d)", c.MaxStoredBytes, c.MaxBatchBytes)
	}
	if c.Workers < 1 {
		bad("workers", "%d is below 1", c.Workers)
	}
	return errors.Join(errs...)
}

func (m Mode) valid() bool { return m == ModeProviderBatch || m == ModeRateBudget }

// ModeFor returns the mode deferred requests for provider run in.
func (c Config) ModeFor(provider string) Mode {
	if m, ok := c.ProviderModes[provider]; ok {
		return m
	}
	return c.Mode
}

// usesMode reports whether any provider runs in m.
func (c Config) usesMode(m Mode) bool {
	if c.Mode == m {
		return true
	}
	for _, pm := range c.ProviderModes {
		if pm == m {
			return true
		}
	}
	return false
}
