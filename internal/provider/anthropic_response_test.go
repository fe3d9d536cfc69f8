package provider

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// decodeFixture decodes the non-streamed answer testdata/anthropic/decode/name.json.
func decodeFixture(t testing.TB, name string) ([]byte, Usage) {
	t.Helper()
	body := readFile(t, filepath.Join("testdata", "anthropic", "decode", name+".json"))
	out, u, err := newTestAnthropic(t, nil).Decode(chatRequestFor(nil), body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out, u
}

func TestAnthropicDecodeMatchesGoldenCompletions(t *testing.T) {
	for _, in := range fixtures(t, "decode", ".json") {
		name := fixtureName(in, ".json")
		t.Run(name, func(t *testing.T) {
			out, _ := decodeFixture(t, name)
			if got := jsonx.Get(out, "created").Int(); got != testCreated {
				t.Errorf("created = %d, want the clock's %d", got, testCreated)
			}
			checkGoldenJSON(t, goldenPath(in, ".json"), out)
		})
	}
}

func TestAnthropicDecodeAppendsToDst(t *testing.T) {
	body := readFile(t, filepath.Join("testdata", "anthropic", "decode", "text_reply.json"))
	out, _, err := newTestAnthropic(t, nil).Decode(chatRequestFor(nil), body, []byte("prefix:"))
	if err != nil || !strings.HasPrefix(string(out), `prefix:{"id":"chatcmpl-msg_01XFDUDYJgAACzvnptvVoYEL"`) {
		t.Fatalf("out = %s, err %v", out, err)
	}
}

func TestAnthropicDecodeReportsUsageWithCacheTokens(t *testing.T) {
	tests := []struct {
		fixture string
		want    Usage
	}{
		{"text_reply", Usage{Reported: true, InputTokens: 21 + 1840, OutputTokens: 26, CachedInputTokens: 1840}},
		{"tool_use_reply", Usage{Reported: true, InputTokens: 412 + 1024, OutputTokens: 118, CacheWriteTokens: 1024}},
		{"refusal", Usage{Reported: true, InputTokens: 35}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+" reports its usage", func(t *testing.T) {
			out, got := decodeFixture(t, tt.fixture)
			if got != tt.want {
				t.Errorf("usage = %+v, want %+v", got, tt.want)
			}
			if wire := OpenAIUsage(jsonx.Get(out, "usage")); wire.InputTokens != got.InputTokens ||
				wire.OutputTokens != got.OutputTokens || wire.CachedInputTokens != got.CachedInputTokens {
				t.Errorf("the body's usage %+v disagrees with the reported %+v", wire, got)
			}
		})
	}
}

func TestAnthropicDecodeRejectsAnswersThatAreNotMessages(t *testing.T) {
	for _, body := range []string{`not json`, `{"type":"error","error":{"type":"api_error","message":"x"}}`, `[]`} {
		t.Run(body+" is a bad gateway", func(t *testing.T) {
			_, _, err := newTestAnthropic(t, nil).Decode(chatRequestFor(nil), []byte(body), nil)
			if ae, ok := err.(*apierr.Error); !ok || ae.Status != 502 {
				t.Fatalf("err = %v, want a 502", err)
			}
		})
	}
}

func TestAnthropicFinishReasons(t *testing.T) {
	tests := []struct{ stop, want string }{
		{"end_turn", "stop"},
		{"stop_sequence", "stop"},
		{"pause_turn", "stop"},
		{"max_tokens", "length"},
		{"model_context_window_exceeded", "length"},
		{"tool_use", "tool_calls"},
		{"refusal", "content_filter"},
		{"", "stop"},
		{"a_reason_added_later", "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.stop+" becomes "+tt.want, func(t *testing.T) {
			if got := finishReason(tt.stop); got != tt.want {
				t.Errorf("finishReason(%q) = %q, want %q", tt.stop, got, tt.want)
			}
		})
	}
}

func TestAnthropicDecodeErrorMapsStatusAndEnvelope(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		fixture    string // in testdata/anthropic/errors, or a literal body when it starts with '<'
		retryAfter string
		wantStatus int
		wantType   string
		wantCode   string
		wantRetry  string
		wantMsg    string
	}{
		{"a bad request keeps its status and message", 400, "invalid_request", "", 400, apierr.TypeInvalidRequest, "", "", "roles must alternate"},
		{"a rejected key is the gateway's fault and names the provider", 401, "authentication", "", 502, apierr.TypeUpstream, "upstream_auth_failed", "", `provider "claude" refused`},
		{"a forbidden key is the gateway's fault and names the provider", 403, "permission", "", 502, apierr.TypeUpstream, "upstream_auth_failed", "", `provider "claude" refused`},
		{"an exhausted balance is the gateway's fault", 402, "billing", "", 502, apierr.TypeUpstream, "upstream_billing_error", "", "credit balance"},
		{"an unknown model stays a 404", 404, "not_found", "", 404, apierr.TypeNotFound, "", "", "claude-sonnet-9"},
		{"a request too large stays a 413", 413, "request_too_large", "", 413, apierr.TypeInvalidRequest, "request_too_large", "", "maximum allowed"},
		{"a 413 from the edge proxy without JSON is still a 413", 413, "<html><body>413 Request Entity Too Large</body></html>", "", 413, apierr.TypeInvalidRequest, "request_too_large", "", "HTTP 413"},
		{"a rate limit keeps Retry-After", 429, "rate_limit", "17", 429, apierr.TypeRateLimit, "rate_limit_exceeded", "17", "50 requests per minute"},
		{"an internal error is a bad gateway", 500, "api_error", "", 502, apierr.TypeUpstream, "upstream_error", "", "Internal server error"},
		{"overloaded is unavailable and keeps Retry-After", 529, "overloaded", "5", 503, apierr.TypeUpstream, "upstream_unavailable", "5", "Overloaded"},
	}
	tr := newTestAnthropic(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.fixture)
			if !strings.HasPrefix(tt.fixture, "<") {
				body = readFile(t, filepath.Join("testdata", "anthropic", "errors", tt.fixture+".json"))
			}
			e := tr.DecodeError(tt.status, body, tt.retryAfter)
			if e.Status != tt.wantStatus || e.Type != tt.wantType || e.Code != tt.wantCode || e.RetryAfter != tt.wantRetry {
				t.Errorf("got %d %s code=%q retry=%q, want %d %s code=%q retry=%q",
					e.Status, e.Type, e.Code, e.RetryAfter, tt.wantStatus, tt.wantType, tt.wantCode, tt.wantRetry)
			}
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantMsg)
			}
			env := e.AppendJSON(nil)
			if jsonx.Get(env, "error.message").Str != e.Message || jsonx.Get(env, "error.type").Str != e.Type {
				t.Errorf("envelope %s does not carry the error", env)
			}
		})
	}
}
