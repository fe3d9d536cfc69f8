package responses

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// chunk is a Chat Completions chunk with one choice: delta is its JSON, finish its
// finish_reason (empty for null).
func chunk(delta, finish string) string {
	fr := "null"
	if finish != "" {
		fr = `"` + finish + `"`
	}
	return `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + fr + `}]}`
}

const usageChunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`

var testMeta = dialect.Meta{ID: "resp_t1", Created: 1767225600, Model: "m", Request: []byte(`{"model":"m","input":"hi"}`)}

// feed runs the chunks' data through a fresh stream, stopping at done or an error.
func feed(t testing.TB, datas ...string) (dialect.Stream, []responsesEvent, bool, error) {
	t.Helper()
	s := New(Options{}).NewStream(testMeta)
	var out []byte
	var done bool
	var err error
	for _, d := range datas {
		if out, done, err = s.Event([]byte(d), out); done || err != nil {
			break
		}
	}
	return s, parseEvents(t, out), done, err
}

func names(events []responsesEvent) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(strings.TrimPrefix(e.name, "response."))
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}

func TestStreamEmitsTheResponsesEventSequence(t *testing.T) {
	cases := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"text ends with the usage chunk after finish_reason, without waiting for [DONE]",
			[]string{chunk(`{"role":"assistant","content":""}`, ""), chunk(`{"content":"Hi"}`, ""), chunk(`{}`, "stop"), usageChunk},
			"created in_progress output_item.added content_part.added output_text.delta output_text.done content_part.done output_item.done completed"},
		{"usage in the finish chunk ends at [DONE]",
			[]string{chunk(`{"content":"Hi"}`, ""), strings.Replace(chunk(`{}`, "stop"), `]}`, `],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, 1), "[DONE]"},
			"created in_progress output_item.added content_part.added output_text.delta output_text.done content_part.done output_item.done completed"},
		{"an answer with no output is one empty message",
			[]string{chunk(`{"role":"assistant","content":""}`, ""), chunk(`{}`, "stop"), "[DONE]"},
			"created in_progress output_item.added content_part.added output_text.done content_part.done output_item.done completed"},
		{"a refusal is a refusal part",
			[]string{chunk(`{"refusal":"I can't"}`, ""), chunk(`{"refusal":" help."}`, "stop"), "[DONE]"},
			"created in_progress output_item.added content_part.added refusal.delta refusal.delta refusal.done content_part.done output_item.done completed"},
		{"tool calls sent whole without an index are told apart by id",
			[]string{
				chunk(`{"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}`, ""),
				chunk(`{"tool_calls":[{"id":"c2","type":"function","function":{"name":"g","arguments":"{\"a\":1}"}}]}`, "tool_calls"),
				"[DONE]"},
			"created in_progress output_item.added function_call_arguments.delta function_call_arguments.done output_item.done output_item.added function_call_arguments.delta function_call_arguments.done output_item.done completed"},
		{"two tool calls in one chunk are two items",
			[]string{
				chunk(`{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{}"}},{"index":1,"id":"c2","function":{"name":"g","arguments":"{}"}}]}`, "tool_calls"),
				"[DONE]"},
			"created in_progress output_item.added function_call_arguments.delta function_call_arguments.done output_item.done output_item.added function_call_arguments.delta function_call_arguments.done output_item.done completed"},
		{"text after a tool call opens a new message",
			[]string{
				chunk(`{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{}"}}]}`, ""),
				chunk(`{"content":"done"}`, "stop"), "[DONE]"},
			"created in_progress output_item.added function_call_arguments.delta function_call_arguments.done output_item.done output_item.added content_part.added output_text.delta output_text.done content_part.done output_item.done completed"},
		{"a length stop ends with response.incomplete",
			[]string{chunk(`{"content":"Once"}`, "length"), usageChunk},
			"created in_progress output_item.added content_part.added output_text.delta output_text.done content_part.done output_item.done incomplete"},
		{"a content filter stop ends with response.incomplete",
			[]string{chunk(`{"content":"Once"}`, "content_filter"), "[DONE]"},
			"created in_progress output_item.added content_part.added output_text.delta output_text.done content_part.done output_item.done incomplete"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, events, done, err := feed(t, c.chunks...)
			if err != nil || !done {
				t.Fatalf("done = %v, err = %v", done, err)
			}
			if got := names(events); got != c.want {
				t.Errorf("events:\n got %s\nwant %s", got, c.want)
			}
			var result any
			if err := json.Unmarshal(s.Result(), &result); err != nil {
				t.Fatalf("Result is not JSON: %v", err)
			}
			if !reflect.DeepEqual(result, events[len(events)-1].data["response"]) {
				t.Errorf("Result differs from the last event's response:\n%s", s.Result())
			}
		})
	}
}

func TestStreamMatchesResponseForTheSameAnswer(t *testing.T) {
	cases := []struct {
		name, chat string
		chunks     []string
	}{
		{"an empty answer",
			`{"choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"stop"}]}`,
			[]string{chunk(`{"content":""}`, "stop"), "[DONE]"}},
		{"a refusal",
			`{"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"No."},"finish_reason":"stop"}]}`,
			[]string{chunk(`{"refusal":"No."}`, "stop"), "[DONE]"}},
		{"tool calls without ids get generated call ids",
			`{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"length"}]}`,
			[]string{chunk(`{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{}"}}]}`, "length"), "[DONE]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _, _, err := feed(t, c.chunks...)
			if err != nil {
				t.Fatal(err)
			}
			whole, _, err := New(Options{}).Response([]byte(c.chat), testMeta)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			_ = json.Unmarshal(s.Result(), &got)
			_ = json.Unmarshal(whole, &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("streamed:\n%s\nwhole:\n%s", s.Result(), whole)
			}
		})
	}
}

func TestStreamReportsUpstreamFailures(t *testing.T) {
	cases := []struct {
		name   string
		chunks []string
		code   string
	}{
		{"a chunk that is not JSON", []string{chunk(`{"content":"a"}`, ""), `{"choices":[`}, "upstream_bad_event"},
		{"an error object in the stream", []string{`{"error":{"message":"overloaded","type":"server_error"}}`}, "upstream_error"},
		{"a tool call resumed after another started", []string{
			chunk(`{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{"}}]}`, ""),
			chunk(`{"tool_calls":[{"index":1,"id":"c2","function":{"name":"g","arguments":"{}"}}]}`, ""),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}`, ""),
		}, "upstream_bad_event"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, done, err := feed(t, c.chunks...)
			var ae *apierr.Error
			if done || !errors.As(err, &ae) || ae.Status != 502 || ae.Code != c.code {
				t.Fatalf("done = %v, err = %v, want a 502 %s", done, err, c.code)
			}
		})
	}
}

func TestFailEndsTheStreamWithResponseFailed(t *testing.T) {
	cases := []struct {
		name     string
		chunks   []string
		want     string
		wantCode string
		err      *apierr.Error
	}{
		{"mid-text, keeping the output so far as incomplete",
			[]string{chunk(`{"content":"Hel"}`, "")},
			"created in_progress output_item.added content_part.added output_text.delta failed",
			"upstream_timeout", apierr.Timeout("the upstream went quiet")},
		{"before any chunk, after the opening events",
			nil, "created in_progress failed", "server_error", apierr.BadGateway("", "connection reset")},
		{"a rate limit without a code",
			nil, "created in_progress failed", "rate_limit_exceeded", &apierr.Error{Status: 429, Message: "slow"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(Options{}).NewStream(testMeta)
			var out []byte
			for _, d := range c.chunks {
				out, _, _ = s.Event([]byte(d), out)
			}
			out = s.Fail(c.err, out)
			events := parseEvents(t, out)
			if got := names(events); got != c.want {
				t.Errorf("events:\n got %s\nwant %s", got, c.want)
			}
			resp := jsonx.Get(s.Result(), "@this")
			if resp.Get("status").Str != "failed" || resp.Get("error.code").Str != c.wantCode || resp.Get("error.message").Str != c.err.Message {
				t.Errorf("failed response = %s", s.Result())
			}
			if len(c.chunks) > 0 && resp.Get("output.0.status").Str != "incomplete" {
				t.Errorf("the unfinished item is %s", resp.Get("output.0.status").Str)
			}
			if more, done, _ := s.Event([]byte("[DONE]"), nil); !done || len(more) != 0 {
				t.Errorf("an event after Fail gave %q, done %v", more, done)
			}
			if more := s.Fail(c.err, nil); len(more) != 0 {
				t.Errorf("a second Fail gave %q", more)
			}
		})
	}
}

func TestStreamIgnoresEventsAfterItEnded(t *testing.T) {
	s, _, done, _ := feed(t, chunk(`{"content":"a"}`, "stop"), "[DONE]")
	if !done {
		t.Fatal("not done")
	}
	if out, done, err := s.Event([]byte(chunk(`{"content":"b"}`, "")), nil); len(out) != 0 || !done || err != nil {
		t.Errorf("Event after done = %q, %v, %v", out, done, err)
	}
}

func TestStreamResultIsNilBeforeTheEnd(t *testing.T) {
	s, _, _, _ := feed(t, chunk(`{"content":"a"}`, ""))
	if s.Result() != nil {
		t.Errorf("Result before done = %s", s.Result())
	}
}

func TestUsageReadersReadNativeResponses(t *testing.T) {
	native := `{"id":"resp_1","object":"response","status":"completed","output":[],"usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":64},"output_tokens":40,"output_tokens_details":{"reasoning_tokens":16},"total_tokens":140}}`
	want := provider.Usage{Reported: true, InputTokens: 100, CachedInputTokens: 64, OutputTokens: 40, ReasoningTokens: 16}
	if got := UsageOf([]byte(native)); got != want {
		t.Errorf("UsageOf = %+v, want %+v", got, want)
	}
	if got := UsageOf([]byte(`{"id":"resp_1","usage":null}`)); got.Reported {
		t.Errorf("UsageOf without usage = %+v", got)
	}
	cases := []struct {
		name   string
		events []string
		want   provider.Usage
	}{
		{"response.completed carries the usage", []string{
			`{"type":"response.created","sequence_number":0,"response":{"usage":null}}`,
			`{"type":"response.output_text.delta","sequence_number":1,"delta":"usage"}`,
			`{"type":"response.completed","sequence_number":2,"response":` + native + `}`}, want},
		{"response.incomplete carries the usage", []string{
			`{"type":"response.incomplete","sequence_number":5,"response":` + native + `}`}, want},
		{"response.failed carries the usage", []string{
			`{"type":"response.failed","sequence_number":5,"response":` + native + `}`}, want},
		{"no closing event is no usage", []string{
			`{"type":"response.in_progress","sequence_number":1,"response":{"usage":{"input_tokens":3}}}`}, provider.Usage{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s StreamUsage
			for _, e := range c.events {
				s.Observe([]byte(e))
			}
			if got := s.Usage(); got != c.want {
				t.Errorf("Usage = %+v, want %+v", got, c.want)
			}
		})
	}
}
