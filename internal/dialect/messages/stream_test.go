package messages

import (
	"bytes"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/sse"
)

// chatEvents reads the data of every event of a recorded Chat Completions SSE transcript.
func chatEvents(t testing.TB, transcript []byte) [][]byte {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(transcript), 0)
	var out [][]byte
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(ev.Data))
	}
}

// translateStream feeds events to a new stream and returns what it wrote and the stream.
func translateStream(t testing.TB, m dialect.Meta, events [][]byte) ([]byte, dialect.Stream) {
	t.Helper()
	s := New().NewStream(m)
	var out []byte
	for i, data := range events {
		var done bool
		var err error
		out, done, err = s.Event(data, out)
		if err != nil {
			t.Fatalf("event %d (%s): %v", i, data, err)
		}
		if done && i != len(events)-1 && string(events[len(events)-1]) != "[DONE]" {
			t.Fatalf("done at event %d of %d", i, len(events))
		}
	}
	return out, s
}

// anthropicEvent is one event the translation wrote.
type anthropicEvent struct {
	name string
	data []byte
}

// parseEvents splits the translation's output into events, checking the framing
// ("event: <type>\ndata: <json>\n\n", the type repeated in the data).
func parseEvents(t testing.TB, out []byte) []anthropicEvent {
	t.Helper()
	var evs []anthropicEvent
	for len(out) > 0 {
		end := bytes.Index(out, []byte("\n\n"))
		if end < 0 {
			t.Fatalf("an unterminated event: %q", out)
		}
		frame := string(out[:end])
		out = out[end+2:]
		name, data, ok := strings.Cut(frame, "\n")
		if !ok || !strings.HasPrefix(name, "event: ") || !strings.HasPrefix(data, "data: ") || strings.Contains(data, "\n") {
			t.Fatalf("a badly framed event: %q", frame)
		}
		ev := anthropicEvent{name: strings.TrimPrefix(name, "event: "), data: []byte(strings.TrimPrefix(data, "data: "))}
		if jsonx.ValidObject(ev.data, 0) != nil || jsonx.Get(ev.data, "type").Str != ev.name {
			t.Fatalf("event %s has data %s", ev.name, ev.data)
		}
		evs = append(evs, ev)
	}
	return evs
}

// accumulate checks that evs follow Anthropic's event sequence and builds the message
// they describe, as the Anthropic SDKs accumulate a stream. It returns nil when the
// sequence ends with an error event instead.
func accumulate(t testing.TB, evs []anthropicEvent) map[string]any {
	t.Helper()
	if len(evs) == 1 && evs[0].name == "error" { // a stream that failed before it began
		return nil
	}
	if len(evs) == 0 || evs[0].name != "message_start" {
		t.Fatalf("the stream does not begin with message_start: %v", evs)
	}
	var msg map[string]any
	if err := jsonx.Unmarshal([]byte(jsonx.Get(evs[0].data, "message").Raw), &msg); err != nil {
		t.Fatal(err)
	}
	var blocks []any
	open := -1
	var partial string
	stopped := false
	for i, ev := range evs[1:] {
		last := i == len(evs)-2
		idx := int(jsonx.Get(ev.data, "index").Int())
		switch ev.name {
		case "content_block_start":
			if open >= 0 || idx != len(blocks) || stopped {
				t.Fatalf("content_block_start %d while block %d is open (%d blocks)", idx, open, len(blocks))
			}
			var b map[string]any
			if err := jsonx.Unmarshal([]byte(jsonx.Get(ev.data, "content_block").Raw), &b); err != nil {
				t.Fatal(err)
			}
			blocks, open, partial = append(blocks, b), idx, ""
		case "content_block_delta":
			if idx != open {
				t.Fatalf("a delta for block %d while %d is open", idx, open)
			}
			b := blocks[idx].(map[string]any)
			switch d := jsonx.Get(ev.data, "delta"); d.Get("type").Str {
			case "text_delta":
				if b["type"] != "text" {
					t.Fatalf("a text_delta in a %v block", b["type"])
				}
				b["text"] = b["text"].(string) + d.Get("text").Str
			case "input_json_delta":
				if b["type"] != "tool_use" {
					t.Fatalf("an input_json_delta in a %v block", b["type"])
				}
				partial += d.Get("partial_json").Str
			default:
				t.Fatalf("an unknown delta %s", d.Raw)
			}
		case "content_block_stop":
			if idx != open {
				t.Fatalf("content_block_stop %d while %d is open", idx, open)
			}
			if b := blocks[idx].(map[string]any); b["type"] == "tool_use" && strings.TrimSpace(partial) != "" {
				var in any
				if jsonx.Unmarshal([]byte(partial), &in) == nil {
					b["input"] = in
				}
			}
			open = -1
		case "message_delta":
			if open >= 0 || stopped {
				t.Fatalf("message_delta while block %d is open", open)
			}
			stopped = true
			msg["stop_reason"] = jsonx.Get(ev.data, "delta.stop_reason").Value()
			msg["stop_sequence"] = jsonx.Get(ev.data, "delta.stop_sequence").Value()
			usage := msg["usage"].(map[string]any)
			for k, v := range jsonx.Get(ev.data, "usage").Value().(map[string]any) {
				usage[k] = v
			}
		case "message_stop":
			if !stopped || !last {
				t.Fatalf("message_stop before message_delta or not last")
			}
		case "error":
			if !last {
				t.Fatalf("events after the error event")
			}
			return nil
		case "ping":
		default:
			t.Fatalf("an unknown event %s", ev.name)
		}
	}
	if !stopped || evs[len(evs)-1].name != "message_stop" {
		t.Fatalf("the stream does not end with message_delta and message_stop")
	}
	if blocks == nil {
		blocks = []any{}
	}
	msg["content"] = blocks
	return msg
}

func TestStreamMatchesGoldenEvents(t *testing.T) {
	for _, in := range fixtures(t, "stream", ".sse") {
		t.Run(fixtureName(in, ".sse"), func(t *testing.T) {
			out, s := translateStream(t, testMeta(), chatEvents(t, readFile(t, in)))
			checkGoldenBytes(t, goldenPath(in, ".sse"), out)
			got := accumulate(t, parseEvents(t, out))
			if want := parseJSON(t, s.Result()); !reflect.DeepEqual(any(got), want) {
				t.Errorf("the events accumulate to\n%v\nResult is\n%v", got, want)
			}
		})
	}
}

func TestStreamResultIsTheNonStreamedTranslationOfTheSameAnswer(t *testing.T) {
	for _, in := range fixtures(t, "stream", ".sse") {
		name := fixtureName(in, ".sse")
		t.Run(name, func(t *testing.T) {
			chat, err := os.ReadFile("testdata/response/" + name + ".json")
			if err != nil {
				t.Skip("no non-streamed recording of this answer")
			}
			_, s := translateStream(t, testMeta(), chatEvents(t, readFile(t, in)))
			want, wantUsage, err := New().Response(chat, testMeta())
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Result(); !bytes.Equal(got, want) {
				t.Errorf("Result\n%s\nResponse\n%s", got, want)
			}
			if got := s.Usage(); got != wantUsage {
				t.Errorf("stream usage %+v, non-streamed %+v", got, wantUsage)
			}
		})
	}
}

func TestStreamStartsWithTheEstimateUntilTheUpstreamReports(t *testing.T) {
	s := New().NewStream(testMeta())
	out, done, err := s.Event([]byte(`{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`), nil)
	if err != nil || done {
		t.Fatal(err, done)
	}
	evs := parseEvents(t, out)
	if len(evs) != 1 || jsonx.Get(evs[0].data, "message.usage.input_tokens").Int() != 25 || jsonx.Get(evs[0].data, "message.usage.output_tokens").Int() != 0 {
		t.Fatalf("first event = %s", out)
	}
	if u := s.Usage(); u.Reported {
		t.Errorf("usage %+v reported before the upstream reported any", u)
	}
}

func TestStreamEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		events []string
		want   string // Result
	}{
		{
			name:   "a stream with no chunk but [DONE] is an empty end_turn message",
			events: []string{`[DONE]`},
			want:   `{"id":"msg_01SwitchyardTest0001","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
		{
			name: "text after a tool call opens a new text block, and usage on the finish chunk counts",
			events: []string{
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"{}"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"content":"done"}}]}`,
				`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":2}}`,
				`[DONE]`,
			},
			want: `{"id":"msg_01SwitchyardTest0001","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"call_1","name":"f","input":{}},{"type":"text","text":"done"}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}`,
		},
		{
			name: "tool calls without ids or indexes get made-up ids and follow the last call",
			events: []string{
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"name":"f","arguments":"{\"a\""}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
				`[DONE]`,
			},
			want: `{"id":"msg_01SwitchyardTest0001","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"toolu_01SwitchyardTest0001_0","name":"f","input":{"a":1}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var evs [][]byte
			for _, e := range tt.events {
				evs = append(evs, []byte(e))
			}
			out, s := translateStream(t, testMeta(), evs)
			accumulate(t, parseEvents(t, out))
			if got := string(s.Result()); got != tt.want {
				t.Errorf("Result = %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestStreamFailureEndsWithAnErrorEventNeverACleanEnd(t *testing.T) {
	tests := []struct {
		name     string
		events   []string
		err      *apierr.Error // given to Fail when no event failed
		wantType string
	}{
		{"an upstream error chunk is an error the gateway fails the stream with",
			[]string{`{"choices":[{"index":0,"delta":{"content":"Here is"}}]}`, `{"error":{"message":"model overloaded","type":"server_error"}}`}, nil, "api_error"},
		{"an event that is not JSON fails the stream",
			[]string{`{"choices":[{"index":0,"delta":{"content":"Here is"}}]}`, `{"choices":[`}, nil, "api_error"},
		{"an upstream gone quiet fails as the gateway says",
			[]string{`{"choices":[{"index":0,"delta":{"content":"Here is"}}]}`}, apierr.Timeout("the upstream stopped sending"), "timeout_error"},
		{"an unavailable upstream is overloaded",
			nil, apierr.Unavailable("upstream_unavailable", "no upstream"), "overloaded_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New().NewStream(testMeta())
			var out []byte
			fail := tt.err
			for _, e := range tt.events {
				var err error
				if out, _, err = s.Event([]byte(e), out); err != nil {
					if !errors.As(err, &fail) {
						t.Fatalf("Event error %v is not an *apierr.Error", err)
					}
					break
				}
			}
			if fail == nil {
				t.Fatal("no event failed")
			}
			out = s.Fail(fail, out)
			evs := parseEvents(t, out)
			last := evs[len(evs)-1]
			if last.name != "error" || jsonx.Get(last.data, "error.type").Str != tt.wantType || jsonx.Get(last.data, "error.message").Str != fail.Message {
				t.Fatalf("the stream ends with %s %s, want an error event of type %s", last.name, last.data, tt.wantType)
			}
			if accumulate(t, evs) != nil {
				t.Fatal("the failed stream accumulated to a complete message")
			}
			if more, done, _ := s.Event([]byte(`[DONE]`), nil); len(more) != 0 || !done {
				t.Errorf("an event after Fail wrote %q", more)
			}
		})
	}
}

func TestPingIsAnAnthropicPingEvent(t *testing.T) {
	out := Ping([]byte("x"))
	if string(out) != "xevent: ping\ndata: {\"type\":\"ping\"}\n\n" {
		t.Errorf("Ping = %q", out)
	}
	parseEvents(t, out[1:])
}
