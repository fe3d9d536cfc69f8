// Package respstore keeps the Responses API's stored responses: each response object with
// its input items and the conversation that produced it, so that a later request can
// continue it (previous_response_id) and a client can retrieve or delete it. It lives in
// the same database as the cost ledger — SQLite for the embedded default, Postgres when
// replicas share one — so every replica sees what any replica stored. A response belongs
// to the gateway key that created it: another key is told it does not exist.
package respstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver (pure Go)
)

// ErrNotFound is the error for a response that does not exist, has expired, or belongs
// to another gateway key: the three are not told apart.
var ErrNotFound = errors.New("respstore: no such response")

// Config tunes the store. Defaults are applied in WithDefaults only.
type Config struct {
	// Retention is how long a stored response is kept, from its creation [720h, 30 days].
	Retention time.Duration `yaml:"retention"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	return c
}

// Record is one stored response.
type Record struct {
	// ID is the response's id (resp_…).
	ID string
	// Owner is the gateway key that created it.
	Owner string
	// Created is when it was stored.
	Created time.Time
	// Response is the response object, as the client received it (JSON).
	Response []byte
	// Input is the request's input items, as a JSON array, for input_items.
	Input []byte
	// History is the whole conversation up to and including this response's output, as a
	// JSON array of Chat Completions messages: what a translated continuation replays.
	History []byte
	// Upstream is the provider's own response id when a native provider made it (the
	// continuation passes it through); empty when translated.
	Upstream string
}

// SQL is the store over database/sql. Safe for concurrent use.
type SQL struct {
	db        *sql.DB
	pg        bool
	retention time.Duration
	now       func() time.Time
}

// Open opens the store in the ledger's database: "sqlite:PATH" or a postgres:// URL.
func Open(ctx context.Context, dsn string, cfg Config) (*SQL, error) {
	cfg = cfg.WithDefaults()
	s := &SQL{retention: cfg.Retention, now: time.Now}
	var err error
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		s.db, err = sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
		if err == nil {
			s.db.SetMaxOpenConns(1) // SQLite has one writer; reads are quick point lookups
		}
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s.pg = true
		s.db, err = sql.Open("pgx", dsn)
	default:
		return nil, fmt.Errorf("respstore: the response store needs a sqlite: or postgres:// ledger, not %q", redactDSN(dsn))
	}
	if err != nil {
		return nil, fmt.Errorf("respstore: open: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("respstore: %w", err)
	}
	return s, nil
}

// redactDSN drops a URL's password for an error message.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(a ledger URL that does not parse)"
}

const schema = `CREATE TABLE IF NOT EXISTS stored_responses (
	id TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	created_us BIGINT NOT NULL,
	expires_us BIGINT NOT NULL,
	upstream_id TEXT NOT NULL DEFAULT '',
	response TEXT NOT NULL,
	input TEXT NOT NULL,
	history TEXT NOT NULL
)`

func (s *SQL) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	_, err := s.db.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS stored_responses_expires ON stored_responses (expires_us)`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// q rewrites ? placeholders as $1… for Postgres.
func (s *SQL) q(query string) string {
	if !s.pg {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Put stores r, replacing a response with the same id and owner.
func (s *SQL) Put(ctx context.Context, r Record) error {
	if r.Created.IsZero() {
		r.Created = s.now()
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO stored_responses (id, owner, created_us, expires_us, upstream_id, response, input, history)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET response = excluded.response, input = excluded.input, history = excluded.history,
		upstream_id = excluded.upstream_id WHERE stored_responses.owner = excluded.owner`),
		r.ID, r.Owner, r.Created.UnixMicro(), r.Created.Add(s.retention).UnixMicro(), r.Upstream,
		string(r.Response), string(orEmpty(r.Input)), string(orEmpty(r.History)))
	if err != nil {
		return fmt.Errorf("respstore: put %s: %w", r.ID, err)
	}
	return nil
}

func orEmpty(b []byte) []byte {
	if len(b) == 0 {
		return []byte("[]")
	}
	return b
}

// Get returns owner's response id, or ErrNotFound.
func (s *SQL) Get(ctx context.Context, owner, id string) (Record, error) {
	r := Record{ID: id, Owner: owner}
	var created int64
	var resp, input, hist string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT created_us, upstream_id, response, input, history FROM stored_responses
		WHERE id = ? AND owner = ? AND expires_us > ?`), id, owner, s.now().UnixMicro()).
		Scan(&created, &r.Upstream, &resp, &input, &hist)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("respstore: get %s: %w", id, err)
	}
	r.Created = time.UnixMicro(created)
	r.Response, r.Input, r.History = []byte(resp), []byte(input), []byte(hist)
	return r, nil
}

// Delete removes owner's response id; ErrNotFound when there is none.
func (s *SQL) Delete(ctx context.Context, owner, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM stored_responses WHERE id = ? AND owner = ? AND expires_us > ?`),
		id, owner, s.now().UnixMicro())
	if err != nil {
		return fmt.Errorf("respstore: delete %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Purge deletes the responses past their retention and returns how many went.
func (s *SQL) Purge(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM stored_responses WHERE expires_us <= ?`), s.now().UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("respstore: purge: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Close closes the database handle.
func (s *SQL) Close() error { return s.db.Close() }
