package metering

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Ledger records cost events durably. Append must not lose an accepted event: it either
// stores it (eventually, for batching implementations) or returns an error.
type Ledger interface {
	// Append records ev. Implementations copy *ev, so the caller may reuse the Event at
	// once, but the copy shares its strings: they must be real immutable strings, never
	// unsafe views of pooled request buffers.
	Append(ev *Event) error
	// Close stores everything accepted so far and releases the ledger, within ctx.
	Close(ctx context.Context) error
}

// Store writes batches of events. A batch is written atomically or not at all, and
// writing an event whose RequestID is already stored is a no-op (idempotency), so a
// batch retried after an ambiguous failure never duplicates rows.
type Store interface {
	WriteBatch(ctx context.Context, events []Event) error
}

// LedgerURL is a parsed ledger location.
type LedgerURL struct {
	// Driver is "sqlite" or "postgres".
	Driver string
	// DSN is the driver's connection string: a file path for sqlite, the URL for postgres.
	DSN string
}

// ParseLedgerURL parses "sqlite:PATH" (also "sqlite://PATH" and "sqlite:///abs/path") or
// "postgres://…" / "postgresql://…" (a libpq URL, with sslmode, search_path and other
// parameters passed to the driver).
func ParseLedgerURL(s string) (LedgerURL, error) {
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return LedgerURL{Driver: "postgres", DSN: s}, nil
	case strings.HasPrefix(s, "sqlite:"):
		path := strings.TrimPrefix(s, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return LedgerURL{}, errors.New("ledger url: sqlite: needs a file path (sqlite:/var/lib/switchyard/ledger.db)")
		}
		return LedgerURL{Driver: "sqlite", DSN: path}, nil
	}
	return LedgerURL{}, fmt.Errorf("ledger url %q: want sqlite:PATH or postgres://…", redactURL(s))
}

// redactURL hides a password in a URL for error messages.
func redactURL(s string) string {
	at := strings.LastIndexByte(s, '@')
	scheme := strings.Index(s, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return s
	}
	user := s[scheme+3 : at]
	if i := strings.IndexByte(user, ':'); i >= 0 {
		return s[:scheme+3] + user[:i] + ":xxxxx" + s[at:]
	}
	return s
}

// OpenStore opens (creating and migrating as needed) the SQL store at url.
func OpenStore(ctx context.Context, url string) (*SQLStore, error) {
	u, err := ParseLedgerURL(url)
	if err != nil {
		return nil, err
	}
	switch u.Driver {
	case "sqlite":
		return OpenSQLite(ctx, u.DSN)
	default:
		return OpenPostgres(ctx, u.DSN)
	}
}

// OpenLedger opens the store at url and returns a Writer over it that owns the store:
// closing the writer flushes it and then closes the store.
func OpenLedger(ctx context.Context, url string, cfg WriterConfig, log *slog.Logger) (*Writer, error) {
	s, err := OpenStore(ctx, url)
	if err != nil {
		return nil, err
	}
	w := NewWriter(s, cfg, log)
	w.closer = s
	return w, nil
}
