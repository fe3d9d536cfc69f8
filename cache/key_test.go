package cache

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

var testScope = Scope{Tenant: "team-a", Feature: "search", Model: "gpt-4o-mini", PromptVersion: "v1"}

func mustKey(t *testing.T, op provider.Op, s Scope, body string) string {
	t.Helper()
	info, err := analyze(op, s, []byte(body))
	if err != nil {
		t.Fatalf("analyze(%s): %v", body, err)
	}
	return keyName(s, info.sum)
}

func TestKeyIgnoresWhatDoesNotChangeTheAnswer(t *testing.T) {
	base := `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"Hi"}]}`
	tests := []struct {
		name string
		body string
	}{
		{"keys in another order", `{"messages":[{"content":"Hi","role":"user"}],"temperature":0,"model":"gpt-4o-mini"}`},
		{"whitespace and newlines", "{ \"model\" : \"gpt-4o-mini\",\n \"temperature\" : 0 , \"messages\" : [ { \"role\":\"user\", \"content\":\"Hi\" } ] }"},
		{"the number written as 0.0", `{"model":"gpt-4o-mini","temperature":0.0,"messages":[{"role":"user","content":"Hi"}]}`},
		{"the number written as 0e0", `{"model":"gpt-4o-mini","temperature":0e0,"messages":[{"role":"user","content":"Hi"}]}`},
		{"a unicode escape for a plain letter", `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"H\u0069"}]}`},
		{"user is set", `{"model":"gpt-4o-mini","temperature":0,"user":"u-42","messages":[{"role":"user","content":"Hi"}]}`},
		{"stream and stream_options are set", `{"model":"gpt-4o-mini","temperature":0,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}`},
		{"metadata, store and service_tier are set", `{"model":"gpt-4o-mini","temperature":0,"metadata":{"a":"b"},"store":true,"service_tier":"flex","messages":[{"role":"user","content":"Hi"}]}`},
		{"safety_identifier and prompt_cache_key are set", `{"model":"gpt-4o-mini","temperature":0,"safety_identifier":"x","prompt_cache_key":"k","messages":[{"role":"user","content":"Hi"}]}`},
		{"defaults are spelled out", `{"model":"gpt-4o-mini","temperature":0,"n":1,"top_p":1,"presence_penalty":0,"frequency_penalty":0.0,"logprobs":false,"parallel_tool_calls":true,"messages":[{"role":"user","content":"Hi"}]}`},
		{"null fields", `{"model":"gpt-4o-mini","temperature":0,"stop":null,"seed":null,"tools":null,"messages":[{"role":"user","content":"Hi"}]}`},
		{"content as one text part", `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`},
	}
	want := mustKey(t, provider.OpChat, testScope, base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustKey(t, provider.OpChat, testScope, tt.body); got != want {
				t.Fatalf("key changed:\n%s\n%s", got, want)
			}
		})
	}
}

func TestKeyUnifiesEquivalentSpellings(t *testing.T) {
	tests := []struct {
		name string
		a, b string
	}{
		{"max_tokens and max_completion_tokens", `{"max_tokens":10,"messages":[]}`, `{"max_completion_tokens":10,"messages":[]}`},
		{"stop as a string and as a one-element list", `{"stop":"x","messages":[]}`, `{"stop":["x"],"messages":[]}`},
		{"an empty tools list and no tools", `{"tools":[],"messages":[]}`, `{"messages":[]}`},
		{"temperature 1 and no temperature", `{"temperature":1,"messages":[]}`, `{"messages":[]}`},
		{"integral float and integer", `{"max_tokens":100.0,"messages":[]}`, `{"max_tokens":100,"messages":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if mustKey(t, provider.OpChat, testScope, tt.a) != mustKey(t, provider.OpChat, testScope, tt.b) {
				t.Fatal("keys differ")
			}
		})
	}
	if mustKey(t, provider.OpEmbedding, testScope, `{"model":"e","input":"x"}`) != mustKey(t, provider.OpEmbedding, testScope, `{"model":"e","input":["x"]}`) {
		t.Fatal("embeddings input string and one-element list differ")
	}
}

func TestKeyChangesWithWhatChangesTheAnswer(t *testing.T) {
	base := `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"Hi"}]}`
	tests := []struct {
		name string
		body string
	}{
		{"another model", `{"model":"gpt-4o","temperature":0,"messages":[{"role":"user","content":"Hi"}]}`},
		{"another message text", `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"Hi!"}]}`},
		{"text that differs only in case", `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"hi"}]}`},
		{"a system prompt", `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"system","content":"Be brief"},{"role":"user","content":"Hi"}]}`},
		{"another role", `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"developer","content":"Hi"}]}`},
		{"a message name", `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","name":"bob","content":"Hi"}]}`},
		{"tools", `{"model":"gpt-4o-mini","temperature":0,"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"Hi"}]}`},
		{"tool_choice", `{"model":"gpt-4o-mini","temperature":0,"tool_choice":"none","messages":[{"role":"user","content":"Hi"}]}`},
		{"response_format", `{"model":"gpt-4o-mini","temperature":0,"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"Hi"}]}`},
		{"temperature", `{"model":"gpt-4o-mini","temperature":0.2,"messages":[{"role":"user","content":"Hi"}]}`},
		{"top_p", `{"model":"gpt-4o-mini","temperature":0,"top_p":0.5,"messages":[{"role":"user","content":"Hi"}]}`},
		{"seed", `{"model":"gpt-4o-mini","temperature":0,"seed":7,"messages":[{"role":"user","content":"Hi"}]}`},
		{"max_completion_tokens", `{"model":"gpt-4o-mini","temperature":0,"max_completion_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`},
		{"stop", `{"model":"gpt-4o-mini","temperature":0,"stop":["\n"],"messages":[{"role":"user","content":"Hi"}]}`},
		{"n", `{"model":"gpt-4o-mini","temperature":0,"n":2,"messages":[{"role":"user","content":"Hi"}]}`},
		{"presence_penalty", `{"model":"gpt-4o-mini","temperature":0,"presence_penalty":0.5,"messages":[{"role":"user","content":"Hi"}]}`},
		{"frequency_penalty", `{"model":"gpt-4o-mini","temperature":0,"frequency_penalty":0.5,"messages":[{"role":"user","content":"Hi"}]}`},
		{"logit_bias", `{"model":"gpt-4o-mini","temperature":0,"logit_bias":{"50256":-100},"messages":[{"role":"user","content":"Hi"}]}`},
		{"logprobs", `{"model":"gpt-4o-mini","temperature":0,"logprobs":true,"messages":[{"role":"user","content":"Hi"}]}`},
		{"reasoning_effort", `{"model":"gpt-4o-mini","temperature":0,"reasoning_effort":"high","messages":[{"role":"user","content":"Hi"}]}`},
		{"parallel_tool_calls off", `{"model":"gpt-4o-mini","temperature":0,"parallel_tool_calls":false,"messages":[{"role":"user","content":"Hi"}]}`},
		{"an unknown top-level field", `{"model":"gpt-4o-mini","temperature":0,"x_vendor_knob":1,"messages":[{"role":"user","content":"Hi"}]}`},
		{"two text parts instead of one", `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":[{"type":"text","text":"H"},{"type":"text","text":"i"}]}]}`},
	}
	want := mustKey(t, provider.OpChat, testScope, base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustKey(t, provider.OpChat, testScope, tt.body); got == want {
				t.Fatal("key did not change")
			}
		})
	}
}

func TestKeyKeepsBigIntegersExact(t *testing.T) {
	a := mustKey(t, provider.OpChat, testScope, `{"seed":9007199254740993,"messages":[]}`)
	b := mustKey(t, provider.OpChat, testScope, `{"seed":9007199254740992,"messages":[]}`)
	if a == b {
		t.Fatal("seeds beyond 2^53 collide")
	}
}

func TestKeyIsScopedSoTenantsNeverShare(t *testing.T) {
	body := `{"model":"m","temperature":0,"messages":[{"role":"user","content":"Hi"}]}`
	base := mustKey(t, provider.OpChat, testScope, body)
	for name, s := range map[string]Scope{
		"another tenant":         {Tenant: "team-b", Feature: "search", Model: "gpt-4o-mini", PromptVersion: "v1"},
		"another feature":        {Tenant: "team-a", Feature: "chat", Model: "gpt-4o-mini", PromptVersion: "v1"},
		"another routed model":   {Tenant: "team-a", Feature: "search", Model: "gpt-4o", PromptVersion: "v1"},
		"another prompt version": {Tenant: "team-a", Feature: "search", Model: "gpt-4o-mini", PromptVersion: "v2"},
		"fields shifted across":  {Tenant: "team-as", Feature: "earch", Model: "gpt-4o-mini", PromptVersion: "v1"},
	} {
		t.Run(name, func(t *testing.T) {
			if mustKey(t, provider.OpChat, s, body) == base {
				t.Fatal("scopes share a key")
			}
		})
	}
	if mustKey(t, provider.OpCompletion, testScope, body) == base {
		t.Fatal("operations share a key")
	}
}

func TestSampledRequests(t *testing.T) {
	tests := []struct {
		name    string
		op      provider.Op
		body    string
		sampled bool
	}{
		{"temperature absent counts as sampled (OpenAI's default is 1)", provider.OpChat, `{"messages":[]}`, true},
		{"temperature 0 is deterministic", provider.OpChat, `{"temperature":0,"messages":[]}`, false},
		{"temperature 0.7 is sampled", provider.OpChat, `{"temperature":0.7,"messages":[]}`, true},
		{"a seed makes a sampled request reproducible", provider.OpChat, `{"temperature":0.7,"seed":1,"messages":[]}`, false},
		{"a null seed does not", provider.OpChat, `{"seed":null,"messages":[]}`, true},
		{"embeddings are never sampled", provider.OpEmbedding, `{"input":"x"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := analyze(tt.op, testScope, []byte(tt.body))
			if err != nil || info.sampled != tt.sampled {
				t.Fatalf("sampled = %v, err %v; want %v", info.sampled, err, tt.sampled)
			}
		})
	}
}

func TestScopePatternSelectsItsKeys(t *testing.T) {
	k := keyName(testScope, [32]byte{1})
	for _, f := range []Scope{{}, {Tenant: "team-a"}, {Tenant: "team-a", Model: "gpt-4o-mini"}, testScope} {
		if !globMatch(scopePattern(f), k) {
			t.Fatalf("pattern %q does not select %q", scopePattern(f), k)
		}
	}
	if globMatch(scopePattern(Scope{Tenant: "team-b"}), k) {
		t.Fatal("another tenant's pattern selects the key")
	}
}

// globMatch implements the ? and trailing * of scopePattern.
func globMatch(p, s string) bool {
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '*':
			return true
		case i >= len(s):
			return false
		case p[i] != '?' && p[i] != s[i]:
			return false
		}
	}
	return len(p) == len(s)
}

func TestParseControl(t *testing.T) {
	tests := []struct {
		name      string
		sy, cc    string
		want      Control
		wantError bool
	}{
		{"nothing set allows everything", "", "", Control{}, false},
		{"no-cache bypasses read and write", "no-cache", "", Control{NoRead: true, NoWrite: true}, false},
		{"no-store only skips the write", "no-store", "", Control{NoWrite: true}, false},
		{"refresh only skips the read", "Refresh", "", Control{NoRead: true}, false},
		{"an unknown directive is an error", "sometimes", "", Control{}, true},
		{"Cache-Control no-cache asks for a fresh answer", "", "no-cache", Control{NoRead: true}, false},
		{"Cache-Control max-age=0 asks for a fresh answer", "", "max-age=0", Control{NoRead: true}, false},
		{"Cache-Control max-age bounds the age", "", "max-age=60", Control{MaxAge: 60e9}, false},
		{"Cache-Control no-store skips the write", "", "private, no-store", Control{NoWrite: true}, false},
		{"both headers add up", "no-store", "no-cache", Control{NoRead: true, NoWrite: true}, false},
		{"an invalid max-age is treated as stale", "", "max-age=soon", Control{NoRead: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseControl(tt.sy, tt.cc, false)
			if (err != nil) != tt.wantError || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v (error %v)", got, err, tt.want, tt.wantError)
			}
		})
	}
}

func TestCanonicalFormOfValues(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"keys are sorted bytewise at every level", `{"b":1,"a":{"d":[{"y":1,"x":2}],"c":null}}`, `{"a":{"c":null,"d":[{"x":2,"y":1}]},"b":1}`},
		{"duplicate keys are kept in document order", `{"a":2,"b":0,"a":1}`, `{"a":2,"a":1,"b":0}`},
		{"escaped keys sort by their decoded value", `{"\u0062":1,"a":2}`, `{"a":2,"b":1}`},
		{"strings are re-quoted from their decoded value", `["\u00e9\/\"", "é"]`, `["é/\"","é"]`},
		{"numbers are normalised", `[1.0, 1e0, -0, 1.5, 1e300, 9007199254740993]`, `[1,1,0,1.5,1e+300,9007199254740993]`},
		{"whitespace goes, empty containers stay", " { \"a\" : [ ] , \"b\" : { } } ", `{"a":[],"b":{}}`},
		{"literals", `[true,false,null]`, `[true,false,null]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := new(canonicalizer)
			if got := string(c.appendValue(nil, strings.TrimSpace(tt.in))); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestKeyRefusesBodiesNestedTooDeeply(t *testing.T) {
	tests := []struct {
		name   string
		levels int
		want   bool // an error
	}{
		{"nesting up to the limit is keyed", jsonx.DefaultMaxDepth - 1, false},
		{"one level past the limit is refused", jsonx.DefaultMaxDepth, true},
		{"100,000 levels are refused at once", 100_000, true},
		{"6,000,000 levels are refused without a stack overflow", 6_000_000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"messages":[],"x":` + strings.Repeat("[", tt.levels) + strings.Repeat("]", tt.levels) + `}`
			start := time.Now()
			_, _, err := RequestKey(provider.OpChat, testScope, []byte(body))
			t.Logf("%d levels (%d bytes): %v", tt.levels+1, len(body), time.Since(start))
			if (err != nil) != tt.want {
				t.Fatalf("err = %v, want an error: %v", err, tt.want)
			}
			var de *jsonx.DepthError
			if tt.want && (!errors.Is(err, ErrNotCacheableBody) || !errors.As(err, &de) || de.Limit != jsonx.DefaultMaxDepth) {
				t.Fatalf("err = %v, want ErrNotCacheableBody wrapping a *jsonx.DepthError", err)
			}
		})
	}
}

func TestKeyRefusesInvalidJSON(t *testing.T) {
	for _, body := range []string{`{"messages":[}`, `[]`, `{"a":1} x`, ``} {
		if _, _, err := RequestKey(provider.OpChat, testScope, []byte(body)); !errors.Is(err, ErrNotCacheableBody) {
			t.Errorf("RequestKey(%q) err = %v, want ErrNotCacheableBody", body, err)
		}
	}
}

// TestKeyCostIsLinearInTheBody canonicalises a body of many wide levels of objects with
// unsorted keys, the worst case for a walk that re-reads each level from its parent.
func TestKeyCostIsLinearInTheBody(t *testing.T) {
	levels := jsonx.DefaultMaxDepth - 2
	var b strings.Builder
	b.WriteString(`{"messages":[],"x":`)
	for range levels {
		b.WriteString(`{"z":"` + strings.Repeat("p", 4096) + `","y":`)
	}
	b.WriteString("0")
	for range levels {
		b.WriteString(`,"a":1}`)
	}
	b.WriteString("}")
	start := time.Now()
	if _, _, err := RequestKey(provider.OpChat, testScope, []byte(b.String())); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d levels (%d bytes): %v", levels+1, b.Len(), time.Since(start))
}

// benchChatBody is a typical chat request of about 2 KB.
const benchChatBody = `{"model":"gpt-4o-mini","temperature":0,"max_tokens":512,"stream":true,"stream_options":{"include_usage":true},"user":"user-1234",` +
	`"messages":[{"role":"system","content":"You are a helpful support assistant for Acme Corp. Answer briefly and politely, cite the knowledge base article when you use one, and never invent order numbers or prices."},` +
	`{"role":"user","content":"Hi! I ordered a blue kettle last week (order #A-10293) and it still has not arrived. The tracking page says \"label created\" since Monday. Can you check what is going on?"},` +
	`{"role":"assistant","content":"I am sorry about the delay. Orders that stay at \"label created\" for more than three days usually mean the carrier has not picked the parcel up yet."},` +
	`{"role":"user","content":[{"type":"text","text":"Please ask the warehouse. Also, can I change the delivery address to my office? It is 12 Rue de la Paix, 75002 Paris, France."}]}],` +
	`"tools":[{"type":"function","function":{"name":"lookup_order","description":"Look up an order by its number and return its status, items and tracking events.","parameters":{"type":"object","properties":{"order_id":{"type":"string","description":"The order number, e.g. A-10293"}},"required":["order_id"]}}},` +
	`{"type":"function","function":{"name":"change_address","description":"Change the delivery address of an order that has not shipped yet.","parameters":{"type":"object","properties":{"order_id":{"type":"string"},"address":{"type":"string","description":"The full new address, one line."}},"required":["order_id","address"]}}}],` +
	`"tool_choice":"auto","seed":42,"logit_bias":{"50256":-100},"stop":["\n\nUser:"]}`

func BenchmarkRequestKeyChat(b *testing.B) {
	body := []byte(benchChatBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := RequestKey(provider.OpChat, testScope, body); err != nil {
			b.Fatal(err)
		}
	}
}
