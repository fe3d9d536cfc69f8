package metering

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"
)

// postgresOutageDB creates a database of its own on the test server (dropped afterwards)
// and opens a ledger in it. down makes the real server refuse the ledger: the database
// stops accepting connections and its backends are terminated, so in-flight and new
// writes fail as they would with the server stopped, while other tests' databases are
// untouched. up lets connections in again. It skips when SWITCHYARD_TEST_POSTGRES is unset.
func postgresOutageDB(t *testing.T) (s *SQLStore, down, up func()) {
	t.Helper()
	base := os.Getenv("SWITCHYARD_TEST_POSTGRES")
	if base == "" {
		t.Skip("SWITCHYARD_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("sy_outage_%d_%d", os.Getpid(), time.Now().UnixNano())
	exec := func(q string) {
		t.Helper()
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE DATABASE " + name)
	down = func() {
		exec("ALTER DATABASE " + name + " WITH ALLOW_CONNECTIONS false")
		exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "'")
	}
	up = func() { exec("ALTER DATABASE " + name + " WITH ALLOW_CONNECTIONS true") }
	t.Cleanup(func() {
		admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck // best effort
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	s, err = OpenPostgres(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, down, up
}

func TestWriterKeepsServingWhilePostgresRefusesConnectionsAndRecoversEveryEvent(t *testing.T) {
	s, down, up := postgresOutageDB(t)
	w := NewWriter(s, WriterConfig{QueueSize: 256, BatchSize: 64, FlushInterval: 10 * time.Millisecond,
		WriteTimeout: 2 * time.Second, RetryMin: 10 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Journal: tempJournal(t)}, nil)
	outageUnderLoad(t, w, s, down, up)
}

func TestWriterLeavesTheJournalWhenPostgresIsDownAtCloseAndTheNextStartWritesIt(t *testing.T) {
	s, down, up := postgresOutageDB(t)
	path := tempJournal(t)
	cfg := WriterConfig{BatchSize: 32, RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond, Journal: path}
	a := NewWriter(s, cfg, nil)
	down()
	for i := range 1000 {
		ev := sampleEvent(i)
		if err := a.Append(&ev); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := a.Close(ctx)
	t.Logf("Close with Postgres refusing connections: %v", err)
	if st := a.Stats(); st.Journaled != 1000 || st.Dropped != 0 {
		t.Fatalf("stats %+v after Close, want all 1000 events in the journal", st)
	}
	up()
	b := NewWriter(s, cfg, nil)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, s); n != 1000 {
		t.Fatalf("the next start wrote %d events to Postgres, want 1000", n)
	}
}
