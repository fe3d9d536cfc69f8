package provider

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/switchyard/switchyard/internal/sse"
)

// benchmarkNative replays a recorded transcript through a fresh pass-through decoder per
// iteration, reusing the output buffer as the gateway's relay does.
func benchmarkNative(b *testing.B, kind string, op Op, file string) {
	c := Config{Name: "p", Kind: kind, BaseURL: "https://upstream.example"}
	if err := c.Resolve(func(string) string { return "" }); err != nil {
		b.Fatal(err)
	}
	tr, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	transcript := readFile(b, filepath.Join("testdata", "native", file))
	rd := sse.NewReader(bytes.NewReader(transcript), 0)
	out := make([]byte, 0, 8<<10)
	b.SetBytes(int64(len(transcript)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(bytes.NewReader(transcript))
		dec := tr.NewStream(&Request{Op: op, Stream: true})
		for {
			ev, err := rd.Next()
			if err != nil {
				break
			}
			var done bool
			out, done, _ = dec.Event(ev, out[:0])
			if done {
				break
			}
		}
		_ = dec.Usage()
	}
}

func BenchmarkResponsesStreamPassthrough(b *testing.B) {
	benchmarkNative(b, KindOpenAI, OpResponses, "responses/text_reply.sse")
}

func BenchmarkMessagesStreamPassthrough(b *testing.B) {
	benchmarkNative(b, KindAnthropic, OpMessages, "messages/text_reply.sse")
}
