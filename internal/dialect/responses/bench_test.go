package responses

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/switchyard/switchyard/internal/dialect"
)

func benchFile(b *testing.B, parts ...string) []byte {
	b.Helper()
	body, err := os.ReadFile(filepath.Join(append([]string{"testdata", "cases"}, parts...)...))
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkRequest translates the tool round trip request (a user message, a
// function_call, its output and one strict function tool).
func BenchmarkRequest(b *testing.B) {
	body := benchFile(b, "tool_round_trip", "request.json")
	tr := New(Options{})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := tr.Request(body, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResponse translates the two-parallel-tool-calls answer.
func BenchmarkResponse(b *testing.B) {
	chat := benchFile(b, "parallel_tool_calls", "chat.json")
	m := dialect.Meta{ID: "resp_bench", Created: 1767225600, Model: "gpt-4o", Request: benchFile(b, "parallel_tool_calls", "request.json")}
	tr := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tr.Response(chat, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStream16 translates a whole streamed answer of 16 chunks (the role chunk,
// 13 text deltas, the finish chunk, the usage chunk) and [DONE], NewStream included,
// into a reused output buffer as the gateway's relay would.
func BenchmarkStream16(b *testing.B) {
	chunks := [][]byte{[]byte(chunk(`{"role":"assistant","content":""}`, ""))}
	for i := range 13 {
		chunks = append(chunks, []byte(chunk(`{"content":" word`+strconv.Itoa(i)+`, more \"text\""}`, "")))
	}
	chunks = append(chunks, []byte(chunk(`{}`, "stop")), []byte(usageChunk), []byte("[DONE]"))
	m := dialect.Meta{ID: "resp_bench", Created: 1767225600, Model: "gpt-4o-mini", Request: benchFile(b, "plain_text", "request.json")}
	tr := New(Options{})
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		s := tr.NewStream(m)
		out = out[:0]
		for _, c := range chunks {
			var err error
			var done bool
			if out, done, err = s.Event(c, out); err != nil {
				b.Fatal(err)
			} else if done {
				break
			}
		}
	}
}

// BenchmarkStreamUsageObserve reads a native stream's 16 events for its usage.
func BenchmarkStreamUsageObserve(b *testing.B) {
	delta := []byte(`{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":" word","logprobs":[]}`)
	done := []byte(`{"type":"response.completed","sequence_number":15,"response":{"id":"resp_1","object":"response","status":"completed","output":[],"usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":64},"output_tokens":40,"output_tokens_details":{"reasoning_tokens":16},"total_tokens":140}}}`)
	b.ReportAllocs()
	for b.Loop() {
		var s StreamUsage
		for range 15 {
			s.Observe(delta)
		}
		s.Observe(done)
	}
}
