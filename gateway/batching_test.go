package gateway_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

func batchingGateway(t *testing.T, up *testutil.Upstream) *testutil.Gateway {
	t.Helper()
	return testutil.StartGateway(t, fmt.Sprintf(`
batching:
  embeddings: {enabled: true, max_wait: 20ms}
providers: [{name: openai, base_url: %s}]
models: [{name: text-embedding-3-small, provider: openai}]
`, up.URL), nil)
}

type embeddingAnswer struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
	} `json:"usage"`
}

func TestConcurrentEmbeddingsAreMicroBatched(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := batchingGateway(t, up)
	const n = 500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var usage sync.Map
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			input := strconv.Quote(fmt.Sprintf("document number %d", i))
			r := g.Post(t, "/v1/embeddings", `{"model":"text-embedding-3-small","input":`+input+`}`)
			if r.Status != 200 {
				errs <- fmt.Errorf("request %d: %d %s", i, r.Status, r.Body)
				return
			}
			var a embeddingAnswer
			if err := json.Unmarshal(r.Body, &a); err != nil || len(a.Data) != 1 || a.Data[0].Index != 0 {
				errs <- fmt.Errorf("request %d: %s", i, r.Body)
				return
			}
			want := mock.Vector(input, 8) // what an unbatched call returns for this input
			for j := range want {
				if a.Data[0].Embedding[j] != want[j] {
					errs <- fmt.Errorf("request %d got another caller's vector", i)
					return
				}
			}
			usage.Store(i, a.Usage.PromptTokens)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if calls := up.Calls(); calls > 50 {
		t.Fatalf("%d upstream calls for %d requests, want at most 50", calls, n)
	} else {
		t.Logf("%d concurrent embedding requests made %d upstream calls", n, calls)
	}
}

func TestOneInvalidInputFailsOnlyItsOwnCaller(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := batchingGateway(t, up)
	inputs := []string{`"alpha"`, `"beta"`, `""`, `"gamma"`, `"delta"`}
	status := make([]int, len(inputs))
	var wg sync.WaitGroup
	for i, in := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i] = g.Post(t, "/v1/embeddings", `{"model":"text-embedding-3-small","input":`+in+`}`).Status
		}()
	}
	wg.Wait()
	for i, s := range status {
		want := 200
		if inputs[i] == `""` {
			want = 400
		}
		if s != want {
			t.Fatalf("input %s got %d, want %d (all: %v)", inputs[i], s, want, status)
		}
	}
	// One batched call was rejected, then each input went alone: more calls than inputs.
	if calls := up.Calls(); calls <= int64(len(inputs)) {
		t.Fatalf("%d upstream calls: the inputs were not batched together", calls)
	}
}
