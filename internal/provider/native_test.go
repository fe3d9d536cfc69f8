package provider

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/sse"
)

// nativeTranslator returns the translator for a resolved config of kind with base URL
// base, the test key, and edit applied before Resolve.
func nativeTranslator(t *testing.T, kind, base string, edit func(*Config)) Translator {
	t.Helper()
	c := Config{Name: kind + "-prod", Kind: kind, BaseURL: base, APIKeyEnv: "KEY"}
	if edit != nil {
		edit(&c)
	}
	if err := c.Resolve(func(string) string { return upstreamKey }); err != nil {
		t.Fatal(err)
	}
	tr, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// headerMap lower-cases the header names of hs and fails on a name set twice: the
// gateway sets headers one by one, so a second value would silently replace the first.
func headerMap(t *testing.T, hs []Header) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, h := range hs {
		k := strings.ToLower(h.Key)
		if _, dup := m[k]; dup {
			t.Fatalf("header %s is set twice in %v", h.Key, hs)
		}
		m[k] = h.Value
	}
	return m
}

const (
	responsesBody = `{"model":"gpt-fast","input":[{"role":"user","content":[{"type":"input_text","text":"Hi"}]}],` +
		`"instructions":"Be brief.","store":false,"stream":true,"reasoning":{"effort":"low"},"include":["reasoning.encrypted_content"]}`
	messagesBody = `{"model":"claude-sonnet","max_tokens":1024,"stream":true,` +
		`"system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],` +
		`"thinking":{"type":"enabled","budget_tokens":2048},` +
		`"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"…","signature":"EqQB"},{"type":"text","text":"Hello"}]},{"role":"user","content":"Again"}]}`
)

func TestNativeRequestsPassTheClientBodyThroughWithOnlyTheModelPatched(t *testing.T) {
	bearer := "Bearer " + upstreamKey
	tests := []struct {
		name     string
		kind     string
		base     string
		edit     func(*Config)
		req      Request
		url      string
		header   map[string]string
		body     string
		sameBody bool // the client's bytes themselves, not a copy
	}{
		{
			name: "a Responses request goes to the OpenAI API's /responses with the model patched and no stream_options",
			kind: KindOpenAI, base: "https://api.openai.com/v1",
			req:    Request{Op: OpResponses, Body: []byte(responsesBody), Model: "gpt-4.1", ClientModel: "gpt-fast", Stream: true},
			url:    "https://api.openai.com/v1/responses",
			header: map[string]string{"authorization": bearer},
			body:   strings.Replace(responsesBody, `"gpt-fast"`, `"gpt-4.1"`, 1),
		},
		{
			name: "a Responses request whose model is the upstream's is sent as the client's own bytes",
			kind: KindOpenAI, base: "https://api.openai.com/v1",
			req:      Request{Op: OpResponses, Body: []byte(responsesBody), Model: "gpt-fast", ClientModel: "gpt-fast", Stream: true, IncludeUsage: false},
			url:      "https://api.openai.com/v1/responses",
			header:   map[string]string{"authorization": bearer},
			body:     responsesBody,
			sameBody: true,
		},
		{
			name: "a paths.responses override moves the Responses endpoint",
			kind: KindOpenAI, base: "https://gw.example/openai/v1",
			edit:   func(c *Config) { c.Paths = map[string]string{"responses": "/resp"}; c.ResponsesAPI = ResponsesNative },
			req:    Request{Op: OpResponses, Body: []byte(responsesBody), Model: "gpt-4.1", ClientModel: "gpt-fast"},
			url:    "https://gw.example/openai/v1/resp",
			header: map[string]string{"authorization": bearer},
			body:   strings.Replace(responsesBody, `"gpt-fast"`, `"gpt-4.1"`, 1),
		},
		{
			name: "an Azure Responses request goes to the v1 endpoint with the deployment as model and the api-key header",
			kind: KindAzure, base: "https://contoso.openai.azure.com/",
			req:    Request{Op: OpResponses, Body: []byte(responsesBody), Model: "gpt41-prod", ClientModel: "gpt-fast"},
			url:    "https://contoso.openai.azure.com/openai/v1/responses",
			header: map[string]string{"api-key": upstreamKey},
			body:   strings.Replace(responsesBody, `"gpt-fast"`, `"gpt41-prod"`, 1),
		},
		{
			name: "an Azure paths.responses override may carry a query",
			kind: KindAzure, base: "https://contoso.openai.azure.com",
			edit:   func(c *Config) { c.Paths = map[string]string{"responses": "/openai/v1/responses?api-version=preview"} },
			req:    Request{Op: OpResponses, Body: []byte(responsesBody), Model: "gpt41-prod", ClientModel: "gpt-fast"},
			url:    "https://contoso.openai.azure.com/openai/v1/responses?api-version=preview",
			header: map[string]string{"api-key": upstreamKey},
			body:   strings.Replace(responsesBody, `"gpt-fast"`, `"gpt41-prod"`, 1),
		},
		{
			name: "a Messages request goes to /v1/messages with the key, the default anthropic-version and the model patched",
			kind: KindAnthropic, base: "https://api.anthropic.com",
			req:    Request{Op: OpMessages, Body: []byte(messagesBody), Model: "claude-sonnet-4-5-20250929", ClientModel: "claude-sonnet", Stream: true},
			url:    "https://api.anthropic.com/v1/messages",
			header: map[string]string{"x-api-key": upstreamKey, "anthropic-version": "2023-06-01", "content-type": "application/json"},
			body:   strings.Replace(messagesBody, `"claude-sonnet"`, `"claude-sonnet-4-5-20250929"`, 1),
		},
		{
			name: "the client's anthropic-version wins over the configured one and its anthropic-beta is forwarded as is",
			kind: KindAnthropic, base: "https://api.anthropic.com",
			edit: func(c *Config) { c.AnthropicVersion = "2023-01-01" },
			req: Request{Op: OpMessages, Body: []byte(messagesBody), Model: "claude-sonnet", ClientModel: "claude-sonnet",
				Header: []Header{{"Anthropic-Version", "2023-06-01"}, {"anthropic-beta", "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"}, {"x-unrelated", "dropped"}}},
			url: "https://api.anthropic.com/v1/messages",
			header: map[string]string{"x-api-key": upstreamKey, "anthropic-version": "2023-06-01", "content-type": "application/json",
				"anthropic-beta": "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"},
			body:     messagesBody,
			sameBody: true,
		},
		{
			name: "a configured anthropic-beta is joined with the client's, each beta once, and a configured version header yields to the client's",
			kind: KindAnthropic, base: "https://api.anthropic.com",
			edit: func(c *Config) {
				c.Headers = map[string]string{"anthropic-beta": "context-1m-2025-08-07", "Anthropic-Version": "2023-01-01"}
			},
			req: Request{Op: OpMessages, Body: []byte(messagesBody), Model: "claude-sonnet", ClientModel: "claude-sonnet",
				Header: []Header{{"anthropic-version", "2023-06-01"}, {"anthropic-beta", "context-1m-2025-08-07, token-efficient-tools-2025-02-19"}}},
			url: "https://api.anthropic.com/v1/messages",
			header: map[string]string{"x-api-key": upstreamKey, "anthropic-version": "2023-06-01", "content-type": "application/json",
				"anthropic-beta": "context-1m-2025-08-07,token-efficient-tools-2025-02-19"},
			body: messagesBody,
		},
		{
			name: "a configured anthropic-version header is sent when the client sends none",
			kind: KindAnthropic, base: "https://api.anthropic.com",
			edit:   func(c *Config) { c.Headers = map[string]string{"anthropic-version": "2023-01-01"} },
			req:    Request{Op: OpMessages, Body: []byte(messagesBody), Model: "claude-sonnet", ClientModel: "claude-sonnet"},
			url:    "https://api.anthropic.com/v1/messages",
			header: map[string]string{"x-api-key": upstreamKey, "anthropic-version": "2023-01-01", "content-type": "application/json"},
			body:   messagesBody,
		},
		{
			name: "count_tokens goes to /v1/messages/count_tokens with the model patched",
			kind: KindAnthropic, base: "https://api.anthropic.com/",
			req:    Request{Op: OpCountTokens, Body: []byte(`{"model":"claude-sonnet","messages":[{"role":"user","content":"Hi"}]}`), Model: "claude-sonnet-4-5", ClientModel: "claude-sonnet"},
			url:    "https://api.anthropic.com/v1/messages/count_tokens",
			header: map[string]string{"x-api-key": upstreamKey, "anthropic-version": "2023-06-01", "content-type": "application/json"},
			body:   `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}`,
		},
		{
			name: "a chat path override moves both the messages and the count_tokens endpoints",
			kind: KindAnthropic, base: "https://proxy.example",
			edit:   func(c *Config) { c.Paths = map[string]string{"chat": "/anthropic/v1/messages"} },
			req:    Request{Op: OpCountTokens, Body: []byte(`{"model":"m"}`), Model: "m", ClientModel: "m"},
			url:    "https://proxy.example/anthropic/v1/messages/count_tokens",
			header: map[string]string{"x-api-key": upstreamKey, "anthropic-version": "2023-06-01", "content-type": "application/json"},
			body:   `{"model":"m"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := nativeTranslator(t, tt.kind, tt.base, tt.edit)
			client := slices.Clone(tt.req.Body)
			var out Outbound
			if err := tr.Encode(&tt.req, &out); err != nil {
				t.Fatal(err)
			}
			if out.Method != "POST" || out.URL != tt.url {
				t.Errorf("%s %s, want POST %s", out.Method, out.URL, tt.url)
			}
			if got := headerMap(t, out.Header); !mapsEqual(got, tt.header) {
				t.Errorf("headers %v, want %v", got, tt.header)
			}
			if string(out.Body) != tt.body {
				t.Errorf("body\n got %s\nwant %s", out.Body, tt.body)
			}
			if tt.sameBody && (len(out.Body) == 0 || &out.Body[0] != &tt.req.Body[0]) {
				t.Errorf("the body is a copy; an unchanged body must be the client's bytes")
			}
			if !bytes.Equal(tt.req.Body, client) {
				t.Errorf("Encode modified the client's body")
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestNativeOperationsAProviderDoesNotSpeakAreUnsupported(t *testing.T) {
	tests := []struct {
		name string
		kind string
		op   Op
	}{
		{"the mock does not implement the Responses API", KindMock, OpResponses},
		{"an OpenAI-schema server does not speak the Messages API", KindOpenAI, OpMessages},
		{"an OpenAI-schema server has no count_tokens", KindOpenAI, OpCountTokens},
		{"Azure does not speak the Messages API", KindAzure, OpMessages},
		{"Anthropic does not implement the Responses API", KindAnthropic, OpResponses},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := nativeTranslator(t, tt.kind, "https://upstream.example", nil)
			var out Outbound
			err := tr.Encode(&Request{Op: tt.op, Body: []byte(`{"model":"m"}`), Model: "m", ClientModel: "m"}, &out)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "unsupported_operation" {
				t.Fatalf("Encode(%v) = %v, want a 400 unsupported_operation", tt.op, err)
			}
		})
	}
}

func TestNativeAnswersPassThroughWithTheirUsage(t *testing.T) {
	tests := []struct {
		name  string
		kind  string
		op    Op
		body  string
		usage Usage
	}{
		{
			name: "a Responses answer reports input, cached, output and reasoning tokens",
			kind: KindOpenAI, op: OpResponses,
			body: `{"id":"resp_1","object":"response","status":"completed","output":[{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hi","annotations":[]}]}],` +
				`"usage":{"input_tokens":1337,"input_tokens_details":{"cached_tokens":1024},"output_tokens":52,"output_tokens_details":{"reasoning_tokens":40},"total_tokens":1389}}`,
			usage: Usage{Reported: true, InputTokens: 1337, CachedInputTokens: 1024, OutputTokens: 52, ReasoningTokens: 40},
		},
		{
			name: "an Azure Responses answer reads the same way",
			kind: KindAzure, op: OpResponses,
			body:  `{"id":"resp_1","object":"response","usage":{"input_tokens":9,"output_tokens":3,"total_tokens":12}}`,
			usage: Usage{Reported: true, InputTokens: 9, OutputTokens: 3},
		},
		{
			name: "a Messages answer counts cache reads and writes into the input tokens",
			kind: KindAnthropic, op: OpMessages,
			body: `{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"thinking","thinking":"…","signature":"Eq"},{"type":"text","text":"Hi"}],` +
				`"stop_reason":"end_turn","usage":{"input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":42}}`,
			usage: Usage{Reported: true, InputTokens: 2125, CachedInputTokens: 2000, CacheWriteTokens: 100, OutputTokens: 42},
		},
		{
			name: "a Messages answer without usage reports none",
			kind: KindAnthropic, op: OpMessages,
			body:  `{"id":"msg_1","type":"message","content":[]}`,
			usage: Usage{},
		},
		{
			name: "a count_tokens answer passes through and is not usage",
			kind: KindAnthropic, op: OpCountTokens,
			body:  `{"input_tokens":2095}`,
			usage: Usage{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := nativeTranslator(t, tt.kind, "https://upstream.example", nil)
			body := []byte(tt.body)
			out, usage, err := tr.Decode(&Request{Op: tt.op, Model: "m", ClientModel: "alias"}, body, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) == 0 || &out[0] != &body[0] || len(out) != len(body) {
				t.Errorf("Decode returned %q, want the upstream's bytes themselves", out)
			}
			if usage != tt.usage {
				t.Errorf("usage %+v, want %+v", usage, tt.usage)
			}
		})
	}
}

// nativeRun is what a pass-through decoder made of a transcript.
type nativeRun struct {
	out     []byte
	done    bool
	err     error
	usage   Usage
	events  int  // events fed, the last one included
	atEnd   bool // the transcript had no event after the last one fed
	usageAt []Usage
}

// runNative feeds transcript to dec until it reports done or an error.
func runNative(t *testing.T, dec StreamDecoder, transcript []byte) nativeRun {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(transcript), 0)
	var res nativeRun
	for !res.done && res.err == nil {
		ev, err := rd.Next()
		if err == io.EOF {
			res.atEnd = true
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		res.events++
		res.out, res.done, res.err = dec.Event(ev, res.out)
		res.usageAt = append(res.usageAt, dec.Usage())
	}
	if !res.atEnd {
		_, err := rd.Next()
		res.atEnd = err == io.EOF
	}
	res.usage = dec.Usage()
	return res
}

func TestNativeStreamsPassEveryEventThroughAndReadUsage(t *testing.T) {
	tests := []struct {
		name    string
		kind    string
		op      Op
		file    string
		done    bool
		status  int // of the forwarded *StreamError, 0 for none
		code    string
		usage   Usage
		noUsage int // events before the first with usage
	}{
		{
			name: "a Responses stream ends at response.completed with its usage",
			kind: KindOpenAI, op: OpResponses, file: "responses/text_reply.sse", done: true,
			usage:   Usage{Reported: true, InputTokens: 1337, CachedInputTokens: 1024, OutputTokens: 52, ReasoningTokens: 40},
			noUsage: 11,
		},
		{
			name: "a Responses stream cut by max_output_tokens ends at response.incomplete with its usage",
			kind: KindAzure, op: OpResponses, file: "responses/incomplete_max_output_tokens.sse", done: true,
			usage:   Usage{Reported: true, InputTokens: 20, OutputTokens: 16},
			noUsage: 6,
		},
		{
			name: "response.failed ends the stream with a forwarded error and the usage billed",
			kind: KindOpenAI, op: OpResponses, file: "responses/failed_mid_stream.sse", done: true,
			status: 502, code: "server_error",
			usage:   Usage{Reported: true, InputTokens: 30, OutputTokens: 3},
			noUsage: 5,
		},
		{
			name: "an error event is a forwarded error and not the end",
			kind: KindOpenAI, op: OpResponses, file: "responses/error_mid_stream.sse",
			status: 502, code: "rate_limit_exceeded",
			noUsage: 6,
		},
		{
			name: "a Messages stream reads the input side at message_start and output at message_delta, and ends at message_stop",
			kind: KindAnthropic, op: OpMessages, file: "messages/text_reply.sse", done: true,
			usage: Usage{Reported: true, InputTokens: 2125, CachedInputTokens: 2000, CacheWriteTokens: 100, OutputTokens: 42},
		},
		{
			name: "an overloaded error event in a Messages stream is a forwarded 503 with message_start's usage",
			kind: KindAnthropic, op: OpMessages, file: "messages/error_mid_stream.sse",
			status: 503,
			usage:  Usage{Reported: true, InputTokens: 12, OutputTokens: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := nativeTranslator(t, tt.kind, "https://upstream.example", nil)
			transcript := readFile(t, filepath.Join("testdata", "native", tt.file))
			res := runNative(t, tr.NewStream(&Request{Op: tt.op, Model: "m", ClientModel: "alias", Stream: true}), transcript)
			if !bytes.Equal(res.out, transcript) {
				t.Errorf("the client got other bytes than the upstream sent:\n got %q\nwant %q", res.out, transcript)
			}
			if res.done != tt.done || !res.atEnd {
				t.Errorf("done=%v after event %d (transcript over: %v), want done=%v at its last event", res.done, res.events, res.atEnd, tt.done)
			}
			var se *StreamError
			switch {
			case tt.status == 0 && res.err != nil:
				t.Errorf("error %v, want none", res.err)
			case tt.status != 0 && !errors.As(res.err, &se):
				t.Errorf("error %v, want a *StreamError", res.err)
			case tt.status != 0:
				if !se.Forwarded || se.Err.Status != tt.status || (tt.code != "" && se.Err.Code != tt.code) || se.Err.Message == "" {
					t.Errorf("stream error %+v (forwarded %v), want a forwarded %d %q", se.Err, se.Forwarded, tt.status, tt.code)
				}
			}
			if res.usage != tt.usage {
				t.Errorf("usage %+v, want %+v", res.usage, tt.usage)
			}
			for i := 0; i < tt.noUsage && i < len(res.usageAt); i++ {
				if res.usageAt[i].Reported {
					t.Errorf("usage reported after event %d, before the terminal event", i)
				}
			}
		})
	}
}

func TestNativeMessagesStreamUsageFollowsTheLatestCounts(t *testing.T) {
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":2000,\"output_tokens\":1}}}\n\n"
	stop := "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	tests := []struct {
		name       string
		transcript string
		usage      Usage
	}{
		{
			name: "input counts in message_delta replace message_start's",
			transcript: start + "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}," +
				"\"usage\":{\"input_tokens\":30,\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":2000,\"output_tokens\":9,\"server_tool_use\":{\"web_search_requests\":1}}}\n\n" + stop,
			usage: Usage{Reported: true, InputTokens: 2035, CachedInputTokens: 2000, CacheWriteTokens: 5, OutputTokens: 9},
		},
		{
			name:       "null counts in message_delta keep the earlier ones",
			transcript: start + "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":null,\"output_tokens\":7}}\n\n" + stop,
			usage:      Usage{Reported: true, InputTokens: 2025, CachedInputTokens: 2000, OutputTokens: 7},
		},
		{
			name:       "unnamed events are read by their type",
			transcript: strings.ReplaceAll(start+"data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":4}}\n\n"+stop, "event: message_start\n", ""),
			usage:      Usage{Reported: true, InputTokens: 2025, CachedInputTokens: 2000, OutputTokens: 4},
		},
		{
			name:       "a stream without message_start reports no usage",
			transcript: "event: ping\ndata: {\"type\":\"ping\"}\n\n" + stop,
			usage:      Usage{},
		},
	}
	tr := nativeTranslator(t, KindAnthropic, "https://api.anthropic.com", nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runNative(t, tr.NewStream(&Request{Op: OpMessages, Stream: true}), []byte(tt.transcript))
			if !res.done || res.err != nil || string(res.out) != tt.transcript {
				t.Fatalf("done=%v err=%v out=%q", res.done, res.err, res.out)
			}
			if res.usage != tt.usage {
				t.Errorf("usage %+v, want %+v", res.usage, tt.usage)
			}
		})
	}
}

func TestNativeStreamsRefuseEventsThatAreNotJSON(t *testing.T) {
	tests := []struct {
		name string
		kind string
		op   Op
	}{
		{"a Responses stream", KindOpenAI, OpResponses},
		{"a Messages stream", KindAnthropic, OpMessages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := nativeTranslator(t, tt.kind, "https://upstream.example", nil)
			res := runNative(t, tr.NewStream(&Request{Op: tt.op, Stream: true}), []byte("event: x\ndata: <html>502</html>\n\n"))
			var se *StreamError
			if !errors.As(res.err, &se) || se.Forwarded || len(res.out) != 0 {
				t.Fatalf("err=%v out=%q, want an unforwarded *StreamError and nothing relayed", res.err, res.out)
			}
		})
	}
}

func TestAResponsesErrorEventNestedAsInChatStreamsIsRead(t *testing.T) {
	tr := nativeTranslator(t, KindOpenAI, "https://api.openai.com/v1", nil)
	ev := "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"server_error\",\"code\":\"overloaded\",\"message\":\"try later\"}}\n\n"
	res := runNative(t, tr.NewStream(&Request{Op: OpResponses, Stream: true}), []byte(ev))
	var se *StreamError
	if !errors.As(res.err, &se) || !se.Forwarded || se.Err.Type != "server_error" || se.Err.Code != "overloaded" || se.Err.Message != "try later" {
		t.Fatalf("err %v, want the nested error, forwarded", res.err)
	}
}
