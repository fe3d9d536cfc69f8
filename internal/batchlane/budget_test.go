package batchlane_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// budget is a Budget the test opens and closes; every Room call is counted and
// announced on asked (without blocking).
type budget struct {
	room  atomic.Bool
	calls atomic.Int64
	asked chan struct{}
}

var _ batchlane.Budget = (*budget)(nil)

func newBudget(room bool) *budget {
	b := &budget{asked: make(chan struct{}, 1)}
	b.room.Store(room)
	return b
}

func (b *budget) Room() bool {
	b.calls.Add(1)
	select {
	case b.asked <- struct{}{}:
	default:
	}
	return b.room.Load()
}

// sender is a Sender standing in for the gateway's upstream path. It answers like the
// fake batch API would, records the order of calls and the most that ran at once, and,
// when gate is set, holds each call until the gate gives a token or ctx ends.
type sender struct {
	gate    chan struct{}
	started chan struct{} // a token per call started (buffered)
	fail    string        // answer this prompt with a transport error

	mu            sync.Mutex
	order         []string
	running, most int
}

var _ batchlane.Sender = (*sender)(nil)

func newSender() *sender { return &sender{started: make(chan struct{}, 100)} }

func (s *sender) Send(ctx context.Context, d batchlane.Deferred) (int, []byte, provider.Usage, error) {
	text := promptOf(jsonx.Parse(string(d.Body)))
	s.mu.Lock()
	s.order = append(s.order, text)
	s.running++
	s.most = max(s.most, s.running)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running--
		s.mu.Unlock()
	}()
	s.started <- struct{}{}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return 0, nil, provider.Usage{}, ctx.Err()
		}
	}
	if text == s.fail {
		return 0, nil, provider.Usage{}, errors.New("connection reset by peer")
	}
	body := []byte(answerTo(d.Endpoint, d.Model, text, 0))
	return 200, body, provider.OpenAIUsage(jsonx.Get(body, "usage")), nil
}

func (s *sender) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

func startBudgetCollector(t *testing.T, cfg batchlane.Config, b *budget, s *sender) (*batchlane.Collector, *recorder) {
	t.Helper()
	cfg.Mode = batchlane.ModeRateBudget
	cfg.BudgetRecheck = time.Millisecond
	return startCollector(t, cfg, nil, batchlane.Options{Sender: s, Budget: b})
}

func TestRateBudgetModeRunsRequestsOnlyWhenTheBudgetHasRoom(t *testing.T) {
	b, s := newBudget(false), newSender()
	c, rec := startBudgetCollector(t, batchlane.Config{Workers: 1}, b, s) // one worker: the order is observable
	prompts := []string{"first", "second", "third"}
	var ids []string
	for _, p := range prompts {
		ids = append(ids, submit(t, c, deferChat("llama-3.1-8b", p)))
	}
	// Let the dispatcher ask the closed budget several times: nothing may run.
	for range 3 {
		select {
		case <-b.asked:
		case <-time.After(within):
			t.Fatal("the budget was never asked")
		}
	}
	if got := s.calls(); len(got) != 0 {
		t.Fatalf("requests ran with no room in the budget: %v", got)
	}
	for _, id := range ids {
		if st := result(t, c, id); st.State != batchlane.StateQueued {
			t.Fatalf("job waiting for room is %s, want queued", st.State)
		}
	}
	b.room.Store(true)
	done := rec.wait(t, 3)
	if got := s.calls(); strings.Join(got, ",") != "first,second,third" {
		t.Errorf("ran in order %v, want arrival order", got)
	}
	for i, id := range ids {
		st := done[id]
		prompt, _ := fakeUsage(prompts[i])
		if st.State != batchlane.StateCompleted || st.Lane != batchlane.ModeRateBudget || st.PricePercent != 100 ||
			st.Usage.InputTokens != int64(prompt) || jsonx.Get(st.Response, "choices.0.message.content").String() != "echo: "+prompts[i] {
			t.Errorf("job %d: %+v", i, st)
		}
	}
}

func TestRateBudgetModeRunsAtMostWorkersAtOnce(t *testing.T) {
	b, s := newBudget(true), newSender()
	s.gate = make(chan struct{})
	c, rec := startBudgetCollector(t, batchlane.Config{Workers: 2}, b, s)
	for i := range 5 {
		submit(t, c, deferChat("llama-3.1-8b", fmt.Sprint("p", i)))
	}
	for range 2 {
		<-s.started
	}
	if st := c.Stats(); st.Pending != 3 {
		t.Errorf("with both workers busy: %+v, want 3 pending", st)
	}
	close(s.gate)
	rec.wait(t, 5)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.most != 2 {
		t.Errorf("%d requests ran at once, want 2", s.most)
	}
}

func TestRateBudgetModeFailsARequestTheSenderCouldNotSend(t *testing.T) {
	b, s := newBudget(true), newSender()
	s.fail = "doomed"
	c, rec := startBudgetCollector(t, batchlane.Config{}, b, s)
	id := submit(t, c, deferChat("llama-3.1-8b", "doomed"))
	if st := rec.wait(t, 1)[id]; st.State != batchlane.StateFailed || !strings.Contains(st.Error, "connection reset") {
		t.Errorf("job %+v", st)
	}
}

func TestCloseInRateBudgetModeFinishesRunningRequestsAndFailsQueuedOnes(t *testing.T) {
	b, s := newBudget(true), newSender()
	s.gate = make(chan struct{})
	c, rec := startBudgetCollector(t, batchlane.Config{Workers: 1}, b, s)
	running := submit(t, c, deferChat("llama-3.1-8b", "running"))
	queued := submit(t, c, deferChat("llama-3.1-8b", "queued"))
	<-s.started
	closed := make(chan error, 1)
	go func() { closed <- c.Close(context.Background()) }()
	late := 0 // requests that got in before Close started: queued, so they fail too
	waitFor(t, "Close to start", func() bool {
		_, err := c.Submit(context.Background(), deferChat("llama-3.1-8b", "late"))
		if err == nil {
			late++
		}
		return errors.Is(err, batchlane.ErrClosed)
	})
	// Close waits for the running request; let it finish.
	s.gate <- struct{}{}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	done := rec.wait(t, 2+late)
	if st := done[running]; st.State != batchlane.StateCompleted {
		t.Errorf("the running request: %+v", st)
	}
	if st := done[queued]; st.State != batchlane.StateFailed || !strings.Contains(st.Error, "shut down") {
		t.Errorf("the queued request: %+v", st)
	}
}

func TestRateBudgetModeNeedsASenderAndABudget(t *testing.T) {
	_, err := batchlane.New(batchlane.Config{ProviderModes: map[string]batchlane.Mode{"vllm": batchlane.ModeRateBudget}}, batchlane.Options{})
	if err == nil {
		t.Fatal("a rate_budget provider without Sender and Budget was accepted")
	}
}
