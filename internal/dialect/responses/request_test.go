package responses

import (
	"errors"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

func TestRequestRefusesWhatChatCompletionsCannotExpress(t *testing.T) {
	cases := []struct {
		name, body, param, code string
		status                  int
	}{
		{"a body that is not JSON is invalid_json", `{"model":`, "", "invalid_json", 400},
		{"a body that is an array is invalid_json", `[1]`, "", "invalid_json", 400},
		{"a missing model names model", `{"input":"hi"}`, "model", "missing_required_parameter", 400},
		{"a missing input names input", `{"model":"m"}`, "input", "missing_required_parameter", 400},
		{"a numeric input is the wrong type", `{"model":"m","input":3}`, "input", "invalid_type", 400},
		{"background mode names background", `{"model":"m","input":"hi","background":true}`, "background", "unsupported_parameter", 400},
		{"a stored prompt names prompt", `{"model":"m","input":"hi","prompt":{"id":"pmpt_1"}}`, "prompt", "unsupported_parameter", 400},
		{"a conversation names conversation", `{"model":"m","input":"hi","conversation":"conv_1"}`, "conversation", "unsupported_parameter", 400},
		{"web search names the tool's type", `{"model":"m","input":"hi","tools":[{"type":"web_search"}]}`, "tools[0].type", "unsupported_value", 400},
		{"file search names the tool's type", `{"model":"m","input":"hi","tools":[{"type":"file_search","vector_store_ids":["vs_1"]}]}`, "tools[0].type", "unsupported_value", 400},
		{"computer use names the tool's type", `{"model":"m","input":"hi","tools":[{"type":"computer_use_preview"}]}`, "tools[0].type", "unsupported_value", 400},
		{"a function tool without a name names it", `{"model":"m","input":"hi","tools":[{"type":"function"}]}`, "tools[0].name", "missing_required_parameter", 400},
		{"forcing a built-in tool names tool_choice.type", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"web_search_preview"}}`, "tool_choice.type", "unsupported_value", 400},
		{"an unknown tool_choice string is invalid", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f"}],"tool_choice":"always"}`, "tool_choice", "invalid_value", 400},
		{"a reasoning item names the item", `{"model":"m","input":[{"type":"reasoning","id":"rs_1","summary":[]},{"role":"user","content":"hi"}]}`, "input[0]", "unsupported_parameter", 400},
		{"an item reference names the item", `{"model":"m","input":[{"role":"user","content":"hi"},{"type":"item_reference","id":"msg_1"}]}`, "input[1]", "unsupported_parameter", 400},
		{"a built-in tool's call item names its type", `{"model":"m","input":[{"type":"web_search_call","id":"ws_1"}]}`, "input[0].type", "unsupported_parameter", 400},
		{"an unknown role names the role", `{"model":"m","input":[{"role":"tool","content":"x"}]}`, "input[0].role", "invalid_value", 400},
		{"a function call without call_id names it", `{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}`, "input[0].call_id", "missing_required_parameter", 400},
		{"a function call output without call_id names it", `{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id", "missing_required_parameter", 400},
		{"an image by file_id names the part", `{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_image","file_id":"file_1"}]}]}`, "input[0].content[1].file_id", "unsupported_parameter", 400},
		{"an image in a system message names the part", `{"model":"m","input":[{"role":"system","content":[{"type":"input_text","text":"a"},{"type":"input_image","image_url":"https://x/y.png"}]}]}`, "input[0].content[1].type", "invalid_value", 400},
		{"a text part whose text is a number names the text", `{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":1},{"type":"input_text","text":"b"}]}]}`, "input[0].content[0].text", "invalid_type", 400},
		{"a json_schema format without a name names it", `{"model":"m","input":"hi","text":{"format":{"type":"json_schema","schema":{}}}}`, "text.format.name", "missing_required_parameter", 400},
		{"an unknown text format names its type", `{"model":"m","input":"hi","text":{"format":{"type":"yaml"}}}`, "text.format.type", "invalid_value", 400},
		{"a string temperature is the wrong type", `{"model":"m","input":"hi","temperature":"hot"}`, "temperature", "invalid_type", 400},
		{"a prior message that is not an object is the gateway's fault", "", "", "internal_error", 500},
	}
	tr := New(Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, prior := []byte(c.body), [][]byte(nil)
			if c.body == "" {
				body, prior = []byte(`{"model":"m","input":"hi"}`), [][]byte{[]byte(`"hello"`)}
			}
			_, err := tr.Request(body, prior)
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *apierr.Error", err)
			}
			if ae.Status != c.status || ae.Param != c.param || ae.Code != c.code {
				t.Errorf("got %d %s param %q, want %d %s param %q (%s)", ae.Status, ae.Code, ae.Param, c.status, c.code, c.param, ae.Message)
			}
		})
	}
}

func TestRequestTranslatesEachShapeOfInput(t *testing.T) {
	cases := []struct {
		name, body, path, want string
	}{
		{"a string input is one user message",
			`{"model":"m","input":"hi"}`, "messages", `[{"role":"user","content":"hi"}]`},
		{"a message without a type is a message",
			`{"model":"m","input":[{"role":"user","content":"hi"}]}`, "messages", `[{"role":"user","content":"hi"}]`},
		{"a developer message becomes a system message",
			`{"model":"m","input":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi"}]}`, "messages.0", `{"role":"system","content":"be brief"}`},
		{"an empty instructions string adds no message",
			`{"model":"m","instructions":"","input":"hi"}`, "messages.#", `1`},
		{"several assistant parts join with newlines",
			`{"model":"m","input":[{"role":"assistant","content":[{"type":"output_text","text":"a\"b"},{"type":"refusal","refusal":"c"}]}]}`, "messages.0.content", `"a\"b\nc"`},
		{"a user file part keeps its data and name",
			`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"read"},{"type":"input_file","filename":"a.pdf","file_data":"data:application/pdf;base64,AAA"}]}]}`,
			"messages.0.content.1", `{"type":"file","file":{"file_data":"data:application/pdf;base64,AAA","filename":"a.pdf"}}`},
		{"an assistant message and the function calls after it are one message",
			`{"model":"m","input":[{"role":"user","content":"go"},{"role":"assistant","content":"On it."},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call","call_id":"c2","name":"g","arguments":"{\"x\":1}"},{"type":"function_call_output","call_id":"c1","output":"1"},{"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"2"}]}]}`,
			"messages",
			`[{"role":"user","content":"go"},{"role":"assistant","content":"On it.","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"c2","type":"function","function":{"name":"g","arguments":"{\"x\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"1"},{"role":"tool","tool_call_id":"c2","content":"2"}]`},
		{"a function call without arguments gets an empty object",
			`{"model":"m","input":[{"type":"function_call","call_id":"c1","name":"f"}]}`, "messages.0.tool_calls.0.function.arguments", `"{}"`},
		{"a function tool_choice becomes Chat's nested form",
			`{"model":"m","input":"hi","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"f"}}`, "tool_choice", `{"type":"function","function":{"name":"f"}}`},
		{"tool_choice and parallel_tool_calls without tools are not sent",
			`{"model":"m","input":"hi","tools":[],"tool_choice":"none","parallel_tool_calls":false}`, "tool_choice", ``},
		{"a json_object format is json_object",
			`{"model":"m","input":"hi","text":{"format":{"type":"json_object"}}}`, "response_format", `{"type":"json_object"}`},
		{"a text format sends no response_format",
			`{"model":"m","input":"hi","text":{"format":{"type":"text"},"verbosity":"low"}}`, "response_format", ``},
		{"metadata and store are not sent",
			`{"model":"m","input":"hi","metadata":{"a":"b"},"store":true}`, "metadata", ``},
		{"a non-streamed request asks for no stream",
			`{"model":"m","input":"hi","stream":false}`, "stream", ``},
	}
	tr := New(Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chat, err := tr.Request([]byte(c.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonx.Valid(chat.Body) {
				t.Fatalf("body is not JSON: %s", chat.Body)
			}
			if got := jsonx.Get(chat.Body, c.path).Raw; got != c.want {
				t.Errorf("%s = %s, want %s\nbody: %s", c.path, got, c.want, chat.Body)
			}
		})
	}
}

func TestRequestNamesMaxOutputTokensAsConfigured(t *testing.T) {
	cases := []struct {
		name  string
		opts  Options
		field string
	}{
		{"the default is max_tokens", Options{}, "max_tokens"},
		{"max_completion_tokens when configured", Options{MaxTokensField: "max_completion_tokens"}, "max_completion_tokens"},
		{"an invalid field falls back to max_tokens", Options{MaxTokensField: "tokens"}, "max_tokens"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chat, err := New(c.opts).Request([]byte(`{"model":"m","input":"hi","max_output_tokens":64}`), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonx.Get(chat.Body, c.field).Int(); got != 64 {
				t.Errorf("%s = %d in %s", c.field, got, chat.Body)
			}
		})
	}
	if (Options{MaxTokensField: "tokens"}).Validate() == nil {
		t.Error("Validate accepted an unknown max_tokens_field")
	}
}

func TestErrorRendersTheOpenAIEnvelopeWithItsStatus(t *testing.T) {
	status, body := New(Options{}).Error(apierr.RateLimited("slow down", "3"))
	if status != 429 {
		t.Errorf("status = %d", status)
	}
	if want := `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`; string(body) != want {
		t.Errorf("body = %s, want %s", body, want)
	}
}
