// Package cache is Switchyard's exact and semantic response cache.
//
// A request is reduced to a canonical key (key.go): the fields that change the answer,
// re-encoded with sorted object keys and normalised numbers, hashed with SHA-256 together
// with its Scope (tenant, feature, model, prompt version), so two tenants never share an
// entry. A completed answer is stored once, as the non-stream chat.completion JSON with its
// usage (entry.go), whichever way it was produced: an assembled stream is converted
// (assemble.go), and a stored answer is replayed either as JSON or as SSE chunks that the
// OpenAI SDKs cannot tell from a live stream (replay.go).
//
// Entries live in a Store: in process (memstore.go, sharded S3-FIFO bounded in bytes) or
// in Redis (redisstore.go) for replicas, failing open on any Redis trouble.
//
// The semantic layer (semantic.go) embeds the final user turn (Embedder; the built-in
// LocalEmbedder needs no model), searches an in-process HNSW index (hnsw.go) partitioned
// by scope and by a hash of everything else in the request, and verifies each candidate
// (verify.go, with the order guard in verifyorder.go) so that near-misses that change the
// meaning ("capital of France" against "capital of Germany", "every square is a
// rectangle" against "every rectangle is a square") are never served; the guard that
// refused a candidate is reported (Hit.Refused). Both compare words through a small
// English lexicon of synonyms and word forms (synonyms.go), extendable from the config. With Redis, vectors are appended to a Redis
// stream that every replica tails, so a replica's index knows entries written by others.
//
// Cache (cache.go) is the facade the gateway uses: Lookup before the upstream call, Store
// after a completed answer, Purge for the admin route. The package never imports the
// gateway, router, metering, policies or fasthttp.
package cache
