package testutil

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// PostgresSchema returns a URL of the test PostgreSQL database (SWITCHYARD_TEST_POSTGRES,
// set by scripts/test-services.sh) whose search_path is a fresh schema of its own, dropped
// at cleanup, so tests never see each other's tables. It skips the test when the variable
// is unset.
func PostgresSchema(t testing.TB, prefix string) string {
	t.Helper()
	base := os.Getenv("SWITCHYARD_TEST_POSTGRES")
	if base == "" {
		t.Skip("SWITCHYARD_TEST_POSTGRES is not set (make test sets it)")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := prefix + "_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, _ := sql.Open("pgx", base)
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}
