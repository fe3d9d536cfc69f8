package cache

import "sync/atomic"

// counters are the cache's running totals, updated with atomics.
type counters struct {
	lookups, hits, semanticHits, shadowHits, misses, bypass, uncacheable atomic.Int64
	stores, storeErrors, embedErrors, rejected, indexFull                atomic.Int64
}

// Stats is a snapshot of the cache's counters and sizes, for /metrics.
type Stats struct {
	// Lookups counts every Lookup call.
	Lookups int64
	// Hits counts exact hits served; SemanticHits semantic hits served.
	Hits, SemanticHits int64
	// ShadowHits counts would-be semantic hits found in shadow mode.
	ShadowHits int64
	// Misses counts lookups that found nothing to serve.
	Misses int64
	// Bypassed counts lookups skipped by rules or client directives; Uncacheable those
	// whose request may not be cached.
	Bypassed, Uncacheable int64
	// Stores counts entries stored; StoreErrors failed store calls (Redis down: every
	// such lookup was a miss).
	Stores, StoreErrors int64
	// EmbedErrors counts failed embeddings; Rejected semantic candidates refused by
	// verification; IndexFull vectors not indexed because MaxVectors was reached.
	EmbedErrors, Rejected, IndexFull int64
	// Entries and Bytes are the memory store's size (zero with Redis).
	Entries int
	Bytes   int64
	// Vectors and Partitions are the local vector index's size.
	Vectors    int64
	Partitions int
	// RedisHealthy is false while the Redis breaker is open.
	RedisHealthy bool
}

// Stats returns a snapshot of the counters and sizes.
func (c *Cache) Stats() Stats {
	s := &c.stats
	out := Stats{
		Lookups: s.lookups.Load(), Hits: s.hits.Load(), SemanticHits: s.semanticHits.Load(),
		ShadowHits: s.shadowHits.Load(), Misses: s.misses.Load(), Bypassed: s.bypass.Load(),
		Uncacheable: s.uncacheable.Load(), Stores: s.stores.Load(), StoreErrors: s.storeErrors.Load(),
		EmbedErrors: s.embedErrors.Load(), Rejected: s.rejected.Load(), IndexFull: s.indexFull.Load(),
		RedisHealthy: c.red == nil || c.red.Healthy(),
	}
	if c.mem != nil {
		out.Entries, out.Bytes = c.mem.Stats()
	}
	out.Vectors, out.Partitions = c.sem.size()
	return out
}
