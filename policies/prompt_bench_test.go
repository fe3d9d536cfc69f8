package policies

import (
	"strconv"
	"testing"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// BenchmarkPromptResolve is the pin lookup and sticky split alone.
func BenchmarkPromptResolve(b *testing.B) {
	r := loadTestPrompts(b)
	ref, _ := ParseRefHeader("support-reply")
	keys := stickyKeys(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, err := r.Resolve(ref, ResolveAttrs{Feature: "help-center", Team: "support", StickyKey: keys[i&1023]}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPromptResolveRender is the header form: parse id@label, resolve through a
// sticky split with rollback, render with three variables given and two defaulted.
func BenchmarkPromptResolveRender(b *testing.B) {
	r := loadTestPrompts(b)
	vars := map[string]any{"customer": "Ada", "question": "Where is my order A-1234? It was due on Monday.", "order_ids": []any{"A-1234"}}
	keys := stickyKeys(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ref, err := ParseRefHeader("support-reply")
		if err != nil {
			b.Fatal(err)
		}
		v, _, err := r.Resolve(ref, ResolveAttrs{Feature: "help-center", StickyKey: keys[i&1023]})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Render(vars, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPromptResolveRenderRequest is the request-object form end to end: read the
// prompt object out of the body, parse it (variables decoded), resolve, and merge into
// the client's body.
func BenchmarkPromptResolveRenderRequest(b *testing.B) {
	r := loadTestPrompts(b)
	body := []byte(`{"model":"","stream":true,"user":"u-1","metadata":{"team":"support"},` +
		`"prompt":{"id":"support-reply","variables":{"customer":"Ada","question":"Where is my order A-1234? It was due on Monday."}},` +
		`"messages":[{"role":"user","content":"Also, can I change the address?"}]}`)
	keys := stickyKeys(1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; b.Loop(); i++ {
		ref, err := ParseRefObject([]byte(jsonx.Get(body, "prompt").Raw))
		if err != nil {
			b.Fatal(err)
		}
		v, _, err := r.Resolve(ref, ResolveAttrs{Feature: "help-center", StickyKey: keys[i&1023]})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.RenderRequest(ref.Variables, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPromptRollbackObserve is one outcome recorded on a canary (with its comparison).
func BenchmarkPromptRollbackObserve(b *testing.B) {
	rb, _ := NewRollback(RollbackConfig{Metric: "error_rate", Margin: margin(0.5)}, []string{"2", "3"}, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rb.Observe("3", false, 1000)
		}
	})
}

func stickyKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "user-" + strconv.Itoa(i)
	}
	return keys
}
