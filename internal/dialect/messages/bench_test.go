package messages

import (
	"strconv"
	"testing"
)

// BenchmarkRequest translates a Claude Code–like request: a system prompt in blocks,
// two tools, and a tool round trip.
func BenchmarkRequest(b *testing.B) {
	body := readFile(b, "testdata/request/tool_round_trip.json")
	tr := New()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Request(body, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStream16Chunks translates a 16-chunk streamed answer (role, 13 text chunks,
// finish, usage) and [DONE] into Anthropic's events, with its Result.
func BenchmarkStream16Chunks(b *testing.B) {
	const prefix = `{"id":"chatcmpl-CBv4r8Yf1hXkZ2mQ9pL0s3Tn","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4.1-2025-04-14","system_fingerprint":"fp_b3f1157249","choices":[`
	events := [][]byte{[]byte(prefix + `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`)}
	for i := range 13 {
		events = append(events, []byte(prefix+`{"index":0,"delta":{"content":" word `+strconv.Itoa(i)+` of the answer,"},"logprobs":null,"finish_reason":null}],"usage":null}`))
	}
	events = append(events,
		[]byte(prefix+`{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`),
		[]byte(prefix+`],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920}}}`),
		[]byte(`[DONE]`))
	tr := New()
	m := testMeta()
	out := make([]byte, 0, 8<<10)
	b.ReportAllocs()
	for b.Loop() {
		s := tr.NewStream(m)
		out = out[:0]
		for _, ev := range events {
			var err error
			if out, _, err = s.Event(ev, out); err != nil {
				b.Fatal(err)
			}
		}
		_ = s.Result()
	}
}
