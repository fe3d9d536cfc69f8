package metering

import (
	"context"
	"strings"
	"testing"
)

func TestLedgerOpenErrorsSayMeteringOnce(t *testing.T) {
	dir := t.TempDir() // a directory is not a database file: the migration fails
	_, err := OpenStore(context.Background(), "sqlite:"+dir)
	if err == nil {
		t.Fatal("opened a directory as a ledger")
	}
	if n := strings.Count(err.Error(), "metering:"); n != 1 {
		t.Fatalf("error %q says metering: %d times, want once", err, n)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %q does not name the ledger %s", err, dir)
	}
}
