package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/provider"
)

// FuzzParseRequest drives the edge's request parser (parseRequest: jsonx.ValidObject,
// then readFields) with arbitrary bodies, each operation, a depth limit and with or
// without an x-switchyard-prompt header. It holds the parser to its contract: never a
// panic; every refusal an *apierr.Error with status 400; an accepted body is a valid
// JSON object no deeper than the limit, handed on unchanged; and the fields read agree
// with encoding/json on valid UTF-8 (model, a boolean stream, the record's model).
// The seed corpus is testdata/fuzz/FuzzParseRequest.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]}`,
		`{"model":"a","model":"b","temperature":0,"seed":1,"n":2}`,
		`{"model":"\u00e9\"x","user":"u","metadata":{"session_id":"s"},"max_tokens":12}`,
		`{"prompt":{"id":"greet","version":"^1"},"messages":[]}`,
		`{"model":1}`, `{}`, `[]`, `{"a":[[[[{}]]]]}`, `{"model":"m","tools":[{"type":"function"}]}`,
		"{\"model\":\"\xff\"}", `{"model":"m"} trailing`, ` {"model":"m"} `,
	} {
		f.Add([]byte(s), uint8(0), uint8(8), false)
	}
	ops := []provider.Op{provider.OpChat, provider.OpCompletion, provider.OpEmbedding}
	f.Fuzz(func(t *testing.T, body []byte, opSel, limit uint8, promptHeader bool) {
		op := ops[int(opSel)%len(ops)]
		maxDepth := int(limit%32) + 1
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetBody(body)
		if promptHeader {
			ctx.Request.Header.Set("X-Switchyard-Prompt", "greet")
		}
		var rec record
		pr, fl, err := parseRequest(&ctx, op, &rec, maxDepth)
		if err != nil {
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Fatalf("parseRequest(%q) refused with %T %v, want a 400 *apierr.Error", body, err, err)
			}
			return
		}
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		if !json.Valid(body) || len(trimmed) == 0 || trimmed[0] != '{' {
			t.Fatalf("parseRequest accepted %q, which is not a JSON object", body)
		}
		if d := fuzzDepth(body); d > maxDepth {
			t.Fatalf("parseRequest accepted %q of depth %d over the limit %d", body, d, maxDepth)
		}
		if !bytes.Equal(pr.Body, body) || pr.Op != op || pr.ClientModel != fl.model || rec.model != fl.model {
			t.Fatalf("parseRequest(%q): request %+v, fields model %q, record model %q", body, pr, fl.model, rec.model)
		}
		if fl.model == "" && !wantsPrompt(&ctx, op, &fl) {
			t.Fatalf("parseRequest(%q) accepted a request with no model and no prompt", body)
		}
		if op == provider.OpEmbedding && (pr.Stream || pr.IncludeUsage) {
			t.Fatalf("parseRequest(%q): an embeddings request is streamed", body)
		}
		if !utf8.Valid(body) {
			return // encoding/json replaces invalid bytes; the gateway keeps them
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(body, &members); err != nil {
			t.Fatalf("encoding/json cannot decode accepted body %q: %v", body, err)
		}
		var model string
		if raw, ok := members["model"]; ok {
			if err := json.Unmarshal(raw, &model); err != nil {
				t.Fatalf("parseRequest(%q) accepted a model that is not a string: %s", body, raw)
			}
		}
		if model != fl.model {
			t.Fatalf("parseRequest(%q): model %q, encoding/json says %q", body, fl.model, model)
		}
		var stream bool
		if raw, ok := members["stream"]; ok && json.Unmarshal(raw, &stream) == nil && stream != fl.stream {
			t.Fatalf("parseRequest(%q): stream %v, encoding/json says %v", body, fl.stream, stream)
		}
	})
}

// fuzzDepth returns the nesting depth of valid JSON text, ignoring brackets in strings.
func fuzzDepth(b []byte) int {
	d, most, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			most = max(most, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return most
}
