// Package batchlane is Switchyard's batch lane: work that can wait, run at batch prices.
//
// It has two halves, both independent of the gateway's HTTP library:
//
//   - Passthrough. OpenAI-compatible /v1/files and /v1/batches requests are forwarded to a
//     provider that has a Batch API. Route maps a client request to its upstream URL (or
//     refuses it); Owners keeps one gateway key from reading or using another key's files
//     and batches on the shared provider account; InspectUpload reads an uploaded batch
//     input so policy can check its models; ParseResults reads a downloaded output file
//     into per-request usage so the gateway can meter it at batch prices (AtBatchPrice).
//
//   - The deferrable lane. A Collector takes requests the client marked deferrable
//     (x-switchyard-priority: batch) and answers at once with a job id. In provider_batch
//     mode it packs them, per (provider, model, endpoint), into a JSONL file, uploads it,
//     creates a provider batch job, polls it and stores each request's answer under its
//     job id. In rate_budget mode (providers without a Batch API) it runs them itself,
//     through the gateway's Sender, whenever the Budget says there is room. Either way the
//     client fetches the answer later (Collector.Result) and the gateway meters each
//     finished job once (Recorder).
//
// All provider I/O goes through a Doer, so the gateway can supply its pooled fasthttp
// client and tests a net/http one (HTTPDoer) against a fake Batch API over loopback.
//
// State is in process memory, bounded in count, bytes and age (see Config). To share it
// between replicas, the job table has a JobStore (RedisJobs) that every change of a job is
// written to and Result reads from, and the ownership table is an OwnerStore
// (RedisOwners); a provider batch is still polled by the replica that submitted it
// (docs/batch-lane.md).
package batchlane
