package microbatch

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// batch is one window's items and, once flushed, their results.
type batch[Req, Res any] struct {
	key  string
	sh   *shard[Req, Res]
	full chan struct{} // closed when the window closes before MaxWait
	done chan struct{} // closed once res and errs are final

	// Guarded by sh.mu. items and tokens change only until sealed.
	items  []Req
	tokens int
	sealed bool
	left   []bool             // left[i]: item i's caller stopped waiting; nil while none did
	live   int                // callers still waiting
	cancel context.CancelFunc // the flush's, set when the window closes

	// Written by run before done is closed; read-only after.
	res  []Res   // res[i] is item i's result
	errs []error // errs[i] is item i's error; nil when every item succeeded
}

// sealLocked closes the window: the batch takes no more items. sh.mu is held.
func (bt *batch[Req, Res]) sealLocked() {
	if bt.sealed {
		return
	}
	bt.sealed = true
	if bt.sh.open[bt.key] == bt {
		delete(bt.sh.open, bt.key)
	}
	close(bt.full)
}

// abandon records that item i's caller stopped waiting. The last caller to go cancels
// the flush.
func (bt *batch[Req, Res]) abandon(i int) {
	bt.sh.mu.Lock()
	defer bt.sh.mu.Unlock()
	if bt.left == nil {
		bt.left = make([]bool, len(bt.items), cap(bt.items))
	}
	if bt.left[i] {
		return
	}
	bt.left[i] = true
	bt.live--
	if bt.live == 0 && bt.cancel != nil {
		bt.cancel()
	}
}

// gone reports whether item i's caller stopped waiting.
func (bt *batch[Req, Res]) gone(i int) bool {
	bt.sh.mu.Lock()
	defer bt.sh.mu.Unlock()
	return bt.left != nil && bt.left[i]
}

// run is a batch's goroutine: it waits for the window to close, flushes the items whose
// callers still wait, and hands out the results.
func (b *Batcher[Req, Res]) run(bt *batch[Req, Res]) {
	defer b.wg.Done()
	t := time.NewTimer(b.cfg.MaxWait)
	select {
	case <-t.C:
	case <-bt.full:
		t.Stop()
	}
	items, pos, ctx := b.seal(bt)
	if len(items) > 0 {
		res, errs := b.flushBatch(ctx, bt, items, pos)
		bt.place(res, errs, pos)
	}
	bt.cancel()
	close(bt.done)
	b.queued.Add(-int64(len(bt.items)))
}

// seal closes bt's window and returns the items to flush: all of them, or when some
// callers have gone, the others, with pos[j] the index in bt.items of item j. ctx is the
// flush's.
func (b *Batcher[Req, Res]) seal(bt *batch[Req, Res]) (items []Req, pos []int, ctx context.Context) {
	bt.sh.mu.Lock()
	defer bt.sh.mu.Unlock()
	bt.sealLocked()
	ctx, bt.cancel = context.WithCancel(context.Background())
	if bt.left == nil {
		return bt.items, nil, ctx
	}
	items, pos = make([]Req, 0, bt.live), make([]int, 0, bt.live)
	for i, it := range bt.items {
		if !bt.left[i] {
			items, pos = append(items, it), append(pos, i)
		}
	}
	return items, pos, ctx
}

// flushBatch makes the batched call and, if it fails and may be split, the single-item
// calls. It returns one result per item, and per-item errors or nil.
func (b *Batcher[Req, Res]) flushBatch(ctx context.Context, bt *batch[Req, Res], items []Req, pos []int) ([]Res, []error) {
	b.flushes.Add(1)
	res, err := b.call(ctx, bt.key, items)
	if err == nil {
		return res, nil
	}
	if len(items) == 1 || ctx.Err() != nil || !b.split(err) {
		errs := make([]error, len(items))
		for i := range errs {
			errs[i] = err
		}
		return nil, errs
	}
	b.splits.Add(1)
	return b.splitFlush(ctx, bt, items, pos)
}

// splitFlush calls flush once per item, up to Config.SplitConcurrency at a time,
// skipping items whose callers have gone.
func (b *Batcher[Req, Res]) splitFlush(ctx context.Context, bt *batch[Req, Res], items []Req, pos []int) ([]Res, []error) {
	res, errs := make([]Res, len(items)), make([]error, len(items))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(b.cfg.SplitConcurrency, len(items)) {
		wg.Go(func() {
			for {
				j := int(next.Add(1) - 1)
				if j >= len(items) {
					return
				}
				i := j
				if pos != nil {
					i = pos[j]
				}
				if bt.gone(i) {
					errs[j] = context.Canceled // nobody reads it
					continue
				}
				b.splitFlushes.Add(1)
				r, err := b.call(ctx, bt.key, items[j:j+1:j+1])
				if err != nil {
					errs[j] = err
					continue
				}
				res[j] = r[0]
			}
		})
	}
	wg.Wait()
	return res, errs
}

// call is one flush call, its result count checked.
// A panic in the flush function fails this batch's callers with ErrPanic and nothing else.
func (b *Batcher[Req, Res]) call(ctx context.Context, key string, items []Req) (res []Res, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, fmt.Errorf("%w: %v", ErrPanic, v)
		}
	}()
	res, err = b.flush(ctx, key, items)
	if err == nil && len(res) != len(items) {
		err = fmt.Errorf("%w: %d results for %d items", ErrResultCount, len(res), len(items))
	}
	return res, err
}

// place stores the flushed items' results at their callers' indexes.
func (bt *batch[Req, Res]) place(res []Res, errs []error, pos []int) {
	if pos == nil {
		bt.res, bt.errs = res, errs
		return
	}
	if res != nil {
		bt.res = make([]Res, len(bt.items))
		for j, i := range pos {
			bt.res[i] = res[j]
		}
	}
	if errs != nil {
		bt.errs = make([]error, len(bt.items))
		for j, i := range pos {
			bt.errs[i] = errs[j]
		}
	}
}
