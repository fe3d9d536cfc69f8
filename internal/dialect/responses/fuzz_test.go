package responses

import (
	"bytes"
	"errors"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// FuzzRequest holds Request to its contract on any body: a 400 *apierr.Error, or a Chat
// body that is a JSON object with a messages array.
func FuzzRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","input":"hi"}`))
	f.Add([]byte(`{"model":"m","instructions":"x","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":"1"}],"tools":[{"type":"function","name":"f","parameters":{ "type" : "object" }}],"text":{"format":{"type":"json_schema","name":"n","schema":{}}},"stream":true}`))
	tr := New(Options{})
	prior := [][]byte{[]byte(`{"role":"user","content":"earlier"}`)}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range [][][]byte{nil, prior} {
			chat, err := tr.Request(body, p)
			if err != nil {
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.Status != 400 {
					t.Fatalf("error %v is not a 400 *apierr.Error", err)
				}
				continue
			}
			if !jsonx.Valid(chat.Body) || !jsonx.Get(chat.Body, "messages").IsArray() {
				t.Fatalf("Request(%q) = %s, not a Chat body", body, chat.Body)
			}
		}
	})
}

// FuzzStream feeds a Chat SSE transcript's data lines to a stream (and Fail when it
// stops short) and holds the output to the Responses framing: one JSON data line per
// event naming its type, sequence numbers from 0, a closing event whose response is
// Result.
func FuzzStream(f *testing.F) {
	f.Add([]byte("data: " + chunk(`{"content":"Hi"}`, "") + "\n\ndata: " + chunk(`{}`, "stop") + "\n\ndata: " + usageChunk + "\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: " + chunk(`{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{\"a\":"}}]}`, "") +
		"\n\ndata: " + chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}`, "tool_calls") + "\n\ndata: [DONE]\n\n"))
	f.Fuzz(func(t *testing.T, transcript []byte) {
		s := New(Options{}).NewStream(testMeta)
		var out []byte
		done := false
		var err error
		for _, line := range bytes.Split(transcript, []byte("\n")) {
			data, ok := bytes.CutPrefix(line, []byte("data: "))
			if !ok {
				continue
			}
			if out, done, err = s.Event(data, out); done || err != nil {
				break
			}
		}
		if !done {
			out = s.Fail(apierr.BadGateway("upstream_bad_event", "the upstream stream ended early"), out)
		}
		events := parseEvents(t, out)
		switch last := events[len(events)-1].name; last {
		case "response.completed", "response.incomplete", "response.failed":
		default:
			t.Fatalf("the stream ends with %s", last)
		}
		if !jsonx.Valid(s.Result()) {
			t.Fatalf("Result is not JSON: %s", s.Result())
		}
	})
}
