package metering

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// switchStore fails every write while down is set, else passes it to inner.
type switchStore struct {
	inner Store
	down  atomic.Bool
}

func (s *switchStore) WriteBatch(ctx context.Context, evs []Event) error {
	if s.down.Load() {
		return errors.New("connection refused")
	}
	return s.inner.WriteBatch(ctx, evs)
}

var _ Store = (*switchStore)(nil)

// latencies counts Append calls by how long they took.
type latencies struct {
	under10us, under100us, under1ms, over1ms int
	max                                      time.Duration
}

func (l *latencies) add(d time.Duration) {
	switch {
	case d < 10*time.Microsecond:
		l.under10us++
	case d < 100*time.Microsecond:
		l.under100us++
	case d < time.Millisecond:
		l.under1ms++
	default:
		l.over1ms++
	}
	l.max = max(l.max, d)
}

func (l *latencies) merge(o latencies) {
	l.under10us += o.under10us
	l.under100us += o.under100us
	l.under1ms += o.under1ms
	l.over1ms += o.over1ms
	l.max = max(l.max, o.max)
}

func (l latencies) String() string {
	return fmt.Sprintf("<10µs %d, 10–100µs %d, 0.1–1ms %d, >1ms %d, max %v", l.under10us, l.under100us, l.under1ms, l.over1ms, l.max)
}

// load appends unique events from a few producers, paced at about rate events per second
// in all, until stopped, and records per phase what Append did.
type load struct {
	w     *Writer
	phase atomic.Int32 // the phase producers attribute their calls to
	stopc chan struct{}
	wg    sync.WaitGroup

	mu       sync.Mutex
	accepted []string
	dropped  int
	calls    [3]int
	lat      [3]latencies
}

const loadPhases = 3 // healthy, outage, recovered

func startLoad(w *Writer, prefix string, producers, rate int) *load {
	l := &load{w: w, stopc: make(chan struct{})}
	perTick := max(rate/producers/1000, 1) // events per producer per millisecond
	for p := range producers {
		l.wg.Go(func() {
			var ids []string
			var calls [loadPhases]int
			var lat [loadPhases]latencies
			dropped := 0
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for n := 0; ; {
				select {
				case <-l.stopc:
					l.mu.Lock()
					l.accepted, l.dropped = append(l.accepted, ids...), l.dropped+dropped
					for i := range loadPhases {
						l.calls[i] += calls[i]
						l.lat[i].merge(lat[i])
					}
					l.mu.Unlock()
					return
				case <-tick.C:
				}
				for range perTick {
					ev := sampleEvent(n)
					ev.RequestID = prefix + strconv.Itoa(p) + "-" + strconv.Itoa(n)
					n++
					ph := l.phase.Load()
					start := time.Now()
					err := w.Append(&ev)
					lat[ph].add(time.Since(start))
					calls[ph]++
					switch {
					case err == nil:
						ids = append(ids, ev.RequestID)
					case errors.Is(err, ErrEventDropped):
						dropped++
					default:
						panic(err)
					}
				}
			}
		})
	}
	return l
}

func (l *load) stop() {
	close(l.stopc)
	l.wg.Wait()
}

// storedIDs lists the request ids in the store, sorted.
func storedIDs(t testing.TB, s *SQLStore) []string {
	t.Helper()
	rows, err := s.rdb.QueryContext(context.Background(), "SELECT request_id FROM cost_events ORDER BY request_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// checkExactlyOnce fails unless the store holds exactly the accepted events.
func checkExactlyOnce(t *testing.T, s *SQLStore, accepted []string) {
	t.Helper()
	got := storedIDs(t, s)
	want := slices.Clone(accepted)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("the ledger holds %d events, %d were accepted (or other ids)", len(got), len(want))
	}
}

// outageUnderLoad runs a paced load through w: healthy for a while, then down() makes
// the store fail, then up() heals it. It checks that Append never waited through the
// outage, that throughput held, and that after Close the store holds every accepted
// event exactly once and the drops are exactly those counted.
func outageUnderLoad(t *testing.T, w *Writer, s *SQLStore, down, up func()) {
	const rate, phase = 4000, 1500 * time.Millisecond
	l := startLoad(w, "outage-", 2, rate)
	time.Sleep(phase)
	l.phase.Store(1)
	down()
	time.Sleep(phase)
	l.phase.Store(2)
	up()
	time.Sleep(phase)
	l.stop()
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("Close with the store back: %v", err)
	}
	st := w.Stats()
	t.Logf("calls per phase (healthy, outage, recovered): %v in %v each; stats %+v", l.calls, phase, st)
	for i, name := range []string{"healthy", "outage", "recovered"} {
		t.Logf("Append latency, %s: %v", name, l.lat[i])
	}
	if st.Spilled == 0 || st.WriteFailures == 0 {
		t.Fatalf("the outage was not noticed: %+v", st)
	}
	if st.Replayed != st.Spilled || st.Journaled != 0 {
		t.Fatalf("spilled %d, replayed %d, %d left: every spilled event must be replayed", st.Spilled, st.Replayed, st.Journaled)
	}
	if int64(l.dropped) != st.Dropped || st.Dropped != 0 {
		t.Fatalf("%d Appends dropped, %d counted; the journal had room for all", l.dropped, st.Dropped)
	}
	// Sanity bounds only: the old writer blocked each Append for append_timeout (5s) once
	// the queue filled, and managed a handful of calls in the whole outage.
	if l.lat[1].max > time.Second {
		t.Fatalf("an Append waited %v during the outage", l.lat[1].max)
	}
	if l.calls[1] < l.calls[0]/2 {
		t.Fatalf("throughput fell from %d to %d calls per phase during the outage", l.calls[0], l.calls[1])
	}
	checkExactlyOnce(t, s, l.accepted)
}

func TestWriterKeepsServingThroughAStoreOutageAndRecoversEveryEvent(t *testing.T) {
	s := sqliteLedger(t)
	sw := &switchStore{inner: s}
	w := NewWriter(sw, WriterConfig{QueueSize: 256, BatchSize: 64, FlushInterval: 10 * time.Millisecond,
		RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond, Journal: tempJournal(t)}, nil)
	outageUnderLoad(t, w, s, func() { sw.down.Store(true) }, func() { sw.down.Store(false) })
}

func TestWriterAppendSpillsWhileAStoreWriteHangs(t *testing.T) {
	s := sqliteLedger(t)
	st := &stallStore{release: make(chan struct{})}
	hang := &hangStore{inner: s, stall: st}
	w := NewWriter(hang, WriterConfig{QueueSize: 64, BatchSize: 32, FlushInterval: 5 * time.Millisecond,
		WriteTimeout: time.Hour, RetryMin: 10 * time.Millisecond, Journal: tempJournal(t)}, nil)
	outageUnderLoad(t, w, s, func() { hang.hanging.Store(true) }, func() {
		hang.hanging.Store(false)
		close(st.release)
	})
}

// hangStore blocks writes in stall while hanging is set (a database that stopped
// answering), else writes to inner.
type hangStore struct {
	inner   Store
	stall   *stallStore
	hanging atomic.Bool
}

func (s *hangStore) WriteBatch(ctx context.Context, evs []Event) error {
	if s.hanging.Load() {
		if err := s.stall.WriteBatch(ctx, nil); err != nil {
			return err
		}
		return errors.New("the connection was reset")
	}
	return s.inner.WriteBatch(ctx, evs)
}

func TestWriterDropsAndCountsExactlyWhatAFullJournalRefuses(t *testing.T) {
	s := sqliteLedger(t)
	sw := &switchStore{inner: s}
	sw.down.Store(true)
	w := NewWriter(sw, WriterConfig{QueueSize: 16, BatchSize: 8, FlushInterval: time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Journal: tempJournal(t), JournalMaxBytes: 8 << 10}, nil)
	var accepted []string
	refused := 0
	for i := range 500 {
		ev := sampleEvent(i)
		switch err := w.Append(&ev); {
		case err == nil:
			accepted = append(accepted, ev.RequestID)
		case errors.Is(err, ErrEventDropped):
			refused++
		default:
			t.Fatal(err)
		}
	}
	st := w.Stats()
	if refused == 0 || int64(refused) != st.Dropped {
		t.Fatalf("%d Appends refused, %d counted as dropped (stats %+v)", refused, st.Dropped, st)
	}
	if st.JournalBytes > 8<<10 {
		t.Fatalf("the journal grew to %d bytes past its 8 KiB bound", st.JournalBytes)
	}
	sw.down.Store(false)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("accepted %d, dropped %d; stats %+v", len(accepted), refused, w.Stats())
	checkExactlyOnce(t, s, accepted)
}

func TestWriterReplaysTheJournalAtTheNextStart(t *testing.T) {
	s := sqliteLedger(t)
	path := tempJournal(t)
	sw := &switchStore{inner: s}
	sw.down.Store(true)
	a := NewWriter(sw, WriterConfig{BatchSize: 16, RetryMin: time.Millisecond, RetryMax: time.Millisecond, Journal: path}, nil)
	for i := range 300 {
		ev := sampleEvent(i)
		if err := a.Append(&ev); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var fe *FlushError
	if err := a.Close(ctx); !errors.As(err, &fe) || fe.Journaled != 300 || fe.Lost != 0 || fe.Path != path {
		t.Fatalf("Close with the store down = %v, want 300 events left in %s and none lost", err, path)
	}
	if n := countEvents(t, s); n != 0 {
		t.Fatalf("the store took %d events while down", n)
	}
	b := NewWriter(s, WriterConfig{Journal: path}, nil)
	if st := b.Stats(); st.Journaled != 300 && st.Replayed == 0 {
		t.Fatalf("a new writer sees %+v, want 300 journaled events", st)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, st := countEvents(t, s), b.Stats(); n != 300 || st.Replayed != 300 || st.Journaled != 0 {
		t.Fatalf("after the next start the ledger holds %d events (stats %+v), want 300", n, st)
	}
}

// TestWriterJournalSurvivesAProcessKill runs a writer in a child process whose store is
// down, kills it with SIGKILL once every event is journaled, and checks that the next
// writer on the journal stores them all.
func TestWriterJournalSurvivesAProcessKill(t *testing.T) {
	const events = 500
	if path := os.Getenv("SWITCHYARD_TEST_SPILL_CHILD"); path != "" {
		spillChild(path, events)
		return
	}
	path := tempJournal(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterJournalSurvivesAProcessKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SWITCHYARD_TEST_SPILL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	ready := false
	for sc.Scan() {
		if ready = sc.Text() == "journaled"; ready {
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !ready {
		t.Fatal("the child never reported its events journaled")
	}
	s := sqliteLedger(t)
	w := NewWriter(s, WriterConfig{Journal: path}, nil)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, s); n != events {
		t.Fatalf("after a kill -9 the next start stored %d events, want %d", n, events)
	}
}

// spillChild appends events to a writer whose store always fails, says "journaled" once
// they all are, and waits to be killed.
func spillChild(path string, events int) {
	fl := &flakyStore{}
	fl.fails.Store(1 << 40)
	w := NewWriter(fl, WriterConfig{BatchSize: 16, Journal: path}, nil)
	for i := range events {
		ev := sampleEvent(i)
		if err := w.Append(&ev); err != nil {
			fmt.Println("append:", err)
			os.Exit(1)
		}
	}
	for w.Stats().Spilled < int64(events) {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("journaled")
	time.Sleep(time.Minute)
	os.Exit(1)
}

// TestWriterOnAFullDiskDropsAndCountsExactly puts the journal on a 1 MiB tmpfs, which
// fills, so the journal meets a real ENOSPC. It needs root (mount); it skips otherwise.
func TestWriterOnAFullDiskDropsAndCountsExactly(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	s := sqliteLedger(t)
	sw := &switchStore{inner: s}
	sw.down.Store(true)
	w := NewWriter(sw, WriterConfig{QueueSize: 64, BatchSize: 32, FlushInterval: time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Journal: filepath.Join(dir, "ledger.spill")}, nil)
	var accepted []string
	refused := 0
	for i := range 5000 {
		ev := sampleEvent(i)
		switch err := w.Append(&ev); {
		case err == nil:
			accepted = append(accepted, ev.RequestID)
		case errors.Is(err, ErrEventDropped):
			refused++
		default:
			t.Fatal(err)
		}
	}
	st := w.Stats()
	t.Logf("disk full: accepted %d, refused %d; stats %+v", len(accepted), refused, st)
	if refused == 0 || int64(refused) != st.Dropped {
		t.Fatalf("%d Appends refused, %d counted as dropped", refused, st.Dropped)
	}
	sw.down.Store(false)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Dropped != int64(refused) {
		t.Fatalf("%d dropped after replay, %d refused: a torn record was lost", st.Dropped, refused)
	}
	checkExactlyOnce(t, s, accepted)
}
