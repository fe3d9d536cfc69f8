package metering

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go)
)

// sqliteDialect: ? placeholders; BEGIN IMMEDIATE (the _txlock DSN option) takes the write
// lock up front, which also serialises migrations across processes; 32766 host parameters
// per statement bound the rows of one insert (992 rows of 33 columns).
var sqliteDialect = dialect{name: "sqlite", maxRows: 32766 / len(eventColumns)}

// sqlitePragmas are applied to every connection: write-ahead logging (readers never block
// the writer), synchronous=NORMAL (a commit survives a process crash; only an OS crash or
// power loss can roll back the last transactions), and a busy timeout so a second process
// waits for the lock instead of failing.
const sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_txlock=immediate"

// OpenSQLite opens (creating if needed) the SQLite ledger file at path and applies
// pending migrations. Writes go through one connection; exports read through a separate
// read-only pool.
func OpenSQLite(ctx context.Context, path string) (*SQLStore, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("metering: sqlite ledger path %q must not contain ? or #", path)
	}
	db, err := sql.Open("sqlite", path+"?"+sqlitePragmas)
	if err != nil {
		return nil, fmt.Errorf("metering: open sqlite ledger: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	s := &SQLStore{d: sqliteDialect, db: db, rdb: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("metering: sqlite ledger %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("metering: open sqlite ledger: %w", err)
	}
	rdb.SetMaxOpenConns(4)
	s.rdb = rdb
	return s, nil
}
