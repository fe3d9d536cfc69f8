package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// dialectGateway serves a chat-only upstream (the mock) to two keys, so that every
// Responses and Messages request is translated.
func dialectGateway(t *testing.T, up *testutil.Upstream) *testutil.Gateway {
	t.Helper()
	return testutil.StartGateway(t, fmt.Sprintf(`
metering: {writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s}]
models: [{name: "*", provider: openai}]
keys:
  - {name: alice, key_env: KA, team: a, feature: agents}
  - {name: bob, key_env: KB, team: b, feature: agents}
`, up.URL), map[string]string{"KA": "ka", "KB": "kb"})
}

func openaiClient(g *testutil.Gateway, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(g.URL+"/v1/"), option.WithAPIKey(key), option.WithHTTPClient(g.HTTP), option.WithMaxRetries(0))
}

func anthropicClient(g *testutil.Gateway, key string) anthropic.Client {
	return anthropic.NewClient(anthropicopt.WithBaseURL(g.URL+"/"), anthropicopt.WithAPIKey(key), anthropicopt.WithHTTPClient(g.HTTP), anthropicopt.WithMaxRetries(0))
}

var weatherTool = map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}

func TestTheOpenAIResponsesClientWorksThroughTranslation(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := dialectGateway(t, up)
	c := openaiClient(g, "ka")
	ctx := context.Background()

	first, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hello")}})
	if err != nil {
		t.Fatal(err)
	}
	if first.OutputText() == "" || first.Status != "completed" || first.Usage.InputTokens == 0 || first.Usage.OutputTokens == 0 {
		t.Fatalf("plain response: %q status %s usage %+v", first.OutputText(), first.Status, first.Usage)
	}

	t.Run("streamed, the same text as the plain answer", func(t *testing.T) {
		st := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hello")}})
		var text strings.Builder
		var completed *responses.Response
		for st.Next() {
			ev := st.Current()
			switch ev.Type {
			case "response.output_text.delta":
				text.WriteString(ev.Delta)
			case "response.completed":
				r := ev.Response
				completed = &r
			}
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if completed == nil || text.String() != first.OutputText() || completed.Usage.OutputTokens == 0 {
			t.Fatalf("stream text %q (plain %q), completed %v", text.String(), first.OutputText(), completed)
		}
	})

	t.Run("a tool call round trip", func(t *testing.T) {
		tools := []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{Name: "get_weather", Parameters: weatherTool}}}
		r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini", Tools: tools,
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")}})
		if err != nil {
			t.Fatal(err)
		}
		var call *responses.ResponseOutputItemUnion
		for i := range r.Output {
			if r.Output[i].Type == "function_call" {
				call = &r.Output[i]
			}
		}
		if call == nil || call.Name != "get_weather" || call.CallID == "" {
			t.Fatalf("no function call in %+v", r.Output)
		}
		out := responses.ResponseInputItemParamOfFunctionCallOutput(`{"sky":"sunny"}`)
		out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
		r2, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini", Tools: tools,
			Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
				responses.ResponseInputItemParamOfMessage("Weather in Paris?", responses.EasyInputMessageRoleUser),
				responses.ResponseInputItemParamOfFunctionCall(call.Arguments.OfString, call.CallID, call.Name),
				out,
			}}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r2.OutputText(), "sunny") {
			t.Fatalf("the tool's result did not reach the model: %q", r2.OutputText())
		}
	})

	t.Run("previous_response_id continues the stored conversation", func(t *testing.T) {
		before := len(up.Requests())
		r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini", PreviousResponseID: openai.String(first.ID),
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("And again")}})
		if err != nil {
			t.Fatal(err)
		}
		reqs := up.Requests()
		if len(reqs) != before+1 || !strings.Contains(string(reqs[len(reqs)-1].Body), "Say hello") || !strings.Contains(string(reqs[len(reqs)-1].Body), "And again") {
			t.Fatalf("the upstream did not get the earlier turn: %s", reqs[len(reqs)-1].Body)
		}
		if r.OutputText() == "" {
			t.Fatal("empty continuation")
		}
	})

	t.Run("retrieve, input items and delete, for the key that stored it only", func(t *testing.T) {
		got, err := c.Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
		if err != nil || got.ID != first.ID || got.OutputText() != first.OutputText() {
			t.Fatalf("retrieve: %v %v", got, err)
		}
		items, err := c.Responses.InputItems.List(ctx, first.ID, responses.InputItemListParams{})
		if err != nil || len(items.Data) != 1 || items.Data[0].ID == "" || !strings.Contains(items.RawJSON(), `"first_id":"`+items.Data[0].ID+`"`) {
			t.Fatalf("input items: %+v %v", items, err)
		}
		other := openaiClient(g, "kb")
		var apiErr *openai.Error
		if _, err := other.Responses.Get(ctx, first.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Fatalf("another key retrieved it: %v", err)
		}
		if err := other.Responses.Delete(ctx, first.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Fatalf("another key deleted it: %v", err)
		}
		if err := c.Responses.Delete(ctx, first.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Responses.Get(ctx, first.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Fatalf("after delete: %v", err)
		}
	})

	t.Run("store false keeps nothing", func(t *testing.T) {
		r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini", Store: openai.Bool(false),
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Forget me")}})
		if err != nil {
			t.Fatal(err)
		}
		var apiErr *openai.Error
		if _, err := c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Fatalf("a store:false response was kept: %v", err)
		}
	})
}

func TestTheAnthropicMessagesClientWorksThroughTranslation(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := dialectGateway(t, up)
	c := anthropicClient(g, "ka")
	ctx := context.Background()
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 200,
		System:   []anthropic.TextBlockParam{{Text: "You are terse."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello"))}}

	msg, err := c.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) == 0 || msg.Content[0].Text == "" || msg.StopReason != "end_turn" || msg.Usage.OutputTokens == 0 {
		t.Fatalf("plain message: %+v", msg)
	}

	t.Run("streamed, the same text as the plain answer", func(t *testing.T) {
		st := c.Messages.NewStreaming(ctx, params)
		var acc anthropic.Message
		for st.Next() {
			if err := acc.Accumulate(st.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if len(acc.Content) == 0 || acc.Content[0].Text != msg.Content[0].Text || acc.StopReason != "end_turn" {
			t.Fatalf("streamed %+v, plain %q", acc, msg.Content[0].Text)
		}
	})

	t.Run("multi-turn and a tool use round trip", func(t *testing.T) {
		tp := params
		tp.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
			InputSchema: anthropic.ToolInputSchemaParam{Properties: weatherTool["properties"], Required: []string{"city"}}}}}
		tp.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))}
		m1, err := c.Messages.New(ctx, tp)
		if err != nil {
			t.Fatal(err)
		}
		var use *anthropic.ContentBlockUnion
		for i := range m1.Content {
			if m1.Content[i].Type == "tool_use" {
				use = &m1.Content[i]
			}
		}
		if use == nil || m1.StopReason != "tool_use" || use.Name != "get_weather" {
			t.Fatalf("no tool use: %+v", m1)
		}
		tp.Messages = append(tp.Messages, m1.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "sunny", false)))
		m2, err := c.Messages.New(ctx, tp)
		if err != nil {
			t.Fatal(err)
		}
		if len(m2.Content) == 0 || !strings.Contains(m2.Content[0].Text, "sunny") {
			t.Fatalf("the tool result did not reach the model: %+v", m2)
		}
	})

	t.Run("count_tokens estimates the translated request", func(t *testing.T) {
		n, err := c.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "claude-sonnet-4-5",
			Messages: params.Messages})
		if err != nil || n.InputTokens <= 0 {
			t.Fatalf("count_tokens: %v %v", n, err)
		}
	})

	t.Run("errors come in Anthropic's envelope", func(t *testing.T) {
		bad := anthropicClient(g, "wrong-key")
		_, err := bad.Messages.New(ctx, params)
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || !strings.Contains(apiErr.RawJSON(), `"authentication_error"`) {
			t.Fatalf("a bad key: %v", err)
		}
		noMax := params
		noMax.MaxTokens = 0
		_, err = c.Messages.New(ctx, noMax)
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.RawJSON(), `"invalid_request_error"`) {
			t.Fatalf("a request without max_tokens: %v", err)
		}
	})
}

// TestNativeProvidersGetTheClientsBytesAndReturnTheirs: a provider that speaks the
// dialect itself gets the client's body with only the model patched, the client's
// Anthropic headers, and its answer (JSON or SSE) reaches the client byte for byte.
func TestNativeProvidersGetTheClientsBytesAndReturnTheirs(t *testing.T) {
	const respJSON = `{"id":"resp_up1","object":"response","status":"completed","model":"gpt-4.1","output":[{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"native!","annotations":[]}]}],"usage":{"input_tokens":7,"output_tokens":2,"total_tokens":9}}`
	const respSSE = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_up2\",\"status\":\"in_progress\"}}\n\n" +
		"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"delta\":\"native!\"}\n\n" +
		"event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_up2\",\"status\":\"completed\",\"usage\":{\"input_tokens\":7,\"output_tokens\":2,\"total_tokens\":9}}}\n\n"
	const msgJSON = `{"id":"msg_up1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"text","text":"native!"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"cache_read_input_tokens":3,"output_tokens":2}}`
	const msgSSE = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_up2\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"native!\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	var got struct {
		path, body, version, beta string
	}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.path, got.body, got.version, got.beta = r.URL.Path, string(b), r.Header.Get("Anthropic-Version"), r.Header.Get("Anthropic-Beta")
		stream := strings.Contains(string(b), `"stream":true`)
		switch {
		case strings.HasSuffix(r.URL.Path, "/responses") && stream:
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, respSSE)
		case strings.HasSuffix(r.URL.Path, "/responses"):
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, respJSON)
		case stream:
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, msgSSE)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, msgJSON)
		}
	}))
	defer fake.Close()
	g := testutil.StartGateway(t, fmt.Sprintf(`
providers:
  - {name: oai, base_url: %s/v1, responses_api: native}
  - {name: claude, kind: anthropic, base_url: %s}
models:
  - {name: gpt-4.1, provider: oai}
  - {name: claude-sonnet-4-5, provider: claude}
`, fake.URL, fake.URL), nil)
	tests := []struct {
		name, path, body, want, wantPath string
		headers                          []string
	}{
		{"a Responses request, JSON", "/v1/responses", `{"model":"gpt-4.1","input":"hi","reasoning":{"effort":"high"},"tools":[{"type":"web_search"}]}`, respJSON, "/v1/responses", nil},
		{"a Responses request, streamed", "/v1/responses", `{"model":"gpt-4.1","input":"hi","stream":true}`, respSSE, "/v1/responses", nil},
		{"a Messages request, JSON, thinking and cache_control untouched", "/v1/messages",
			`{"model":"claude-sonnet-4-5","max_tokens":64,"thinking":{"type":"enabled","budget_tokens":32},"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}`,
			msgJSON, "/v1/messages", []string{"Anthropic-Version", "2023-06-01", "Anthropic-Beta", "prompt-caching-2024-07-31"}},
		{"a Messages request, streamed", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, msgSSE, "/v1/messages",
			[]string{"Anthropic-Version", "2023-06-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.Post(t, tt.path, tt.body, tt.headers...)
			if r.Status != 200 || string(r.Body) != tt.want {
				t.Fatalf("got %d\n%s\nwant the provider's bytes\n%s", r.Status, r.Body, tt.want)
			}
			if got.path != tt.wantPath || got.body != tt.body {
				t.Fatalf("the provider got %s %s, want %s with the client's body", got.path, got.body, tt.wantPath)
			}
			for i := 0; i+1 < len(tt.headers); i += 2 {
				if v := map[string]string{"Anthropic-Version": got.version, "Anthropic-Beta": got.beta}[tt.headers[i]]; v != tt.headers[i+1] {
					t.Fatalf("%s reached the provider as %q", tt.headers[i], v)
				}
			}
		})
	}
}

// TestARepeatedDeterministicDialectRequestIsACacheHitInItsDialect: a Messages or Responses
// request at temperature 0, asked twice, is answered the second time from the cache,
// replayed in the request's own API, streamed or not, with the same text.
func TestARepeatedDeterministicDialectRequestIsACacheHitInItsDialect(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := testutil.StartGateway(t, fmt.Sprintf(`
cache: {enabled: true}
providers: [{name: openai, base_url: %s}]
models: [{name: "*", provider: openai}]
`, up.URL), nil)
	tests := []struct {
		name, path, body, mark string
	}{
		{"Messages", "/v1/messages", `{"model":"m","max_tokens":50,"temperature":0,%s"messages":[{"role":"user","content":"Cache me %s"}]}`, `"type":"message"`},
		{"Responses", "/v1/responses", `{"model":"m","temperature":0,%s"input":"Cache me %s"}`, `"object":"response"`},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s stream=%v", tt.name, stream), func(t *testing.T) {
				s := ""
				if stream {
					s = `"stream":true,`
				}
				body := fmt.Sprintf(tt.body, s, tt.name+fmt.Sprint(stream))
				first := g.Post(t, tt.path, body)
				calls := up.Calls()
				var again testutil.Response
				for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
					if again = g.Post(t, tt.path, body); again.Header.Get("X-Switchyard-Cache") == "hit" {
						break
					}
				}
				if first.Status != 200 || again.Header.Get("X-Switchyard-Cache") != "hit" || up.Calls() != calls {
					t.Fatalf("first %d, again cache=%q, upstream calls %d -> %d", first.Status, again.Header.Get("X-Switchyard-Cache"), calls, up.Calls())
				}
				if !strings.Contains(string(again.Body), tt.mark) || !strings.Contains(string(again.Body), "Cache me") && !strings.Contains(string(first.Body), "Cache") {
					t.Fatalf("the hit is not in the %s shape:\n%s", tt.name, again.Body)
				}
				if stream != strings.HasPrefix(string(again.Body), "event: ") {
					t.Fatalf("stream=%v replayed as:\n%.300s", stream, again.Body)
				}
			})
		}
	}
}

// TestASilentTranslatedMessagesStreamIsKeptAliveWithPings: while a chat-only upstream is
// silent mid-stream, the Messages client gets ping events, as from Anthropic.
func TestASilentTranslatedMessagesStreamIsKeptAliveWithPings(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{Chunks: 3, ChunkInterval: 400 * time.Millisecond})
	g := testutil.StartGateway(t, fmt.Sprintf(`
timeouts: {ping: 100ms}
providers: [{name: openai, base_url: %s}]
models: [{name: "*", provider: openai}]
`, up.URL), nil)
	r := g.Post(t, "/v1/messages", `{"model":"m","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"a slow answer please"}]}`)
	body := string(r.Body)
	if r.Status != 200 || strings.Count(body, "event: ping") < 2 || !strings.HasSuffix(strings.TrimSpace(body), `{"type":"message_stop"}`) {
		t.Fatalf("got %d:\n%s", r.Status, body)
	}
}

// TestTheOfficialClientsReadNativeProvidersAnswersPassedThrough: openai-go's Responses and
// anthropic-sdk-go's Messages, plain and streamed, against providers that speak them, read
// exactly what the providers answered.
func TestTheOfficialClientsReadNativeProvidersAnswersPassedThrough(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		stream := strings.Contains(string(b), `"stream":true`)
		responses := strings.HasSuffix(r.URL.Path, "/responses")
		switch {
		case responses && stream:
			w.Header().Set("Content-Type", "text/event-stream")
			for i, ev := range []string{
				`{"type":"response.created","sequence_number":0,"response":{"id":"resp_n","object":"response","status":"in_progress","output":[]}}`,
				`{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_n","output_index":0,"content_index":0,"delta":"from the native provider"}`,
				`{"type":"response.completed","sequence_number":2,"response":{"id":"resp_n","object":"response","status":"completed","output":[{"type":"message","id":"msg_n","role":"assistant","status":"completed","content":[{"type":"output_text","text":"from the native provider","annotations":[]}]}],"usage":{"input_tokens":4,"output_tokens":4,"total_tokens":8}}}`,
			} {
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", []string{"response.created", "response.output_text.delta", "response.completed"}[i], ev)
			}
		case responses:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"resp_n","object":"response","created_at":1,"status":"completed","model":"gpt-4.1","output":[{"type":"message","id":"msg_n","role":"assistant","status":"completed","content":[{"type":"output_text","text":"from the native provider","annotations":[]}]}],"usage":{"input_tokens":4,"output_tokens":4,"total_tokens":8}}`)
		case stream:
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_n\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"usage\":{\"input_tokens\":4,\"output_tokens\":1}}}\n\n"+
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"+
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"from the native provider\"}}\n\n"+
				"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"+
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":4}}\n\n"+
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"msg_n","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"from the native provider"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":4,"output_tokens":4}}`)
		}
	}))
	defer fake.Close()
	g := testutil.StartGateway(t, fmt.Sprintf(`
providers:
  - {name: oai, base_url: %s/v1, responses_api: native}
  - {name: claude, kind: anthropic, base_url: %s}
models:
  - {name: gpt-4.1, provider: oai}
  - {name: claude-sonnet-4-5, provider: claude}
`, fake.URL, fake.URL), nil)
	ctx := context.Background()
	const want = "from the native provider"
	oc := openaiClient(g, "any") // the gateway has no keys: any key is accepted
	rp := responses.ResponseNewParams{Model: "gpt-4.1", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}}
	r, err := oc.Responses.New(ctx, rp)
	if err != nil || r.OutputText() != want || r.ID != "resp_n" {
		t.Fatalf("responses: %v %v", r, err)
	}
	st := oc.Responses.NewStreaming(ctx, rp)
	var text string
	for st.Next() {
		if ev := st.Current(); ev.Type == "response.output_text.delta" {
			text += ev.Delta
		}
	}
	if st.Err() != nil || text != want {
		t.Fatalf("responses stream: %q %v", text, st.Err())
	}
	ac := anthropicClient(g, "any")
	mp := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
	m, err := ac.Messages.New(ctx, mp)
	if err != nil || len(m.Content) == 0 || m.Content[0].Text != want || m.ID != "msg_n" {
		t.Fatalf("messages: %v %v", m, err)
	}
	ms := ac.Messages.NewStreaming(ctx, mp)
	var acc anthropic.Message
	for ms.Next() {
		_ = acc.Accumulate(ms.Current())
	}
	if ms.Err() != nil || len(acc.Content) == 0 || acc.Content[0].Text != want {
		t.Fatalf("messages stream: %+v %v", acc, ms.Err())
	}
}
