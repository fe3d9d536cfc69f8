package policies

import (
	"strings"
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
  - name: agent-apis
    match: {api: [responses, messages]}
    targets: [{model: big}]
  - name: chat-for-etl
    match: {api: [chat], feature: [etl]}
    targets: [{model: mini}]
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
		{"a Messages API request matches a route listing messages", Attributes{API: "messages"}, "agent-apis"},
		{"a Responses API request matches a route listing responses", Attributes{API: "responses"}, "agent-apis"},
		{"a chat request does not match a route for the other APIs", Attributes{API: "chat"}, "default"},
		{"a chat request matches a route listing chat", Attributes{API: "chat", Feature: "etl"}, "chat-for-etl"},
		{"an empty API is chat", Attributes{Feature: "etl"}, "chat-for-etl"},
		{"a messages request does not match a route listing only chat", Attributes{API: "messages", Feature: "etl"}, "agent-apis"},
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

func TestMatchAPIValidation(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // errors the compile must report; none means it compiles
	}{
		{"every known API compiles", "  - name: a\n    match: {api: [chat, responses, messages]}\n    targets: [{model: mini}]\n", nil},
		{"an unknown API is an error at its own line",
			"  - name: a\n    match:\n      api:\n        - messages\n        - completions\n    targets: [{model: mini}]\n",
			[]string{`p.yaml:12: route "a": match.api: unknown API "completions" (want chat, responses or messages)`}},
		{"each unknown API in a flow list is reported",
			"  - name: a\n    match: {api: [Chat, anthropic]}\n    targets: [{model: mini}]\n",
			[]string{`p.yaml:9: route "a": match.api: unknown API "Chat"`, `p.yaml:9: route "a": match.api: unknown API "anthropic"`}},
		{"api must be a list", "  - name: a\n    match: {api: messages}\n    targets: [{model: mini}]\n", []string{"p.yaml:9:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileString(t, base+"routes:\n"+tt.doc+"  - name: d\n    targets: [{model: mini}]\n", "openai")
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("compiled; want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}
