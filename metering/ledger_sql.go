package metering

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SQLStore is the cost ledger in a SQL database: SQLite (embedded) or Postgres (shared).
// Both use the same schema and, apart from placeholders and locking, the same SQL. It is
// safe for concurrent use; the Writer is its only writer in a process.
type SQLStore struct {
	d dialect
	// db writes; rdb reads (exports). They are the same pool for Postgres; for SQLite db
	// is one connection (SQLite has one writer) and rdb a small read-only pool.
	db, rdb *sql.DB
	// inserts caches insertSQL by row count (batches are mostly full-sized).
	inserts sync.Map
	// stmts caches the prepared multi-row inserts by row count, so a steady stream of
	// batches is not parsed again for each one (parsing dominated the write cost).
	stmts sync.Map
	// path is the SQLite file ("" for Postgres); the writer's spill journal goes next to it.
	path string
}

var _ Store = (*SQLStore)(nil)

// dialect holds what differs between the databases.
type dialect struct {
	name string
	// dollar is true for $1-style placeholders (Postgres), false for ? (SQLite).
	dollar bool
	// migrateLock is run first in the migration transaction to serialise migrations across
	// processes ("" when the transaction itself does, as SQLite's BEGIN IMMEDIATE does).
	migrateLock string
	// maxRows bounds the rows of one multi-row INSERT (placeholder limits).
	maxRows int
}

// rebind rewrites ? placeholders for the dialect. Our SQL has no ? in literals.
func (d dialect) rebind(q string) string {
	if !d.dollar {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// eventColumns are cost_events' columns in insert order.
var eventColumns = []string{
	"request_id", "ts_us", "day", "api_key", "team", "feature", "user_id", "route",
	"policy_version", "prompt_id", "prompt_version", "requested_model", "served_model",
	"provider", "cache_outcome", "input_tokens", "cached_input_tokens", "cache_write_tokens",
	"output_tokens", "reasoning_tokens", "usage_source", "price_version", "cost_pusd",
	"counterfactual_pusd", "savings_pusd", "unpriced", "latency_ms", "ttft_ms", "status",
	"error_code", "stream", "savings_source", "dialect",
}

// migration is one schema change. Applied migrations are recorded in schema_migrations;
// statements are written to be harmless if repeated.
type migration struct {
	version int
	name    string
	stmts   []string
}

// migrations are applied in order; never edit one that has shipped, append a new one.
// Money is stored in integer picodollars (BIGINT), day as the UTC date 'YYYY-MM-DD' so
// that grouping by day is the same SQL on both databases.
var migrations = []migration{
	{1, "cost events", []string{
		`CREATE TABLE IF NOT EXISTS cost_events (
			request_id          TEXT     NOT NULL PRIMARY KEY,
			ts_us               BIGINT   NOT NULL,
			day                 TEXT     NOT NULL,
			api_key             TEXT     NOT NULL,
			team                TEXT     NOT NULL,
			feature             TEXT     NOT NULL,
			user_id             TEXT     NOT NULL,
			route               TEXT     NOT NULL,
			policy_version      TEXT     NOT NULL,
			prompt_id           TEXT     NOT NULL,
			prompt_version      TEXT     NOT NULL,
			requested_model     TEXT     NOT NULL,
			served_model        TEXT     NOT NULL,
			provider            TEXT     NOT NULL,
			cache_outcome       TEXT     NOT NULL,
			input_tokens        BIGINT   NOT NULL,
			cached_input_tokens BIGINT   NOT NULL,
			cache_write_tokens  BIGINT   NOT NULL,
			output_tokens       BIGINT   NOT NULL,
			reasoning_tokens    BIGINT   NOT NULL,
			usage_source        TEXT     NOT NULL,
			price_version       TEXT     NOT NULL,
			cost_pusd           BIGINT   NOT NULL,
			counterfactual_pusd BIGINT   NOT NULL,
			savings_pusd        BIGINT   NOT NULL,
			unpriced            SMALLINT NOT NULL,
			latency_ms          BIGINT   NOT NULL,
			ttft_ms             BIGINT   NOT NULL,
			status              INTEGER  NOT NULL,
			error_code          TEXT     NOT NULL,
			stream              SMALLINT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS cost_events_ts ON cost_events (ts_us)`,
	}},
	// Events written before this migration did not record a fallback: a saving or cost
	// from another model than the requested one is backfilled as routing, the only
	// reading the old numbers had.
	{2, "savings source", []string{
		`ALTER TABLE cost_events ADD COLUMN savings_source TEXT NOT NULL DEFAULT ''`,
		`UPDATE cost_events SET savings_source = CASE
			WHEN cache_outcome = 'hit' THEN 'exact_cache'
			WHEN cache_outcome = 'semantic' THEN 'semantic_cache'
			WHEN cache_outcome = 'coalesced' THEN 'coalescing'
			WHEN route = 'batch-lane' THEN 'batch_lane'
			WHEN served_model <> requested_model THEN 'routing'
			ELSE 'none' END
		WHERE savings_source = ''`,
	}},
	// Events written before this migration came in through Chat Completions (or the other
	// OpenAI endpoints, which are chat too): the Responses and Messages APIs record theirs.
	{3, "dialect", []string{
		`ALTER TABLE cost_events ADD COLUMN dialect TEXT NOT NULL DEFAULT 'chat'`,
	}},
}

// migrate creates schema_migrations and applies pending migrations in one transaction,
// serialised across processes. Its errors carry no package prefix: the open functions
// wrap them with the ledger's name ("metering: sqlite ledger PATH: migrate: …").
func (s *SQLStore) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if s.d.migrateLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.migrateLock); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version       INTEGER NOT NULL PRIMARY KEY,
		name          TEXT    NOT NULL,
		applied_at_us BIGINT  NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range migrations {
		var n int
		if err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if n > 0 {
			continue
		}
		for _, stmt := range m.stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO schema_migrations (version, name, applied_at_us) VALUES (?, ?, ?)`),
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("migration %d: %w", m.version, err)
		}
	}
	return tx.Commit()
}

// SchemaVersion returns the highest applied migration.
func (s *SQLStore) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

// WriteBatch inserts events in one transaction, skipping request ids already stored.
func (s *SQLStore) WriteBatch(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	// Rows go in chunks of power-of-two sizes, so a handful of prepared statements serve
	// every batch size. They are prepared (or found) before the transaction: SQLite has
	// one writer connection, which the transaction holds until it ends.
	var sizes []int
	var stmts []*sql.Stmt
	for left := len(events); left > 0; {
		n := chunkSize(left, s.d.maxRows)
		st, err := s.insertStmt(ctx, n)
		if err != nil {
			return fmt.Errorf("metering: ledger write: %w", err)
		}
		sizes, stmts = append(sizes, n), append(stmts, st)
		left -= n
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("metering: ledger write: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	args := make([]any, 0, sizes[0]*len(eventColumns))
	start := 0
	for i, n := range sizes {
		args = args[:0]
		for j := start; j < start+n; j++ {
			args = appendEventArgs(args, &events[j])
		}
		start += n
		if _, err := tx.StmtContext(ctx, stmts[i]).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("metering: ledger write: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("metering: ledger commit: %w", err)
	}
	return nil
}

// chunkSize is the largest power of two no more than left and max.
func chunkSize(left, max int) int {
	n := 1
	for n*2 <= left && n*2 <= max {
		n *= 2
	}
	return n
}

// insertStmt returns the prepared insert for n events, preparing it once.
func (s *SQLStore) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(n); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, s.insertSQL(n))
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(n, st); loaded {
		_ = st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// insertSQL returns the multi-row insert for n events.
func (s *SQLStore) insertSQL(n int) string {
	if q, ok := s.inserts.Load(n); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO cost_events (")
	b.WriteString(strings.Join(eventColumns, ", "))
	b.WriteString(") VALUES ")
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(eventColumns)), ", ") + ")"
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ON CONFLICT (request_id) DO NOTHING")
	q := s.d.rebind(b.String())
	s.inserts.Store(n, q)
	return q
}

// appendEventArgs appends ev's column values in eventColumns order. An empty ServedModel
// is stored as the requested model (it means the requested model served), an empty
// Dialect as chat.
func appendEventArgs(args []any, ev *Event) []any {
	t := ev.Time.UTC()
	served := ev.ServedModel
	if served == "" {
		served = ev.RequestedModel
	}
	return append(args,
		ev.RequestID, t.UnixMicro(), t.Format(time.DateOnly), ev.Key, ev.Team, ev.Feature, ev.User, ev.Route,
		ev.PolicyVersion, ev.PromptID, ev.PromptVersion, ev.RequestedModel, served,
		ev.Provider, string(orCache(ev.Cache)), ev.Tokens.Input, ev.Tokens.CachedInput, ev.Tokens.CacheWrite,
		ev.Tokens.Output, ev.Tokens.Reasoning, string(orSource(ev.UsageSource)), ev.PriceVersion, int64(ev.Cost),
		int64(ev.Counterfactual), int64(ev.Savings), boolInt(ev.Unpriced), ev.LatencyMS, ev.TTFTMS, int64(ev.Status),
		ev.ErrorCode, boolInt(ev.Stream), string(orSavings(ev.SavingsSource)), orChat(ev.Dialect),
	)
}

// orChat is the stored dialect: an empty one is chat.
func orChat(d string) string {
	if d == "" {
		return DialectChat
	}
	return d
}

func orSavings(s SavingsSource) SavingsSource {
	if s == "" {
		return SavingsNone
	}
	return s
}

func orCache(c CacheOutcome) CacheOutcome {
	if c == "" {
		return CacheNone
	}
	return c
}

func orSource(s UsageSource) UsageSource {
	if s == "" {
		return UsageMeasured
	}
	return s
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Events reads the events with from <= Time < to, ordered by time and request id. It is
// meant for tests, audits and re-pricing, not for the request path.
func (s *SQLStore) Events(ctx context.Context, from, to time.Time) ([]Event, error) {
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(`SELECT `+strings.Join(eventColumns, ", ")+
		` FROM cost_events WHERE ts_us >= ? AND ts_us < ? ORDER BY ts_us, request_id`), from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		var ts, status int64
		var day, cache, source, savings string
		var unpriced, stream int64
		if err := rows.Scan(&ev.RequestID, &ts, &day, &ev.Key, &ev.Team, &ev.Feature, &ev.User, &ev.Route,
			&ev.PolicyVersion, &ev.PromptID, &ev.PromptVersion, &ev.RequestedModel, &ev.ServedModel,
			&ev.Provider, &cache, &ev.Tokens.Input, &ev.Tokens.CachedInput, &ev.Tokens.CacheWrite,
			&ev.Tokens.Output, &ev.Tokens.Reasoning, &source, &ev.PriceVersion, (*int64)(&ev.Cost),
			(*int64)(&ev.Counterfactual), (*int64)(&ev.Savings), &unpriced, &ev.LatencyMS, &ev.TTFTMS, &status,
			&ev.ErrorCode, &stream, &savings, &ev.Dialect); err != nil {
			return nil, err
		}
		ev.Time = time.UnixMicro(ts).UTC()
		ev.Cache, ev.UsageSource, ev.SavingsSource = CacheOutcome(cache), UsageSource(source), SavingsSource(savings)
		ev.Fallback = ev.SavingsSource == SavingsFallback
		ev.Unpriced, ev.Stream, ev.Status = unpriced != 0, stream != 0, int(status)
		out = append(out, ev)
	}
	return out, rows.Err()
}

// DefaultJournalPath is where a Writer over this store keeps its spill journal by
// default: the SQLite file's path with ".spill" appended, or "" for Postgres (the writer
// then uses the working directory).
func (s *SQLStore) DefaultJournalPath() string {
	if s.path == "" {
		return ""
	}
	return s.path + ".spill"
}

// Close closes the database handles.
func (s *SQLStore) Close() error {
	s.stmts.Range(func(_, st any) bool {
		_ = st.(*sql.Stmt).Close()
		return true
	})
	err := s.db.Close()
	if s.rdb != s.db {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}
