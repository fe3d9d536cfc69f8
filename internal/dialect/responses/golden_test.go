package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/sse"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/cases")

// A case is a directory of testdata/cases holding a recorded exchange:
//
//	request.json            the client's Responses request
//	prior.jsonl             optional: stored Chat messages before it, one a line
//	chat.json               optional: the upstream's Chat Completions answer
//	chat.sse                optional: the same answer, streamed
//	chat_request.golden.json or error.golden.json   what Request made of request.json
//	response.golden.json    what Response made of chat.json
//	stream.golden.sse       what a Stream made of chat.sse
type goldenCase struct {
	name, dir string
}

func goldenCases(t testing.TB) []goldenCase {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases under testdata/cases: %v", err)
	}
	out := make([]goldenCase, 0, len(dirs))
	for _, d := range dirs {
		out = append(out, goldenCase{name: filepath.Base(d), dir: d})
	}
	return out
}

func (c goldenCase) file(name string) string { return filepath.Join(c.dir, name) }

func (c goldenCase) has(name string) bool {
	_, err := os.Stat(c.file(name))
	return err == nil
}

func (c goldenCase) read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(c.file(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (c goldenCase) prior(t testing.TB) [][]byte {
	if !c.has("prior.jsonl") {
		return nil
	}
	var out [][]byte
	for _, line := range bytes.Split(c.read(t, "prior.jsonl"), []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, line)
		}
	}
	return out
}

// meta is the Meta every case's answer is translated with.
func (c goldenCase) meta(t testing.TB) dialect.Meta {
	req := c.read(t, "request.json")
	return dialect.Meta{ID: "resp_" + c.name, Created: 1767225600, Model: jsonx.Get(req, "model").Str, Request: req}
}

// checkGolden compares got with the golden file, or rewrites it under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", path, got, want)
	}
}

// indent pretty-prints JSON for a readable golden file, failing on invalid JSON.
func indent(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func TestRequestTranslatesEachRecordedRequest(t *testing.T) {
	tr := New(Options{})
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			body := c.read(t, "request.json")
			chat, err := tr.Request(body, c.prior(t))
			if err != nil {
				var ae *apierr.Error
				if !errors.As(err, &ae) {
					t.Fatalf("error %v is not an *apierr.Error", err)
				}
				status, env := tr.Error(ae)
				checkGolden(t, c.file("error.golden.json"),
					indent(t, []byte(`{"status":`+strconv.Itoa(status)+`,"body":`+string(env)+`}`)))
				return
			}
			if want := jsonx.Get(body, "stream").Bool(); chat.Stream != want {
				t.Errorf("Stream = %v, want %v", chat.Stream, want)
			}
			checkGolden(t, c.file("chat_request.golden.json"), indent(t, chat.Body))
		})
	}
}

func TestResponseTranslatesEachRecordedAnswer(t *testing.T) {
	tr := New(Options{})
	for _, c := range goldenCases(t) {
		if !c.has("chat.json") {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			chat := c.read(t, "chat.json")
			out, usage, err := tr.Response(chat, c.meta(t))
			if err != nil {
				t.Fatal(err)
			}
			if want := provider.OpenAIUsage(jsonx.Get(chat, "usage")); usage != want {
				t.Errorf("usage = %+v, want %+v", usage, want)
			}
			if got := UsageOf(out); got != usage {
				t.Errorf("UsageOf(the response) = %+v, want %+v", got, usage)
			}
			checkGolden(t, c.file("response.golden.json"), indent(t, out))
		})
	}
}

// streamRun is what a Stream made of a whole Chat transcript.
type streamRun struct {
	out    []byte
	done   bool
	err    error
	usage  provider.Usage
	result []byte
}

// runStream feeds the Chat SSE transcript to a fresh stream, event by event, until it
// reports done or an error.
func runStream(t testing.TB, m dialect.Meta, transcript []byte) streamRun {
	t.Helper()
	s := New(Options{}).NewStream(m)
	rd := sse.NewReader(bytes.NewReader(transcript), 0)
	var r streamRun
	for !r.done && r.err == nil {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		r.out, r.done, r.err = s.Event(ev.Data, r.out)
	}
	r.usage, r.result = s.Usage(), s.Result()
	return r
}

// responsesEvent is one event of the client's stream, parsed.
type responsesEvent struct {
	name string
	data map[string]any
}

// parseEvents splits the client's SSE bytes into events, checking the framing: an
// event line naming the data's type, one data line of JSON, sequence numbers 0, 1, 2…
func parseEvents(t testing.TB, b []byte) []responsesEvent {
	t.Helper()
	var out []responsesEvent
	rd := sse.NewReader(bytes.NewReader(b), 0)
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(ev.Raw, []byte("\n")) != 3 {
			t.Fatalf("event %q is not one event line and one data line", ev.Raw)
		}
		var data map[string]any
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			t.Fatalf("event data %q: %v", ev.Data, err)
		}
		if data["type"] != string(ev.Name) {
			t.Fatalf("event %q carries type %v", ev.Name, data["type"])
		}
		if seq, _ := data["sequence_number"].(float64); int(seq) != len(out) {
			t.Fatalf("event %d (%s) has sequence_number %v", len(out), ev.Name, data["sequence_number"])
		}
		out = append(out, responsesEvent{name: string(ev.Name), data: data})
	}
}

func TestStreamTranslatesEachRecordedTranscript(t *testing.T) {
	for _, c := range goldenCases(t) {
		if !c.has("chat.sse") {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			r := runStream(t, c.meta(t), c.read(t, "chat.sse"))
			if r.err != nil || !r.done {
				t.Fatalf("done = %v, err = %v", r.done, r.err)
			}
			events := parseEvents(t, r.out)
			last := events[len(events)-1]
			if last.name != "response.completed" && last.name != "response.incomplete" {
				t.Errorf("the stream ends with %s", last.name)
			}
			var result any
			if err := json.Unmarshal(r.result, &result); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(result, last.data["response"]) {
				t.Errorf("Result differs from the closing event's response:\n%s", r.result)
			}
			checkGolden(t, c.file("stream.golden.sse"), r.out)
		})
	}
}

func TestStreamedResultEqualsTheNonStreamedResponse(t *testing.T) {
	tr := New(Options{})
	for _, c := range goldenCases(t) {
		if !c.has("chat.sse") || !c.has("chat.json") {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			m := c.meta(t)
			r := runStream(t, m, c.read(t, "chat.sse"))
			whole, usage, err := tr.Response(c.read(t, "chat.json"), m)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(r.result, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(whole, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("streamed Result:\n%s\nnon-streamed Response:\n%s", r.result, whole)
			}
			if r.usage != usage {
				t.Errorf("streamed usage %+v, non-streamed %+v", r.usage, usage)
			}
		})
	}
}
