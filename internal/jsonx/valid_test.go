package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestValidObjectAcceptsWellFormedObjects(t *testing.T) {
	tests := []struct{ name, body string }{
		{"an empty object", `{}`},
		{"an empty object with whitespace around and inside", " \t\r\n{ \n } \n"},
		{"a chat request", chatBody},
		{"every kind of scalar", `{"s":"x","i":-12,"f":0.5e-3,"E":1E+2,"t":true,"f2":false,"n":null}`},
		{"empty containers nested", `{"a":[],"o":{},"aa":[[],{}],"oo":{"x":{}}}`},
		{"every escape in a string", `{"e":"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"}`},
		{"raw multi-byte UTF-8 and DEL in a string", "{\"u\":\"h\u00e9llo \u4e16\u754c \x7f\"}"},
		{"a string longer than eight bytes with a late quote", `{"k":"abcdefghijklmnopqrstuvwxyz0123456789"}`},
		{"objects and arrays interleaved", `{"a":[{"b":[1,{"c":[]}]},2]}`},
		{"zero and negative zero", `{"a":0,"b":-0,"c":0.0,"d":-0e0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidObject([]byte(tt.body), DefaultMaxDepth); err != nil {
				t.Fatalf("ValidObject(%q) = %v, want nil", tt.body, err)
			}
		})
	}
}

func TestValidObjectRejectsMalformedBodies(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		offset int
	}{
		{"an empty body", ``, 0},
		{"whitespace only", "  \n", 3},
		{"an array at the top", `[1]`, 0},
		{"a string at the top", `"x"`, 0},
		{"an unclosed object", `{"a":1`, 6},
		{"a missing colon", `{"a" 1}`, 5},
		{"a trailing comma in an object", `{"a":1,}`, 7},
		{"a trailing comma in an array", `{"a":[1,]}`, 8},
		{"a bare word", `{"a":nul}`, 8},
		{"a key that is not a string", `{a:1}`, 1},
		{"a leading zero", `{"a":01}`, 6},
		{"a fraction without digits", `{"a":1.}`, 7},
		{"an exponent without digits", `{"a":1e}`, 7},
		{"a lone minus", `{"a":-}`, 6},
		{"a plus sign", `{"a":+1}`, 5},
		{"a raw newline in a string", "{\"a\":\"x\ny\"}", 7},
		{"a control byte found by the eight-byte scan", "{\"a\":\"abcdefghij\x01klmnop\"}", 16},
		{"an unknown escape", `{"a":"\x"}`, 7},
		{"a short unicode escape", `{"a":"\u12g4"}`, 10},
		{"an unterminated string", `{"a":"abc`, 9},
		{"a second object after the first", `{} {}`, 3},
		{"a mismatched bracket", `{"a":[1}`, 7},
		{"a mismatched brace", `{"a":{"b":1]}`, 11},
		{"a comma without a value", `{"a":[,1]}`, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidObject([]byte(tt.body), 8)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ValidObject(%q) = %v, want a *SyntaxError", tt.body, err)
			}
			if se.Offset != tt.offset {
				t.Errorf("offset = %d (%s), want %d", se.Offset, se.Reason, tt.offset)
			}
		})
	}
}

func TestValidObjectEnforcesTheDepthLimit(t *testing.T) {
	tests := []struct {
		name  string
		body  []byte
		limit int
		want  int // the DepthError offset, -1 for no error
	}{
		{"the top-level object alone is one level", []byte(`{}`), 1, -1},
		{"one array inside is two levels", []byte(`{"a":[]}`), 1, 5},
		{"arrays nested to the limit pass", nested(127), 128, -1},
		{"arrays nested one past the limit fail", nested(128), 128, 5 + 127},
		{"a zero limit means the default", nested(DefaultMaxDepth), 0, 5 + DefaultMaxDepth - 1},
		{"a limit above the inline stack is honoured", nested(2000), 2001, -1},
		{"a limit above the inline stack still fails past it", nested(2000), 1000, 5 + 999},
		{"six million levels fail at the limit without a stack overflow", nested(6_000_000), 128, 5 + 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidObject(tt.body, tt.limit)
			if tt.want < 0 {
				if err != nil {
					t.Fatalf("ValidObject = %v, want nil", err)
				}
				return
			}
			var de *DepthError
			if !errors.As(err, &de) {
				t.Fatalf("ValidObject = %v, want a *DepthError", err)
			}
			limit := tt.limit
			if limit == 0 {
				limit = DefaultMaxDepth
			}
			if de.Limit != limit || de.Offset != tt.want {
				t.Errorf("got limit %d offset %d, want %d and %d", de.Limit, de.Offset, limit, tt.want)
			}
			if !strings.Contains(de.Error(), "limit of ") {
				t.Errorf("message %q does not name the limit", de.Error())
			}
		})
	}
}

func TestValidObjectAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range []string{chatBody, `{"a":[1,2,{"b":null}]}`, `{"a":"\ud800"}`, `{"a":1.5e+10}`, `{"a" : [ ] , "b" : { } }`} {
		if got, want := ValidObject([]byte(body), 0) == nil, json.Valid([]byte(body)); got != want {
			t.Errorf("ValidObject(%q) valid = %v, encoding/json says %v", body, got, want)
		}
	}
}

// nested returns {"a": followed by n nested arrays: n+1 levels in all.
func nested(n int) []byte {
	var b bytes.Buffer
	b.Grow(2*n + 6)
	b.WriteString(`{"a":`)
	b.Write(bytes.Repeat([]byte{'['}, n))
	b.Write(bytes.Repeat([]byte{']'}, n))
	b.WriteByte('}')
	return b.Bytes()
}

// chatBody is a typical chat request of about 2 KB.
var chatBody = `{"model":"gpt-4o-mini","temperature":0.2,"max_tokens":512,"stream":true,` +
	`"stream_options":{"include_usage":true},"user":"user-1234","metadata":{"feature":"support"},` +
	`"messages":[{"role":"system","content":"You are a helpful support assistant for Acme Corp. Answer briefly and politely, cite the knowledge base article when you use one, and never invent order numbers or prices. If the user asks about billing, explain how to reach the billing team."},` +
	`{"role":"user","content":"Hi! I ordered a blue kettle last week (order #A-10293) and it still has not arrived. The tracking page says \"label created\" since Monday. Can you check what is going on?"},` +
	`{"role":"assistant","content":"I am sorry about the delay. Orders that stay at \"label created\" for more than three days usually mean the carrier has not picked the parcel up yet. I can ask the warehouse to check, or offer a replacement."},` +
	`{"role":"user","content":[{"type":"text","text":"Please ask the warehouse. Also, can I change the delivery address to my office? It is 12 Rue de la Paix, 75002 Paris, France."}]}],` +
	`"tools":[{"type":"function","function":{"name":"lookup_order","description":"Look up an order by its number and return its status, items and tracking events.","parameters":{"type":"object","properties":{"order_id":{"type":"string","description":"The order number, e.g. A-10293"}},"required":["order_id"]}}},` +
	`{"type":"function","function":{"name":"change_address","description":"Change the delivery address of an order that has not shipped yet.","parameters":{"type":"object","properties":{"order_id":{"type":"string"},"address":{"type":"string","description":"The full new address, one line."}},"required":["order_id","address"]}}}],` +
	`"tool_choice":"auto","parallel_tool_calls":true,"seed":42,"logit_bias":{"50256":-100},"stop":["\n\nUser:"]}`

func BenchmarkValidObjectChat(b *testing.B) {
	body := []byte(chatBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if ValidObject(body, DefaultMaxDepth) != nil {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkValidGjsonChat(b *testing.B) {
	body := []byte(chatBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if !Valid(body) {
			b.Fatal("invalid")
		}
	}
}
