package microbatch_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/microbatch"
)

// Embeddings requests for the same model and parameters share one upstream call with an
// array input; each caller gets its own result back.
func Example() {
	var mu sync.Mutex
	var calls []int
	flush := func(ctx context.Context, key string, inputs []string) ([]int, error) {
		mu.Lock()
		calls = append(calls, len(inputs)) // one upstream call with input: [...]
		mu.Unlock()
		out := make([]int, len(inputs))
		for i, in := range inputs {
			out[i] = len(in) // stands in for the i-th vector of the answer
		}
		return out, nil
	}
	// A long window that closes when full, so the example's output does not depend on timing.
	cfg := microbatch.Config{MaxItems: 3, MaxWait: time.Second}
	b, err := microbatch.New(cfg, flush, microbatch.Options{})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	key := "text-embedding-3-small|dimensions=256|encoding_format=float"
	results := make([]int, 3)
	var wg sync.WaitGroup
	for i, in := range []string{"a", "bb", "ccc"} {
		wg.Go(func() {
			results[i], _ = b.Submit(context.Background(), key, in, 1) // weight: its tokens
		})
	}
	wg.Wait()
	fmt.Println("results:", results, "upstream calls:", calls)
	// Output:
	// results: [1 2 3] upstream calls: [3]
}
