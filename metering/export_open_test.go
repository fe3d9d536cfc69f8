package metering

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenExportNeverCreatesALedger(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	existing := filepath.Join(dir, "ledger.db")
	s, err := OpenStore(ctx, "sqlite:"+existing)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	missing := filepath.Join(dir, "missing.db")
	tests := []struct {
		name    string
		url     string
		wantErr bool
		noFile  bool
	}{
		{"a sqlite URL to an existing file opens", "sqlite:" + existing, false, false},
		{"a bare path to an existing file opens", existing, false, false},
		{"a missing file is a NoLedgerError", "sqlite:" + missing, true, true},
		{"a missing bare path is a NoLedgerError", missing, true, true},
		{"a directory is an error", dir, true, false},
		{"none is an error", "none", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := OpenExport(ctx, tt.url)
			if s != nil {
				s.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("OpenExport(%q): %v", tt.url, err)
			}
			var nl *NoLedgerError
			if tt.noFile != errors.As(err, &nl) {
				t.Fatalf("OpenExport(%q): %v, NoLedgerError %v, want %v", tt.url, err, errors.As(err, &nl), tt.noFile)
			}
			if _, statErr := os.Stat(missing); !errors.Is(statErr, os.ErrNotExist) {
				t.Fatalf("the export created %s", missing)
			}
		})
	}
}
