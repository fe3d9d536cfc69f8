package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReaderSplitsEvents(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		names []string
		datas []string
		end   error
	}{
		{"single data events with done", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []string{"", ""}, []string{`{"a":1}`, "[DONE]"}, io.EOF},
		{"named events as anthropic sends them", "event: message_start\ndata: {}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n", []string{"message_start", "ping"}, []string{"{}", `{"type":"ping"}`}, io.EOF},
		{"crlf line endings are accepted", "data: x\r\n\r\n", []string{""}, []string{"x"}, io.EOF},
		{"multi-line data is joined with newlines", "data: a\ndata: b\ndata: c\n\n", []string{""}, []string{"a\nb\nc"}, io.EOF},
		{"comments alone are skipped", ": keep-alive\n\ndata: y\n\n", []string{""}, []string{"y"}, io.EOF},
		{"a stream cut inside an event is an unexpected EOF", "data: {\"a\":1}\n\ndata: {\"b\"", []string{""}, []string{`{"a":1}`}, io.ErrUnexpectedEOF},
		{"data without a space after the colon", "data:z\n\n", []string{""}, []string{"z"}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), 0)
			var names, datas []string
			var err error
			for {
				var ev *Event
				ev, err = r.Next()
				if err != nil {
					break
				}
				names = append(names, string(ev.Name))
				datas = append(datas, string(ev.Data))
			}
			if !errors.Is(err, tt.end) {
				t.Fatalf("end error = %v, want %v", err, tt.end)
			}
			if strings.Join(names, "|") != strings.Join(tt.names, "|") || strings.Join(datas, "|") != strings.Join(tt.datas, "|") {
				t.Fatalf("got names %q datas %q, want %q %q", names, datas, tt.names, tt.datas)
			}
		})
	}
}

func TestReaderKeepsRawBytes(t *testing.T) {
	in := "data: {\"x\":1}\n\n"
	ev, err := NewReader(strings.NewReader(in), 0).Next()
	if err != nil || string(ev.Raw) != in {
		t.Fatalf("raw = %q, err %v", ev.Raw, err)
	}
}

func TestReaderRejectsOversizedEvents(t *testing.T) {
	_, err := NewReader(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 50).Next()
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkReaderOpenAIChunks(b *testing.B) {
	chunk := "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"},\"finish_reason\":null}]}\n\n"
	in := strings.Repeat(chunk, 64)
	src := strings.NewReader(in)
	r := NewReader(src, 0)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(in)
		r.Reset(src)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
