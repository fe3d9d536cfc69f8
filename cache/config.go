package cache

import (
	"errors"
	"fmt"
	"time"
)

// Config configures the cache. Every field documents its unit and default; defaults are
// applied in one place, WithDefaults. The zero Config is a disabled cache.
type Config struct {
	// Enabled turns the cache on for every route whose rules do not say otherwise.
	// Default false: caching is opt-in.
	Enabled bool `yaml:"enabled"`
	// Store is where entries live: "memory" (this process only) or "redis" (shared by
	// replicas, see Redis). Default "memory".
	Store string `yaml:"store"`
	// Memory bounds the in-process store.
	Memory MemoryConfig `yaml:"memory"`
	// Redis configures the shared store and the replicas' vector sync.
	Redis RedisConfig `yaml:"redis"`
	// Defaults are the rules of a route that sets none (policy files override them per
	// route).
	Defaults Rules `yaml:"defaults"`
	// Semantic configures the semantic layer (embedder, index, verification).
	Semantic SemanticConfig `yaml:"semantic"`
}

// MemoryConfig bounds the in-process store.
type MemoryConfig struct {
	// MaxBytes bounds the entries held, in bytes (bodies plus metadata, estimated).
	// Default 268435456 (256 MiB).
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxEntryBytes is the largest single entry stored, in bytes; larger answers are not
	// cached. Default 1048576 (1 MiB), and never more than a shard's share of MaxBytes.
	MaxEntryBytes int64 `yaml:"max_entry_bytes"`
	// Shards is the number of independently locked shards, a power of two. Default 64,
	// fewer when MaxBytes is small (each shard gets at least 4 MiB).
	Shards int `yaml:"shards"`
}

// RedisConfig configures the Redis store. Any Redis error or timeout is a miss.
type RedisConfig struct {
	// Addr is the Redis address, host:port. Required when Store is "redis" unless the
	// gateway passes its own client (Deps.Redis).
	Addr string `yaml:"addr"`
	// Username for Redis ACL authentication. Default none.
	Username string `yaml:"username"`
	// PasswordEnv names the environment variable holding the Redis password; the gateway
	// resolves it into Password. Default none.
	PasswordEnv string `yaml:"password_env"`
	// Password is the resolved password (never read from the file).
	Password string `yaml:"-"`
	// DB is the Redis database number. Default 0.
	DB int `yaml:"db"`
	// KeyPrefix starts every key the cache writes, so several deployments or tests can
	// share one Redis. Default "switchyard:cache:".
	KeyPrefix string `yaml:"key_prefix"`
	// Timeout bounds each Redis command on the request path. Default 50ms.
	Timeout time.Duration `yaml:"timeout"`
	// DialTimeout bounds opening a connection. Default 200ms.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// Cooldown is how long Redis is skipped (every lookup a miss at once) after a
	// connection failure, before one request probes it again. Default 1s.
	Cooldown time.Duration `yaml:"cooldown"`
	// StreamMaxLen bounds the vector stream replicas sync from, in entries (trimmed
	// approximately). Default 100000.
	StreamMaxLen int64 `yaml:"stream_max_len"`
}

// Rules are a route's caching rules. The gateway passes the route's rules with each
// request (LookupRequest.Rules); Config.Defaults applies when it passes none.
type Rules struct {
	// Disabled turns caching off for the route. Default false (enabled when the cache is).
	Disabled bool `yaml:"disabled"`
	// TTL is how long an entry is served. Default 1h.
	TTL time.Duration `yaml:"ttl"`
	// AllowSampled caches requests whose answer is drawn at random (temperature absent or
	// above 0 and no seed). Default false: only deterministic requests are cached.
	AllowSampled bool `yaml:"allow_sampled"`
	// AllowToolCalls caches answers that call tools. Default false.
	AllowToolCalls bool `yaml:"allow_tool_calls"`
	// AllowMultipleChoices caches requests with n (or best_of) above 1. Default false.
	AllowMultipleChoices bool `yaml:"allow_multiple_choices"`
	// Semantic is the semantic mode: "off", "shadow" (compute would-be hits and report
	// them, never serve them) or "on". Default "off".
	Semantic string `yaml:"semantic"`
	// Threshold is the least cosine similarity for a semantic candidate to be verified,
	// in (0, 1]. Default (0): 0.50 with the local embedder, whose vectors only pre-select
	// candidates for the strict verification, and 0.90 with any other embedder.
	Threshold float32 `yaml:"threshold"`
}

// Default thresholds by embedder (Rules.Threshold 0).
const (
	localThreshold   = 0.50
	learnedThreshold = 0.90
)

// The semantic modes.
const (
	SemanticOff    = "off"
	SemanticShadow = "shadow"
	SemanticOn     = "on"
)

// SemanticConfig configures the semantic layer.
type SemanticConfig struct {
	// Embedder names the embedder: "local" (built in, no network, no model) or the name
	// of an embeddings model the gateway serves (it passes the Embedder in Deps).
	// Default "local".
	Embedder string `yaml:"embedder"`
	// Dimensions is the local embedder's vector size. Default 512.
	Dimensions int `yaml:"dimensions"`
	// MaxVectors bounds the vectors indexed in this process, all partitions together;
	// past it new entries are stored for exact hits only until older ones expire.
	// Default 200000.
	MaxVectors int `yaml:"max_vectors"`
	// MaxTurns is the conversation-length guard: requests with more non-system messages
	// than this are exact-only. Default 1 (a single user question, after any system or
	// developer messages).
	MaxTurns int `yaml:"max_turns"`
	// MaxTextBytes bounds the compared text; longer final turns are exact-only.
	// Default 2048.
	MaxTextBytes int `yaml:"max_text_bytes"`
	// Verify is the verification applied to a vector match: "strict" (every content word
	// must match, up to case, order, filler words and small typos, and the
	// meaning-critical ones exactly) or "critical" (only numbers, names, negations,
	// units, dates, code identifiers, comparatives and direction must match; for learned
	// embedders that catch paraphrases). Default "strict".
	Verify string `yaml:"verify"`
	// Candidates is how many matches above the threshold are verified, best first.
	// Default 4.
	Candidates int `yaml:"candidates"`
	// M is the HNSW graph degree (2*M on the bottom layer). Default 16.
	M int `yaml:"m"`
	// EfConstruction is the HNSW build beam width. Default 200.
	EfConstruction int `yaml:"ef_construction"`
	// EfSearch is the HNSW search beam width; the closest are re-ranked by exact cosine.
	// Default 256 (at 100,000 random 1,536-dimension vectors: near-duplicate recall 0.995,
	// p99 about 0.5 ms).
	EfSearch int `yaml:"ef_search"`
	// EmbedTimeout bounds one Embed call on the request path. Default 1s.
	EmbedTimeout time.Duration `yaml:"embed_timeout"`
	// Synonyms extends the built-in English lexicon (synonyms.go) that the local embedder
	// and verification compare words with: each key is a canonical word and its list the
	// words compared as that word, e.g. {invoice: [bill, receipt]}. Keys and words are
	// single lower-case words of letters (no numbers, negations or question words, which
	// the guards compare exactly); a word is listed once, and a key is not another key's
	// word. An entry here overrides a built-in one for the same word; plurals follow
	// ("bills" is "invoice"). Changing it starts new partitions (the local embedder's
	// name includes a hash of it). Default none: the built-in lexicon alone.
	Synonyms map[string][]string `yaml:"synonyms"`
}

// WithDefaults returns c with every zero field set to its default. It is the only place
// defaults live.
func (c Config) WithDefaults() Config {
	if c.Store == "" {
		c.Store = "memory"
	}
	m := &c.Memory
	if m.MaxBytes <= 0 {
		m.MaxBytes = 256 << 20
	}
	if m.Shards <= 0 {
		m.Shards = 64
		for m.Shards > 1 && m.MaxBytes/int64(m.Shards) < 4<<20 {
			m.Shards /= 2
		}
	}
	if m.MaxEntryBytes <= 0 {
		m.MaxEntryBytes = 1 << 20
	}
	m.MaxEntryBytes = min(m.MaxEntryBytes, m.MaxBytes/int64(m.Shards))
	r := &c.Redis
	if r.KeyPrefix == "" {
		r.KeyPrefix = "switchyard:cache:"
	}
	if r.Timeout <= 0 {
		r.Timeout = 50 * time.Millisecond
	}
	if r.DialTimeout <= 0 {
		r.DialTimeout = 200 * time.Millisecond
	}
	if r.Cooldown <= 0 {
		r.Cooldown = time.Second
	}
	if r.StreamMaxLen <= 0 {
		r.StreamMaxLen = 100000
	}
	c.Defaults = c.Defaults.WithDefaults()
	s := &c.Semantic
	if s.Embedder == "" {
		s.Embedder = "local"
	}
	if s.Dimensions <= 0 {
		s.Dimensions = 512
	}
	if s.MaxVectors <= 0 {
		s.MaxVectors = 200000
	}
	if s.MaxTurns <= 0 {
		s.MaxTurns = 1
	}
	if s.MaxTextBytes <= 0 {
		s.MaxTextBytes = 2048
	}
	if s.Verify == "" {
		s.Verify = VerifyStrict
	}
	if s.Candidates <= 0 {
		s.Candidates = 4
	}
	if s.M <= 0 {
		s.M = 16
	}
	if s.EfConstruction <= 0 {
		s.EfConstruction = 200
	}
	if s.EfSearch <= 0 {
		s.EfSearch = 256
	}
	if s.EmbedTimeout <= 0 {
		s.EmbedTimeout = time.Second
	}
	return c
}

// WithDefaults returns r with every zero field set to its default.
func (r Rules) WithDefaults() Rules {
	if r.TTL <= 0 {
		r.TTL = time.Hour
	}
	if r.Semantic == "" {
		r.Semantic = SemanticOff
	}
	return r
}

// Validate reports every error in c (after WithDefaults), joined.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("cache.%s: %s", field, fmt.Sprintf(format, a...)))
	}
	switch c.Store {
	case "memory", "redis":
	default:
		bad("store", "%q is not memory or redis", c.Store)
	}
	if c.Memory.Shards&(c.Memory.Shards-1) != 0 {
		bad("memory.shards", "%d is not a power of two", c.Memory.Shards)
	}
	if c.Memory.MaxBytes < 1<<20 {
		bad("memory.max_bytes", "%d is below 1 MiB", c.Memory.MaxBytes)
	}
	if c.Store == "redis" && c.Redis.Addr == "" {
		bad("redis.addr", "required when store is redis")
	}
	if err := c.Defaults.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("cache.defaults: %w", err))
	}
	s := c.Semantic
	if s.Verify != VerifyStrict && s.Verify != VerifyCritical {
		bad("semantic.verify", "%q is not strict or critical", s.Verify)
	}
	if s.Dimensions < 16 || s.Dimensions > 8192 {
		bad("semantic.dimensions", "%d is outside [16, 8192]", s.Dimensions)
	}
	if s.M < 2 || s.M > 128 {
		bad("semantic.m", "%d is outside [2, 128]", s.M)
	}
	if s.EfSearch < s.Candidates {
		bad("semantic.ef_search", "%d is below candidates (%d)", s.EfSearch, s.Candidates)
	}
	for _, why := range validateSynonyms(s.Synonyms) {
		bad("semantic.synonyms", "%s", why)
	}
	return errors.Join(errs...)
}

// Validate reports every error in r (after WithDefaults), joined.
func (r Rules) Validate() error {
	var errs []error
	switch r.Semantic {
	case SemanticOff, SemanticShadow, SemanticOn:
	default:
		errs = append(errs, fmt.Errorf("semantic: %q is not off, shadow or on", r.Semantic))
	}
	if !(r.Threshold >= 0 && r.Threshold <= 1) {
		errs = append(errs, fmt.Errorf("threshold: %v is outside (0, 1]", r.Threshold))
	}
	return errors.Join(errs...)
}

// Warnings lists settings in c that are valid but risky.
func (c Config) Warnings() []string {
	var w []string
	if c.Defaults.AllowSampled {
		w = append(w, "cache.defaults.allow_sampled: sampled answers will be replayed verbatim; clients asking for variety get the same answer")
	}
	if c.Semantic.Verify == VerifyCritical && c.Semantic.Embedder == "local" {
		w = append(w, "cache.semantic.verify: critical with the local embedder is looser than it needs to be; strict is recommended")
	}
	if c.Defaults.Semantic == SemanticOn && c.Semantic.Embedder != "local" && c.Defaults.Threshold != 0 && c.Defaults.Threshold < 0.8 {
		w = append(w, "cache.defaults.threshold: below 0.8 with a learned embedder leans on verification alone")
	}
	return w
}
