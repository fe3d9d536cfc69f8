package metering

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by Writer.Append.
var (
	// ErrLedgerFull: the queue stayed full for AppendTimeout (the store is down or slower
	// than the traffic). The event was not accepted; the caller should log it.
	ErrLedgerFull = errors.New("metering: ledger queue full")
	// ErrLedgerClosed: the writer was closed.
	ErrLedgerClosed = errors.New("metering: ledger closed")
)

// WriterConfig tunes a Writer. Zero fields take their defaults (see each field).
type WriterConfig struct {
	// QueueSize is how many events may wait to be written. Default 8192.
	QueueSize int `yaml:"queue_size"`
	// BatchSize is how many events are written per transaction; a full batch is written
	// at once. Default 256.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is the longest a written-to batch waits before it is written even if
	// not full. Default 200ms.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// AppendTimeout is how long Append blocks on a full queue before it returns
	// ErrLedgerFull. Default 5s.
	AppendTimeout time.Duration `yaml:"append_timeout"`
	// WriteTimeout bounds one batch write. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// RetryMin and RetryMax bound the backoff between attempts at a failed batch, which is
	// retried until it is written (or Close gives up). Defaults 50ms and 5s.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
}

// Defaults fills zero fields with their defaults.
func (c *WriterConfig) Defaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 8192
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 256
	}
	def(&c.FlushInterval, 200*time.Millisecond)
	def(&c.AppendTimeout, 5*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.RetryMin, 50*time.Millisecond)
	def(&c.RetryMax, 5*time.Second)
}

// Writer is a Ledger that batches events from a bounded queue into a Store.
//
// Append copies the event into the queue and returns; one goroutine, owned by the writer
// and stopped by Close, writes a batch when it holds BatchSize events or FlushInterval
// after its first event. A failed batch is retried with backoff until it is written, and
// meanwhile the queue fills: Append then blocks (backpressure) up to AppendTimeout and
// fails with ErrLedgerFull rather than drop anything silently.
//
// Close flushes everything accepted. What a crash (kill -9) can lose is bounded: the
// events in the queue and the batch being built, at most QueueSize + BatchSize events,
// and in steady state only those accepted in the last FlushInterval plus one write.
type Writer struct {
	store  Store
	closer io.Closer // the store, when the writer owns it
	cfg    WriterConfig
	log    *slog.Logger

	q    chan Event
	stop chan struct{} // closed by Close: drain and return
	done chan struct{} // closed when run returns
	// base parents every write; Close cancels it when its ctx ends, to give up on a
	// store that keeps failing.
	base   context.Context
	cancel context.CancelFunc

	// mu orders Append against Close: Appends hold it shared while they enqueue, so once
	// Close holds it exclusively no Append can enqueue behind the final drain.
	mu     sync.RWMutex
	closed bool

	written, failures atomic.Int64
	lost              int   // set by run before done
	lastErr           error // set by run before done
}

// NewWriter starts a writer over store. log receives write failures; nil discards them.
// The caller keeps ownership of store and closes it after Close.
func NewWriter(store Store, cfg WriterConfig, log *slog.Logger) *Writer {
	cfg.Defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{
		store: store, cfg: cfg, log: log,
		q:    make(chan Event, cfg.QueueSize),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	w.base, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w
}

var _ Ledger = (*Writer)(nil)

// Append queues a copy of ev, blocking up to AppendTimeout while the queue is full.
func (w *Writer) Append(ev *Event) error { return w.AppendContext(context.Background(), ev) }

// AppendContext is Append bounded also by ctx.
func (w *Writer) AppendContext(ctx context.Context, ev *Event) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrLedgerClosed
	}
	select {
	case w.q <- *ev:
		return nil
	default:
	}
	t := time.NewTimer(w.cfg.AppendTimeout)
	defer t.Stop()
	select {
	case w.q <- *ev:
		return nil
	case <-t.C:
		return ErrLedgerFull
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WriterStats are a writer's counters, for metrics.
type WriterStats struct {
	// Written is the number of events stored (duplicates included).
	Written int64
	// Queued is the number of events waiting in the queue now.
	Queued int
	// WriteFailures counts failed batch write attempts.
	WriteFailures int64
}

// Stats returns the writer's counters.
func (w *Writer) Stats() WriterStats {
	return WriterStats{Written: w.written.Load(), Queued: len(w.q), WriteFailures: w.failures.Load()}
}

// Close stops accepting events, writes everything queued and returns. If ctx ends while
// writes still fail, Close gives up and returns an error counting the events not written.
// A writer that owns its store (OpenLedger) closes it afterwards. Close waits for Appends
// blocked on a full queue (at most AppendTimeout) before it drains.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrLedgerClosed
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		<-w.done
	}
	w.cancel()
	var err error
	if w.lost > 0 {
		err = fmt.Errorf("metering: %d cost events not written: %w", w.lost, w.lastErr)
	}
	if w.closer != nil {
		err = errors.Join(err, w.closer.Close())
	}
	return err
}

// run is the writer goroutine. It takes what is queued greedily, so under load batches
// fill without waiting for the interval.
func (w *Writer) run() {
	defer close(w.done)
	batch := make([]Event, 0, w.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case ev := <-w.q:
			if len(batch) == 0 {
				timer.Reset(w.cfg.FlushInterval)
			}
			batch = w.fill(append(batch, ev))
			if len(batch) < w.cfg.BatchSize {
				continue
			}
			timer.Stop()
		case <-timer.C:
		case <-w.stop:
			timer.Stop()
			w.drain(batch)
			return
		}
		if !w.write(batch) {
			w.giveUp(len(batch))
			return
		}
		clear(batch) // drop references to the events' strings
		batch = batch[:0]
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

// drain writes the batch and everything left in the queue. Close has made sure no
// Append can enqueue any more.
func (w *Writer) drain(batch []Event) {
	for {
		batch = w.fill(batch)
		if len(batch) == 0 {
			return
		}
		if !w.write(batch) {
			w.giveUp(len(batch))
			return
		}
		batch = batch[:0]
	}
}

// write stores batch, retrying with backoff until it succeeds; it returns false only
// when Close's deadline aborted the retries.
func (w *Writer) write(batch []Event) bool {
	if len(batch) == 0 {
		return true
	}
	backoff := w.cfg.RetryMin
	for {
		ctx, cancel := context.WithTimeout(w.base, w.cfg.WriteTimeout)
		err := w.store.WriteBatch(ctx, batch)
		cancel()
		if err == nil {
			w.written.Add(int64(len(batch)))
			return true
		}
		w.failures.Add(1)
		w.lastErr = err
		w.log.Error("cost ledger write failed; retrying", "events", len(batch), "retry_in", backoff.String(), "error", err.Error())
		t := time.NewTimer(backoff)
		select {
		case <-w.base.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(backoff*2, w.cfg.RetryMax)
	}
}

// giveUp counts the events that will never be written: the batch and the queue.
func (w *Writer) giveUp(batch int) {
	w.lost = batch + len(w.q)
	w.log.Error("cost ledger closed with events not written", "events", w.lost)
}
