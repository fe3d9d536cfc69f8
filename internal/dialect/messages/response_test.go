package messages

import (
	"errors"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/provider"
)

func TestResponseMatchesGoldenMessages(t *testing.T) {
	for _, in := range fixtures(t, "response", ".json") {
		t.Run(fixtureName(in, ".json"), func(t *testing.T) {
			out, _, err := New().Response(readFile(t, in), testMeta())
			if err != nil {
				t.Fatal(err)
			}
			checkGoldenJSON(t, goldenPath(in, ".json"), out)
		})
	}
}

func TestResponseReturnsTheUsageTheUpstreamReported(t *testing.T) {
	tests := []struct {
		name string
		file string
		want provider.Usage
	}{
		{"a plain answer counts its prompt and completion", "plain_text", provider.Usage{Reported: true, InputTokens: 21, OutputTokens: 19}},
		{"cached and reasoning tokens stay parts of input and output", "cache_usage",
			provider.Usage{Reported: true, InputTokens: 2006, OutputTokens: 300, CachedInputTokens: 1920, ReasoningTokens: 256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, u, err := New().Response(readFile(t, "testdata/response/"+tt.file+".json"), testMeta())
			if err != nil || u != tt.want {
				t.Errorf("usage = %+v, %v; want %+v", u, err, tt.want)
			}
		})
	}
}

func TestResponseEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		chat string
		want string
	}{
		{
			name: "no usage reports the prompt estimate and no output",
			chat: `{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}`,
			want: `{"id":"msg_01SwitchyardTest0001","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
		{
			name: "tool calls that finish with stop are tool_use, broken arguments an empty input, a missing id made up",
			chat: `{"choices":[{"message":{"content":"","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{\"a\":"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4}}`,
			want: `{"id":"msg_01SwitchyardTest0001","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"toolu_01SwitchyardTest0001_0","name":"f","input":{}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":4}}`,
		},
		{
			name: "a refusal is text and content_filter is refusal",
			chat: `{"choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"content_filter"}],"usage":{"prompt_tokens":3,"completion_tokens":4}}`,
			want: `{"id":"msg_01SwitchyardTest0001","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"I can't help with that."}],"stop_reason":"refusal","stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":4}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := New().Response([]byte(tt.chat), testMeta())
			if err != nil || string(out) != tt.want {
				t.Errorf("Response = %s, %v\nwant %s", out, err, tt.want)
			}
		})
	}
}

func TestResponseRefusesWhatIsNotAChatCompletion(t *testing.T) {
	for _, body := range []string{``, `[]`, `{"choices":[]}`, `{"error":{"message":"boom"}}`, `{"choices":[1]}`} {
		t.Run(body, func(t *testing.T) {
			_, _, err := New().Response([]byte(body), testMeta())
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != 502 {
				t.Errorf("Response(%q) = %v, want a 502", body, err)
			}
		})
	}
}
