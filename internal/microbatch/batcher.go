// Package microbatch merges concurrent small requests into one upstream call: the first
// item for a batch key opens a window; items with the same key that arrive before the
// window closes join the batch; when it closes (after Config.MaxWait, or at once when it
// holds Config.MaxItems items or Config.MaxTokens tokens) one flush call carries them all,
// and each caller gets exactly its own result back. It is built for /v1/embeddings, where
// one call with an array input costs the same per token as many calls with one input.
//
// Failure isolation. When a batch's flush fails (returns an error, or a wrong number of
// results), and it held more than one item, the batch is retried item by item: flush is
// called once per item, as a batch of one, so an input the upstream rejects fails only
// its own caller and the others get their results. Options.Split can narrow this to the
// errors that blame the input (a 400 from the upstream, say), so an upstream outage is not
// multiplied by the batch size. A batch whose every caller has gone is not retried.
//
// Only compatible requests may share a key: the caller derives it from everything that
// must be equal within one upstream call (the model, dimensions, encoding_format, the
// credentials and route used).
package microbatch

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Errors returned by Submit.
var (
	// ErrQueueFull means Config.MaxQueue items are already held; send the request alone.
	ErrQueueFull = errors.New("microbatch: queue full")
	// ErrClosed means the Batcher was closed.
	ErrClosed = errors.New("microbatch: batcher closed")
	// ErrResultCount is the error of a flush that returned a number of results other than
	// the number of items it was given (a bug in the flush function).
	ErrResultCount = errors.New("microbatch: flush returned a wrong number of results")
	// ErrPanic is the error of a flush that panicked (a bug in the flush function): its
	// batch's callers fail, the process goes on.
	ErrPanic = errors.New("microbatch: flush panicked")
)

// numShards is the number of independently locked parts of a Batcher's window map.
const numShards = 16

// FlushFunc makes one upstream call for items, all submitted under key, and returns one
// result per item, in the items' order. It may be called concurrently (different batches,
// and the single-item retries of a failed batch). It must not keep or modify items after
// it returns. ctx is the Batcher's, not any caller's: it is cancelled only when every
// caller in the batch has stopped waiting, so it carries no caller's values.
type FlushFunc[Req, Res any] func(ctx context.Context, key string, items []Req) ([]Res, error)

// Options are a Batcher's hooks. The zero Options is valid.
type Options struct {
	// Split reports whether a batch whose flush failed with err is retried item by item.
	// Nil retries every failure. A batch of one item, or one whose callers have all gone,
	// is never retried.
	Split func(err error) bool
}

// Batcher merges Submits with the same key into batches. It is safe for concurrent use.
// Each batch has one goroutine, from its window's opening until its results are handed
// out (plus up to Config.SplitConcurrency while a failed batch is retried item by item);
// Close stops them all.
type Batcher[Req, Res any] struct {
	cfg    Config
	flush  FlushFunc[Req, Res]
	split  func(error) bool
	seed   maphash.Seed
	shards [numShards]shard[Req, Res]
	queued atomic.Int64
	closed atomic.Bool
	wg     sync.WaitGroup // batch goroutines

	submitted, flushes, splits, splitFlushes, queueFull, abandoned atomic.Uint64
}

type shard[Req, Res any] struct {
	mu   sync.Mutex
	open map[string]*batch[Req, Res] // windows still taking items, by key
	_    [48]byte                    // keep shards on separate cache lines
}

// Stats are a Batcher's counters since New. Upstream calls saved are
// Submitted - Flushes - SplitFlushes (less any batches abandoned before their flush).
type Stats struct {
	// Submitted is the number of items accepted into a batch.
	Submitted uint64
	// Flushes is the number of batched flush calls, one per batch flushed.
	Flushes uint64
	// Splits is the number of failed batches retried item by item.
	Splits uint64
	// SplitFlushes is the number of single-item flush calls made by those retries.
	SplitFlushes uint64
	// QueueFull is the number of Submits refused with ErrQueueFull.
	QueueFull uint64
	// Abandoned is the number of callers whose context ended before their result.
	Abandoned uint64
}

// New returns a Batcher that calls flush for each batch. cfg's defaults are applied here.
func New[Req, Res any](cfg Config, flush FlushFunc[Req, Res], opt Options) (*Batcher[Req, Res], error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if flush == nil {
		return nil, errors.New("microbatch: nil flush function")
	}
	b := &Batcher[Req, Res]{cfg: cfg, flush: flush, split: opt.Split, seed: maphash.MakeSeed()}
	if b.split == nil {
		b.split = func(error) bool { return true }
	}
	for i := range b.shards {
		b.shards[i].open = make(map[string]*batch[Req, Res])
	}
	return b, nil
}

// Submit adds item, weighing weight tokens, to the open batch for key (opening one if
// there is none or it cannot take the item) and waits for its result: exactly the result
// flush returned for this item. It adds at most about Config.MaxWait, plus the flush, to
// the request's time.
//
// It returns the item's own error when its flush failed (after the item-by-item retry,
// see the package doc); ErrQueueFull or ErrClosed at once without batching; and
// ctx.Err() as soon as ctx ends, in which case the item is left out of a batch not yet
// flushed, or its result is discarded.
func (b *Batcher[Req, Res]) Submit(ctx context.Context, key string, item Req, weight int) (Res, error) {
	var zero Res
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if b.queued.Add(1) > int64(b.cfg.MaxQueue) {
		b.queued.Add(-1)
		b.queueFull.Add(1)
		return zero, ErrQueueFull
	}
	bt, i, err := b.add(key, item, max(weight, 0))
	if err != nil {
		b.queued.Add(-1)
		return zero, err
	}
	select {
	case <-bt.done:
		if bt.errs != nil && bt.errs[i] != nil {
			return zero, bt.errs[i]
		}
		return bt.res[i], nil
	case <-ctx.Done():
		bt.abandon(i)
		b.abandoned.Add(1)
		return zero, ctx.Err()
	}
}

// add puts item into the open batch for key and returns the batch and the item's index.
func (b *Batcher[Req, Res]) add(key string, item Req, weight int) (*batch[Req, Res], int, error) {
	sh := &b.shards[maphash.String(b.seed, key)%numShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if b.closed.Load() {
		return nil, 0, ErrClosed
	}
	bt := sh.open[key]
	if bt != nil && bt.tokens+weight > b.cfg.MaxTokens {
		bt.sealLocked()
		bt = nil
	}
	if bt == nil {
		bt = &batch[Req, Res]{
			key: key, sh: sh, full: make(chan struct{}), done: make(chan struct{}),
			items: make([]Req, 0, min(b.cfg.MaxItems, 16)),
		}
		sh.open[key] = bt
		b.wg.Add(1) // under the shard lock: Close waits for every batch it let open
		go b.run(bt)
	}
	i := len(bt.items)
	bt.items = append(bt.items, item)
	if bt.left != nil {
		bt.left = append(bt.left, false)
	}
	bt.tokens += weight
	bt.live++
	if len(bt.items) >= b.cfg.MaxItems || bt.tokens >= b.cfg.MaxTokens {
		bt.sealLocked()
	}
	b.submitted.Add(1)
	return bt, i, nil
}

// Stats returns the Batcher's counters. It is safe to call at any time.
func (b *Batcher[Req, Res]) Stats() Stats {
	return Stats{
		Submitted:    b.submitted.Load(),
		Flushes:      b.flushes.Load(),
		Splits:       b.splits.Load(),
		SplitFlushes: b.splitFlushes.Load(),
		QueueFull:    b.queueFull.Load(),
		Abandoned:    b.abandoned.Load(),
	}
}

// Close closes every open window at once (their batches are flushed now rather than
// after MaxWait), makes later Submits fail with ErrClosed, and waits until every batch
// has been flushed and its results handed out: callers already waiting get their
// answers. It is safe to call more than once.
func (b *Batcher[Req, Res]) Close() {
	b.closed.Store(true)
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		for _, bt := range sh.open {
			bt.sealLocked()
		}
		sh.mu.Unlock()
	}
	b.wg.Wait()
}
