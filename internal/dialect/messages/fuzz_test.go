package messages

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// FuzzRequest feeds arbitrary bodies to Request: it must not panic; a translation is a
// JSON object with a messages array, and a refusal a 400 *apierr.Error.
func FuzzRequest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "request", "*.json"))
	for _, p := range files {
		if b := readFile(f, p); !bytes.Contains([]byte(p), []byte(".golden.")) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, count := range []bool{false, true} {
			var chat, err = New().Request(body, nil)
			if count {
				chat, err = CountTokensRequest(body)
			}
			if err != nil {
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.Status != 400 {
					t.Fatalf("Request(%q) = %v, not a 400 *apierr.Error", body, err)
				}
				continue
			}
			if jsonx.ValidObject(chat.Body, 0) != nil || !jsonx.Get(chat.Body, "messages").IsArray() {
				t.Fatalf("Request(%q) = %q, not a Chat body", body, chat.Body)
			}
		}
	})
}

// FuzzStream feeds arbitrary chunk sequences (one event's data per line) to a stream:
// it must not panic, and what it writes is always a well-formed Anthropic event
// sequence, ending with message_stop after [DONE] or with an error event after Fail,
// whose complete message equals Result.
func FuzzStream(f *testing.F) {
	for _, p := range fixtures(f, "stream", ".sse") {
		f.Add(bytes.Join(chatEvents(f, readFile(f, p)), []byte("\n")))
	}
	f.Fuzz(func(t *testing.T, transcript []byte) {
		s := New().NewStream(testMeta())
		var out []byte
		failed, done := false, false
		for _, data := range bytes.Split(transcript, []byte("\n")) {
			var err error
			if out, done, err = s.Event(data, out); err != nil {
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.Status != 502 {
					t.Fatalf("Event error %v is not a 502 *apierr.Error", err)
				}
				out = s.Fail(ae, out)
				failed = true
				break
			}
			if done {
				break
			}
		}
		if !failed && !done {
			out, _, _ = s.Event([]byte("[DONE]"), out)
		}
		msg := accumulate(t, parseEvents(t, out))
		if failed != (msg == nil) {
			t.Fatalf("failed %v, but the events accumulate to %v", failed, msg)
		}
		if msg != nil && !jsonEqual(t, msg, s.Result()) {
			t.Fatalf("the events accumulate to %v, Result is %s", msg, s.Result())
		}
	})
}

func jsonEqual(t *testing.T, v any, b []byte) bool {
	t.Helper()
	got, err := jsonx.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(canonical(t, got), canonical(t, b))
}

// canonical re-encodes JSON with sorted keys (encoding/json sorts map keys).
func canonical(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := jsonx.Marshal(parseJSON(t, b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
