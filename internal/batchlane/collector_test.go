package batchlane_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// within bounds every wait in these tests: generous, because the machine may be busy.
const within = 10 * time.Second

// recorder is a Recorder that hands every finished job to the test.
type recorder struct{ ch chan batchlane.Status }

var _ batchlane.Recorder = (*recorder)(nil)

func newRecorder() *recorder { return &recorder{ch: make(chan batchlane.Status, 1000)} }

func (r *recorder) Record(s batchlane.Status) { r.ch <- s }

// wait returns the next n finished jobs, by job id.
func (r *recorder) wait(t *testing.T, n int) map[string]batchlane.Status {
	t.Helper()
	out := map[string]batchlane.Status{}
	timeout := time.After(within)
	for len(out) < n {
		select {
		case s := <-r.ch:
			if _, dup := out[s.JobID]; dup {
				t.Fatalf("job %s recorded twice", s.JobID)
			}
			out[s.JobID] = s
		case <-timeout:
			t.Fatalf("timed out: %d of %d jobs finished", len(out), n)
		}
	}
	return out
}

// waitFor waits for cond, which the code under test makes true after it hands out results.
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

func chatBody(model, text string) []byte {
	return fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":%q}],"temperature":0}`, model, text)
}

func deferChat(model, text string) batchlane.Deferred {
	return batchlane.Deferred{Provider: "openai", Model: model, Endpoint: "/v1/chat/completions",
		Body: chatBody(model, text), Key: "nightly", Team: "data", Feature: "digest"}
}

// fast is a configuration for tests: quick polls, and batches that wait for MaxRequests
// (or Close) unless the test says otherwise.
func fast(c batchlane.Config) batchlane.Config {
	if c.PollInterval == 0 {
		c.PollInterval = 5 * time.Millisecond
	}
	if c.MaxWait == 0 {
		c.MaxWait = time.Hour
	}
	return c
}

// startCollector starts a Collector in provider_batch mode against fake, closed when the
// test ends.
func startCollector(t *testing.T, cfg batchlane.Config, fake *fakeBatchAPI, opts batchlane.Options) (*batchlane.Collector, *recorder) {
	t.Helper()
	rec := newRecorder()
	if opts.Recorder == nil {
		opts.Recorder = rec
	}
	if fake != nil {
		opts.Upstreams = map[string]batchlane.Upstream{"openai": fake.upstream()}
	}
	c, err := batchlane.New(fast(cfg), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c, rec
}

func submit(t *testing.T, c *batchlane.Collector, d batchlane.Deferred) string {
	t.Helper()
	id, err := c.Submit(context.Background(), d)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return id
}

func result(t *testing.T, c *batchlane.Collector, id string) batchlane.Status {
	t.Helper()
	st, err := c.Result(context.Background(), id)
	if err != nil {
		t.Fatalf("Result(%s): %v", id, err)
	}
	return st
}

func TestThreeDeferredRequestsMakeOneUploadAndOneBatchAndEachJobGetsItsOwnAnswer(t *testing.T) {
	fake := newFakeBatchAPI(t, 3)
	c, rec := startCollector(t, batchlane.Config{MaxRequests: 3}, fake, batchlane.Options{})

	prompts := []string{"Summarise the release notes.", "Translate 'hello' to French.", "Name three primes."}
	ids := make([]string, len(prompts))
	for i, p := range prompts {
		ids[i] = submit(t, c, deferChat("gpt-4o-mini", p))
		if i < 2 {
			if st := result(t, c, ids[i]); st.State != batchlane.StateQueued {
				t.Fatalf("job %d is %s before its batch is full, want queued", i, st.State)
			}
		}
	}
	if !strings.HasPrefix(ids[0], "sybatch_") || ids[0] == ids[1] {
		t.Fatalf("job ids %v are not distinct sybatch_ ids", ids)
	}
	done := rec.wait(t, 3)

	if n := fake.count(&fake.uploads); n != 1 {
		t.Errorf("%d file uploads, want 1", n)
	}
	if n := fake.count(&fake.creations); n != 1 {
		t.Errorf("%d batches created, want 1", n)
	}
	if n := fake.count(&fake.polls); n < 3 {
		t.Errorf("%d polls, want at least 3 (the fake finishes on the third)", n)
	}
	batchID := ""
	for i, id := range ids {
		st := result(t, c, id)
		prompt, completion := fakeUsage(prompts[i])
		switch {
		case st.State != batchlane.StateCompleted || st.HTTPStatus != 200 || st.Error != "":
			t.Errorf("job %d: state %s, status %d, error %q", i, st.State, st.HTTPStatus, st.Error)
		case jsonx.Get(st.Response, "choices.0.message.content").String() != "echo: "+prompts[i]:
			t.Errorf("job %d got someone else's answer: %s", i, st.Response)
		case !st.Usage.Reported || st.Usage.InputTokens != int64(prompt) || st.Usage.OutputTokens != int64(completion):
			t.Errorf("job %d usage %+v, want %d in / %d out", i, st.Usage, prompt, completion)
		case st.ServedModel != "gpt-4o-mini-2024-07-18" || st.Model != "gpt-4o-mini" || st.PricePercent != 50:
			t.Errorf("job %d: served %q, model %q, price percent %d", i, st.ServedModel, st.Model, st.PricePercent)
		case st.Key != "nightly" || st.Team != "data" || st.Feature != "digest" || st.Lane != batchlane.ModeProviderBatch:
			t.Errorf("job %d lost its attribution: %+v", i, st)
		}
		if i == 0 {
			batchID = st.BatchID
		} else if st.BatchID != batchID || batchID == "" {
			t.Errorf("job %d is in batch %q, job 0 in %q", i, st.BatchID, batchID)
		}
		if rs := done[id]; rs.State != st.State || rs.Usage != st.Usage || string(rs.Response) != string(st.Response) {
			t.Errorf("job %d: the recorder saw %+v, Result says %+v", i, rs, st)
		}
	}

	inputs := fake.inputs()
	if len(inputs) != 1 {
		t.Fatalf("%d input files, want 1", len(inputs))
	}
	lines := strings.Split(strings.TrimSpace(string(inputs[0])), "\n")
	for i, line := range lines {
		l := []byte(line)
		if jsonx.Get(l, "custom_id").String() != ids[i] || jsonx.Get(l, "url").String() != "/v1/chat/completions" ||
			jsonx.Get(l, "method").String() != "POST" || jsonx.Get(l, "body").Raw != string(chatBody("gpt-4o-mini", prompts[i])) {
			t.Errorf("input line %d = %s", i, line)
		}
	}
	// Files are deleted after the results are handed out.
	waitFor(t, "the input and output files to be deleted", func() bool { return fake.count(&fake.deletes) == 2 })
	fake.mu.Lock()
	left := len(fake.files)
	fake.mu.Unlock()
	if left != 0 {
		t.Errorf("%d files left at the provider", left)
	}
}
