package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

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
		if err != nil || len(items.Data) != 1 {
			t.Fatalf("input items: %v %v", items, err)
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
