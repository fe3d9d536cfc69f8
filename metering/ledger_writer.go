package metering

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by Writer.Append.
var (
	// ErrEventDropped: the queue was full and the spill journal full, unwritable or
	// disabled, so the event is lost. It is counted in WriterStats.Dropped and the writer
	// logs drops (rate-limited): callers need not log each one.
	ErrEventDropped = errors.New("metering: cost event dropped: ledger queue and spill journal full")
	// ErrLedgerFull is ErrEventDropped.
	//
	// Deprecated: Append no longer waits for room; use ErrEventDropped.
	ErrLedgerFull = ErrEventDropped
	// ErrLedgerClosed: the writer was closed.
	ErrLedgerClosed = errors.New("metering: ledger closed")
)

// DefaultJournalMaxBytes is WriterConfig.JournalMaxBytes' default: 1 GiB, about 1.7
// million events (a journal record is about 600 bytes).
const DefaultJournalMaxBytes = 1 << 30

// logEvery is the least time between two log lines about the same ledger trouble (write
// failures, drops): an outage at request rate logs a line per 10s with a count of those
// held back.
const logEvery = 10 * time.Second

// defaultJournalFile is the journal's file, in the working directory, for a store that
// has no file of its own (Postgres).
const defaultJournalFile = "switchyard-ledger.spill"

// WriterConfig tunes a Writer. Zero fields take their defaults (see each field).
type WriterConfig struct {
	// QueueSize is how many events may wait in memory to be written. Default 8192.
	QueueSize int `yaml:"queue_size"`
	// BatchSize is how many events are written per transaction; a full batch is written
	// at once. Default 256.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is the longest a written-to batch waits before it is written even if
	// not full. Default 200ms.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// AppendTimeout is ignored: Append never waits (an event that finds the queue full
	// goes to the spill journal).
	//
	// Deprecated: accepted so that existing configurations still load.
	AppendTimeout time.Duration `yaml:"append_timeout"`
	// WriteTimeout bounds one batch write. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// RetryMin and RetryMax bound the backoff between attempts at the store after a failed
	// write (while it fails, events go to the spill journal). Defaults 50ms and 5s.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// Journal is the spill journal's file path: events that find the queue full, or that
	// arrive while the store fails, are appended to it and written to the store when it
	// accepts writes again (at the next start, if need be). Default: the SQLite ledger's
	// file with ".spill" appended (switchyard-ledger.db.spill), or switchyard-ledger.spill
	// in the working directory for a store without a file (Postgres). "none" keeps no
	// journal: such events are dropped and counted.
	Journal string `yaml:"journal"`
	// JournalMaxBytes bounds the journal file, in bytes; past it events are dropped and
	// counted. Default 1073741824 (1 GiB, about 1.7 million events).
	JournalMaxBytes int64 `yaml:"journal_max_bytes"`
}

// Defaults fills zero fields with their defaults. The journal's default path depends on
// the store; JournalPath resolves it.
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
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.RetryMin, 50*time.Millisecond)
	def(&c.RetryMax, 5*time.Second)
	if c.JournalMaxBytes <= 0 {
		c.JournalMaxBytes = DefaultJournalMaxBytes
	}
}

// journalPlacer is a Store that knows where its spill journal belongs by default.
type journalPlacer interface {
	// DefaultJournalPath is the journal's path, "" when the store has no file.
	DefaultJournalPath() string
}

// JournalPath is the spill journal's path for a writer over store: Journal when set, else
// the store's default (next to a SQLite file), else switchyard-ledger.spill in the
// working directory. "" means no journal.
func (c *WriterConfig) JournalPath(store Store) string {
	switch c.Journal {
	case "none":
		return ""
	case "":
		if p, ok := store.(journalPlacer); ok && p.DefaultJournalPath() != "" {
			return p.DefaultJournalPath()
		}
		return defaultJournalFile
	}
	return filepath.Clean(c.Journal)
}

// Writer is a Ledger that batches events from a bounded queue into a Store, and never
// makes its caller wait for the store.
//
// Append copies the event into the queue and returns at once; one goroutine, owned by the
// writer and stopped by Close, writes a batch when it holds BatchSize events or
// FlushInterval after its first event. An event that finds the queue full is appended to
// the spill journal (a local file, bounded in bytes) by Append itself. When a write fails,
// its batch and every later one go to the journal instead, and the store is tried again
// with backoff by replaying the journal; once a replay succeeds, events go to the store
// again and the rest of the journal follows, batch by batch. Only when the journal is full,
// unwritable or disabled is an event dropped: Append returns ErrEventDropped, and the loss
// is counted (Stats().Dropped) and logged, rate-limited.
//
// Close flushes the queue and the journal while the store takes writes; what it cannot
// write stays in the journal, which the next writer on the same path replays first. A
// crash (kill -9) loses at most the events in memory, QueueSize + BatchSize; the journal
// is written before Append returns and is fsynced by the writer goroutine within
// RetryMax.
type Writer struct {
	store  Store
	closer io.Closer // the store, when the writer owns it
	cfg    WriterConfig
	log    *slog.Logger
	// warn (store and journal failures) and dropl (drops) let through one line per
	// logEvery each.
	warn, dropl *rateLog
	jr          *journal // nil without a journal

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

	written, failures, spilled, replayed, dropped atomic.Int64
	down                                          atomic.Bool // the last store write failed
	lost                                          int64       // set by run before done
	lastErr                                       error       // set by run before done
}

// NewWriter starts a writer over store. log receives write failures and drops; nil
// discards them. The caller keeps ownership of store and closes it after Close. If the
// journal cannot be opened (another process holds it, say), the writer logs why and runs
// without one.
func NewWriter(store Store, cfg WriterConfig, log *slog.Logger) *Writer {
	cfg.Defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{
		store: store, cfg: cfg, log: log,
		warn: newRateLog(logEvery), dropl: newRateLog(logEvery),
		q:    make(chan Event, cfg.QueueSize),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	if path := cfg.JournalPath(store); path != "" {
		jr, err := newJournal(path, cfg.JournalMaxBytes)
		if err != nil {
			log.Error("cost ledger spill journal unavailable; events that find the queue full will be dropped", "error", err.Error())
		}
		w.jr = jr
		if jr != nil && !jr.empty() {
			log.Info("cost ledger spill journal found; replaying it", "path", path, "events", jr.pending.Load())
		}
	}
	w.base, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w
}

var _ Ledger = (*Writer)(nil)

// Append queues a copy of ev, or appends it to the spill journal when the queue is full.
// It never waits for the store: it costs a channel send, or one journal write (a few
// microseconds) while the queue is full. It returns ErrEventDropped when the journal
// cannot take the event either, ErrLedgerClosed after Close. Safe for concurrent use.
func (w *Writer) Append(ev *Event) error {
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
	return w.overflow(ev)
}

// AppendContext is Append; ctx is not used.
//
// Deprecated: Append never waits, so there is nothing to bound; use Append.
func (w *Writer) AppendContext(_ context.Context, ev *Event) error { return w.Append(ev) }

// overflow journals an event that found the queue full, or drops and counts it.
func (w *Writer) overflow(ev *Event) error {
	err := errJournalBroken
	if w.jr != nil {
		if err = w.jr.append([]Event{*ev}); err == nil {
			w.spilled.Add(1)
			return nil
		}
	}
	w.dropped.Add(1)
	if n, ok := w.dropl.allow(); ok {
		w.log.Error("cost events dropped: the ledger queue and the spill journal are full",
			"request_id", ev.RequestID, "dropped_total", w.dropped.Load(), "suppressed", n, "error", err.Error())
	}
	return ErrEventDropped
}

// limited logs at ERROR through r: at most one line per logEvery.
func (w *Writer) limited(r *rateLog, msg string, args ...any) {
	if n, ok := r.allow(); ok {
		w.log.Error(msg, append(args, "suppressed", n)...)
	}
}

// WriterStats are a writer's counters, for metrics. Totals only grow; the rest are
// levels at the time of the call.
type WriterStats struct {
	// Written is the number of events stored, replayed ones and duplicates included (total).
	Written int64
	// Queued is the number of events waiting in the queue now.
	Queued int
	// WriteFailures counts failed store write attempts (total).
	WriteFailures int64
	// Spilled counts events appended to the spill journal (total).
	Spilled int64
	// Replayed counts journal events written to the store (total; part of Written).
	Replayed int64
	// Journaled is the number of events in the journal waiting to be replayed now.
	Journaled int64
	// JournalBytes is the journal file's size now, in bytes.
	JournalBytes int64
	// Dropped counts events lost (total): refused by Append (ErrEventDropped), given up by
	// Close at its deadline with no journal to hold them, or unreadable in the journal.
	Dropped int64
	// StoreDown is true while the last store write failed.
	StoreDown bool
}

// Stats returns the writer's counters. It takes no lock.
func (w *Writer) Stats() WriterStats {
	st := WriterStats{
		Written: w.written.Load(), Queued: len(w.q), WriteFailures: w.failures.Load(),
		Spilled: w.spilled.Load(), Replayed: w.replayed.Load(), Dropped: w.dropped.Load(),
		StoreDown: w.down.Load(),
	}
	if w.jr != nil {
		st.Journaled, st.JournalBytes = max(w.jr.pending.Load(), 0), w.jr.bytes.Load()
	}
	return st
}

// FlushError is Close's report of the events it could not write to the store.
type FlushError struct {
	// Lost events are gone: the store failed until Close's deadline and the journal could
	// not hold them.
	Lost int64
	// Journaled events are safe in the journal at Path and will be replayed by the next
	// writer that opens it.
	Journaled int64
	Path      string
	// Err is the last store error.
	Err error
}

func (e *FlushError) Error() string {
	switch {
	case e.Lost > 0 && e.Journaled > 0:
		return fmt.Sprintf("metering: %d cost events not written, %d left in the spill journal %s for the next start: %v", e.Lost, e.Journaled, e.Path, e.Err)
	case e.Lost > 0:
		return fmt.Sprintf("metering: %d cost events not written: %v", e.Lost, e.Err)
	}
	return fmt.Sprintf("metering: %d cost events left in the spill journal %s for the next start: %v", e.Journaled, e.Path, e.Err)
}

func (e *FlushError) Unwrap() error { return e.Err }

// Close stops accepting events, writes everything queued and journaled and returns. If
// ctx ends while writes still fail, Close puts what it holds into the journal and returns
// a *FlushError counting the events left there (and any lost for want of room). A writer
// that owns its store (OpenLedger) closes it afterwards. Close waits for no Append: none
// blocks.
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
	fe := &FlushError{Lost: w.lost, Err: w.lastErr}
	if w.jr != nil {
		fe.Journaled, fe.Path = max(w.jr.pending.Load(), 0), w.jr.path
		err = w.jr.close()
	}
	if fe.Lost > 0 || fe.Journaled > 0 {
		if err == nil {
			err = fe
		} else {
			err = errors.Join(fe, err)
		}
	}
	if w.closer != nil {
		err = errors.Join(err, w.closer.Close())
	}
	return err
}
