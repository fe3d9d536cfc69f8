package provider

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/sse"
)

// streamResult is what a stream decoder made of a whole transcript.
type streamResult struct {
	out   []byte // the client's SSE bytes
	done  bool
	err   error
	usage Usage
}

// runStream feeds an Anthropic SSE transcript to a fresh decoder for r, event by event,
// until the decoder reports done or an error.
func runStream(t testing.TB, tr *anthropic, r *Request, transcript []byte) streamResult {
	t.Helper()
	dec := tr.NewStream(r)
	rd := sse.NewReader(bytes.NewReader(transcript), 0)
	var res streamResult
	for !res.done && res.err == nil {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		res.out, res.done, res.err = dec.Event(ev, res.out)
	}
	res.usage = dec.Usage()
	return res
}

func streamFixture(t testing.TB, name string) []byte {
	t.Helper()
	return readFile(t, filepath.Join("testdata", "anthropic", "stream", name+".sse"))
}

// streamRequest is a streamed chat request; includeUsage is stream_options.include_usage.
func streamRequest(includeUsage bool) *Request {
	r := chatRequestFor(nil)
	r.Stream, r.IncludeUsage = true, includeUsage
	return r
}

// sseData splits client SSE bytes into the events' data, each of which must be one
// "data:" line ending in a blank line.
func sseData(t testing.TB, b []byte) []string {
	t.Helper()
	var out []string
	rd := sse.NewReader(bytes.NewReader(b), 0)
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Name) != 0 || bytes.Count(ev.Raw, []byte("\n")) != 2 {
			t.Fatalf("event %q is not a single data line", ev.Raw)
		}
		out = append(out, string(ev.Data))
	}
}

// checkGoldenSSE compares client SSE bytes with the golden transcript event by event,
// each chunk as parsed JSON without its "created", or rewrites the golden under -update.
func checkGoldenSSE(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		writeFile(t, path, got)
		return
	}
	g, w := sseData(t, got), sseData(t, readFile(t, path))
	if len(g) != len(w) {
		t.Fatalf("%s: got %d events, want %d\n%s", path, len(g), len(w), got)
	}
	for i := range g {
		if g[i] == "[DONE]" || w[i] == "[DONE]" {
			if g[i] != w[i] {
				t.Errorf("%s event %d = %s, want %s", path, i, g[i], w[i])
			}
			continue
		}
		if !reflect.DeepEqual(parseJSON(t, []byte(g[i])), parseJSON(t, []byte(w[i]))) {
			t.Errorf("%s event %d\n got: %s\nwant: %s", path, i, g[i], w[i])
		}
	}
}

func TestAnthropicStreamMatchesGoldenChunks(t *testing.T) {
	tr := newTestAnthropic(t, nil)
	for _, in := range fixtures(t, "stream", ".sse") {
		name := fixtureName(in, ".sse")
		t.Run(name, func(t *testing.T) {
			res := runStream(t, tr, streamRequest(true), readFile(t, in))
			if wantErr := strings.HasPrefix(name, "error_"); (res.err != nil) != wantErr || res.done == wantErr {
				t.Fatalf("done=%v err=%v for %s", res.done, res.err, name)
			}
			checkGoldenSSE(t, goldenPath(in, ".sse"), res.out)
		})
	}
}

// assembled is a streamed answer put back together the way an OpenAI client does.
type assembled struct {
	id, content, finish string
	calls               []chatReplyCall
	usage               string // the usage chunk's usage object, "" when none came
	sameHeader          bool   // every chunk had the first chunk's id, created and model
}

func assemble(t testing.TB, out []byte) assembled {
	t.Helper()
	var a assembled
	a.sameHeader = true
	var first string
	for _, data := range sseData(t, out) {
		if data == "[DONE]" {
			continue
		}
		c := []byte(data)
		header := jsonx.Get(c, "id").Raw + jsonx.Get(c, "created").Raw + jsonx.Get(c, "model").Raw
		if first == "" {
			first, a.id = header, jsonx.Get(c, "id").Str
		}
		a.sameHeader = a.sameHeader && header == first
		if u := jsonx.Get(c, "usage"); u.Exists() {
			a.usage = u.Raw
		}
		if f := jsonx.Get(c, "choices.0.finish_reason").Str; f != "" {
			a.finish = f
		}
		a.content += jsonx.Get(c, "choices.0.delta.content").Str
		for _, tc := range jsonx.Get(c, "choices.0.delta.tool_calls").Array() {
			i := int(tc.Get("index").Int())
			for len(a.calls) <= i {
				a.calls = append(a.calls, chatReplyCall{})
			}
			a.calls[i].ID += tc.Get("id").Str
			a.calls[i].Type += tc.Get("type").Str
			a.calls[i].Function.Name += tc.Get("function.name").Str
			a.calls[i].Function.Arguments += tc.Get("function.arguments").Str
		}
	}
	return a
}

func TestAnthropicStreamAgreesWithTheNonStreamedAnswer(t *testing.T) {
	tr := newTestAnthropic(t, nil)
	for _, name := range []string{"text_reply", "tool_use_reply", "thinking_max_tokens"} {
		t.Run(name+" streamed equals "+name+" decoded", func(t *testing.T) {
			res := runStream(t, tr, streamRequest(true), streamFixture(t, name))
			if !res.done || res.err != nil {
				t.Fatalf("done=%v err=%v", res.done, res.err)
			}
			got := assemble(t, res.out)
			whole, usage := decodeFixture(t, name)

			if !got.sameHeader {
				t.Error("chunks do not all carry the same id, created and model")
			}
			if want := jsonx.Get(whole, "id").Str; got.id != want {
				t.Errorf("id = %q, want %q", got.id, want)
			}
			if want := jsonx.Get(whole, "choices.0.message.content").Str; got.content != want {
				t.Errorf("content = %q, want %q", got.content, want)
			}
			if want := jsonx.Get(whole, "choices.0.finish_reason").Str; got.finish != want {
				t.Errorf("finish_reason = %q, want %q", got.finish, want)
			}
			if res.usage != usage {
				t.Errorf("stream usage %+v, non-stream usage %+v", res.usage, usage)
			}
			if want := jsonx.Get(whole, "usage"); !reflect.DeepEqual(parseJSON(t, []byte(got.usage)), parseJSON(t, []byte(want.Raw))) {
				t.Errorf("usage chunk %s, want %s", got.usage, want.Raw)
			}
			checkToolCalls(t, got.calls, jsonx.Get(whole, "choices.0.message.tool_calls").Array())
		})
	}
}

// checkToolCalls compares assembled tool calls with the non-streamed ones, arguments as
// parsed JSON.
func checkToolCalls(t *testing.T, got []chatReplyCall, want []jsonx.Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d tool calls, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.Get("id").Str || g.Type != "function" || g.Function.Name != w.Get("function.name").Str {
			t.Errorf("tool call %d = %+v, want %s", i, g, w.Raw)
		}
		if !reflect.DeepEqual(parseJSON(t, []byte(g.Function.Arguments)), parseJSON(t, []byte(w.Get("function.arguments").Str))) {
			t.Errorf("tool call %d arguments %s, want %s", i, g.Function.Arguments, w.Get("function.arguments").Str)
		}
	}
}

func TestAnthropicStreamSendsTheUsageChunkOnlyWhenAsked(t *testing.T) {
	tests := []struct {
		name         string
		includeUsage bool
	}{
		{"a client that asked for usage gets the usage chunk", true},
		{"a client that did not ask gets none, but usage is still metered", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runStream(t, newTestAnthropic(t, nil), streamRequest(tt.includeUsage), streamFixture(t, "text_reply"))
			events := sseData(t, res.out)
			usageChunk := strings.Contains(events[len(events)-2], `"choices":[],"usage":`)
			if usageChunk != tt.includeUsage || events[len(events)-1] != "[DONE]" {
				t.Errorf("last events %q, usage chunk %v, want %v", events[len(events)-2:], usageChunk, tt.includeUsage)
			}
			if want := (Usage{Reported: true, InputTokens: 1861, OutputTokens: 26, CachedInputTokens: 1840}); res.usage != want {
				t.Errorf("usage = %+v, want %+v", res.usage, want)
			}
		})
	}
}

func TestAnthropicStreamErrorEventEndsTheStream(t *testing.T) {
	tests := []struct {
		name       string
		errType    string
		wantStatus int
		wantType   string
	}{
		{"overloaded is unavailable", "overloaded_error", 503, apierr.TypeUpstream},
		{"an internal error is a bad gateway", "api_error", 502, apierr.TypeUpstream},
		{"a rate limit is a rate limit", "rate_limit_error", 429, apierr.TypeRateLimit},
		{"an invalid request is a bad request", "invalid_request_error", 400, apierr.TypeInvalidRequest},
		{"an unknown type is a bad gateway", "brand_new_error", 502, apierr.TypeUpstream},
	}
	base := streamFixture(t, "error_mid_stream")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			transcript := bytes.Replace(base, []byte(`"overloaded_error"`), []byte(`"`+tt.errType+`"`), 1)
			res := runStream(t, newTestAnthropic(t, nil), streamRequest(true), transcript)
			var se *StreamError
			if !errors.As(res.err, &se) || se.Forwarded {
				t.Fatalf("err = %#v, want an unforwarded *StreamError", res.err)
			}
			if se.Err.Status != tt.wantStatus || se.Err.Type != tt.wantType {
				t.Errorf("got %d %s, want %d %s", se.Err.Status, se.Err.Type, tt.wantStatus, tt.wantType)
			}
			if got := assemble(t, res.out).content; got != "Here is a summary of the quarterly report:" {
				t.Errorf("content before the error = %q", got)
			}
			if res.done || bytes.Contains(res.out, []byte("[DONE]")) || bytes.Contains(res.out, []byte(`"finish_reason":"`)) {
				t.Errorf("a failed stream must not look finished:\n%s", res.out)
			}
			if want := (Usage{Reported: true, InputTokens: 1203, OutputTokens: 1}); res.usage != want {
				t.Errorf("usage = %+v, want %+v", res.usage, want)
			}
		})
	}
}

func TestAnthropicStreamToleratesVariations(t *testing.T) {
	tests := []struct {
		name       string
		transcript string
		content    string
		usage      Usage
	}{
		{
			name: "events without an event name are read by their data type",
			transcript: "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
				"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n" +
				"data: {\"type\":\"message_stop\"}\n\n",
			content: "hi",
			usage:   Usage{Reported: true, InputTokens: 5, OutputTokens: 1},
		},
		{
			name: "unknown events are ignored",
			transcript: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
				"event: future_event\ndata: {\"type\":\"future_event\"}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			usage: Usage{Reported: true, InputTokens: 5, OutputTokens: 1},
		},
		{
			name: "a message_delta with input and cache counts updates them",
			transcript: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":5,\"cache_read_input_tokens\":null,\"output_tokens\":1}}}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"input_tokens\":7,\"cache_read_input_tokens\":3,\"cache_creation_input_tokens\":null,\"output_tokens\":9}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			usage: Usage{Reported: true, InputTokens: 10, OutputTokens: 9, CachedInputTokens: 3},
		},
		{
			name: "a text fragment split over two data lines is quoted afresh",
			transcript: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\ndata: b\"}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			content: "a\nb",
		},
		{
			name: "a delta for a block index never started is dropped",
			transcript: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":7,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n" +
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":99999,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runStream(t, newTestAnthropic(t, nil), streamRequest(false), []byte(tt.transcript))
			if !res.done || res.err != nil {
				t.Fatalf("done=%v err=%v", res.done, res.err)
			}
			a := assemble(t, res.out)
			if a.content != tt.content || len(a.calls) != 0 || res.usage != tt.usage {
				t.Errorf("content %q calls %v usage %+v, want %q, none, %+v", a.content, a.calls, res.usage, tt.content, tt.usage)
			}
		})
	}
}

// BenchmarkAnthropicStream measures translating one streamed answer (a text block and
// two tool calls, 24 events) into client chunks, with the output buffer reused as the
// gateway's relay does.
func BenchmarkAnthropicStream(b *testing.B) {
	tr := newTestAnthropic(b, nil)
	transcript := streamFixture(b, "tool_use_reply")
	var events []sse.Event
	rd := sse.NewReader(bytes.NewReader(transcript), 0)
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		events = append(events, sse.Event{Name: bytes.Clone(ev.Name), Data: bytes.Clone(ev.Data), Raw: bytes.Clone(ev.Raw)})
	}
	r := streamRequest(true)
	b.SetBytes(int64(len(transcript)))
	b.ReportAllocs()
	var dst []byte
	for b.Loop() {
		dec := tr.NewStream(r)
		for i := range events {
			var err error
			if dst, _, err = dec.Event(&events[i], dst[:0]); err != nil {
				b.Fatal(err)
			}
		}
		_ = dec.Usage()
	}
}
