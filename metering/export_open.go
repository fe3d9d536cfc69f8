package metering

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// NoLedgerError reports an export asked of a SQLite ledger file that does not exist:
// nothing was ever metered there (or the export looks in the wrong directory). An export
// never creates a ledger.
type NoLedgerError struct {
	// Path is the file looked for, as given.
	Path string
}

func (e *NoLedgerError) Error() string {
	return fmt.Sprintf("metering: no ledger at %s (no such file; an export never creates one)", e.Path)
}

// ExportLedgerURL turns what a user names as the ledger to export into a ledger URL:
// sqlite:PATH and postgres:// URLs as they are, anything else as the path of a SQLite
// file. "none" and "" stay as they are.
func ExportLedgerURL(s string) string {
	if s == "" || s == "none" || strings.HasPrefix(s, "sqlite:") || strings.Contains(s, "://") {
		return s
	}
	return "sqlite:" + s
}

// OpenExport opens the ledger at url (or a bare SQLite path, see ExportLedgerURL) for an
// export. A SQLite file must already exist (NoLedgerError) and be a file; a ledger of an
// older schema is migrated as the gateway would.
func OpenExport(ctx context.Context, url string) (*SQLStore, error) {
	url = ExportLedgerURL(url)
	if url == "none" {
		return nil, errors.New("metering: the ledger is none (metering.ledger: none keeps no cost events)")
	}
	u, err := ParseLedgerURL(url)
	if err != nil {
		return nil, fmt.Errorf("metering: %w", err)
	}
	if u.Driver == "sqlite" {
		st, err := os.Stat(u.DSN)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, &NoLedgerError{Path: u.DSN}
		case err != nil:
			return nil, fmt.Errorf("metering: sqlite ledger %s: %w", u.DSN, err)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("metering: sqlite ledger %s is not a file", u.DSN)
		}
	}
	return OpenStore(ctx, url)
}
