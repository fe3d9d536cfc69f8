package metering

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// postgresDialect: $n placeholders; a transaction-scoped advisory lock serialises
// migrations when several replicas start at once; 65535 parameters per statement bound
// the rows of one insert (1985 rows of 33 columns).
var postgresDialect = dialect{
	name:        "postgres",
	dollar:      true,
	migrateLock: "SELECT pg_advisory_xact_lock(5379767179347519873)", // "switchyard ledger"
	maxRows:     65535 / len(eventColumns),
}

// OpenPostgres connects to the Postgres ledger at url (a libpq URL; search_path and other
// runtime parameters may be given as query parameters) and applies pending migrations.
func OpenPostgres(ctx context.Context, url string) (*SQLStore, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("metering: open postgres ledger: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(2)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("metering: postgres ledger %s: %w", redactURL(url), err)
	}
	s := &SQLStore{d: postgresDialect, db: db, rdb: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("metering: postgres ledger %s: %w", redactURL(url), err)
	}
	return s, nil
}
