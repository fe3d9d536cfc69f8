package messages

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// requestGolden is what a request fixture translates to: the Chat body, or the error in
// the client's envelope.
func requestGolden(t *testing.T, body []byte) []byte {
	t.Helper()
	chat, err := New().Request(body, nil)
	if err != nil {
		var ae *apierr.Error
		if !errors.As(err, &ae) {
			t.Fatalf("Request error %v is not an *apierr.Error", err)
		}
		status, env := New().Error(ae)
		out := []byte(`{"status":`)
		out = strconv.AppendInt(out, int64(status), 10)
		out = append(out, `,"param":`...)
		out = jsonx.Quote(out, ae.Param)
		out = append(out, `,"body":`...)
		out = append(out, env...)
		return append(out, '}')
	}
	if err := jsonx.ValidObject(chat.Body, 0); err != nil {
		t.Fatalf("the Chat body is not a JSON object (%v): %s", err, chat.Body)
	}
	if got := jsonx.Get(chat.Body, "stream").Bool(); got != chat.Stream {
		t.Errorf("Chat.Stream = %v, the body says %v", chat.Stream, got)
	}
	return chat.Body
}

func TestRequestMatchesGoldenChatBodies(t *testing.T) {
	for _, in := range fixtures(t, "request", ".json") {
		t.Run(fixtureName(in, ".json"), func(t *testing.T) {
			checkGoldenJSON(t, goldenPath(in, ".json"), requestGolden(t, readFile(t, in)))
		})
	}
}

func TestRequestRejectsWhatChatCannotExpressNamingTheField(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		param string
	}{
		{"a body that is not JSON is invalid_json", `{"model":`, ""},
		{"a missing max_tokens names max_tokens", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "max_tokens"},
		{"a fractional max_tokens names max_tokens", `{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens"},
		{"a zero max_tokens names max_tokens", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens"},
		{"a missing model names model", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "model"},
		{"missing messages are named", `{"model":"m","max_tokens":5}`, "messages"},
		{"an empty messages array is named", `{"model":"m","max_tokens":5,"messages":[]}`, "messages"},
		{"a system role in messages names the role", `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]}`, "messages.0.role"},
		{"a turn without content names it", `{"model":"m","max_tokens":5,"messages":[{"role":"user"}]}`, "messages.0.content"},
		{"a tool_use without id names the id", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}]}`, "messages.1.content.0.id"},
		{"a tool_result without tool_use_id names it", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`, "messages.0.content.0.tool_use_id"},
		{"an image from the Files API names its source type", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_1"}}]}]}`, "messages.0.content.0.source.type"},
		{"an image in an assistant turn names the block", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}`, "messages.0.content.0.type"},
		{"a temperature that is a string names temperature", `{"model":"m","max_tokens":5,"temperature":"hot","messages":[{"role":"user","content":"hi"}]}`, "temperature"},
		{"a stop sequence that is a number names it", `{"model":"m","max_tokens":5,"stop_sequences":["a",3],"messages":[{"role":"user","content":"hi"}]}`, "stop_sequences.1"},
		{"an unknown tool_choice type names it", `{"model":"m","max_tokens":5,"tool_choice":{"type":"required"},"messages":[{"role":"user","content":"hi"}]}`, "tool_choice.type"},
		{"a tool_choice tool without a name names it", `{"model":"m","max_tokens":5,"tools":[{"name":"f"}],"tool_choice":{"type":"tool"},"messages":[{"role":"user","content":"hi"}]}`, "tool_choice.name"},
		{"a tool without a name names it", `{"model":"m","max_tokens":5,"tools":[{"input_schema":{}}],"messages":[{"role":"user","content":"hi"}]}`, "tools.0.name"},
		{"a bash tool names its type", `{"model":"m","max_tokens":5,"tools":[{"type":"bash_20250124","name":"bash"}],"messages":[{"role":"user","content":"hi"}]}`, "tools.0.type"},
		{"a non-boolean stream names stream", `{"model":"m","max_tokens":5,"stream":"yes","messages":[{"role":"user","content":"hi"}]}`, "stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New().Request([]byte(tt.body), nil)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Param != tt.param {
				t.Fatalf("Request = %v, want a 400 naming %q", err, tt.param)
			}
			if tt.param != "" && !strings.HasPrefix(ae.Message, tt.param+": ") {
				t.Errorf("message %q does not start with the field %q", ae.Message, tt.param)
			}
		})
	}
}

func TestRequestPutsPriorMessagesAfterTheSystemMessage(t *testing.T) {
	body := `{"model":"m","max_tokens":5,"system":"Be brief.","messages":[{"role":"user","content":"again"}]}`
	prior := [][]byte{[]byte(`{"role":"user","content":"hi"}`), []byte(`{"role":"assistant","content":"hello"}`)}
	chat, err := New().Request([]byte(body), prior)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"again"}]`
	if got := jsonx.Get(chat.Body, "messages").Raw; got != want {
		t.Errorf("messages = %s, want %s", got, want)
	}
}

func TestRequestForcesUsageOnlyWhenStreaming(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   bool
	}{
		{"stream true asks for the usage chunk", `,"stream":true`, true},
		{"stream false sends no stream options", `,"stream":false`, false},
		{"no stream sends no stream options", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chat, err := New().Request([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]`+tt.stream+`}`), nil)
			if err != nil {
				t.Fatal(err)
			}
			if chat.Stream != tt.want || jsonx.Get(chat.Body, "stream_options.include_usage").Bool() != tt.want {
				t.Errorf("stream %v, body %s; want stream and include_usage %v", chat.Stream, chat.Body, tt.want)
			}
		})
	}
}

func TestCountTokensRequestNeedsNoMaxTokensAndNeverStreams(t *testing.T) {
	body := `{"model":"claude-sonnet-4-5","system":"Be brief.","stream":true,"tools":[{"name":"f","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"Hello"}]}`
	chat, err := CountTokensRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"claude-sonnet-4-5","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}`
	if chat.Stream || string(chat.Body) != want {
		t.Errorf("CountTokensRequest = %s (stream %v), want %s", chat.Body, chat.Stream, want)
	}
	if _, err := CountTokensRequest([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"document"}]}]}`)); err == nil {
		t.Error("a document block was accepted by count_tokens")
	}
}
