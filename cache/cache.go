package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// Deps are what the composition root hands the cache besides its Config.
type Deps struct {
	// Logger receives warnings (Redis down and back, embed failures). Default: discard.
	Logger *slog.Logger
	// Embedder embeds compared texts. Default: the LocalEmbedder when
	// Config.Semantic.Embedder is "local"; required otherwise when any rule turns the
	// semantic layer on.
	Embedder Embedder
	// Redis is the client for the "redis" store. Default: NewRedisClient(Config.Redis),
	// closed by Close (a client passed here is not closed).
	Redis redis.UniversalClient
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Cache is the exact and semantic response cache. Lookup before calling upstream; after a
// miss, Store the completed answer with the Hit that Lookup returned. Safe for concurrent
// use; Close stops its goroutines (the janitor, and the vector sync with Redis).
type Cache struct {
	cfg       Config
	store     Store
	mem       *MemoryStore // nil with Redis
	red       *RedisStore  // nil in memory
	sem       *semIndex
	sync      *vecSync // nil in memory
	embedder  Embedder
	embedName string
	lex       *lexicon // the synonyms and lemmas texts are analysed with
	log       *slog.Logger
	now       func() time.Time
	stats     counters
	ownRedis  redis.UniversalClient
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

// New builds a cache from cfg (defaults applied, then validated) and starts its
// goroutines. With the Redis store it starts tailing the vector stream at once (the
// index is rebuilt from Redis in the background; Synced reports when it caught up).
func New(cfg Config, deps Deps) (*Cache, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cache{cfg: cfg, log: deps.Logger, now: deps.Now, embedder: deps.Embedder}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.lex = newLexicon(cfg.Semantic.Synonyms)
	if c.embedder == nil && cfg.Semantic.Embedder == "local" {
		c.embedder = &LocalEmbedder{dim: cfg.Semantic.Dimensions, lex: c.lex}
	}
	c.embedName = cfg.Semantic.Embedder
	if n, ok := c.embedder.(EmbedderName); ok {
		c.embedName = n.Name()
	}
	c.sem = newSemIndex(cfg.Semantic, c.lex)
	ctx, stop := context.WithCancel(context.Background())
	c.stop = stop
	switch cfg.Store {
	case "redis":
		rdb := deps.Redis
		if rdb == nil {
			rdb = NewRedisClient(cfg.Redis)
			c.ownRedis = rdb
		}
		c.red = NewRedisStore(rdb, cfg.Redis, c.log)
		c.store = c.red
		c.sync = &vecSync{
			rdb: rdb, stream: cfg.Redis.KeyPrefix + "vectors", maxLen: cfg.Redis.StreamMaxLen,
			timeout: cfg.Redis.Timeout, log: c.log, apply: c.applyRecord, now: c.now,
		}
		c.goRun(func() { c.sync.run(ctx) })
	default:
		c.mem = NewMemoryStore(cfg.Memory, c.now)
		c.store = c.mem
	}
	c.goRun(func() { c.janitor(ctx) })
	return c, nil
}

func (c *Cache) goRun(f func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// Close stops the cache's goroutines and closes the Redis client it opened itself.
func (c *Cache) Close() error {
	c.stop()
	c.wg.Wait()
	if c.ownRedis != nil {
		return c.ownRedis.Close()
	}
	return nil
}

// Synced reports whether the vector index has caught up with the shared stream at least
// once (always true with the memory store).
func (c *Cache) Synced() bool { return c.sync == nil || c.sync.synced.Load() }

// janitor sweeps expired entries and vectors once a minute.
func (c *Cache) janitor(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.mem != nil {
				c.mem.Sweep()
			}
			c.sem.sweep(c.now().UnixNano())
		}
	}
}

// applyRecord applies a record from the shared vector stream to the local index.
func (c *Cache) applyRecord(r vectorRecord) {
	if r.purge {
		c.sem.purge(r.scope)
		return
	}
	c.sem.insert(r.partition, r.scope, r.key, r.text, r.vec, r.expires)
}

// LookupRequest is one request as the cache needs to see it.
type LookupRequest struct {
	// Op is the operation (chat, completion, embedding); others are never cached.
	Op provider.Op
	// Scope is the request's scope; it is part of every key.
	Scope Scope
	// Body is the client's request body as received (the model as the client named it).
	Body []byte
	// Stream is true when the client asked for a stream (the body's "stream").
	Stream bool
	// IncludeUsage is stream_options.include_usage: replay adds the usage chunk.
	IncludeUsage bool
	// Control is the request's cache directive (ParseControl).
	Control Control
	// Rules are the route's rules; nil means Config.Defaults.
	Rules *Rules
}

// Outcome is what a lookup decided.
type Outcome uint8

// The outcomes of a lookup.
const (
	// Miss: nothing served; the answer will be stored if it qualifies.
	Miss Outcome = iota
	// Exact: served from the entry stored for this very request.
	Exact
	// Semantic: served from the entry of a verified similar request.
	Semantic
	// Bypass: the cache is off for this request (rules or Control); not stored either
	// unless Control only skipped the read (refresh).
	Bypass
	// Uncacheable: the request may not be cached (sampled, n > 1, bad body).
	Uncacheable
)

// String names the outcome for logs and spans.
func (o Outcome) String() string {
	return [...]string{"miss", "hit", "semantic", "bypass", "uncacheable"}[o]
}

// Hit is the result of a lookup. For Exact and Semantic, Entry is the answer to serve
// (with Reply). Whatever the outcome, pass the Hit to Store once the upstream answered.
type Hit struct {
	// Outcome says what was decided.
	Outcome Outcome
	// Entry is the stored answer for Exact and Semantic.
	Entry *Entry
	// Similarity is the cosine similarity of a Semantic hit (or of the Shadow match).
	Similarity float32
	// Shadow is the would-be semantic hit found in shadow mode (not served), or a
	// candidate above the threshold that verification rejected; nil otherwise.
	Shadow *ShadowMatch
	// Refused names the guard (GuardOrder, GuardNegation, GuardNumber, ...) that refused
	// the best semantic candidate above the threshold, when no candidate passed
	// verification; empty otherwise (no candidate, or one was served or would have been
	// in shadow mode). The gateway sends it as x-switchyard-cache-refused.
	Refused string
	// Reason explains a Bypass, an Uncacheable or why the semantic layer was skipped.
	Reason string

	op           provider.Op
	scope        Scope
	key          string // "" when nothing may be stored
	rules        Rules
	stream       bool
	includeUsage bool
	sem          *semQuery // the semantic query, when the semantic layer ran
}

// ShadowMatch describes a semantic candidate that was not served.
type ShadowMatch struct {
	// Key is the candidate entry's key.
	Key string
	// Text is the candidate's question.
	Text string
	// Similarity is the cosine similarity to the asked question.
	Similarity float32
	// Rejected is the verification's reason when it refused the candidate ("order:
	// different words after \"than\""); empty for a would-be hit that shadow mode did not
	// serve.
	Rejected string
	// Guard is the guard that refused the candidate (see Hit.Refused); empty when
	// Rejected is.
	Guard string
}

// Header is the x-switchyard-cache response header value: "hit", "semantic" or "miss".
func (h *Hit) Header() string {
	switch h.Outcome {
	case Exact:
		return "hit"
	case Semantic:
		return "semantic"
	}
	return "miss"
}

// SimilarityHeader is the similarity of a semantic hit formatted for a response header
// ("0.9731"), empty for other outcomes.
func (h *Hit) SimilarityHeader() string {
	if h.Outcome != Semantic {
		return ""
	}
	return strconv.FormatFloat(float64(h.Similarity), 'f', 4, 32)
}

// Served reports whether the hit is to be served from the cache.
func (h *Hit) Served() bool { return h.Outcome == Exact || h.Outcome == Semantic }

// SavedUsage is the provider usage a served hit avoided (what metering prices as
// savings), zero when nothing is served.
func (h *Hit) SavedUsage() provider.Usage {
	if !h.Served() {
		return provider.Usage{}
	}
	return h.Entry.Usage
}

// Reply renders a served hit for the client: SSE (with the usage chunk when the request
// asked for it) for a streamed request, JSON otherwise. opt.IncludeUsage is taken from
// the request.
func (h *Hit) Reply(opt ReplayOptions) ([]byte, error) {
	if !h.Served() {
		return nil, errors.New("cache: Reply on a hit that is not served")
	}
	if h.stream {
		opt.IncludeUsage = h.includeUsage
		return AppendSSE(nil, h.Entry, opt)
	}
	return ReplayJSON(h.Entry, opt)
}

// Lookup decides how to serve one request: from an exact entry, from a verified
// semantic match, or not (Miss, Bypass, Uncacheable). It never fails the request: store
// or embedder trouble is counted, logged and treated as a miss, so the error is always
// nil today and reserved for the caller's context ending.
func (c *Cache) Lookup(ctx context.Context, req LookupRequest) (*Hit, error) {
	c.stats.lookups.Add(1)
	rules := c.cfg.Defaults
	if req.Rules != nil {
		rules = req.Rules.WithDefaults()
	}
	h := &Hit{op: req.Op, scope: req.Scope, rules: rules, stream: req.Stream, includeUsage: req.IncludeUsage}
	if r := c.refuse(req, rules); r != "" {
		h.Outcome, h.Reason = Bypass, r
		c.stats.bypass.Add(1)
		return h, nil
	}
	info, err := analyze(req.Op, req.Scope, req.Body)
	switch {
	case err != nil:
		h.Outcome, h.Reason = Uncacheable, err.Error()
	case info.sampled && !rules.AllowSampled:
		h.Outcome, h.Reason = Uncacheable, "sampled request (temperature absent or above 0, no seed)"
	case info.choices > 1 && !rules.AllowMultipleChoices:
		h.Outcome, h.Reason = Uncacheable, "several choices requested"
	}
	if h.Outcome == Uncacheable {
		c.stats.uncacheable.Add(1)
		return h, nil
	}
	key := keyName(req.Scope, info.sum)
	if !req.Control.NoWrite {
		h.key = key
	}
	if req.Control.NoRead {
		h.Outcome, h.Reason = Bypass, "client asked for a fresh answer"
		c.stats.bypass.Add(1)
		c.prepareSemantic(ctx, h, req, rules, false)
		return h, nil
	}
	e, err := c.store.Get(ctx, key)
	if err != nil {
		c.stats.storeErrors.Add(1)
		c.stats.misses.Add(1)
		return h, nil // the store is failing: no semantic lookup either
	}
	if e != nil && c.servable(e, req) {
		h.Outcome, h.Entry = Exact, e
		c.stats.hits.Add(1)
		return h, nil
	}
	c.prepareSemantic(ctx, h, req, rules, true)
	if h.Outcome == Semantic {
		c.stats.semanticHits.Add(1)
	} else {
		c.stats.misses.Add(1)
	}
	return h, nil
}

// refuse returns why the cache must not be used at all for req, or "".
func (c *Cache) refuse(req LookupRequest, rules Rules) string {
	switch {
	case !c.cfg.Enabled:
		return "cache disabled"
	case rules.Disabled:
		return "cache disabled for the route"
	case req.Control.NoRead && req.Control.NoWrite:
		return "client asked to bypass the cache"
	case req.Op != provider.OpChat && req.Op != provider.OpCompletion && req.Op != provider.OpEmbedding:
		return "operation not cached"
	}
	return ""
}

// servable reports whether a found entry may answer req: young enough for the client's
// max-age, and replayable in the form asked for.
func (c *Cache) servable(e *Entry, req LookupRequest) bool {
	if req.Control.MaxAge > 0 && c.now().Sub(e.Created) > req.Control.MaxAge {
		return false
	}
	if req.Stream && streamable(e) != nil {
		return false
	}
	return true
}

// prepareSemantic extracts and embeds the request's compared text (so Store can index
// it) and, when search is true, looks for a verified match.
func (c *Cache) prepareSemantic(ctx context.Context, h *Hit, req LookupRequest, rules Rules, search bool) {
	if rules.Semantic == SemanticOff || c.embedder == nil {
		return
	}
	q, reason := extractSemantic(req.Op, req.Scope, req.Body, c.embedName, c.cfg.Semantic, c.lex)
	if q == nil {
		h.Reason = "semantic skipped: " + reason
		return
	}
	ectx, cancel := context.WithTimeout(ctx, c.cfg.Semantic.EmbedTimeout)
	vecs, err := c.embedder.Embed(ectx, []string{q.text})
	cancel()
	if err != nil || len(vecs) != 1 || !normalize(vecs[0]) {
		c.stats.embedErrors.Add(1)
		c.log.Debug("cache: embedding failed", "err", err)
		h.Reason = "semantic skipped: embedding failed"
		return
	}
	q.vec = vecs[0]
	h.sem = q
	if !search {
		return
	}
	sc := c.cfg.Semantic
	threshold := rules.Threshold
	if threshold == 0 {
		threshold = learnedThreshold
		if _, local := c.embedder.(*LocalEmbedder); local {
			threshold = localThreshold
		}
	}
	for _, m := range c.sem.search(q.partition, q.vec, sc.Candidates, sc.EfSearch, threshold, c.now().UnixNano()) {
		if r := verifyMatch(q.info, m.info, sc.Verify); !r.ok() {
			c.stats.rejected.Add(1)
			if h.Shadow == nil {
				h.Shadow = &ShadowMatch{Key: m.key, Text: m.text, Similarity: m.sim, Rejected: r.String(), Guard: r.guard}
				h.Refused = r.guard
			}
			continue
		}
		e, err := c.store.Get(ctx, m.key)
		if err != nil {
			c.stats.storeErrors.Add(1)
			return
		}
		if e == nil {
			c.sem.remove(q.partition, m.key) // evicted or expired: forget its vector
			continue
		}
		if !c.servable(e, req) {
			continue
		}
		if rules.Semantic == SemanticShadow {
			h.Shadow = &ShadowMatch{Key: m.key, Text: m.text, Similarity: m.sim}
			h.Similarity, h.Refused = m.sim, ""
			c.stats.shadowHits.Add(1)
			return
		}
		h.Outcome, h.Entry, h.Similarity, h.Shadow, h.Refused = Semantic, e, m.sim, nil, ""
		return
	}
}

// Store offers a completed answer for the request h was looked up for. It stores it
// when the request and the answer qualify (checkResponse) and the client allowed it,
// and indexes its vector for the semantic layer. A served hit is not stored again.
// Errors wrapping ErrNotStored are expected outcomes; others are store failures (the
// cache keeps working: the gateway logs them and moves on). ctx bounds the store calls;
// pass one that outlives the client connection (context.WithoutCancel), since the answer
// is complete even if the client has gone.
func (c *Cache) Store(ctx context.Context, h *Hit, resp Response) error {
	if h == nil || h.key == "" || h.Served() {
		return notStored("nothing to store for this lookup")
	}
	if err := checkResponse(h.op, resp, h.rules); err != nil {
		return err
	}
	now := c.now()
	root := jsonx.Get(resp.Body, "@this")
	e := &Entry{
		Key: h.key, Op: h.op, Model: root.Get("model").Str, Scope: h.scope,
		Created: now, Expires: now.Add(h.rules.TTL),
		Usage: provider.OpenAIUsage(root.Get("usage")),
		Body:  append([]byte(nil), resp.Body...),
	}
	if h.sem != nil {
		e.Semantic = &SemanticSource{Partition: h.sem.partition, Text: h.sem.text, Embedder: c.embedName}
	}
	if err := c.store.Set(ctx, e); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return notStored("answer larger than max_entry_bytes")
		}
		c.stats.storeErrors.Add(1)
		return fmt.Errorf("cache: store: %w", err)
	}
	c.stats.stores.Add(1)
	if h.sem != nil {
		if !c.sem.insert(h.sem.partition, h.scope, h.key, h.sem.text, h.sem.vec, e.Expires.UnixNano()) {
			c.stats.indexFull.Add(1)
		}
		if c.sync != nil {
			rec := vectorRecord{partition: h.sem.partition, scope: h.scope, key: h.key, text: h.sem.text, expires: e.Expires.UnixNano(), vec: h.sem.vec}
			if err := c.sync.publish(ctx, rec); err != nil {
				c.stats.storeErrors.Add(1)
				return fmt.Errorf("cache: publish vector: %w", err)
			}
		}
	}
	return nil
}

// Purge removes every entry and vector whose scope matches filter (empty fields match
// anything; the zero Scope purges everything) and tells the other replicas. It returns
// the entries removed from the store. For the admin route.
func (c *Cache) Purge(ctx context.Context, filter Scope) (int, error) {
	c.sem.purge(filter)
	n, err := c.store.Purge(ctx, filter)
	if err != nil {
		return n, fmt.Errorf("cache: purge: %w", err)
	}
	if c.sync != nil {
		if err := c.sync.publish(ctx, vectorRecord{purge: true, scope: filter}); err != nil {
			return n, fmt.Errorf("cache: purge: tell replicas: %w", err)
		}
	}
	return n, nil
}
