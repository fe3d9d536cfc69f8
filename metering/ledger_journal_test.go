package metering

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// readAll replays the whole journal, committing as it goes, and returns what it read and
// how many lines were unreadable.
func readAll(t *testing.T, j *journal) ([]Event, int) {
	t.Helper()
	var all []Event
	bad := 0
	for !j.empty() {
		evs, next, b, err := j.read(7)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 && b == 0 {
			j.commit(next, 0)
			break
		}
		all, bad = append(all, evs...), bad+b
		j.commit(next, len(evs)+b)
	}
	return all, bad
}

func sampleEvents(from, n int) []Event {
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = sampleEvent(from + i)
	}
	return evs
}

func TestJournalRoundTripsEventsAcrossAReopen(t *testing.T) {
	path := tempJournal(t)
	j, err := newJournal(path, DefaultJournalMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the journal file exists before anything was spilled (%v)", err)
	}
	want := sampleEvents(0, 20)
	want[3].Unpriced, want[4].Stream, want[5].User = true, true, "a \"quoted\"\nuser\x00"
	if err := j.append(want[:15]); err != nil {
		t.Fatal(err)
	}
	if err := j.append(want[15:]); err != nil {
		t.Fatal(err)
	}
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	j, err = newJournal(path, DefaultJournalMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	if n := j.pending.Load(); n != 20 {
		t.Fatalf("a reopened journal counts %d records, want 20", n)
	}
	got, bad := readAll(t, j)
	if bad != 0 || len(got) != len(want) {
		t.Fatalf("read %d events and %d bad lines, want %d and 0", len(got), bad, len(want))
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) {
			t.Fatalf("event %d time %v, want %v", i, got[i].Time, want[i].Time)
		}
		got[i].Time = want[i].Time
		if got[i] != want[i] {
			t.Fatalf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if st, _ := os.Stat(path); st.Size() != 0 || j.bytes.Load() != 0 {
		t.Fatalf("a fully replayed journal keeps %d bytes, want 0", st.Size())
	}
}

func TestJournalCutsATornTailAtOpenSoLaterRecordsStayReadable(t *testing.T) {
	path := tempJournal(t)
	j, _ := newJournal(path, DefaultJournalMaxBytes)
	if err := j.append(sampleEvents(0, 3)); err != nil {
		t.Fatal(err)
	}
	j.close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`1234abcd {"request_id":"torn`) // a crash in mid-write
	f.Close()
	j, err = newJournal(path, DefaultJournalMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	if err := j.append(sampleEvents(3, 2)); err != nil {
		t.Fatal(err)
	}
	got, bad := readAll(t, j)
	if len(got) != 5 || bad != 0 {
		t.Fatalf("read %d events, %d bad; want the 5 whole ones and no bad line", len(got), bad)
	}
}

func TestJournalSkipsACorruptRecordAndReportsIt(t *testing.T) {
	path := tempJournal(t)
	j, _ := newJournal(path, DefaultJournalMaxBytes)
	if err := j.append(sampleEvents(0, 3)); err != nil {
		t.Fatal(err)
	}
	j.close()
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 0x01 // flip a bit in the second record
	os.WriteFile(path, data, 0o600)
	j, _ = newJournal(path, DefaultJournalMaxBytes)
	defer j.close()
	got, bad := readAll(t, j)
	if len(got) != 2 || bad != 1 {
		t.Fatalf("read %d events, %d bad; want 2 and 1", len(got), bad)
	}
}

func TestJournalRefusesRecordsPastItsBound(t *testing.T) {
	j, _ := newJournal(tempJournal(t), 4096)
	defer j.close()
	n := 0
	for ; n < 1000; n++ {
		if err := j.append(sampleEvents(n, 1)); err != nil {
			if !errors.Is(err, errJournalFull) {
				t.Fatalf("append: %v, want errJournalFull", err)
			}
			break
		}
	}
	if n == 0 || n == 1000 || j.bytes.Load() > 4096 {
		t.Fatalf("%d records (%d bytes) taken by a 4096-byte journal", n, j.bytes.Load())
	}
	if got, _ := readAll(t, j); len(got) != n {
		t.Fatalf("read back %d of the %d records taken", len(got), n)
	}
	if err := j.append(sampleEvents(0, 1)); err != nil {
		t.Fatalf("an emptied journal refuses records: %v", err)
	}
}

func TestJournalIsHeldByOneWriterAtATime(t *testing.T) {
	path := tempJournal(t)
	a, _ := newJournal(path, DefaultJournalMaxBytes)
	if err := a.append(sampleEvents(0, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := newJournal(path, DefaultJournalMaxBytes); err == nil {
		t.Fatal("a second journal opened a file another one holds")
	}
	a.close()
	b, err := newJournal(path, DefaultJournalMaxBytes)
	if err != nil {
		t.Fatalf("the journal stays locked after close: %v", err)
	}
	b.close()
}

func TestJournalPathDefaultsNextToTheSQLiteFile(t *testing.T) {
	s := sqliteLedger(t)
	tests := []struct {
		name    string
		journal string
		store   Store
		want    string
	}{
		{"a SQLite ledger keeps it beside its file", "", s, s.path + ".spill"},
		{"a store without a file keeps it in the working directory", "", &flakyStore{}, "switchyard-ledger.spill"},
		{"a configured path wins", "/var/lib/sy/../sy/j.spill", s, "/var/lib/sy/j.spill"},
		{"none keeps no journal", "none", s, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := WriterConfig{Journal: tt.journal}
			if got := c.JournalPath(tt.store); got != tt.want {
				t.Fatalf("JournalPath = %q, want %q", got, tt.want)
			}
		})
	}
	if filepath.Dir(s.DefaultJournalPath()) != filepath.Dir(s.path) {
		t.Fatal("the default journal is not in the ledger's directory")
	}
}
