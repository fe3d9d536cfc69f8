package sse

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the reader, with a small event limit. It must end
// with io.EOF, io.ErrUnexpectedEOF or ErrEventTooLarge, never panic or loop; every
// event's Raw must be the next bytes of the input (stray blank lines and comment
// blocks skipped) within the limit, and a one-line Data a view into Raw.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"data: {\"a\":1}\n\ndata: [DONE]\n\n",
		"event: message_start\ndata: {}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n",
		"data: a\r\ndata: b\r\n\r\n: comment\n\nid: 7\ndata:c\n\n",
		"\n\n\ndata: x",
		"data: " + string(bytes.Repeat([]byte("y"), 300)) + "\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 256
		r := NewReader(bytes.NewReader(in), max)
		consumed := 0
		for n := 0; ; n++ {
			if n > len(in) {
				t.Fatalf("more events than input bytes")
			}
			ev, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrEventTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(ev.Raw) > max {
				t.Fatalf("event of %d bytes over the limit of %d", len(ev.Raw), max)
			}
			at := bytes.Index(in[consumed:], ev.Raw)
			if at < 0 {
				t.Fatalf("event %q is not in the rest of the input", ev.Raw)
			}
			consumed += at + len(ev.Raw)
			if bytes.Count(ev.Raw, []byte("data")) == 1 && len(ev.Data) > 0 && !bytes.Contains(ev.Raw, ev.Data) {
				t.Fatalf("data %q is not in the event %q", ev.Data, ev.Raw)
			}
		}
	})
}
