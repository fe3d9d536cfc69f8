package provider

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/sse"
)

// fuzzKinds are the translators the fuzz targets pick from with a byte.
var fuzzKinds = []string{KindOpenAI, KindAzure, KindAnthropic}

func fuzzTranslator(t *testing.T, kind uint8) (Translator, string) {
	k := fuzzKinds[int(kind)%len(fuzzKinds)]
	return newTestTranslator(t, k), k
}

// addFixtures seeds f with every file under testdata/anthropic/dir, each as add builds it.
func addFixtures(f *testing.F, dir string, add func(b []byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "anthropic", dir, "*"))
	for _, p := range files {
		if strings.Contains(p, ".golden.") {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			add(b)
		}
	}
}

// FuzzDecode feeds arbitrary 2xx bodies to each translator's Decode: it must not panic,
// and a translated answer (Anthropic's) must be a JSON object.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"id":"x","object":"chat.completion","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}`), uint8(0))
	addFixtures(f, "decode", func(b []byte) { f.Add(b, uint8(2)) })
	f.Fuzz(func(t *testing.T, body []byte, kind uint8) {
		tr, k := fuzzTranslator(t, kind)
		out, _, err := tr.Decode(&Request{Op: OpChat, Model: "m", ClientModel: "m"}, body, nil)
		if err != nil {
			return
		}
		if k == KindAnthropic && jsonx.ValidObject(out, 0) != nil {
			t.Fatalf("Decode(%q) = %q, not a JSON object", body, out)
		}
	})
}

// FuzzDecodeError feeds arbitrary error answers to each translator's DecodeError: the
// client's error is always a 4xx or 5xx with an envelope that is JSON, and for a
// refused credential (401, 403) it never depends on what the upstream said.
func FuzzDecodeError(f *testing.F) {
	f.Add(uint16(401), []byte(`{"error":{"message":"Incorrect API key provided: sk-proj-abc123","type":"invalid_request_error","code":"invalid_api_key"}}`), uint8(0))
	f.Add(uint16(429), []byte(`{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}`), uint8(1))
	f.Add(uint16(502), []byte(`<html>bad gateway</html>`), uint8(0))
	addFixtures(f, "errors", func(b []byte) { f.Add(uint16(400), b, uint8(2)) })
	f.Fuzz(func(t *testing.T, status uint16, body []byte, kind uint8) {
		st := 400 + int(status)%200
		tr, _ := fuzzTranslator(t, kind)
		e := tr.DecodeError(st, body, "")
		if e == nil || e.Status < 400 || e.Status > 599 || e.Type == "" {
			t.Fatalf("DecodeError(%d, %q) = %+v", st, body, e)
		}
		if env := e.AppendJSON(nil); jsonx.ValidObject(env, 0) != nil {
			t.Fatalf("envelope %q is not JSON", env)
		}
		if st == 401 || st == 403 {
			if plain := tr.DecodeError(st, nil, ""); e.Message != plain.Message || string(e.AppendJSON(nil)) != string(plain.AppendJSON(nil)) {
				t.Fatalf("the client's error for a %d depends on the upstream's text: %q", st, e.Message)
			}
		}
	})
}

// fuzzStreams are the stream decoders FuzzStream picks from with a byte: the first three
// as fuzzKinds, then the native pass-through ones.
var fuzzStreams = []struct {
	kind string
	op   Op
}{{KindOpenAI, OpChat}, {KindAzure, OpChat}, {KindAnthropic, OpChat}, {KindOpenAI, OpResponses}, {KindAnthropic, OpMessages}}

// FuzzStream reads arbitrary bytes as an upstream SSE stream and feeds each event to
// each translator's stream decoder: no panic, every event a translated stream
// (Anthropic's) emits is a chunk whose data is a JSON object or [DONE], and a native
// pass-through stream emits each event as received or not at all.
func FuzzStream(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\ndata: [DONE]\n\n"), uint8(0), false)
	f.Add([]byte("data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n"), uint8(1), true)
	addFixtures(f, "stream", func(b []byte) { f.Add(b, uint8(2), true) })
	for i, dir := range []string{"responses", "messages"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "native", dir, "*.sse"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b, uint8(3+i), false)
			}
		}
	}
	f.Fuzz(func(t *testing.T, stream []byte, pick uint8, includeUsage bool) {
		s := fuzzStreams[int(pick)%len(fuzzStreams)]
		tr, k := newTestTranslator(t, s.kind), s.kind
		native := s.op != OpChat
		dec := tr.NewStream(&Request{Op: s.op, Model: "m", ClientModel: "m", Stream: true, IncludeUsage: includeUsage})
		r := sse.NewReader(bytes.NewReader(stream), 1<<16)
		for {
			ev, err := r.Next()
			if err != nil {
				return
			}
			out, done, err := dec.Event(ev, nil)
			var se *StreamError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("stream error %v is not a *StreamError", err)
			}
			if native && len(out) != 0 && !bytes.Equal(out, ev.Raw) {
				t.Fatalf("a pass-through stream emitted %q for the event %q", out, ev.Raw)
			}
			if k == KindAnthropic && !native {
				sse.EachData(out, func(data []byte) {
					if string(data) != "[DONE]" && jsonx.ValidObject(data, 0) != nil {
						t.Fatalf("chunk data %q is not a JSON object (from %q)", data, ev.Raw)
					}
				})
			}
			_ = dec.Usage()
			if done || err != nil {
				return
			}
		}
	})
}
