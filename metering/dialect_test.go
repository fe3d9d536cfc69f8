package metering

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestLedgerRecordsTheDialectAndAnEmptyOneIsChat(t *testing.T) {
	tests := []struct {
		name, dialect, want string
	}{
		{"an event without a dialect is stored as chat", "", DialectChat},
		{"a chat event stays chat", DialectChat, DialectChat},
		{"a Responses API event stays responses", DialectResponses, DialectResponses},
		{"a Messages API event stays messages", DialectMessages, DialectMessages},
	}
	eachLedger(t, func(t *testing.T, s *SQLStore) {
		ctx := context.Background()
		at := day("2026-06-01")
		var evs []Event
		for i, tt := range tests {
			ev := sampleEvent(i)
			ev.RequestID, ev.Time, ev.Dialect = tt.name, at.Add(time.Duration(i)*time.Second), tt.dialect
			evs = append(evs, ev)
		}
		if err := s.WriteBatch(ctx, evs); err != nil {
			t.Fatal(err)
		}
		got, err := s.Events(ctx, at, at.Add(time.Minute))
		if err != nil || len(got) != len(tests) {
			t.Fatalf("Events = %d events, %v", len(got), err)
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got[i].Dialect != tt.want {
					t.Errorf("dialect %q read back as %q, want %q", tt.dialect, got[i].Dialect, tt.want)
				}
			})
		}
	})
}

func TestSpendGroupedByDialectSplitsTheAPIs(t *testing.T) {
	eachLedger(t, func(t *testing.T, s *SQLStore) {
		ctx := context.Background()
		at := day("2026-06-01")
		var evs []Event
		for i, d := range []string{"", DialectChat, DialectResponses, DialectResponses, DialectMessages, DialectMessages, DialectMessages} {
			ev := sampleEvent(i)
			ev.RequestID, ev.Time, ev.Dialect = "d"+itoa(int64(i)), at.Add(time.Duration(i)*time.Second), d
			evs = append(evs, ev)
		}
		if err := s.WriteBatch(ctx, evs); err != nil {
			t.Fatal(err)
		}
		q, err := ExportRequest{From: "2026-06-01", To: "2026-06-02", GroupBy: "dialect", Now: at}.Parse()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := s.Export(ctx, q, &out); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var got []string
		for _, l := range lines {
			f := strings.Split(l, ",")
			got = append(got, strings.Join(f[:3], ","))
		}
		want := []string{"row,dialect,requests", "group,chat,2", "group,messages,3", "group,responses,2", "total,,7"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("spend by dialect:\n got %v\nwant %v\n%s", got, want, out.String())
		}
	})
}

func TestMigrationGivesOlderEventsTheChatDialect(t *testing.T) {
	eachLedger(t, func(t *testing.T, s *SQLStore) {
		ctx := context.Background()
		// Take the ledger back to version 2, with one event written then.
		for _, stmt := range []string{`ALTER TABLE cost_events DROP COLUMN dialect`, `DELETE FROM schema_migrations WHERE version = 3`} {
			if _, err := s.db.ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		ev := sampleEvent(1)
		var old []string
		var args []any
		for i, v := range appendEventArgs(nil, &ev) {
			if eventColumns[i] != "dialect" {
				old, args = append(old, eventColumns[i]), append(args, v)
			}
		}
		q := `INSERT INTO cost_events (` + strings.Join(old, ", ") + `) VALUES (` +
			strings.TrimSuffix(strings.Repeat("?, ", len(old)), ", ") + `)`
		if _, err := s.db.ExecContext(ctx, s.d.rebind(q), args...); err != nil {
			t.Fatal(err)
		}
		if err := s.migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
			t.Fatalf("schema version %d, %v; want %d", v, err, len(migrations))
		}
		got, err := s.Events(ctx, ev.Time, ev.Time.Add(time.Second))
		if err != nil || len(got) != 1 {
			t.Fatalf("Events = %v, %v", got, err)
		}
		if got[0].Dialect != DialectChat {
			t.Errorf("an event from before the migration has dialect %q, want chat", got[0].Dialect)
		}
	})
}
