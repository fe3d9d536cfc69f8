package batchlane_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/jsonx"
)

func TestALoneRequestIsSubmittedAfterMaxWait(t *testing.T) {
	fake := newFakeBatchAPI(t, 1)
	c, rec := startCollector(t, batchlane.Config{MaxWait: 20 * time.Millisecond}, fake, batchlane.Options{})
	start := time.Now()
	id := submit(t, c, deferChat("gpt-4o-mini", "ping"))
	done := rec.wait(t, 1)
	if done[id].State != batchlane.StateCompleted {
		t.Fatalf("job %+v", done[id])
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("the batch went after %v, before max_wait", waited)
	}
}

func TestRequestsAreGroupedByProviderModelAndEndpoint(t *testing.T) {
	fake := newFakeBatchAPI(t, 1)
	c, rec := startCollector(t, batchlane.Config{MaxWait: 20 * time.Millisecond}, fake, batchlane.Options{})
	submit(t, c, deferChat("gpt-4o-mini", "a"))
	submit(t, c, deferChat("gpt-4o-mini", "b"))
	submit(t, c, deferChat("gpt-4.1-mini", "c"))
	emb := batchlane.Deferred{Provider: "openai", Model: "text-embedding-3-small", Endpoint: "/embeddings",
		Body: []byte(`{"model":"text-embedding-3-small","input":"d"}`)}
	embID := submit(t, c, emb)
	done := rec.wait(t, 4)
	if n := fake.count(&fake.creations); n != 3 {
		t.Errorf("%d batches, want 3 (two chat models and one embeddings)", n)
	}
	e := done[embID]
	if e.State != batchlane.StateCompleted || e.Endpoint != "/v1/embeddings" || e.Usage.InputTokens != 11 || e.Usage.OutputTokens != 0 {
		t.Errorf("embeddings job %+v", e)
	}
	for _, in := range fake.inputs() {
		models := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(string(in)), "\n") {
			models[jsonx.Get([]byte(line), "body.model").String()] = true
		}
		if len(models) != 1 {
			t.Errorf("one input file mixes models %v", models)
		}
	}
}

func TestABatchIsSplitAtMaxBatchBytes(t *testing.T) {
	fake := newFakeBatchAPI(t, 1)
	c, rec := startCollector(t, batchlane.Config{MaxBatchBytes: 1024, MaxWait: 20 * time.Millisecond}, fake, batchlane.Options{})
	long := strings.Repeat("x", 250)
	for range 3 {
		submit(t, c, deferChat("gpt-4o-mini", long))
	}
	rec.wait(t, 3)
	if n := fake.count(&fake.creations); n != 2 {
		t.Errorf("%d batches, want 2 (two ~400-byte lines fit in 1 KiB, the third starts a new batch)", n)
	}
	if _, err := c.Submit(context.Background(), deferChat("gpt-4o-mini", strings.Repeat("y", 1100))); !errors.Is(err, batchlane.ErrBadRequest) {
		t.Errorf("a request larger than max_batch_bytes: %v, want ErrBadRequest", err)
	}
}

func TestAPrettyPrintedBodyBecomesOneInputLine(t *testing.T) {
	fake := newFakeBatchAPI(t, 1)
	c, rec := startCollector(t, batchlane.Config{MaxRequests: 1}, fake, batchlane.Options{})
	d := deferChat("gpt-4o-mini", "")
	d.Body = []byte("{\n  \"model\": \"gpt-4o-mini\",\r\n  \"messages\": [{\"role\": \"user\", \"content\": \"line\\nbreak\"}]\n}\n")
	id := submit(t, c, d)
	if st := rec.wait(t, 1)[id]; st.State != batchlane.StateCompleted ||
		jsonx.Get(st.Response, "choices.0.message.content").String() != "echo: line\nbreak" {
		t.Fatalf("job %+v", st)
	}
	if in := fake.inputs()[0]; strings.Count(string(in), "\n") != 1 {
		t.Errorf("input file is not one line: %q", in)
	}
}

func TestAFailedBatchFailsItsJobsWithTheProvidersError(t *testing.T) {
	fake := newFakeBatchAPI(t, 5)
	fake.failWith = "The model `gpt-5-imaginary` does not exist."
	c, rec := startCollector(t, batchlane.Config{MaxRequests: 2}, fake, batchlane.Options{})
	a := submit(t, c, deferChat("gpt-4o-mini", "a"))
	b := submit(t, c, deferChat("gpt-4o-mini", "b"))
	done := rec.wait(t, 2)
	for _, id := range []string{a, b} {
		st := done[id]
		if st.State != batchlane.StateFailed || !strings.Contains(st.Error, "does not exist") || st.Usage.Reported {
			t.Errorf("job %s: %+v", id, st)
		}
		if r := result(t, c, id); r.State != batchlane.StateFailed || r.Error != st.Error {
			t.Errorf("Result disagrees with the recorder: %+v", r)
		}
	}
}

func TestAnExpiredBatchKeepsTheAnswersItHasAndExpiresTheRest(t *testing.T) {
	fake := newFakeBatchAPI(t, 2)
	fake.expire = true
	c, rec := startCollector(t, batchlane.Config{MaxRequests: 3}, fake, batchlane.Options{})
	ids := []string{submit(t, c, deferChat("gpt-4o-mini", "a")), submit(t, c, deferChat("gpt-4o-mini", "b")),
		submit(t, c, deferChat("gpt-4o-mini", "c"))}
	done := rec.wait(t, 3)
	if st := done[ids[0]]; st.State != batchlane.StateCompleted || !st.Usage.Reported {
		t.Errorf("the request that ran: %+v", st)
	}
	for _, id := range ids[1:] {
		if st := done[id]; st.State != batchlane.StateExpired || !strings.Contains(st.Error, "completion window") {
			t.Errorf("a request that did not run: %+v", st)
		}
	}
	waitFor(t, "input, output and error files to be deleted", func() bool { return fake.count(&fake.deletes) == 3 })
}

func TestARequestTheProviderRejectsFailsOnlyItself(t *testing.T) {
	fake := newFakeBatchAPI(t, 1)
	c, rec := startCollector(t, batchlane.Config{MaxRequests: 2}, fake, batchlane.Options{})
	good := submit(t, c, deferChat("gpt-4o-mini", "good"))
	bad := submit(t, c, deferChat("gpt-4o-mini", "bad"))
	done := rec.wait(t, 2)
	if st := done[good]; st.State != batchlane.StateCompleted || st.HTTPStatus != 200 {
		t.Errorf("good request: %+v", st)
	}
	st := done[bad]
	if st.State != batchlane.StateCompleted || st.HTTPStatus != 400 || st.Error != "Invalid content" ||
		jsonx.Get(st.Response, "error.type").String() != "invalid_request_error" {
		t.Errorf("bad request: %+v (%s)", st, st.Response)
	}
}

func TestACreateWhoseAnswerWasLostIsFoundInsteadOfRepeated(t *testing.T) {
	fake := newFakeBatchAPI(t, 1)
	fake.loseCreates = 1
	c, rec := startCollector(t, batchlane.Config{MaxRequests: 1}, fake, batchlane.Options{})
	id := submit(t, c, deferChat("gpt-4o-mini", "once"))
	if st := rec.wait(t, 1)[id]; st.State != batchlane.StateCompleted {
		t.Fatalf("job %+v", st)
	}
	if n := fake.count(&fake.creations); n != 1 {
		t.Errorf("%d batches created, want 1: a retry must not bill the work twice", n)
	}
	if fake.count(&fake.lists) < 1 || fake.count(&fake.creates) != 1 {
		t.Errorf("%d lists, %d creates: want a lookup instead of a second create", fake.count(&fake.lists), fake.count(&fake.creates))
	}
}

func TestUploadFailuresAreRetriedAndThenFailTheJobs(t *testing.T) {
	tests := []struct {
		name      string
		failures  int
		wantState batchlane.State
	}{
		{"two failures then success", 2, batchlane.StateCompleted},
		{"more failures than attempts", 100, batchlane.StateFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeBatchAPI(t, 1)
			fake.failUploads = tt.failures
			c, rec := startCollector(t, batchlane.Config{MaxRequests: 1, SubmitAttempts: 3}, fake, batchlane.Options{})
			id := submit(t, c, deferChat("gpt-4o-mini", "retry me"))
			st := rec.wait(t, 1)[id]
			if st.State != tt.wantState {
				t.Fatalf("job %+v", st)
			}
			if tt.wantState == batchlane.StateFailed && !strings.Contains(st.Error, "503") {
				t.Errorf("error %q does not say what the provider answered", st.Error)
			}
		})
	}
}

func TestSubmitRefusesWhatCannotBeDeferred(t *testing.T) {
	fake := newFakeBatchAPI(t, 1)
	c, _ := startCollector(t, batchlane.Config{}, fake, batchlane.Options{})
	ok := deferChat("gpt-4o-mini", "hi")
	tests := []struct {
		name string
		edit func(d *batchlane.Deferred)
		want error
	}{
		{"a streamed request", func(d *batchlane.Deferred) {
			d.Body = []byte(`{"model":"gpt-4o-mini","stream":true,"messages":[]}`)
		}, batchlane.ErrBadRequest},
		{"a body that is not JSON", func(d *batchlane.Deferred) { d.Body = []byte(`{"model":`) }, batchlane.ErrBadRequest},
		{"a body that is an array", func(d *batchlane.Deferred) { d.Body = []byte(`[1]`) }, batchlane.ErrBadRequest},
		{"an endpoint batches do not run", func(d *batchlane.Deferred) { d.Endpoint = "/v1/images/generations" }, batchlane.ErrBadRequest},
		{"a body for another model", func(d *batchlane.Deferred) { d.Model = "gpt-4o" }, batchlane.ErrBadRequest},
		{"no provider", func(d *batchlane.Deferred) { d.Provider = "" }, batchlane.ErrBadRequest},
		{"a provider without a batch API", func(d *batchlane.Deferred) { d.Provider = "vllm" }, batchlane.ErrNoUpstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ok
			tt.edit(&d)
			if _, err := c.Submit(context.Background(), d); !errors.Is(err, tt.want) {
				t.Fatalf("Submit: %v, want %v", err, tt.want)
			}
		})
	}
	if got := c.Stats(); got.Jobs != 0 {
		t.Errorf("refused requests left jobs behind: %+v", got)
	}
}

func TestTheJobTableIsBoundedAndFinishedJobsLeaveAfterResultTTL(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	fake := newFakeBatchAPI(t, 1)
	c, rec := startCollector(t, batchlane.Config{MaxRequests: 2, MaxJobs: 2, ResultTTL: time.Hour}, fake,
		batchlane.Options{Now: clock})
	a := submit(t, c, deferChat("gpt-4o-mini", "a"))
	submit(t, c, deferChat("gpt-4o-mini", "b"))
	if _, err := c.Submit(context.Background(), deferChat("gpt-4o-mini", "c")); !errors.Is(err, batchlane.ErrFull) {
		t.Fatalf("a third job past max_jobs: %v, want ErrFull", err)
	}
	rec.wait(t, 2)
	if _, err := c.Submit(context.Background(), deferChat("gpt-4o-mini", "c")); !errors.Is(err, batchlane.ErrFull) {
		t.Fatalf("finished jobs within their TTL still count: %v, want ErrFull", err)
	}
	now.Add(int64(59 * time.Minute))
	if st := result(t, c, a); st.State != batchlane.StateCompleted {
		t.Fatalf("job a before its TTL: %+v", st)
	}
	now.Add(int64(2 * time.Minute))
	if _, err := c.Result(context.Background(), a); !errors.Is(err, batchlane.ErrUnknownJob) {
		t.Fatalf("job a past its TTL: %v, want ErrUnknownJob", err)
	}
	submit(t, c, deferChat("gpt-4o-mini", "c")) // room again
	if s := c.Stats(); s.Jobs != 1 {
		t.Errorf("stats after the sweep: %+v, want 1 job", s)
	}
	if _, err := c.Result(context.Background(), "sybatch_nonexistent"); !errors.Is(err, batchlane.ErrUnknownJob) {
		t.Errorf("unknown id: %v", err)
	}
}

func TestCloseStopsThePollerPromptly(t *testing.T) {
	fake := newFakeBatchAPI(t, 1000)
	fake.hangPolls = true
	fake.pollSeen = make(chan struct{}, 1)
	c, _ := startCollector(t, batchlane.Config{MaxRequests: 1, RequestTimeout: time.Hour}, fake, batchlane.Options{})
	id := submit(t, c, deferChat("gpt-4o-mini", "slow"))
	select {
	case <-fake.pollSeen: // a poll is now hanging at the provider
	case <-time.After(within):
		t.Fatal("no poll reached the provider")
	}
	start := time.Now()
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %v with a poll hanging", took)
	}
	select {
	case <-fake.hungUp: // the hanging poll was cancelled, not left behind
	case <-time.After(within):
		t.Fatal("the hanging poll was not cancelled")
	}
	polls := fake.count(&fake.polls)
	if st := result(t, c, id); st.State != batchlane.StateSubmitted || st.BatchID == "" {
		t.Errorf("a job of a batch still running at Close: %+v", st)
	}
	if _, err := c.Submit(context.Background(), deferChat("gpt-4o-mini", "late")); !errors.Is(err, batchlane.ErrClosed) {
		t.Errorf("Submit after Close: %v, want ErrClosed", err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if n := fake.count(&fake.polls); n != polls {
		t.Errorf("%d polls after Close", n-polls)
	}
}

func TestCloseSubmitsPendingBatchesWithoutWaitingForMaxWait(t *testing.T) {
	fake := newFakeBatchAPI(t, 1000)
	c, _ := startCollector(t, batchlane.Config{MaxWait: time.Hour}, fake, batchlane.Options{})
	a := submit(t, c, deferChat("gpt-4o-mini", "a"))
	b := submit(t, c, deferChat("gpt-4o-mini", "b"))
	if s := c.Stats(); s.Pending != 2 || s.Batches != 0 {
		t.Fatalf("before Close: %+v", s)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fake.count(&fake.uploads) != 1 || fake.count(&fake.creations) != 1 {
		t.Errorf("%d uploads and %d batches at Close, want 1 and 1", fake.count(&fake.uploads), fake.count(&fake.creations))
	}
	for _, id := range []string{a, b} {
		if st := result(t, c, id); st.State != batchlane.StateSubmitted || st.BatchID == "" {
			t.Errorf("job %s after Close: %+v", id, st)
		}
	}
}

func TestABatchThatCannotBeSubmittedAtCloseFailsItsJobs(t *testing.T) {
	fake := newFakeBatchAPI(t, 1)
	fake.failUploads = 1000
	c, rec := startCollector(t, batchlane.Config{SubmitAttempts: 2}, fake, batchlane.Options{})
	id := submit(t, c, deferChat("gpt-4o-mini", "a"))
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := rec.wait(t, 1)[id]; st.State != batchlane.StateFailed {
		t.Errorf("job %+v", st)
	}
}
