package config

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
)

func TestAMockProviderIsConfiguredFromYAML(t *testing.T) {
	data := `providers:
  - name: flaky
    kind: mock
    mock:
      latency: 250ms
      chunks: 8
      chunk_interval: 20ms
      failure:
        rate: 0.3
        kind: status
        status: 429
        retry_after: 2
  - name: steady
    kind: mock
models:
  - name: "*"
    provider: flaky
`
	c, err := Parse("features.yaml", []byte(data), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := mock.Config{Delay: 250 * time.Millisecond, Chunks: 8, ChunkInterval: 20 * time.Millisecond,
		FailRate: 0.3, Status: 429, RetryAfter: "2"}
	if got := c.Mock("flaky"); got != want {
		t.Fatalf("Mock(flaky) = %+v, want %+v", got, want)
	}
	if got := c.Mock("steady"); got != (mock.Config{}) {
		t.Fatalf("a mock without a mock section is %+v, want the zero Config", got)
	}
	if len(c.Providers) != 2 || c.Providers[0].Name != "flaky" || c.Providers[0].BaseURL == "" {
		t.Fatalf("providers %+v", c.Providers)
	}
}

func TestMockSectionsAreStrict(t *testing.T) {
	head := "models:\n  - name: \"*\"\n    provider: m\nproviders:\n  - name: m\n"
	tests := []struct {
		name, body, err string
	}{
		{"an unknown key in the mock section is an error at its line", "    kind: mock\n    mock:\n      latncy: 1s\n", `features.yaml:8: unknown key "latncy"`},
		{"an unknown key in failure is an error at its line", "    kind: mock\n    mock:\n      failure:\n        rait: 0.5\n", `features.yaml:9: unknown key "rait"`},
		{"an unknown key beside mock is still an error", "    kind: mock\n    bse_url: x\n", `features.yaml:7: unknown key "bse_url"`},
		{"a mock section on another kind is an error", "    kind: openai\n    base_url: https://api.openai.com/v1\n    mock:\n      latency: 1s\n", `features.yaml:8: provider "m": a mock section needs kind: mock`},
		{"a rate above 1 is an error", "    kind: mock\n    mock:\n      failure: {rate: 2}\n", "features.yaml:7: provider \"m\": mock: failure.rate 2"},
		{"an unknown failure kind is an error", "    kind: mock\n    mock:\n      failure: {rate: 0.5, kind: boom}\n", `failure.kind "boom"`},
		{"a bad duration is an error at its line", "    kind: mock\n    mock:\n      latency: soon\n", "features.yaml:8:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("features.yaml", []byte(head+tt.body), func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestResponsesAPIIsAProviderKey(t *testing.T) {
	data := `providers:
  - name: openai
    kind: openai
    base_url: https://api.openai.com/v1
    responses_api: translate
  - name: vllm
    kind: openai
    base_url: http://vllm:8000/v1
    responses_api: native
    paths:
      responses: /v1/responses
  - name: azure
    kind: azure
    base_url: https://contoso.openai.azure.com
models:
  - name: "*"
    provider: openai
`
	c, err := Parse("features.yaml", []byte(data), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"openai": false, "vllm": true, "azure": true}
	for i := range c.Providers {
		p := &c.Providers[i]
		if got := p.NativeResponses(); got != want[p.Name] {
			t.Errorf("provider %s: NativeResponses() = %v, want %v", p.Name, got, want[p.Name])
		}
	}
}

func TestResponsesAPIErrorsNameTheProviderLine(t *testing.T) {
	head := "models:\n  - name: \"*\"\n    provider: m\nproviders:\n  - name: m\n"
	tests := []struct {
		name, body, err string
	}{
		{"native on an anthropic provider is an error at the provider", "    kind: anthropic\n    base_url: https://api.anthropic.com\n    responses_api: native\n",
			`features.yaml:5: provider "m": responses_api: native needs a provider that implements the Responses API`},
		{"native on the mock is an error at the provider", "    kind: mock\n    responses_api: native\n", `features.yaml:5: provider "m": responses_api: native`},
		{"an unknown mode is an error", "    kind: openai\n    base_url: https://api.openai.com/v1\n    responses_api: passthrough\n", `unknown responses_api "passthrough"`},
		{"a misspelt key is an error at its line", "    kind: openai\n    base_url: https://api.openai.com/v1\n    response_api: native\n", `features.yaml:8: unknown key "response_api"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("features.yaml", []byte(head+tt.body), func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestTheEmbeddedDefaultChoosesResponsesAPIByBaseURL(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		native bool
	}{
		{"the OpenAI API is native", map[string]string{"OPENAI_API_KEY": "sk-test"}, true},
		{"an explicit OpenAI base URL is native", map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "https://api.openai.com/v1/"}, true},
		{"another OPENAI_BASE_URL translates", map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://localhost:11434/v1"}, false},
		{"the mock translates", map[string]string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Embedded(func(k string) string { return tt.env[k] })
			if got := c.Providers[0].NativeResponses(); got != tt.native {
				t.Fatalf("NativeResponses() = %v, want %v", got, tt.native)
			}
		})
	}
}
