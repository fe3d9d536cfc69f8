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
