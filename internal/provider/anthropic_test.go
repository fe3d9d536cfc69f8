package provider

import (
	"bytes"
	"encoding/json" // json.Indent only, to keep the golden files readable
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/anthropic")

// testCreated is the fixed clock of the test translator (2025-01-01T00:00:00Z).
const testCreated = 1735689600

// newTestAnthropic returns the translator for a resolved anthropic config with a fixed
// key and clock.
func newTestAnthropic(t testing.TB, edit func(*Config)) *anthropic {
	t.Helper()
	c := Config{Name: "claude", Kind: KindAnthropic, BaseURL: "https://api.anthropic.com/", APIKeyEnv: "ANTHROPIC_API_KEY"}
	if edit != nil {
		edit(&c)
	}
	if err := c.Resolve(func(string) string { return "sk-ant-test" }); err != nil {
		t.Fatal(err)
	}
	a := newAnthropic(c)
	a.now = func() time.Time { return time.Unix(testCreated, 0) }
	return a
}

// chatRequestFor is the gateway's view of a client chat request: the upstream model is
// Anthropic's name, the client asked for the alias "claude-sonnet".
func chatRequestFor(body []byte) *Request {
	return &Request{
		Op:           OpChat,
		Body:         body,
		Model:        "claude-sonnet-4-5-20250929",
		ClientModel:  "claude-sonnet",
		Stream:       jsonx.Get(body, "stream").Bool(),
		IncludeUsage: jsonx.Get(body, "stream_options.include_usage").Bool(),
	}
}

// fixtures lists the inputs (not the goldens) in testdata/anthropic/dir ending in ext.
func fixtures(t *testing.T, dir, ext string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", "anthropic", dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var ins []string
	for _, p := range all {
		if !strings.HasSuffix(p, ".golden"+ext) {
			ins = append(ins, p)
		}
	}
	if len(ins) == 0 {
		t.Fatalf("no fixtures in testdata/anthropic/%s", dir)
	}
	return ins
}

func goldenPath(in, ext string) string { return strings.TrimSuffix(in, ext) + ".golden" + ext }

func fixtureName(in, ext string) string { return strings.TrimSuffix(filepath.Base(in), ext) }

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func indentJSON(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("indenting %s: %v", b, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// parseJSON decodes b into a generic value with "created" removed from the top-level
// object: the clock is not part of the translation.
func parseJSON(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := jsonx.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	if m, ok := v.(map[string]any); ok {
		delete(m, "created")
	}
	return v
}

// checkGoldenJSON compares got with the golden file as parsed JSON, or rewrites the
// golden file under -update.
func checkGoldenJSON(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		writeFile(t, path, indentJSON(t, got))
		return
	}
	want := readFile(t, path)
	if !reflect.DeepEqual(parseJSON(t, got), parseJSON(t, want)) {
		t.Errorf("%s does not match\n got: %s\nwant: %s", path, indentJSON(t, got), want)
	}
}

func TestAnthropicEncodeMatchesGoldenRequests(t *testing.T) {
	tr := newTestAnthropic(t, nil)
	for _, in := range fixtures(t, "encode", ".json") {
		t.Run(fixtureName(in, ".json"), func(t *testing.T) {
			var out Outbound
			if err := tr.Encode(chatRequestFor(readFile(t, in)), &out); err != nil {
				t.Fatal(err)
			}
			checkGoldenJSON(t, goldenPath(in, ".json"), out.Body)
		})
	}
}

func TestAnthropicEncodeSendsTheMessagesEndpointAndHeaders(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		url     string
		headers map[string]string
	}{
		{
			name:    "defaults send the key as x-api-key and the default version",
			url:     "https://api.anthropic.com/v1/messages",
			headers: map[string]string{"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01", "Content-Type": "application/json"},
		},
		{
			name: "a configured anthropic-version header replaces the default one",
			edit: func(c *Config) {
				c.Headers = map[string]string{"Anthropic-Version": "2024-01-01", "anthropic-beta": "prompt-caching-2024-07-31"}
			},
			url: "https://api.anthropic.com/v1/messages",
			headers: map[string]string{"x-api-key": "sk-ant-test", "Anthropic-Version": "2024-01-01",
				"anthropic-beta": "prompt-caching-2024-07-31", "Content-Type": "application/json"},
		},
		{
			name: "a chat path override and a configured version are honoured",
			edit: func(c *Config) {
				c.Paths = map[string]string{"chat": "/anthropic/v1/messages"}
				c.AnthropicVersion = "2023-01-01"
			},
			url:     "https://api.anthropic.com/anthropic/v1/messages",
			headers: map[string]string{"x-api-key": "sk-ant-test", "anthropic-version": "2023-01-01", "Content-Type": "application/json"},
		},
	}
	body := []byte(`{"model":"claude-sonnet","messages":[{"role":"user","content":"Hi"}]}`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out Outbound
			if err := newTestAnthropic(t, tt.edit).Encode(chatRequestFor(body), &out); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, h := range out.Header {
				if _, dup := got[h.Key]; dup {
					t.Errorf("header %s sent twice", h.Key)
				}
				got[h.Key] = h.Value
			}
			if out.Method != "POST" || out.URL != tt.url || !reflect.DeepEqual(got, tt.headers) {
				t.Errorf("got %s %s %v, want POST %s %v", out.Method, out.URL, got, tt.url, tt.headers)
			}
		})
	}
}

func TestAnthropicEncodeRejectsOtherOperations(t *testing.T) {
	for _, op := range []Op{OpCompletion, OpEmbedding, OpModels} {
		t.Run(op.String()+" is unsupported", func(t *testing.T) {
			err := newTestAnthropic(t, nil).Encode(&Request{Op: op, Body: []byte(`{}`), ClientModel: "claude-sonnet"}, &Outbound{})
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "unsupported_operation" {
				t.Fatalf("err = %v, want a 400 unsupported_operation", err)
			}
		})
	}
}

func TestAnthropicEncodeRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		code  string
		param string
	}{
		{"invalid tool call arguments name the arguments", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}]}`, "invalid_value", "messages[1].tool_calls[0].function.arguments"},
		{"tool call arguments that are not an object are rejected", `{"messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1,2]"}}]}]}`, "invalid_value", "messages[0].tool_calls[0].function.arguments"},
		{"a tool call without an id is rejected", `{"messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "missing_required_parameter", "messages[0].tool_calls[0].id"},
		{"an unknown role names the role", `{"messages":[{"role":"user","content":"hi"},{"role":"function","content":"x"}]}`, "invalid_value", "messages[1].role"},
		{"a missing role is a missing parameter", `{"messages":[{"content":"hi"}]}`, "missing_required_parameter", "messages[0].role"},
		{"missing messages are a missing parameter", `{"model":"claude-sonnet"}`, "missing_required_parameter", "messages"},
		{"null messages are a missing parameter", `{"messages":null}`, "missing_required_parameter", "messages"},
		{"empty messages are rejected", `{"messages":[]}`, "invalid_value", "messages"},
		{"a system prompt alone is rejected", `{"messages":[{"role":"system","content":"be brief"}]}`, "invalid_value", "messages"},
		{"a tool message without tool_call_id is rejected", `{"messages":[{"role":"user","content":"hi"},{"role":"tool","content":"42"}]}`, "missing_required_parameter", "messages[1].tool_call_id"},
		{"content of the wrong shape is rejected", `{"messages":[{"role":"user","content":{"text":"hi"}}]}`, "invalid_type", "messages[0].content"},
		{"an audio part is not supported", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]}`, "invalid_value", "messages[0].content[0].type"},
		{"an image in a system message is not supported", `{"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},{"role":"user","content":"hi"}]}`, "invalid_value", "messages[0].content[0].type"},
		{"an ftp image URL is rejected", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "invalid_value", "messages[0].content[0].image_url.url"},
		{"a data URL that is not base64 is rejected", `{"messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"data:image/svg+xml,<svg/>"}}]}]}`, "invalid_value", "messages[0].content[1].image_url.url"},
		{"an image part without a URL is rejected", `{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, "missing_required_parameter", "messages[0].content[0].image_url.url"},
		{"a non-function tool is rejected", `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"code_interpreter"}]}`, "invalid_value", "tools[0].type"},
		{"a tool without a name is rejected", `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{}}]}`, "missing_required_parameter", "tools[0].function.name"},
		{"tool parameters that are not an object are rejected", `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]}`, "invalid_type", "tools[0].function.parameters"},
		{"an unknown tool_choice is rejected", `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}`, "invalid_value", "tool_choice"},
		{"a tool_choice object without a name is rejected", `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function"}}`, "invalid_value", "tool_choice"},
		{"stop of the wrong type is rejected", `{"messages":[{"role":"user","content":"hi"}],"stop":5}`, "invalid_type", "stop"},
		{"stop with a non-string element is rejected", `{"messages":[{"role":"user","content":"hi"}],"stop":["a",1]}`, "invalid_type", "stop"},
		{"more than one choice is rejected", `{"messages":[{"role":"user","content":"hi"}],"n":2}`, "invalid_value", "n"},
		{"zero max_tokens is rejected", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}`, "invalid_value", "max_tokens"},
		{"a field of the wrong type is rejected", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":"many"}`, "invalid_type", ""},
		{"a body that is not JSON is rejected", `{"messages":[`, "invalid_json", ""},
	}
	tr := newTestAnthropic(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tr.Encode(chatRequestFor([]byte(tt.body)), &Outbound{})
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *apierr.Error", err)
			}
			if ae.Status != 400 || ae.Type != apierr.TypeInvalidRequest || ae.Code != tt.code || ae.Param != tt.param {
				t.Fatalf("got %d %s code=%q param=%q (%s), want 400 code=%q param=%q", ae.Status, ae.Type, ae.Code, ae.Param, ae.Message, tt.code, tt.param)
			}
		})
	}
}

func TestAnthropicEncodeMapsToolChoice(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		want   string // the tool_choice sent, "" for none
	}{
		{"none stays none", `"tool_choice":"none"`, `{"type":"none"}`},
		{"auto stays auto", `"tool_choice":"auto"`, `{"type":"auto"}`},
		{"required becomes any", `"tool_choice":"required"`, `{"type":"any"}`},
		{"a named function becomes tool", `"tool_choice":{"type":"function","function":{"name":"f"}}`, `{"type":"tool","name":"f"}`},
		{"no choice sends none", `"tool_choice":null`, ``},
		{"parallel calls off alone means auto without parallel use", `"parallel_tool_calls":false`, `{"type":"auto","disable_parallel_tool_use":true}`},
		{"parallel calls off applies to required", `"tool_choice":"required","parallel_tool_calls":false`, `{"type":"any","disable_parallel_tool_use":true}`},
		{"parallel calls off does not apply to none", `"tool_choice":"none","parallel_tool_calls":false`, `{"type":"none"}`},
		{"parallel calls on changes nothing", `"tool_choice":"auto","parallel_tool_calls":true`, `{"type":"auto"}`},
	}
	tr := newTestAnthropic(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],` + tt.fields + `}`
			var out Outbound
			if err := tr.Encode(chatRequestFor([]byte(body)), &out); err != nil {
				t.Fatal(err)
			}
			if got := jsonx.Get(out.Body, "tool_choice").Raw; got != tt.want {
				t.Errorf("tool_choice = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAnthropicEncodeDropsToolChoiceWithoutTools(t *testing.T) {
	body := []byte(`{"messages":[{"role":"user","content":"hi"}],"tool_choice":"required","parallel_tool_calls":false}`)
	var out Outbound
	if err := newTestAnthropic(t, nil).Encode(chatRequestFor(body), &out); err != nil {
		t.Fatal(err)
	}
	if jsonx.Get(out.Body, "tool_choice").Exists() || jsonx.Get(out.Body, "tools").Exists() {
		t.Errorf("body = %s, want neither tools nor tool_choice", out.Body)
	}
}

func TestAnthropicEncodeUsesTheConfiguredMaxTokensDefault(t *testing.T) {
	body := []byte(`{"messages":[{"role":"user","content":"hi"}]}`)
	var out Outbound
	if err := newTestAnthropic(t, func(c *Config) { c.MaxTokensDefault = 1234 }).Encode(chatRequestFor(body), &out); err != nil {
		t.Fatal(err)
	}
	if got := jsonx.Get(out.Body, "max_tokens").Int(); got != 1234 {
		t.Errorf("max_tokens = %d, want 1234", got)
	}
}
