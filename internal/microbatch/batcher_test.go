package microbatch

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/yamlx"
)

// within bounds every wait in these tests: generous, because the machine may be busy.
const within = 5 * time.Second

// input is one embeddings request's single input, as the gateway would submit it.
type input struct {
	Key    string // the batch key it was submitted under
	Text   string
	Weight int
}

// embed is the deterministic stand-in for an embeddings model: the same text always
// gives the same vector, whatever else is in the call.
func embed(text string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(text))
	x := h.Sum64()
	v := make([]float32, 4)
	for i := range v {
		x = x*6364136223846793005 + 1442695040888963407
		v[i] = float32(x>>40) / float32(1<<24)
	}
	return v
}

var errBadInput = errors.New("upstream 400: input is invalid")

// upstream is a fake embeddings endpoint that records its calls. It rejects a whole call
// when any input's text is "bad", as a real provider does.
type upstream struct {
	mu    sync.Mutex
	calls [][]input
	gate  chan struct{} // when set, each call waits for it
}

func (u *upstream) flush(ctx context.Context, key string, items []input) ([][]float32, error) {
	u.mu.Lock()
	u.calls = append(u.calls, slices.Clone(items))
	u.mu.Unlock()
	if u.gate != nil {
		select {
		case <-u.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out := make([][]float32, len(items))
	for i, it := range items {
		if it.Key != key {
			return nil, fmt.Errorf("item of key %q flushed under %q", it.Key, key)
		}
		if it.Text == "bad" {
			return nil, errBadInput
		}
		out[i] = embed(it.Text)
	}
	return out, nil
}

func (u *upstream) callSizes() []int {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]int, len(u.calls))
	for i, c := range u.calls {
		out[i] = len(c)
	}
	return out
}

func newBatcher(t testing.TB, cfg Config, u *upstream, opt Options) *Batcher[input, []float32] {
	t.Helper()
	b, err := New(cfg, u.flush, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// submitAll submits every input at once (released together) and returns each caller's
// result and error, by index.
func submitAll(b *Batcher[input, []float32], in []input) ([][]float32, []error) {
	res, errs := make([][]float32, len(in)), make([]error, len(in))
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i, it := range in {
		wg.Go(func() {
			<-gate
			ctx, cancel := context.WithTimeout(context.Background(), within)
			defer cancel()
			res[i], errs[i] = b.Submit(ctx, it.Key, it, it.Weight)
		})
	}
	close(gate)
	wg.Wait()
	return res, errs
}

func inputs(key string, n int) []input {
	out := make([]input, n)
	for i := range out {
		out[i] = input{Key: key, Text: fmt.Sprintf("document %d of %s", i, key), Weight: 10}
	}
	return out
}

func TestFiveHundredConcurrentSubmitsMakeFewCallsAndEachGetsItsOwnResult(t *testing.T) {
	u := &upstream{}
	b := newBatcher(t, Config{}, u, Options{})
	in := inputs("text-embedding-3-small|dims=256|float", 500)
	began := time.Now()
	res, errs := submitAll(b, in)
	took := time.Since(began)
	for i := range in {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if want := embed(in[i].Text); !slices.Equal(res[i], want) {
			t.Fatalf("caller %d got %v, want its own vector %v", i, res[i], want)
		}
	}
	calls := u.callSizes()
	if len(calls) > 50 {
		t.Fatalf("%d upstream calls for 500 submits, want at most 50", len(calls))
	}
	if s := b.Stats(); s.Submitted != 500 || s.Flushes != uint64(len(calls)) || s.Splits != 0 {
		t.Fatalf("stats = %+v with %d calls", s, len(calls))
	}
	t.Logf("500 submits in %v: %d upstream calls, sizes %v", took, len(calls), calls)
}

func TestAnInvalidInputFailsOnlyItsOwnCaller(t *testing.T) {
	u := &upstream{}
	// A window that only closes when full makes the ten inputs one batch for certain.
	b := newBatcher(t, Config{MaxItems: 10, MaxWait: time.Second}, u, Options{})
	in := inputs("m", 10)
	in[3].Text = "bad"
	res, errs := submitAll(b, in)
	for i := range in {
		switch {
		case i == 3 && !errors.Is(errs[i], errBadInput):
			t.Fatalf("the bad input's caller got %v, want %v", errs[i], errBadInput)
		case i != 3 && errs[i] != nil:
			t.Fatalf("caller %d with a good input got %v", i, errs[i])
		case i != 3 && !slices.Equal(res[i], embed(in[i].Text)):
			t.Fatalf("caller %d got another caller's vector", i)
		}
	}
	calls := u.callSizes()
	if calls[0] != 10 || len(calls) != 11 {
		t.Fatalf("upstream calls %v, want one of 10 then 10 of 1", calls)
	}
	if s := b.Stats(); s.Splits != 1 || s.SplitFlushes != 10 {
		t.Fatalf("stats = %+v, want 1 split of 10 calls", s)
	}
}

func TestAFailedBatchIsNotSplitWhenSplitSaysNo(t *testing.T) {
	u := &upstream{}
	notInputErr := func(err error) bool { return !errors.Is(err, errBadInput) }
	b := newBatcher(t, Config{MaxItems: 4, MaxWait: time.Second}, u, Options{Split: notInputErr})
	in := inputs("m", 4)
	in[0].Text = "bad"
	_, errs := submitAll(b, in)
	for i, err := range errs {
		if !errors.Is(err, errBadInput) {
			t.Fatalf("caller %d got %v, want the batch's error", i, err)
		}
	}
	if n := len(u.callSizes()); n != 1 {
		t.Fatalf("%d upstream calls, want 1 (no item-by-item retry)", n)
	}
}

func TestAWrongResultCountIsAnErrorAndRetriedItemByItem(t *testing.T) {
	var calls atomic.Int32
	flush := func(ctx context.Context, key string, items []string) ([]string, error) {
		calls.Add(1)
		if len(items) > 1 {
			return []string{"only one"}, nil
		}
		return []string{items[0] + "!"}, nil
	}
	b, err := New(Config{MaxItems: 3, MaxWait: time.Second}, flush, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for _, s := range []string{"a", "b", "c"} {
		wg.Go(func() {
			got, err := b.Submit(context.Background(), "k", s, 1)
			if err != nil || got != s+"!" {
				t.Errorf("Submit(%q) = %q, %v", s, got, err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 4 {
		t.Fatalf("%d flush calls, want 1 batched and 3 single", n)
	}
}

func TestBatchesAreSplitByItemsAndTokens(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		weights []int
		check   func(sizes []int, weights [][]int) error
	}{
		{
			name:    "no batch holds more than MaxItems items",
			cfg:     Config{MaxItems: 4, MaxWait: 50 * time.Millisecond},
			weights: slices.Repeat([]int{1}, 10),
			check: func(sizes []int, _ [][]int) error {
				if slices.Max(sizes) > 4 || len(sizes) < 3 {
					return fmt.Errorf("batch sizes %v, want at most 4 each", sizes)
				}
				return nil
			},
		},
		{
			name:    "no batch holds more than MaxTokens tokens, and a heavier item goes alone",
			cfg:     Config{MaxTokens: 100, MaxWait: 50 * time.Millisecond},
			weights: append(slices.Repeat([]int{30}, 9), 150),
			check: func(_ []int, weights [][]int) error {
				for _, w := range weights {
					sum := 0
					for _, x := range w {
						sum += x
					}
					if sum > 100 && len(w) > 1 {
						return fmt.Errorf("a batch of weights %v holds %d tokens", w, sum)
					}
					if slices.Contains(w, 150) && len(w) != 1 {
						return fmt.Errorf("the heavy item shared a batch: %v", w)
					}
				}
				if len(weights) < 4 { // 270 tokens of light items need at least 3 batches
					return fmt.Errorf("%d batches for 420 tokens", len(weights))
				}
				return nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &upstream{}
			b := newBatcher(t, tt.cfg, u, Options{})
			in := inputs("m", len(tt.weights))
			for i, w := range tt.weights {
				in[i].Weight = w
			}
			res, errs := submitAll(b, in)
			for i := range in {
				if errs[i] != nil || !slices.Equal(res[i], embed(in[i].Text)) {
					t.Fatalf("caller %d: %v", i, errs[i])
				}
			}
			u.mu.Lock()
			var weights [][]int
			for _, c := range u.calls {
				var w []int
				for _, it := range c {
					w = append(w, it.Weight)
				}
				weights = append(weights, w)
			}
			u.mu.Unlock()
			if err := tt.check(u.callSizes(), weights); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestALoneRequestIsFlushedAfterAboutMaxWait(t *testing.T) {
	const wait = 20 * time.Millisecond
	u := &upstream{}
	b := newBatcher(t, Config{MaxWait: wait}, u, Options{})
	began := time.Now()
	v, err := b.Submit(context.Background(), "m", input{Key: "m", Text: "alone"}, 3)
	took := time.Since(began)
	if err != nil || !slices.Equal(v, embed("alone")) {
		t.Fatalf("Submit = %v, %v", v, err)
	}
	// Timers never fire early; the upper bound only says "not stuck", the machine is busy.
	if took < wait || took > wait+time.Second {
		t.Fatalf("a lone request took %v, want about %v", took, wait)
	}
	if sizes := u.callSizes(); !slices.Equal(sizes, []int{1}) {
		t.Fatalf("upstream calls %v, want one of 1", sizes)
	}
}

func TestDifferentKeysNeverMerge(t *testing.T) {
	u := &upstream{}
	b := newBatcher(t, Config{MaxWait: 50 * time.Millisecond}, u, Options{})
	var in []input
	for _, key := range []string{"small|dims=256", "small|dims=1536", "large|base64"} {
		in = append(in, inputs(key, 30)...)
	}
	res, errs := submitAll(b, in)
	for i := range in {
		if errs[i] != nil || !slices.Equal(res[i], embed(in[i].Text)) {
			t.Fatalf("caller %d: %v", i, errs[i]) // the fake rejects an item of another key
		}
	}
	if n := len(u.callSizes()); n < 3 {
		t.Fatalf("%d upstream calls for three keys", n)
	}
}

func TestACancelledCallerReturnsAtOnceAndIsLeftOut(t *testing.T) {
	u := &upstream{}
	b := newBatcher(t, Config{MaxWait: time.Second}, u, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	quitter := make(chan error, 1)
	go func() {
		_, err := b.Submit(ctx, "m", input{Key: "m", Text: "leaves"}, 1)
		quitter <- err
	}()
	stayer := make(chan error, 1)
	go func() {
		v, err := b.Submit(context.Background(), "m", input{Key: "m", Text: "stays"}, 1)
		if err == nil && !slices.Equal(v, embed("stays")) {
			err = errors.New("wrong vector")
		}
		stayer <- err
	}()
	waitFor(t, "both submits", func() bool { return b.Stats().Submitted == 2 })
	cancel()
	if err := <-quitter; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	if len(stayer) != 0 {
		t.Fatal("the cancelled caller returned only when the window closed")
	}
	if err := <-stayer; err != nil {
		t.Fatal(err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.calls) != 1 || len(u.calls[0]) != 1 || u.calls[0][0].Text != "stays" {
		t.Fatalf("upstream calls %v, want one carrying only the waiting caller's item", u.calls)
	}
}

func TestABatchWhoseCallersAllLeftIsCancelled(t *testing.T) {
	u := &upstream{gate: make(chan struct{})} // the upstream never answers
	b := newBatcher(t, Config{MaxItems: 2, MaxWait: time.Second}, u, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range []string{"a", "b"} {
		wg.Go(func() {
			if _, err := b.Submit(ctx, "m", input{Key: "m", Text: s}, 1); !errors.Is(err, context.Canceled) {
				t.Errorf("Submit = %v", err)
			}
		})
	}
	waitFor(t, "the flush", func() bool { return len(u.callSizes()) == 1 })
	cancel()
	wg.Wait()
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }() // returns once the flush saw its ctx end
	select {
	case <-closed:
	case <-time.After(within):
		t.Fatal("the flush of an abandoned batch was not cancelled")
	}
	if n := len(u.callSizes()); n != 1 {
		t.Fatalf("%d upstream calls, want 1 (an abandoned batch is not retried)", n)
	}
}

func TestAFullQueueRefusesAtOnce(t *testing.T) {
	u := &upstream{gate: make(chan struct{})}
	b := newBatcher(t, Config{MaxItems: 2, MaxQueue: 2, MaxWait: time.Second}, u, Options{})
	var wg sync.WaitGroup
	for _, s := range []string{"a", "b"} {
		wg.Go(func() { _, _ = b.Submit(context.Background(), "m", input{Key: "m", Text: s}, 1) })
	}
	waitFor(t, "the flush", func() bool { return len(u.callSizes()) == 1 })
	if _, err := b.Submit(context.Background(), "m", input{Key: "m", Text: "c"}, 1); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Submit past MaxQueue = %v, want ErrQueueFull", err)
	}
	close(u.gate)
	wg.Wait()
	if _, err := b.Submit(context.Background(), "m", input{Key: "m", Text: "d"}, 2); err != nil {
		t.Fatalf("Submit after the queue drained = %v", err)
	}
	if s := b.Stats(); s.QueueFull != 1 {
		t.Fatalf("stats = %+v, want 1 refused", s)
	}
}

func TestCloseFlushesOpenWindowsAndRefusesNewSubmits(t *testing.T) {
	u := &upstream{}
	b, err := New(Config{MaxWait: time.Second}, u.flush, Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	began := time.Now()
	go func() {
		_, err := b.Submit(context.Background(), "m", input{Key: "m", Text: "x"}, 1)
		done <- err
	}()
	waitFor(t, "the submit", func() bool { return b.Stats().Submitted == 1 })
	b.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 900*time.Millisecond {
		t.Fatalf("Close left the window open for %v", d)
	}
	if _, err := b.Submit(context.Background(), "m", input{Key: "m", Text: "y"}, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close = %v", err)
	}
	b.Close()
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	c := Config{}.WithDefaults()
	if c.MaxWait != 5*time.Millisecond || c.MaxItems != 64 || c.MaxTokens != 8000 || c.MaxQueue != 4096 || c.SplitConcurrency != 8 {
		t.Fatalf("defaults = %+v", c)
	}
	for _, bad := range []Config{{MaxWait: -1}, {MaxItems: -1}, {MaxTokens: -5}, {MaxItems: 100, MaxQueue: 10}, {MaxWait: time.Minute}} {
		if _, err := New(bad, (&upstream{}).flush, Options{}); err == nil {
			t.Errorf("config %+v was accepted", bad)
		}
	}
}

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

func TestConfigDecodesFromYAMLStrictly(t *testing.T) {
	var c Config
	doc := "max_wait: 2ms\nmax_items: 32\nmax_tokens: 4000\nmax_queue: 512\nsplit_concurrency: 4\n"
	if err := yamlx.Decode("batch.yaml", []byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	want := Config{MaxWait: 2 * time.Millisecond, MaxItems: 32, MaxTokens: 4000, MaxQueue: 512, SplitConcurrency: 4}
	if c != want {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}
	if err := yamlx.Decode("batch.yaml", []byte("max_wiat: 2ms\n"), &c); err == nil {
		t.Fatal("an unknown key was accepted")
	}
}

func TestAFlushThatPanicsFailsItsBatchOnly(t *testing.T) {
	b, err := New(Config{MaxWait: time.Millisecond}, func(_ context.Context, _ string, items []int) ([]int, error) {
		if items[0] < 0 {
			panic("bad flush")
		}
		return items, nil
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Submit(context.Background(), "k", -1, 1); !errors.Is(err, ErrPanic) {
		t.Fatalf("err = %v, want ErrPanic", err)
	}
	if r, err := b.Submit(context.Background(), "k", 7, 1); err != nil || r != 7 {
		t.Fatalf("after the panic: %v %v", r, err)
	}
}
