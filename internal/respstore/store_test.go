package respstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stores returns the store in a fresh SQLite file and, when the test services are up
// (SWITCHYARD_TEST_POSTGRES), in a fresh Postgres database.
func stores(t *testing.T) map[string]func() *SQL {
	t.Helper()
	out := map[string]func() *SQL{}
	dir := t.TempDir()
	out["sqlite"] = func() *SQL { return open(t, "sqlite:"+filepath.Join(dir, "ledger.db")) }
	if base := os.Getenv("SWITCHYARD_TEST_POSTGRES"); base != "" {
		name := fmt.Sprintf("respstore_%d", time.Now().UnixNano())
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatalf("create database: %v", err)
		}
		t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); admin.Close() })
		url := withDB(base, name)
		out["postgres"] = func() *SQL { return open(t, url) }
	}
	return out
}

// withDB replaces the database name of a postgres URL.
func withDB(url, name string) string {
	q := ""
	if i := strings.IndexByte(url, '?'); i >= 0 {
		url, q = url[:i], url[i:]
	}
	if i := strings.LastIndexByte(url, '/'); i > len("postgres://") {
		url = url[:i]
	}
	return url + "/" + name + q
}

func open(t *testing.T, dsn string) *SQL {
	t.Helper()
	s, err := Open(context.Background(), dsn, Config{Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoredResponses(t *testing.T) {
	ctx := context.Background()
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			a, b := mk(), mk() // two replicas on one database
			rec := Record{ID: "resp_1", Owner: "key-a", Response: []byte(`{"id":"resp_1"}`),
				Input: []byte(`[{"role":"user","content":"hi"}]`), History: []byte(`[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]`)}
			if err := a.Put(ctx, rec); err != nil {
				t.Fatal(err)
			}
			t.Run("another replica reads what one stored", func(t *testing.T) {
				got, err := b.Get(ctx, "key-a", "resp_1")
				if err != nil || string(got.Response) != `{"id":"resp_1"}` || string(got.History) != string(rec.History) {
					t.Fatalf("got %+v, %v", got, err)
				}
			})
			t.Run("another key is told it does not exist", func(t *testing.T) {
				if _, err := b.Get(ctx, "key-b", "resp_1"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v", err)
				}
				if err := b.Delete(ctx, "key-b", "resp_1"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("delete by another key: %v", err)
				}
				if err := b.Put(ctx, Record{ID: "resp_1", Owner: "key-b", Response: []byte(`{"stolen":true}`)}); err != nil {
					t.Fatal(err)
				}
				if got, _ := a.Get(ctx, "key-a", "resp_1"); string(got.Response) != `{"id":"resp_1"}` {
					t.Fatalf("another key overwrote the response: %s", got.Response)
				}
			})
			t.Run("retention deletes expired responses", func(t *testing.T) {
				old := Record{ID: "resp_old", Owner: "key-a", Created: time.Now().Add(-2 * time.Hour), Response: []byte(`{}`)}
				if err := a.Put(ctx, old); err != nil {
					t.Fatal(err)
				}
				if _, err := a.Get(ctx, "key-a", "resp_old"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("an expired response is still served: %v", err)
				}
				n, err := a.Purge(ctx)
				if err != nil || n != 1 {
					t.Fatalf("purged %d, %v; want 1", n, err)
				}
			})
			t.Run("the owner deletes it", func(t *testing.T) {
				if err := a.Delete(ctx, "key-a", "resp_1"); err != nil {
					t.Fatal(err)
				}
				if _, err := b.Get(ctx, "key-a", "resp_1"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("after delete: %v", err)
				}
			})
		})
	}
}
