package provider

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/sse"
)

// upstreamKey is the key the test providers present; upstreams quote it back.
const upstreamKey = "sk-proj-abc123def456ghi789jkl"

func newTestTranslator(t *testing.T, kind string) Translator {
	t.Helper()
	c := Config{Name: kind + "-prod", Kind: kind, BaseURL: "https://upstream.example", APIKeyEnv: "KEY"}
	if err := c.Resolve(func(string) string { return upstreamKey }); err != nil {
		t.Fatal(err)
	}
	tr, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestUpstreamAuthErrorsNeverReachTheClient(t *testing.T) {
	openAIBody := `{"error":{"message":"Incorrect API key provided: ` + upstreamKey + `. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`
	maskedBody := `{"error":{"message":"Incorrect API key provided: sk-proj-********************9jkl.","type":"invalid_request_error","code":"invalid_api_key"}}`
	anthropicBody := `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ` + upstreamKey + `"}}`
	tests := []struct {
		name   string
		kind   string
		status int
		body   string
	}{
		{"OpenAI quoting the key in a 401", KindOpenAI, 401, openAIBody},
		{"OpenAI quoting the masked key in a 401", KindOpenAI, 401, maskedBody},
		{"OpenAI refusing the key with a 403", KindOpenAI, 403, openAIBody},
		{"Azure quoting the key in a 401", KindAzure, 401, openAIBody},
		{"Anthropic quoting the key in a 401", KindAnthropic, 401, anthropicBody},
		{"a 401 without JSON quoting the key", KindOpenAI, 401, "bad key " + upstreamKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestTranslator(t, tt.kind).DecodeError(tt.status, []byte(tt.body), "")
			env := string(e.AppendJSON(nil))
			for _, leak := range []string{"sk-proj", "abc123", "9jkl", "Incorrect API key", "x-api-key"} {
				if strings.Contains(env, leak) || strings.Contains(e.Error(), leak) {
					t.Fatalf("client error carries %q: %s", leak, env)
				}
			}
			if e.Status != 502 || e.Code != "upstream_auth_failed" || !strings.Contains(e.Message, `"`+tt.kind+`-prod"`) {
				t.Fatalf("got %d %s %q, want 502 upstream_auth_failed naming the provider", e.Status, e.Code, e.Message)
			}
			if e.Upstream == "" || strings.Contains(e.Upstream, "abc123") || strings.Contains(e.Upstream, "9jkl") {
				t.Fatalf("Upstream (for the log) = %q, want the upstream's message with the key redacted", e.Upstream)
			}
		})
	}
}

func TestAnthropicStreamAuthErrorNeverReachesTheClient(t *testing.T) {
	tr := newTestTranslator(t, KindAnthropic)
	s := tr.NewStream(&Request{Op: OpChat, ClientModel: "m", Stream: true})
	ev := &sse.Event{Name: []byte("error"), Data: []byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ` + upstreamKey + `"}}`)}
	_, _, err := s.Event(ev, nil)
	se, ok := err.(*StreamError)
	if !ok {
		t.Fatalf("err = %v, want a *StreamError", err)
	}
	if strings.Contains(string(se.Err.AppendJSON(nil)), "abc123") || se.Err.Code != "upstream_auth_failed" {
		t.Fatalf("stream error %+v relays the key or is not upstream_auth_failed", se.Err)
	}
}

func TestRelayedUpstreamMessagesAreRedacted(t *testing.T) {
	body := `{"error":{"message":"Project for key ` + upstreamKey + ` has no access to model x","type":"invalid_request_error","code":"model_not_found"}}`
	e := newTestTranslator(t, KindOpenAI).DecodeError(404, []byte(body), "")
	if e.Status != 404 || strings.Contains(e.Message, "abc123") || !strings.Contains(e.Message, "has no access to model x") {
		t.Fatalf("got %d %q, want the 404 message kept with the key redacted", e.Status, e.Message)
	}
}
