package policies

import (
	"testing"
)

const matchDoc = base + `routes:
  - name: by-feature
    match: {feature: [search, ads]}
    targets: [{model: mini}]
  - name: by-team-and-key
    match: {team: [data], key: [etl]}
    targets: [{model: mini}]
  - name: by-model-alias
    match: {model: [big]}
    targets: [{model: big}]
  - name: by-header
    match: {headers: {x-env: canary}}
    targets: [{model: mini}]
  - name: by-metadata
    match: {metadata: {tier: free}}
    targets: [{model: mini}]
  - name: long-prompts
    match: {min_prompt_tokens: 1000}
    targets: [{model: big}]
  - name: tools-without-images
    match: {tools: true, images: false}
    targets: [{model: big}]
  - name: default
    targets: [{model: $requested}]
`

func TestMatchFirstRouteWins(t *testing.T) {
	snap, err := compileString(t, matchDoc)
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(k, v string) func(string) string {
		return func(name string) string {
			if name == k {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name  string
		attrs Attributes
		want  string
	}{
		{"a listed feature matches", Attributes{Feature: "ads"}, "by-feature"},
		{"all conditions of a route must hold", Attributes{Team: "data", Key: "web"}, "default"},
		{"team and key together match", Attributes{Team: "data", Key: "etl"}, "by-team-and-key"},
		{"an alias matches its model's route", Attributes{Model: "large"}, "by-model-alias"},
		{"a header value matches case-insensitively by name", Attributes{Header: hdr("X-Env", "canary")}, "by-header"},
		{"a different header value does not match", Attributes{Header: hdr("X-Env", "prod")}, "default"},
		{"metadata matches", Attributes{Metadata: func(k string) string { return map[string]string{"tier": "free"}[k] }}, "by-metadata"},
		{"the prompt size bound matches", Attributes{PromptTokens: 5000}, "long-prompts"},
		{"tools without images match", Attributes{HasTools: true}, "tools-without-images"},
		{"tools with images fall through", Attributes{HasTools: true, HasImages: true}, "default"},
		{"an earlier route wins over a later one that also matches", Attributes{Feature: "search", PromptTokens: 5000}, "by-feature"},
		{"nothing special goes to the default", Attributes{Feature: "other"}, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := snap.Match(&tt.attrs).Name; got != tt.want {
				t.Fatalf("matched %s", got)
			}
		})
	}
}

func TestModelResolvesNamesAliasesAndTheWildcard(t *testing.T) {
	snap, err := compileString(t, base+"  \"*\":\n    deployments: [{provider: openai}]\nroutes:\n  - name: d\n    targets: [{model: $requested}]\n")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"big": "big", "large": "big", "anything-else": "*"} {
		if m, ok := snap.Model(name); !ok || m.Name != want {
			t.Fatalf("%s resolved to %v", name, m)
		}
	}
}
