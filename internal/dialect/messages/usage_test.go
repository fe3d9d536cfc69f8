package messages

import (
	"bytes"
	"testing"

	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/sse"
)

func TestUsageOfCountsCachedTokensAsInput(t *testing.T) {
	tests := []struct {
		name string
		body string
		want provider.Usage
	}{
		{"a message with cache reads and writes counts both in input",
			`{"type":"message","usage":{"input_tokens":412,"cache_creation_input_tokens":1024,"cache_read_input_tokens":300,"output_tokens":118,"service_tier":"standard"}}`,
			provider.Usage{Reported: true, InputTokens: 1736, OutputTokens: 118, CachedInputTokens: 300, CacheWriteTokens: 1024}},
		{"a message without cache counts is plain",
			`{"usage":{"input_tokens":10,"output_tokens":2}}`, provider.Usage{Reported: true, InputTokens: 10, OutputTokens: 2}},
		{"a body without usage is unreported", `{"type":"message"}`, provider.Usage{}},
		{"a body that is not JSON is unreported", `{"usage":`, provider.Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UsageOf([]byte(tt.body)); got != tt.want {
				t.Errorf("UsageOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// nativeStream is a recorded Anthropic stream with prompt caching (from the provider
// package's fixtures), whose message_delta repeats only output_tokens.
const nativeStream = `event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":21,"cache_creation_input_tokens":0,"cache_read_input_tokens":1840,"output_tokens":1,"service_tier":"standard"}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"The capital of France is Paris."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":26}}

event: message_stop
data: {"type":"message_stop"}

`

func TestStreamUsageReadsMessageStartAndMessageDelta(t *testing.T) {
	var su StreamUsage
	if u := su.Usage(); u.Reported {
		t.Fatalf("usage %+v before any event", u)
	}
	sse.EachData([]byte(nativeStream), su.Observe)
	want := provider.Usage{Reported: true, InputTokens: 1861, OutputTokens: 26, CachedInputTokens: 1840}
	if got := su.Usage(); got != want {
		t.Errorf("Usage = %+v, want %+v", got, want)
	}
}

func TestStreamUsageTakesTheInputCountsMessageDeltaRepeats(t *testing.T) {
	var su StreamUsage
	su.Observe([]byte(`{"type":"message_start","message":{"usage":{"input_tokens":849,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10}}}`))
	su.Observe([]byte(`{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":849,"cache_creation_input_tokens":100,"cache_read_input_tokens":0,"output_tokens":47}}`))
	want := provider.Usage{Reported: true, InputTokens: 949, OutputTokens: 47, CacheWriteTokens: 100}
	if got := su.Usage(); got != want {
		t.Errorf("Usage = %+v, want %+v", got, want)
	}
}

func TestATranslatedStreamMetersAsItsNativeReaderReadsIt(t *testing.T) {
	// The events the translation writes, read back by StreamUsage, give the same usage
	// as the stream reports: a client replaying them through a native meter agrees.
	in := readFile(t, "testdata/stream/cache_usage.sse")
	out, s := translateStream(t, testMeta(), chatEvents(t, in))
	var su StreamUsage
	sse.EachData(out, su.Observe)
	if got, want := su.Usage(), s.Usage(); got.InputTokens != want.InputTokens || got.OutputTokens != want.OutputTokens || got.CachedInputTokens != want.CachedInputTokens {
		t.Errorf("read back %+v, the stream reports %+v", got, want)
	}
	if got := UsageOf(s.Result()); got.InputTokens != s.Usage().InputTokens {
		t.Errorf("UsageOf(Result) = %+v, the stream reports %+v", got, s.Usage())
	}
}

func TestCountTokensAnswerIsTheInputTokensObject(t *testing.T) {
	if got := CountTokensAnswer(2095); !bytes.Equal(got, []byte(`{"input_tokens":2095}`)) {
		t.Errorf("CountTokensAnswer = %s", got)
	}
}
