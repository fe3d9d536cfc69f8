package provider

import (
	"strings"
	"testing"
)

func TestResponsesAPIDefaultsToNativeOnlyWhereTheProviderImplementsIt(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		base   string
		mode   string
		native bool
		err    string
	}{
		{name: "the OpenAI API is native by default", kind: KindOpenAI, base: "https://api.openai.com/v1", native: true},
		{name: "the OpenAI API's host is matched without regard to case or port", kind: KindOpenAI, base: "https://API.OpenAI.com:443/v1/", native: true},
		{name: "an omitted kind is openai", kind: "", base: "https://api.openai.com/v1", native: true},
		{name: "an OpenAI-compatible server translates by default", kind: KindOpenAI, base: "http://localhost:11434/v1"},
		{name: "a host that only contains the OpenAI API's name translates", kind: KindOpenAI, base: "https://api.openai.com.evil.example/v1"},
		{name: "Azure is native by default", kind: KindAzure, base: "https://contoso.openai.azure.com", native: true},
		{name: "Anthropic translates by default", kind: KindAnthropic, base: "https://api.anthropic.com"},
		{name: "the mock translates by default", kind: KindMock},
		{name: "an OpenAI-compatible server may be made native", kind: KindOpenAI, base: "http://vllm:8000/v1", mode: "native", native: true},
		{name: "the OpenAI API may be made to translate", kind: KindOpenAI, base: "https://api.openai.com/v1", mode: "translate"},
		{name: "Azure may be made to translate", kind: KindAzure, base: "https://contoso.openai.azure.com", mode: "translate"},
		{name: "native on Anthropic is an error", kind: KindAnthropic, base: "https://api.anthropic.com", mode: "native", err: `provider "p": responses_api: native needs a provider that implements the Responses API`},
		{name: "native on the mock is an error", kind: KindMock, mode: "native", err: "not kind mock"},
		{name: "an unknown mode is an error", kind: KindOpenAI, base: "https://api.openai.com/v1", mode: "passthrough", err: `unknown responses_api "passthrough" (want native or translate)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Name: "p", Kind: tt.kind, BaseURL: tt.base, ResponsesAPI: tt.mode}
			err := c.Resolve(func(string) string { return "" })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Resolve error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.NativeResponses(); got != tt.native {
				t.Errorf("NativeResponses() = %v, want %v", got, tt.native)
			}
			if want := map[bool]string{true: ResponsesNative, false: ResponsesTranslate}[tt.native]; c.ResponsesAPI != want {
				t.Errorf("resolved ResponsesAPI %q, want %q", c.ResponsesAPI, want)
			}
		})
	}
}

func TestNativeResponsesAppliesTheDefaultToAnUnresolvedConfig(t *testing.T) {
	c := Config{Name: "openai", BaseURL: "https://api.openai.com/v1"}
	if !c.NativeResponses() {
		t.Fatal("an unresolved config for the OpenAI API is not native")
	}
}

func TestAResponsesPathOverrideIsAKnownPathKey(t *testing.T) {
	c := Config{Name: "p", BaseURL: "https://gw.example/v1", Paths: map[string]string{"responses": "/r"}}
	if err := c.Resolve(func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	c = Config{Name: "p", BaseURL: "https://gw.example/v1", Paths: map[string]string{"respones": "/r"}}
	if err := c.Resolve(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "responses") {
		t.Fatalf("Resolve error %v, want an unknown path key naming responses", err)
	}
}
