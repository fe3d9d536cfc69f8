package metering

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sqliteLedger opens a fresh SQLite ledger in a temporary directory.
func sqliteLedger(t testing.TB) *SQLStore {
	t.Helper()
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var pgSchemaSeq atomic.Int64

// postgresLedger opens a Postgres ledger in a schema of its own (dropped afterwards), so
// parallel runs and tests never share tables. It skips when SWITCHYARD_TEST_POSTGRES is unset.
func postgresLedger(t testing.TB) *SQLStore {
	t.Helper()
	base := os.Getenv("SWITCHYARD_TEST_POSTGRES")
	if base == "" {
		t.Skip("SWITCHYARD_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("sy_ledger_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), pgSchemaSeq.Add(1))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck // best effort
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := OpenPostgres(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tempJournal is a spill journal path in a temporary directory, so no test leaves a
// journal in the package directory (the default for stores without a file).
func tempJournal(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "ledger.spill")
}

// eachLedger runs f against SQLite and, when configured, Postgres.
func eachLedger(t *testing.T, f func(t *testing.T, s *SQLStore)) {
	t.Run("sqlite", func(t *testing.T) { f(t, sqliteLedger(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, postgresLedger(t)) })
}

// sampleEvent returns a deterministic event number i.
func sampleEvent(i int) Event {
	return Event{
		RequestID: fmt.Sprintf("req-%06d", i), Time: day("2026-03-01").Add(time.Duration(i) * time.Second),
		Key: "key-a", Team: "team-a", Feature: "feature-" + string(rune('a'+i%3)), User: "u1",
		RequestedModel: "gpt-4o", ServedModel: "gpt-4o", Provider: "openai", Cache: CacheMiss,
		Tokens: Tokens{Input: int64(100 + i), Output: int64(10 + i%7)}, UsageSource: UsageMeasured,
		Cost: Money(1_000_003 * (i + 1)), Counterfactual: Money(1_000_003 * (i + 1)), Status: 200,
	}
}

func countEvents(t testing.TB, s *SQLStore) int {
	t.Helper()
	var n int
	if err := s.rdb.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM cost_events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestParseLedgerURL(t *testing.T) {
	tests := []struct {
		name, in, driver, dsn string
		wantErr               bool
	}{
		{"a sqlite relative path", "sqlite:ledger.db", "sqlite", "ledger.db", false},
		{"a sqlite absolute path", "sqlite:/var/lib/sy/ledger.db", "sqlite", "/var/lib/sy/ledger.db", false},
		{"a sqlite URL with slashes", "sqlite:///var/lib/sy/ledger.db", "sqlite", "/var/lib/sy/ledger.db", false},
		{"a postgres URL is passed through", "postgres://u:p@db:5432/sy?sslmode=disable", "postgres", "postgres://u:p@db:5432/sy?sslmode=disable", false},
		{"a postgresql URL is accepted", "postgresql://db/sy", "postgres", "postgresql://db/sy", false},
		{"sqlite without a path is an error", "sqlite:", "", "", true},
		{"an unknown scheme is an error", "mysql://db/sy", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLedgerURL(tt.in)
			if (err != nil) != tt.wantErr || got.Driver != tt.driver || got.DSN != tt.dsn {
				t.Fatalf("ParseLedgerURL(%q) = %+v, %v", tt.in, got, err)
			}
		})
	}
	if _, err := ParseLedgerURL("mysql://root:secret@db/x"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %v must not show the password", err)
	}
}

func TestLedgerIsIdempotentOnRequestID(t *testing.T) {
	eachLedger(t, func(t *testing.T, s *SQLStore) {
		ctx := context.Background()
		ev := sampleEvent(1)
		if err := s.WriteBatch(ctx, []Event{ev, ev}); err != nil {
			t.Fatalf("a batch holding the same request twice: %v", err)
		}
		changed := ev
		changed.Cost = 999
		if err := s.WriteBatch(ctx, []Event{changed, sampleEvent(2)}); err != nil {
			t.Fatalf("a retried batch: %v", err)
		}
		got, err := s.Events(ctx, day("2026-01-01"), day("2027-01-01"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("ledger holds %d events, want 2 (one per request id)", len(got))
		}
		if got[0].Cost != ev.Cost {
			t.Errorf("the first write wins: cost %d, want %d", got[0].Cost, ev.Cost)
		}
	})
}

func TestLedgerRoundTripsEveryField(t *testing.T) {
	eachLedger(t, func(t *testing.T, s *SQLStore) {
		ev := Event{
			RequestID: "rt-1", Time: time.Date(2026, 5, 4, 3, 2, 1, 123456000, time.UTC),
			Key: "k", Team: "t", Feature: "f", User: "u", Route: "r", PolicyVersion: "pv",
			PromptID: "p", PromptVersion: "3", RequestedModel: "gpt-4o", ServedModel: "gpt-4o-mini",
			Provider: "openai", Cache: CacheSemantic,
			Tokens:      Tokens{Input: 1, CachedInput: 2, CacheWrite: 3, Output: 4, Reasoning: 5},
			UsageSource: UsageEstimated, PriceVersion: "abc", Cost: 6, Counterfactual: 7, Savings: -8,
			Unpriced: true, LatencyMS: 9, TTFTMS: 10, Status: 502, ErrorCode: "upstream_error", Stream: true,
			SavingsSource: SavingsSemanticCache, Dialect: DialectMessages,
		}
		if err := s.WriteBatch(context.Background(), []Event{ev}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Events(context.Background(), ev.Time, ev.Time.Add(time.Second))
		if err != nil || len(got) != 1 {
			t.Fatalf("Events = %v, %v", got, err)
		}
		if got[0] != ev {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got[0], ev)
		}
	})
}

func TestMigrationsAreVersionedAndApplyOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	for range 2 {
		s, err := OpenSQLite(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.SchemaVersion(context.Background())
		if err != nil || v != len(migrations) {
			t.Fatalf("schema version %d, %v; want %d", v, err, len(migrations))
		}
		var n int
		if err := s.rdb.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != len(migrations) {
			t.Fatalf("schema_migrations has %d rows, %v", n, err)
		}
		s.Close()
	}
}

func TestWriterFlushOnCloseLosesNothing(t *testing.T) {
	eachLedger(t, func(t *testing.T, s *SQLStore) {
		const total, producers = 10_000, 8
		w := NewWriter(s, WriterConfig{QueueSize: 1024, BatchSize: 300, FlushInterval: time.Hour, Journal: tempJournal(t)}, nil)
		var wg sync.WaitGroup
		for p := range producers {
			wg.Go(func() {
				for i := p; i < total; i += producers {
					ev := sampleEvent(i)
					if err := w.Append(&ev); err != nil {
						t.Errorf("Append: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := countEvents(t, s); n != total {
			t.Fatalf("ledger holds %d events after Close, want %d", n, total)
		}
		if st := w.Stats(); st.Written != total || st.Queued != 0 {
			t.Fatalf("stats %+v, want %d written and none queued", st, total)
		}
	})
}

func TestWriterFlushesAPartialBatchAfterTheInterval(t *testing.T) {
	s := sqliteLedger(t)
	w := NewWriter(s, WriterConfig{BatchSize: 1000, FlushInterval: 20 * time.Millisecond}, nil)
	defer w.Close(context.Background())
	ev := sampleEvent(1)
	if err := w.Append(&ev); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for countEvents(t, s) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("a lone event was not written within the flush interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stallStore blocks every write until released, then records what it was given.
type stallStore struct {
	release chan struct{}
	mu      sync.Mutex
	got     []Event
}

func (s *stallStore) WriteBatch(ctx context.Context, evs []Event) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.got = append(s.got, evs...)
	s.mu.Unlock()
	return nil
}

var _ Store = (*stallStore)(nil)

func TestWriterAppendNeverWaitsForAStalledStore(t *testing.T) {
	st := &stallStore{release: make(chan struct{})}
	cfg := WriterConfig{QueueSize: 4, BatchSize: 2, FlushInterval: time.Millisecond, WriteTimeout: time.Minute, Journal: tempJournal(t)}
	w := NewWriter(st, cfg, nil)
	const total = 2000
	var slowest time.Duration
	for i := range total {
		ev := sampleEvent(i)
		start := time.Now()
		if err := w.Append(&ev); err != nil {
			t.Fatalf("Append %d: %v (the journal has room)", i, err)
		}
		slowest = max(slowest, time.Since(start))
	}
	// A generous sanity bound: the old writer blocked AppendTimeout (5s) per event here.
	if slowest > time.Second {
		t.Fatalf("the slowest Append took %v with the store stalled", slowest)
	}
	if s := w.Stats(); s.Spilled < total-4-2 || s.Dropped != 0 {
		t.Fatalf("stats %+v: events past the queue and the batch in flight must be journaled, none dropped", s)
	}
	close(st.release)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, ev := range st.got {
		ids[ev.RequestID]++
	}
	if len(ids) != total {
		t.Fatalf("store received %d distinct events, want %d", len(ids), total)
	}
	t.Logf("slowest Append %v; stats %+v", slowest, w.Stats())
}

// flakyStore fails its first n writes.
type flakyStore struct {
	fails atomic.Int64
	inner Store
}

func (s *flakyStore) WriteBatch(ctx context.Context, evs []Event) error {
	if s.fails.Add(-1) >= 0 {
		return errors.New("database is locked")
	}
	return s.inner.WriteBatch(ctx, evs)
}

func TestWriterRetriesAFailedBatchUntilItIsWritten(t *testing.T) {
	s := sqliteLedger(t)
	fl := &flakyStore{inner: s}
	fl.fails.Store(3)
	w := NewWriter(fl, WriterConfig{BatchSize: 10, RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond, Journal: tempJournal(t)}, nil)
	for i := range 25 {
		ev := sampleEvent(i)
		if err := w.Append(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, s); n != 25 {
		t.Fatalf("ledger holds %d events, want 25", n)
	}
	if f := w.Stats().WriteFailures; f != 3 {
		t.Fatalf("write failures %d, want 3", f)
	}
}

func TestWriterWithoutAJournalCloseGivesUpAtItsDeadlineAndCountsWhatIsLost(t *testing.T) {
	fl := &flakyStore{}
	fl.fails.Store(1 << 40)
	w := NewWriter(fl, WriterConfig{BatchSize: 2, RetryMin: time.Millisecond, RetryMax: time.Millisecond, Journal: "none"}, nil)
	for i := range 5 {
		ev := sampleEvent(i)
		if err := w.Append(&ev); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := w.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "5 cost events not written") {
		t.Fatalf("Close = %v, want it to report 5 events not written", err)
	}
	var fe *FlushError
	if !errors.As(err, &fe) || fe.Lost != 5 || w.Stats().Dropped != 5 {
		t.Fatalf("Close = %#v, stats %+v: want 5 lost, counted as dropped", err, w.Stats())
	}
	ev := sampleEvent(9)
	if err := w.Append(&ev); !errors.Is(err, ErrLedgerClosed) {
		t.Fatalf("Append after Close = %v, want ErrLedgerClosed", err)
	}
}

func TestOpenLedgerOwnsItsStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	w, err := OpenLedger(context.Background(), "sqlite:"+path, WriterConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := sampleEvent(1)
	if err := w.Append(&ev); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := countEvents(t, s); n != 1 {
		t.Fatalf("reopened ledger holds %d events, want 1", n)
	}
}
