package flight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/yamlx"
)

// within bounds every wait in these tests: generous, because the machine may be busy.
const within = 5 * time.Second

func newGroup(t testing.TB, cfg Config) *Group {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

func event(i int) []byte { return fmt.Appendf(nil, "data: {\"i\":%d}\n\n", i) }

// readAll reads a subscriber to its end and returns the events and the final error.
func readAll(sub *Subscriber) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var got []string
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			return got, err
		}
		got = append(got, string(ev))
	}
}

func wantEvents(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(event(i))
	}
	return out
}

// waitFor waits until cond holds, checking every millisecond (for state that changes
// after the event a test can observe, such as the key map after a finish).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConcurrentIdenticalJoinsShareOneProducer(t *testing.T) {
	tests := []struct {
		name   string
		events int
		pause  time.Duration
	}{
		{"a streamed answer of many events with small pauses", 40, time.Millisecond},
		{"a non-streamed answer of one event", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGroup(t, Config{})
			const clients = 100
			var starts, leaders, joinedN atomic.Int32
			halfJoined, allJoined := make(chan struct{}), make(chan struct{})
			start := func(ctx context.Context, f *Flight) {
				starts.Add(1)
				<-halfJoined // half the clients wait from the start, the rest join mid-stream
				f.Header(200)
				for i := range tt.events - 1 {
					f.Append(event(i))
					time.Sleep(tt.pause)
				}
				<-allJoined // the upstream's last event comes after every client asked
				f.Append(event(tt.events - 1))
				f.Finish(nil)
			}
			results := make([][]string, clients)
			errs := make([]error, clients)
			gate := make(chan struct{})
			var wg sync.WaitGroup
			for i := range clients {
				wg.Go(func() {
					<-gate
					sub, leader := g.Join("chat:k1", start)
					defer sub.Leave()
					if leader {
						leaders.Add(1)
					}
					switch joinedN.Add(1) {
					case clients / 2:
						close(halfJoined)
					case clients:
						close(allJoined)
					}
					ctx, cancel := context.WithTimeout(context.Background(), within)
					defer cancel()
					if m, err := sub.Meta(ctx); err != nil || m != 200 {
						errs[i] = fmt.Errorf("meta = %v, %v", m, err)
						return
					}
					results[i], errs[i] = readAll(sub)
				})
			}
			close(gate)
			wg.Wait()
			if n := starts.Load(); n != 1 {
				t.Fatalf("start called %d times, want 1", n)
			}
			if n := leaders.Load(); n != 1 {
				t.Fatalf("%d leaders, want 1", n)
			}
			want := wantEvents(tt.events)
			for i := range clients {
				if !errors.Is(errs[i], io.EOF) {
					t.Fatalf("client %d ended with %v, want io.EOF", i, errs[i])
				}
				if !slices.Equal(results[i], want) {
					t.Fatalf("client %d read %d events %q, want %d", i, len(results[i]), results[i], len(want))
				}
			}
			if s := g.Stats(); s.Flights != 1 || s.Followers != clients-1 || s.Live != 0 {
				t.Fatalf("stats = %+v, want 1 flight, %d followers, none live", s, clients-1)
			}
		})
	}
}

func TestALateFollowerGetsTheEventsSoFarThenTheLiveOnes(t *testing.T) {
	g := newGroup(t, Config{})
	more := make(chan struct{})
	start := func(ctx context.Context, f *Flight) {
		for i := range 3 {
			f.Append(event(i))
		}
		<-more
		f.Append(event(3))
		f.Append(event(4))
		f.Finish(nil)
	}
	lead, leader := g.Join("k", start)
	defer lead.Leave()
	ctx := context.Background()
	for i := range 3 { // the leader has seen three events: they are in the log
		if ev, err := lead.Next(ctx); err != nil || string(ev) != string(event(i)) {
			t.Fatalf("leader event %d = %q, %v", i, ev, err)
		}
	}
	late, leader2 := g.Join("k", start)
	defer late.Leave()
	if !leader || leader2 {
		t.Fatalf("leader flags = %v, %v; want true, false", leader, leader2)
	}
	for i := range 3 { // replayed at once, before the producer sends anything new
		if ev, err := late.Next(ctx); err != nil || string(ev) != string(event(i)) {
			t.Fatalf("late event %d = %q, %v", i, ev, err)
		}
	}
	close(more)
	got, err := readAll(late)
	if !errors.Is(err, io.EOF) || !slices.Equal(got, wantEvents(5)[3:]) {
		t.Fatalf("late follower's live events = %q, %v", got, err)
	}
}

func TestTheLeaderLeavingMidStreamDoesNotStopFollowers(t *testing.T) {
	g := newGroup(t, Config{})
	const n = 20
	leaderGone := make(chan struct{})
	ctxErr := make(chan error, 1)
	start := func(ctx context.Context, f *Flight) {
		for i := range n {
			if i == 5 {
				<-leaderGone
			}
			f.Append(event(i))
		}
		ctxErr <- ctx.Err() // still live: a follower wants the answer
		f.Finish(nil)
	}
	lead, _ := g.Join("k", start)
	follower, leader := g.Join("k", start)
	defer follower.Leave()
	if leader {
		t.Fatal("second Join led a flight of its own")
	}
	for range 2 {
		if _, err := lead.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	lead.Leave()
	if _, err := lead.Next(context.Background()); !errors.Is(err, ErrLeft) {
		t.Fatalf("Next after Leave = %v, want ErrLeft", err)
	}
	close(leaderGone)
	got, err := readAll(follower)
	if !errors.Is(err, io.EOF) || !slices.Equal(got, wantEvents(n)) {
		t.Fatalf("follower read %q, %v", got, err)
	}
	if err := <-ctxErr; err != nil {
		t.Fatalf("start context = %v after the leader left, want still live", err)
	}
}

func TestEverySubscriberLeavingCancelsTheStartContext(t *testing.T) {
	g := newGroup(t, Config{})
	cancelled := make(chan time.Time, 1)
	start := func(ctx context.Context, f *Flight) {
		f.Append(event(0))
		<-ctx.Done()
		cancelled <- time.Now()
		f.Finish(ctx.Err())
	}
	subs := make([]*Subscriber, 3)
	for i := range subs {
		subs[i], _ = g.Join("k", start)
	}
	for _, s := range subs[:2] {
		s.Leave()
	}
	select {
	case <-cancelled:
		t.Fatal("start context cancelled while a subscriber remained")
	case <-time.After(20 * time.Millisecond):
	}
	left := time.Now()
	subs[2].Leave()
	select {
	case at := <-cancelled:
		if d := at.Sub(left); d > time.Second {
			t.Fatalf("start context cancelled %v after the last Leave", d)
		}
	case <-time.After(within):
		t.Fatal("start context not cancelled after every subscriber left")
	}
	again, leader := g.Join("k", func(ctx context.Context, f *Flight) { f.Finish(nil) })
	defer again.Leave()
	if !leader {
		t.Fatal("a Join after everyone left followed the abandoned flight")
	}
}

func TestAFailedFinishReachesEverySubscriber(t *testing.T) {
	g := newGroup(t, Config{})
	boom := errors.New("upstream stream cut")
	release := make(chan struct{})
	start := func(ctx context.Context, f *Flight) {
		<-release
		f.Append(event(0))
		f.Append(event(1))
		f.Finish(boom)
	}
	subs := make([]*Subscriber, 10)
	for i := range subs {
		subs[i], _ = g.Join("k", start)
		defer subs[i].Leave()
	}
	close(release)
	for i, s := range subs {
		got, err := readAll(s)
		if !errors.Is(err, boom) || !slices.Equal(got, wantEvents(2)) {
			t.Fatalf("subscriber %d read %q then %v, want 2 events then %v", i, got, err, boom)
		}
		if m, err := s.Meta(context.Background()); m != nil || !errors.Is(err, boom) {
			t.Fatalf("Meta of a flight that failed before its header = %v, %v", m, err)
		}
	}
}

func TestTheByteBoundRefusesLateFollowers(t *testing.T) {
	g := newGroup(t, Config{MaxLogBytes: 100})
	var starts atomic.Int32
	step := make(chan int)
	ack := make(chan struct{})
	start := func(ctx context.Context, f *Flight) {
		starts.Add(1)
		for n := range step { // the test decides how many bytes to log next
			f.Append(make([]byte, n))
			ack <- struct{}{}
		}
		f.Finish(nil)
	}
	first, _ := g.Join("k", start)
	defer first.Leave()
	step <- 60
	<-ack
	second, leader := g.Join("k", start) // 60 bytes logged: within the bound
	defer second.Leave()
	if leader {
		t.Fatal("a follower within the byte bound was refused")
	}
	step <- 60
	<-ack
	third, leader := g.Join("k", func(ctx context.Context, f *Flight) { starts.Add(1); <-ctx.Done(); f.Finish(ctx.Err()) })
	if !leader {
		t.Fatal("a follower past the byte bound joined (120 bytes > 100)")
	}
	fourth, leader := g.Join("k", start)
	if leader {
		t.Fatal("a request after the refused one did not follow its new flight")
	}
	close(step)
	for _, s := range []*Subscriber{first, second} {
		if got, err := readAll(s); len(got) != 2 || !errors.Is(err, io.EOF) {
			t.Fatalf("subscriber of the full flight read %d events, %v", len(got), err)
		}
	}
	third.Leave()
	fourth.Leave()
	if s := g.Stats(); s.Refused != 1 || s.Flights != 2 || s.Followers != 2 {
		t.Fatalf("stats = %+v, want 1 refused, 2 flights, 2 followers", s)
	}
}

func TestAFinishedFlightIsForgotten(t *testing.T) {
	g := newGroup(t, Config{})
	var starts atomic.Int32
	start := func(ctx context.Context, f *Flight) {
		starts.Add(1)
		f.Append([]byte(`{"id":"x"}`))
		f.Finish(nil)
	}
	for range 2 {
		sub, leader := g.Join("k", start)
		if !leader {
			t.Fatal("a Join after the finish followed the finished flight")
		}
		if got, err := readAll(sub); len(got) != 1 || !errors.Is(err, io.EOF) {
			t.Fatalf("read %q, %v", got, err)
		}
		sub.Leave()
	}
	if n := starts.Load(); n != 2 {
		t.Fatalf("start called %d times, want 2 (no caching)", n)
	}
	waitFor(t, "the key to be removed", func() bool {
		for i := range g.shards {
			sh := &g.shards[i]
			sh.mu.Lock()
			n := len(sh.m)
			sh.mu.Unlock()
			if n != 0 {
				return false
			}
		}
		return true
	})
}

func TestAProducerThatReturnsWithoutFinishingFailsItsSubscribers(t *testing.T) {
	g := newGroup(t, Config{})
	sub, _ := g.Join("k", func(ctx context.Context, f *Flight) { f.Append(event(0)) })
	defer sub.Leave()
	if got, err := readAll(sub); len(got) != 1 || !errors.Is(err, ErrAbandoned) {
		t.Fatalf("read %q, %v; want one event then ErrAbandoned", got, err)
	}
}

func TestCloseCancelsLiveFlightsAndRefusesNewOnes(t *testing.T) {
	g, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{})
	sub, _ := g.Join("k", func(ctx context.Context, f *Flight) {
		close(running)
		<-ctx.Done()
		f.Finish(ctx.Err())
	})
	defer sub.Leave()
	<-running
	g.Close()
	if _, err := sub.Next(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after Close = %v, want context.Canceled", err)
	}
	called := false
	late, _ := g.Join("k", func(ctx context.Context, f *Flight) { called = true })
	defer late.Leave()
	if _, err := late.Next(context.Background()); !errors.Is(err, ErrClosed) || called {
		t.Fatalf("Join after Close: Next = %v, start called %v", err, called)
	}
	g.Close()
}

func TestASlowSubscriberDoesNotBlockTheProducer(t *testing.T) {
	g := newGroup(t, Config{MaxLogBytes: 1 << 10})
	const n = 5000 // about 80 KB: far past the log bound, so the flight trims
	produced := make(chan struct{})
	start := func(ctx context.Context, f *Flight) {
		for i := range n {
			f.Append(event(i))
		}
		f.Finish(nil)
		close(produced)
	}
	fast, _ := g.Join("k", start)
	slow, _ := g.Join("k", start)
	defer fast.Leave()
	defer slow.Leave()
	select { // nobody has read anything yet
	case <-produced:
	case <-time.After(within):
		t.Fatal("the producer blocked on subscribers that do not read")
	}
	got, err := readAll(fast)
	if !errors.Is(err, io.EOF) || !slices.Equal(got, wantEvents(n)) {
		t.Fatalf("fast subscriber read %d events, %v", len(got), err)
	}
	got, err = readAll(slow)
	if !errors.Is(err, io.EOF) || !slices.Equal(got, wantEvents(n)) {
		t.Fatalf("slow subscriber read %d events, %v", len(got), err)
	}
}

func TestAFullFlightDropsEventsEveryoneHasRead(t *testing.T) {
	g := newGroup(t, Config{MaxLogBytes: 1 << 10})
	step := make(chan struct{})
	sub, _ := g.Join("k", func(ctx context.Context, f *Flight) {
		for i := range 4000 {
			f.Append(event(i))
			if i%100 == 99 {
				step <- struct{}{}
				<-step
			}
		}
		f.Finish(nil)
	})
	defer sub.Leave()
	f := sub.f
	for range 40 {
		<-step
		for {
			f.mu.Lock()
			caughtUp := sub.next == f.base+len(f.events)
			f.mu.Unlock()
			if caughtUp {
				break
			}
			if _, err := sub.Next(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		step <- struct{}{}
	}
	f.mu.Lock()
	kept, base := len(f.events), f.base
	f.mu.Unlock()
	if base == 0 || kept > 2000 {
		t.Fatalf("log keeps %d events from %d after 4000 read; want read events dropped", kept, base)
	}
	if _, err := readAll(sub); !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
}

func TestWaitsEndWithTheCallersContextOrLeave(t *testing.T) {
	g := newGroup(t, Config{})
	sub, _ := g.Join("k", func(ctx context.Context, f *Flight) { <-ctx.Done(); f.Finish(ctx.Err()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := sub.Meta(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Meta with an expiring context = %v", err)
	}
	if _, err := sub.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with an expired context = %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := sub.Next(context.Background())
		done <- err
	}()
	time.Sleep(5 * time.Millisecond)
	sub.Leave()
	select {
	case err := <-done:
		if !errors.Is(err, ErrLeft) {
			t.Fatalf("a waiting Next after Leave = %v", err)
		}
	case <-time.After(within):
		t.Fatal("Leave did not wake a waiting Next")
	}
	sub.Leave() // idempotent
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	if c := (Config{}).WithDefaults(); c.MaxLogBytes != 1<<20 {
		t.Fatalf("default MaxLogBytes = %d", c.MaxLogBytes)
	}
	if _, err := New(Config{MaxLogBytes: -1}); err == nil {
		t.Fatal("a negative MaxLogBytes was accepted")
	}
	var c Config
	if err := yamlx.Decode("coalesce.yaml", []byte("max_log_bytes: 65536\n"), &c); err != nil || c.MaxLogBytes != 65536 {
		t.Fatalf("decoded %+v, %v", c, err)
	}
	if err := yamlx.Decode("coalesce.yaml", []byte("max_log: 1\n"), &c); err == nil {
		t.Fatal("an unknown key was accepted")
	}
}
