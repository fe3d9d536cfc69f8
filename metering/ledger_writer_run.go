package metering

import (
	"context"
	"time"
)

// run is the writer goroutine: it batches the queue into the store, spills to the journal
// while the store fails, and replays the journal when the store is back. It takes what is
// queued greedily, so under load batches fill without waiting for the interval.
//
// Its states: healthy (batches go to the store; a journal filled by Append's overflow is
// replayed between batches), down (batches go straight to the journal; the store is tried
// with backoff by replaying the journal's head) and held (down with a batch the journal
// refused: intake stops, the queue fills and Append drops, until the store takes the held
// batch).
func (w *Writer) run() {
	defer close(w.done)
	r := runner{w: w, backoff: w.cfg.RetryMin, batch: make([]Event, 0, w.cfg.BatchSize)}
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	r.retry = time.NewTimer(time.Hour)
	r.retry.Stop()
	for {
		r.arm()
		in := w.q
		if r.held != nil {
			in = nil // nowhere to put more: let the queue fill
		}
		select {
		case ev := <-in:
			if len(r.batch) == 0 {
				flush.Reset(w.cfg.FlushInterval)
			}
			r.batch = w.fill(append(r.batch, ev))
			if len(r.batch) < w.cfg.BatchSize {
				continue
			}
			flush.Stop()
		case <-flush.C:
		case <-r.retry.C:
			r.armed = false
			r.recover()
			continue
		case <-w.stop:
			flush.Stop()
			r.retry.Stop()
			r.finish()
			return
		}
		r.put(r.batch)
		clear(r.batch) // drop references to the events' strings
		r.batch = r.batch[:0]
	}
}

// runner is run's state; only the writer goroutine touches it.
type runner struct {
	w       *Writer
	batch   []Event
	held    []Event // a batch neither stored nor journaled
	retry   *time.Timer
	armed   bool
	backoff time.Duration // the next wait after a failure
	synced  int64         // Spilled at the last journal fsync
}

// arm sets the retry timer when there is something to retry or replay: at once while the
// store is healthy, after the backoff while it is down.
func (r *runner) arm() {
	w := r.w
	if r.armed || (r.held == nil && (w.jr == nil || w.jr.empty())) {
		return
	}
	var d time.Duration
	if w.down.Load() {
		d = r.backoff
		r.backoff = min(r.backoff*2, w.cfg.RetryMax)
	}
	r.retry.Reset(d)
	r.armed = true
}

// put stores batch, or journals it when the store fails or is known to be down, or holds
// a copy of it when the journal refuses too.
func (r *runner) put(batch []Event) {
	w := r.w
	if len(batch) == 0 {
		return
	}
	if !w.down.Load() {
		if r.store(batch) {
			return
		}
	}
	if r.spill(batch) {
		return
	}
	r.held = append(make([]Event, 0, len(batch)), batch...)
}

// recover is one attempt at the store while anything waits for it: the held batch first,
// then one batch from the journal's head.
func (r *runner) recover() {
	w := r.w
	if r.held != nil {
		if !r.store(r.held) {
			return
		}
		r.held = nil
	}
	if w.jr == nil || w.jr.empty() {
		w.down.Store(false)
		return
	}
	r.sync()
	r.replay()
}

// replay writes one batch from the journal's head to the store and consumes it. It
// reports false when the store failed (the batch stays in the journal).
func (r *runner) replay() bool {
	w := r.w
	evs, next, bad, err := w.jr.read(w.cfg.BatchSize)
	if err != nil {
		w.limited(w.warn, "cost ledger spill journal unreadable", "error", err.Error())
		w.down.Store(true) // try again after the backoff
		return false
	}
	if bad > 0 {
		w.dropped.Add(int64(bad))
		w.log.Error("cost ledger spill journal: unreadable records skipped (counted as dropped)", "records", bad, "path", w.jr.path)
	}
	if len(evs) > 0 && !r.store(evs) {
		return false
	}
	w.replayed.Add(int64(len(evs)))
	w.jr.commit(next, len(evs)+bad)
	return true
}

// store makes one attempt at writing batch, bounded by WriteTimeout, and records the
// outcome.
func (r *runner) store(batch []Event) bool {
	w := r.w
	ctx, cancel := context.WithTimeout(w.base, w.cfg.WriteTimeout)
	err := w.store.WriteBatch(ctx, batch)
	cancel()
	if err == nil {
		w.written.Add(int64(len(batch)))
		w.down.Store(false)
		r.backoff = w.cfg.RetryMin
		return true
	}
	w.failures.Add(1)
	w.lastErr = err
	w.down.Store(true)
	w.limited(w.warn, "cost ledger write failed; events go to the spill journal until it recovers",
		"events", len(batch), "retry_in", r.backoff.String(), "error", err.Error())
	return false
}

// spill appends batch to the journal, reporting false when it cannot.
func (r *runner) spill(batch []Event) bool {
	w := r.w
	if w.jr == nil {
		return false
	}
	if err := w.jr.append(batch); err != nil {
		w.limited(w.dropl, "cost ledger spill journal refused events; holding them in memory", "events", len(batch), "error", err.Error())
		return false
	}
	w.spilled.Add(int64(len(batch)))
	return true
}

// sync fsyncs the journal if anything was spilled since the last sync.
func (r *runner) sync() {
	w := r.w
	if n := w.spilled.Load(); n != r.synced {
		if err := w.jr.sync(); err != nil {
			w.limited(w.warn, "cost ledger spill journal fsync failed", "error", err.Error())
		}
		r.synced = n
	}
}

// finish runs once Close has stopped intake: everything in memory goes to the store or,
// failing that, to the journal; then the journal is replayed, retrying with backoff, until
// it is empty or Close's deadline cancels w.base. Events neither stored nor journaled by
// then are counted as lost.
func (r *runner) finish() {
	w := r.w
	held := r.held
	r.held = nil
	r.putOrRetry(held)
	for batch := w.fill(r.batch); len(batch) > 0; batch = w.fill(batch[:0]) {
		r.putOrRetry(batch)
	}
	for w.jr != nil && !w.jr.empty() {
		if r.replay() {
			continue
		}
		if !r.wait() {
			break
		}
	}
	if w.lost > 0 {
		w.dropped.Add(w.lost)
		w.log.Error("cost ledger closed with events not written", "events", w.lost)
	}
}

// putOrRetry is put for Close: a batch the journal refuses is retried on the store with
// backoff until it is written or Close's deadline passes, when it is counted as lost.
func (r *runner) putOrRetry(batch []Event) {
	w := r.w
	if len(batch) == 0 {
		return
	}
	r.put(batch)
	for r.held != nil {
		if !r.wait() {
			w.lost += int64(len(r.held))
			r.held = nil
			return
		}
		if r.store(r.held) {
			r.held = nil
		}
	}
}

// wait sleeps for the current backoff and lengthens it; it reports false when Close's
// deadline cancelled w.base first.
func (r *runner) wait() bool {
	w := r.w
	if w.base.Err() != nil {
		return false
	}
	t := time.NewTimer(r.backoff)
	defer t.Stop()
	r.backoff = min(r.backoff*2, w.cfg.RetryMax)
	select {
	case <-w.base.Done():
		return false
	case <-t.C:
		return true
	}
}

// fill adds queued events to batch without blocking, up to BatchSize.
func (w *Writer) fill(batch []Event) []Event {
	for len(batch) < w.cfg.BatchSize {
		select {
		case ev := <-w.q:
			batch = append(batch, ev)
		default:
			return batch
		}
	}
	return batch
}
