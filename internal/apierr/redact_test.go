package apierr

import (
	"strings"
	"testing"
)

func TestRedactRemovesCredentials(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"OpenAI's message for a wrong key",
			"Incorrect API key provided: sk-proj-abc123DEF456ghi789. You can find your API key at https://platform.openai.com/account/api-keys.",
			"Incorrect API key provided: [REDACTED]. You can find your API key at https://platform.openai.com/account/api-keys."},
		{"OpenAI's masked form still names the key", "Incorrect API key provided: sk-proj-********************abcd.", "Incorrect API key provided: [REDACTED]."},
		{"an Anthropic key", "invalid x-api-key sk-ant-api03-xyz_987-qwe", "invalid x-api-key [REDACTED]"},
		{"a bearer token of any shape", "header was Bearer abc:def", "header was Bearer [REDACTED]:def"},
		{"a long hex key without a prefix", "Access denied for key 0123456789abcdef0123456789abcdef.", "Access denied for key [REDACTED]."},
		{"a known secret of any shape", "the key my:secret!value was refused", "the key [REDACTED] was refused"},
		{"plain text is kept", "Access denied due to invalid subscription key or wrong API endpoint.", "Access denied due to invalid subscription key or wrong API endpoint."},
		{"a URL with digits is kept", "see https://example.com/v1/docs/errors2024 for help", "see https://example.com/v1/docs/errors2024 for help"},
		{"request ids and numbers are kept", "request req_123 failed after 30000 ms", "request req_123 failed after 30000 ms"},
		{"an empty message", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redact(tt.in, "", "my:secret!value"); got != tt.want {
				t.Fatalf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestUpstreamAuthFailedNamesTheProviderAndHidesTheUpstreamText(t *testing.T) {
	e := UpstreamAuthFailed("openai-prod", 401, "Incorrect API key provided: sk-proj-abc123secret456.")
	if e.Status != 502 || e.Code != "upstream_auth_failed" || e.Type != TypeUpstream {
		t.Fatalf("got %d %s %s", e.Status, e.Type, e.Code)
	}
	env := string(e.AppendJSON(nil))
	if strings.Contains(env, "sk-") || strings.Contains(env, "Incorrect") {
		t.Fatalf("envelope relays the upstream text: %s", env)
	}
	if !strings.Contains(e.Message, `"openai-prod"`) || !strings.Contains(e.Message, "401") {
		t.Fatalf("message %q does not name the provider and status", e.Message)
	}
	if e.Upstream != "Incorrect API key provided: [REDACTED]." {
		t.Fatalf("Upstream = %q", e.Upstream)
	}
}
