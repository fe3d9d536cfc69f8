package cache

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// keyVersion is hashed into every key; bump it when canonicalisation changes so old
// entries are never read with a new meaning.
const keyVersion = "switchyard-cache-key/1"

// ErrNotCacheableBody is returned for a body that is not a JSON object, or is one nested
// more than jsonx.DefaultMaxDepth levels deep; the error also wraps the
// *jsonx.SyntaxError or *jsonx.DepthError that says which.
var ErrNotCacheableBody = errors.New("cache: request body is not a JSON object")

// Fields that never change the answer and so stay out of the key, per operation. Every
// other top-level field is in the key, unknown ones included (conservative: a field we do
// not know might change the answer).
//
//   - user, safety_identifier: attribution of the end user, not an input to generation.
//   - stream, stream_options: the transport; a stored answer is replayed either way, and
//     the usage chunk is added on replay when include_usage asks for it.
//   - metadata, store: tagging and retention of the completion on OpenAI's side.
//   - service_tier: latency and price class; the same model answers.
//   - prompt_cache_key, prompt_cache_retention: hints for OpenAI's own prompt cache.
var ignoredFields = map[string]bool{
	"user": true, "safety_identifier": true, "stream": true, "stream_options": true,
	"metadata": true, "store": true, "service_tier": true,
	"prompt_cache_key": true, "prompt_cache_retention": true,
}

// defaultValues lists top-level values equal to OpenAI's documented default, in canonical
// form: a member with that value is dropped, so sending the default and omitting the
// field give the same key. A null value is always dropped (OpenAI treats it as absent).
var defaultValues = map[string]string{
	"n": "1", "best_of": "1", "temperature": "1", "top_p": "1",
	"presence_penalty": "0", "frequency_penalty": "0",
	"logprobs": "false", "echo": "false", "parallel_tool_calls": "true",
	"tools": "[]", "functions": "[]", "stop": "[]", "logit_bias": "{}",
}

// requestInfo is what one pass over a request body learns.
type requestInfo struct {
	// sum is the exact key hash over scope, operation and canonical body.
	sum [32]byte
	// sampled is true when the answer is drawn at random (see isSampled).
	sampled bool
	// choices is n (or best_of for completions), 1 when absent.
	choices int64
	// stream is the request's stream flag.
	stream bool
}

var canonPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// analyze computes the exact key and the cacheability facts of body for op in scope.
// The body is validated first, with the nesting limit jsonx.DefaultMaxDepth, so that
// nothing below walks an invalid or too deep document; its cost is then linear in
// len(body) (see canonicalizer).
func analyze(op provider.Op, scope Scope, body []byte) (requestInfo, error) {
	if err := jsonx.ValidObject(body, jsonx.DefaultMaxDepth); err != nil {
		return requestInfo{}, fmt.Errorf("%w: %w", ErrNotCacheableBody, err)
	}
	root := jsonx.Get(body, "@this")
	bp := canonPool.Get().(*[]byte)
	buf := appendCanonicalRequest((*bp)[:0], op, root, false)
	h := sha256.New()
	h.Write([]byte(keyVersion))
	scope.writeTo(h)
	h.Write([]byte{byte(op)})
	h.Write(buf)
	*bp = buf
	canonPool.Put(bp)

	var info requestInfo
	h.Sum(info.sum[:0])
	info.stream = root.Get("stream").Bool()
	info.sampled = isSampled(op, root)
	info.choices = 1
	if n := root.Get("n"); n.Exists() && n.Int() > 1 {
		info.choices = n.Int()
	}
	if n := root.Get("best_of"); n.Exists() && n.Int() > info.choices {
		info.choices = n.Int()
	}
	return info, nil
}

// isSampled reports whether a request's answer is drawn at random. Embeddings never are.
// A chat or completion request is deterministic when temperature is explicitly 0, or
// when it carries a seed (the client asked for reproducible output, and the seed is in
// the key). An absent temperature counts as sampled: OpenAI's default is 1.
func isSampled(op provider.Op, root jsonx.Result) bool {
	if op == provider.OpEmbedding {
		return false
	}
	if s := root.Get("seed"); s.Exists() && s.Type != nullType {
		return false
	}
	t := root.Get("temperature")
	return !(t.Exists() && t.Type == numberType && t.Float() == 0)
}

// appendCanonicalRequest appends the canonical form of a request object: ignored fields
// and default values dropped, equivalent spellings unified (normalizeMember), keys
// sorted. With maskLast, the content of the final message is replaced by null: that is
// the semantic context (everything but the compared text). root must come from a body
// that jsonx.ValidObject accepted with jsonx.DefaultMaxDepth.
func appendCanonicalRequest(dst []byte, op provider.Op, root jsonx.Result, maskLast bool) []byte {
	c := canonicalizers.Get().(*canonicalizer)
	defer canonicalizers.Put(c)
	type span struct {
		key        string
		start, end int
	}
	var buf [16]span
	ms := buf[:0]
	var scratch []byte
	renameMaxTokens := op == provider.OpChat && !root.Get("max_completion_tokens").Exists()
	root.ForEach(func(k, v jsonx.Result) bool {
		key := k.Str
		if ignoredFields[key] || v.Type == nullType {
			return true
		}
		if key == "max_tokens" && renameMaxTokens {
			key = "max_completion_tokens"
		}
		start := len(scratch)
		scratch = c.normalizeMember(scratch, op, key, v, maskLast)
		if d, ok := defaultValues[key]; ok && string(scratch[start:]) == d {
			scratch = scratch[:start]
			return true
		}
		ms = append(ms, span{key, start, len(scratch)}) // offsets: scratch may still move
		return true
	})
	slices.SortStableFunc(ms, func(a, b span) int { return strings.Compare(a.key, b.key) })
	dst = append(dst, '{')
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonx.Quote(dst, m.key)
		dst = append(dst, ':')
		dst = append(dst, scratch[m.start:m.end]...)
	}
	return append(dst, '}')
}

// normalizeMember appends the canonical value of one top-level member. Unifications,
// each one equivalent for OpenAI (max_tokens is renamed by the caller):
//   - stop "x" is ["x"]; embeddings input "x" is ["x"];
//   - a message content made of exactly one text part is that text as a plain string.
func (c *canonicalizer) normalizeMember(dst []byte, op provider.Op, key string, v jsonx.Result, maskLast bool) []byte {
	switch {
	case key == "stop" && v.Type == jsonx.String, key == "input" && op == provider.OpEmbedding && v.Type == jsonx.String:
		dst = append(dst, '[')
		dst = jsonx.Quote(dst, v.Str)
		return append(dst, ']')
	case key == "messages" && v.IsArray():
		return c.appendMessages(dst, v, maskLast)
	}
	return c.appendValue(dst, v.Raw)
}

// appendMessages appends the canonical messages array.
func (c *canonicalizer) appendMessages(dst []byte, msgs jsonx.Result, maskLast bool) []byte {
	arr := msgs.Array()
	dst = append(dst, '[')
	for i, m := range arr {
		if i > 0 {
			dst = append(dst, ',')
		}
		if !m.IsObject() {
			dst = c.appendValue(dst, m.Raw)
			continue
		}
		last := maskLast && i == len(arr)-1
		var buf [8]member
		ms := sortedMembers(buf[:0], m)
		dst = append(dst, '{')
		for j, f := range ms {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.Quote(dst, f.key)
			dst = append(dst, ':')
			switch {
			case f.key == "content" && last:
				dst = append(dst, "null"...)
			case f.key == "content":
				if t, ok := singleTextPart(f.val); ok {
					dst = jsonx.Quote(dst, t)
				} else {
					dst = c.appendValue(dst, f.val.Raw)
				}
			default:
				dst = c.appendValue(dst, f.val.Raw)
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// singleTextPart returns the text of a content array holding exactly one text part
// with no other fields but type and text.
func singleTextPart(c jsonx.Result) (string, bool) {
	if !c.IsArray() {
		return "", false
	}
	parts := c.Array()
	if len(parts) != 1 || !parts[0].IsObject() || parts[0].Get("type").Str != "text" {
		return "", false
	}
	n := 0
	parts[0].ForEach(func(_, _ jsonx.Result) bool { n++; return true })
	t := parts[0].Get("text")
	if n != 2 || t.Type != jsonx.String {
		return "", false
	}
	return t.Str, true
}

// RequestKey returns the canonical key of a request in scope, the one the exact cache
// files its answer under, and whether the answer is deterministic (not sampled, one
// choice). Request coalescing uses it to recognise identical in-flight requests.
func RequestKey(op provider.Op, scope Scope, body []byte) (key string, deterministic bool, err error) {
	info, err := analyze(op, scope, body)
	if err != nil {
		return "", false, err
	}
	return keyName(scope, info.sum), !info.sampled && info.choices == 1, nil
}
