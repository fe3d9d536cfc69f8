package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// These tests drive the gateway with github.com/sashabaranov/go-openai, an official-style
// SDK, over real loopback sockets: SDK -> gateway -> mock upstream.

const gatewayKey = "sk-gateway-test-key"

// clientConfig serves three models from one upstream: one under its own name, one under
// a public name mapped to another upstream name (with an alias), one for embeddings.
func clientConfig(upstreamURL string) string {
	return fmt.Sprintf(`
providers:
  - name: mock
    base_url: %s
    api_key_env: UPSTREAM_KEY
models:
  - name: gpt-4o-mini
    provider: mock
  - name: fast-chat
    provider: mock
    upstream_model: mock-chat
    aliases: [fast]
  - name: text-embedding-3-small
    provider: mock
keys:
  - name: app
    key_env: GATEWAY_KEY
`, upstreamURL)
}

var clientEnv = map[string]string{"UPSTREAM_KEY": "sk-upstream-secret", "GATEWAY_KEY": gatewayKey}

func startClientGateway(t *testing.T) (*testutil.Upstream, *testutil.Gateway, *openai.Client) {
	t.Helper()
	up := testutil.StartUpstream(t, mock.Config{})
	gw := testutil.StartGateway(t, clientConfig(up.URL), clientEnv)
	return up, gw, gw.OpenAI(gatewayKey)
}

func TestOpenAIClientListsTheConfiguredModelsAndAliases(t *testing.T) {
	t.Parallel()
	_, _, c := startClientGateway(t)
	list, err := c.ListModels(context.Background())
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	var ids []string
	for _, m := range list.Models {
		ids = append(ids, m.ID)
		if m.Object != "model" || m.OwnedBy != "mock" {
			t.Errorf("model %q: object %q owned_by %q, want model and mock", m.ID, m.Object, m.OwnedBy)
		}
	}
	want := []string{"fast", "fast-chat", "gpt-4o-mini", "text-embedding-3-small"}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("models = %v, want %v", ids, want)
	}
}

func chatRequest(model, prompt string) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model: model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: "You are terse."},
			{Role: openai.ChatMessageRoleUser, Content: prompt},
		},
	}
}

// streamResult is a streamed chat answer assembled the way an application would.
type streamResult struct {
	text, finish string
	usageChunks  int
	usage        openai.Usage
	toolCalls    []openai.ToolCall
}

// collectStream reads a stream to its [DONE] (io.EOF), assembling content and tool calls.
func collectStream(t *testing.T, s *openai.ChatCompletionStream) streamResult {
	t.Helper()
	defer s.Close()
	var r streamResult
	var b strings.Builder
	for {
		chunk, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stream Recv: %v", err)
		}
		if chunk.Usage != nil {
			r.usageChunks++
			r.usage = *chunk.Usage
		}
		for _, ch := range chunk.Choices {
			b.WriteString(ch.Delta.Content)
			if ch.FinishReason != "" {
				r.finish = string(ch.FinishReason)
			}
			for _, tc := range ch.Delta.ToolCalls {
				i := 0
				if tc.Index != nil {
					i = *tc.Index
				}
				for len(r.toolCalls) <= i {
					r.toolCalls = append(r.toolCalls, openai.ToolCall{})
				}
				call := &r.toolCalls[i]
				if tc.ID != "" {
					call.ID = tc.ID
				}
				if tc.Type != "" {
					call.Type = tc.Type
				}
				call.Function.Name += tc.Function.Name
				call.Function.Arguments += tc.Function.Arguments
			}
		}
	}
	r.text = b.String()
	return r
}

func TestOpenAIClientChatAnswersWithAndWithoutStreaming(t *testing.T) {
	t.Parallel()
	_, _, c := startClientGateway(t)
	tests := []struct {
		name, model, servedModel string
	}{
		{"a model under its own name", "gpt-4o-mini", "gpt-4o-mini"},
		{"a public name mapped to another upstream model", "fast-chat", "mock-chat"},
		{"an alias of a mapped model", "fast", "mock-chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			req := chatRequest(tt.model, "What is a switchyard?")
			whole, err := c.CreateChatCompletion(ctx, req)
			if err != nil {
				t.Fatalf("CreateChatCompletion: %v", err)
			}
			if len(whole.Choices) != 1 {
				t.Fatalf("choices = %d, want 1", len(whole.Choices))
			}
			text := whole.Choices[0].Message.Content
			if text != "Mock reply to: What is a switchyard?" {
				t.Errorf("text = %q", text)
			}
			if whole.Model != tt.servedModel {
				t.Errorf("model = %q, want the upstream's %q", whole.Model, tt.servedModel)
			}
			if whole.Usage.PromptTokens == 0 || whole.Usage.TotalTokens != whole.Usage.PromptTokens+whole.Usage.CompletionTokens {
				t.Errorf("usage = %+v", whole.Usage)
			}

			for _, includeUsage := range []bool{false, true} {
				sreq := req
				sreq.Stream = true
				if includeUsage {
					sreq.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
				}
				s, err := c.CreateChatCompletionStream(ctx, sreq)
				if err != nil {
					t.Fatalf("CreateChatCompletionStream (include_usage=%v): %v", includeUsage, err)
				}
				got := collectStream(t, s)
				if got.text != text {
					t.Errorf("include_usage=%v: streamed text %q, want the non-streamed %q", includeUsage, got.text, text)
				}
				if got.finish != "stop" {
					t.Errorf("include_usage=%v: finish_reason %q, want stop", includeUsage, got.finish)
				}
				wantChunks := 0
				if includeUsage {
					wantChunks = 1
				}
				if got.usageChunks != wantChunks {
					t.Errorf("include_usage=%v: %d usage chunks, want %d", includeUsage, got.usageChunks, wantChunks)
				}
				if includeUsage && got.usage != whole.Usage {
					t.Errorf("streamed usage %+v, want the non-streamed %+v", got.usage, whole.Usage)
				}
			}
		})
	}
}

func TestOpenAIClientEmbedsStringAndArrayInputs(t *testing.T) {
	t.Parallel()
	_, _, c := startClientGateway(t)
	tests := []struct {
		name  string
		input any
		raw   []string // the inputs as JSON text, which is what the mock embeds
	}{
		{"a single string", "the quick brown fox", []string{`"the quick brown fox"`}},
		{"an array of strings", []string{"alpha", "beta", "gamma"}, []string{`"alpha"`, `"beta"`, `"gamma"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.CreateEmbeddings(context.Background(), openai.EmbeddingRequest{
				Input: tt.input, Model: "text-embedding-3-small", Dimensions: 6})
			if err != nil {
				t.Fatalf("CreateEmbeddings: %v", err)
			}
			if len(resp.Data) != len(tt.raw) {
				t.Fatalf("got %d embeddings, want %d", len(resp.Data), len(tt.raw))
			}
			for i, d := range resp.Data {
				if d.Index != i {
					t.Errorf("embedding %d has index %d", i, d.Index)
				}
				if want := mock.Vector(tt.raw[i], 6); !reflect.DeepEqual(d.Embedding, want) {
					t.Errorf("embedding %d = %v, want %v", i, d.Embedding, want)
				}
			}
			if resp.Usage.PromptTokens == 0 {
				t.Errorf("usage = %+v, want prompt tokens", resp.Usage)
			}
		})
	}
}

func TestOpenAIClientToolCallRoundTrip(t *testing.T) {
	t.Parallel()
	_, _, c := startClientGateway(t)
	tools := []openai.Tool{{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
		Name:        "get_weather",
		Description: "Current weather for a city",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}`),
	}}}
	const question = "Weather in Oslo?"
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			ctx := context.Background()
			ask := func(req openai.ChatCompletionRequest) (string, string, []openai.ToolCall) {
				t.Helper()
				req.Stream = stream
				if !stream {
					resp, err := c.CreateChatCompletion(ctx, req)
					if err != nil {
						t.Fatalf("CreateChatCompletion: %v", err)
					}
					m := resp.Choices[0].Message
					return m.Content, string(resp.Choices[0].FinishReason), m.ToolCalls
				}
				s, err := c.CreateChatCompletionStream(ctx, req)
				if err != nil {
					t.Fatalf("CreateChatCompletionStream: %v", err)
				}
				r := collectStream(t, s)
				return r.text, r.finish, r.toolCalls
			}

			req := openai.ChatCompletionRequest{Model: "gpt-4o-mini", Tools: tools,
				Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: question}}}
			text, finish, calls := ask(req)
			if finish != "tool_calls" || text != "" || len(calls) != 1 {
				t.Fatalf("first turn: finish %q, text %q, %d tool calls; want tool_calls, no text, one call", finish, text, len(calls))
			}
			call := calls[0]
			if call.ID == "" || call.Type != openai.ToolTypeFunction || call.Function.Name != "get_weather" {
				t.Fatalf("tool call = %+v", call)
			}
			var args struct{ Query string }
			if err := json.Unmarshal([]byte(call.Function.Arguments), &args); err != nil || args.Query != question {
				t.Fatalf("tool call arguments %q (err %v), want the query %q", call.Function.Arguments, err, question)
			}

			req.Messages = append(req.Messages,
				openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, ToolCalls: calls},
				openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: call.ID, Content: "12 degrees and rain"},
			)
			text, finish, calls = ask(req)
			if finish != "stop" || len(calls) != 0 {
				t.Fatalf("second turn: finish %q with %d tool calls, want stop and none", finish, len(calls))
			}
			if text != "The tool returned: 12 degrees and rain" {
				t.Fatalf("final text = %q", text)
			}
		})
	}
}

func TestOpenAIClientGetsTypedAPIErrors(t *testing.T) {
	t.Parallel()
	ok := testutil.StartUpstream(t, mock.Config{})
	limited := testutil.StartUpstream(t, mock.Config{Status: 429, RetryAfter: "3"})
	broken := testutil.StartUpstream(t, mock.Config{Status: 500})
	gw := testutil.StartGateway(t, fmt.Sprintf(`
providers:
  - {name: ok, base_url: %s}
  - {name: limited, base_url: %s}
  - {name: broken, base_url: %s}
models:
  - {name: ok-model, provider: ok}
  - {name: limited-model, provider: limited}
  - {name: broken-model, provider: broken}
keys:
  - {name: app, key_env: GATEWAY_KEY}
`, ok.URL, limited.URL, broken.URL), clientEnv)

	tests := []struct {
		name, key, model string
		status           int
		typ, code        string
	}{
		{"an unknown model is 404 model_not_found", gatewayKey, "no-such-model", 404, "invalid_request_error", "model_not_found"},
		{"a wrong gateway key is 401 invalid_api_key", "sk-wrong", "ok-model", 401, "authentication_error", "invalid_api_key"},
		{"a missing gateway key is 401 missing_api_key", "", "ok-model", 401, "authentication_error", "missing_api_key"},
		{"an upstream 429 stays 429", gatewayKey, "limited-model", 429, "rate_limit_error", "rate_limit_exceeded"},
		{"an upstream 500 becomes 502", gatewayKey, "broken-model", 502, "upstream_error", "upstream_error"},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				c := gw.OpenAI(tt.key)
				req := chatRequest(tt.model, "hi")
				var err error
				if stream {
					req.Stream = true
					var s *openai.ChatCompletionStream
					s, err = c.CreateChatCompletionStream(context.Background(), req)
					if s != nil {
						s.Close()
					}
				} else {
					_, err = c.CreateChatCompletion(context.Background(), req)
				}
				var ae *openai.APIError
				if !errors.As(err, &ae) {
					t.Fatalf("error = %#v, want *openai.APIError", err)
				}
				if ae.HTTPStatusCode != tt.status || ae.Type != tt.typ || ae.Code != tt.code || ae.Message == "" {
					t.Fatalf("APIError{status %d, type %q, code %v, message %q}, want %d %q %q",
						ae.HTTPStatusCode, ae.Type, ae.Code, ae.Message, tt.status, tt.typ, tt.code)
				}
			})
		}
	}
	if n := ok.Calls(); n != 0 {
		t.Errorf("the healthy upstream got %d calls from rejected requests", n)
	}
}
