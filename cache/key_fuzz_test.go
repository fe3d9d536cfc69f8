package cache

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

var fuzzSeeds = []string{
	`{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"Hi"}]}`,
	`{"model":"m","temperature":0,"seed":7,"messages":[{"role":"system","content":"Be brief"},{"role":"user","content":[{"type":"text","text":"H\u0069"}]}]}`,
	`{"b":{"y":[1,2.0,-0,1e3],"x":"\u00e9"},"a":null,"stop":"x","max_tokens":10,"tools":[],"n":1}`,
	`{"input":"x","model":"e"}`,
	`{"\u0061":1,"a":2,"messages":[1,"x",[],{"content":null}]}`,
	`{"messages":[],"x":[[[[{"k":[{}]}]]]]}`,
}

// FuzzCanonical checks the linear canonicalizer against the recursive gjson walk it
// replaced (referenceCanonical): the same bytes for every valid body, and output that
// is itself valid JSON and, for valid UTF-8, canonical (canonicalising it again changes
// nothing).
func FuzzCanonical(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if jsonx.ValidObject(body, jsonx.DefaultMaxDepth) != nil {
			return
		}
		c := new(canonicalizer)
		got := c.appendValue(nil, string(bytes.TrimSpace(body)))
		if want := referenceCanonical(nil, jsonx.Get(body, "@this")); !bytes.Equal(got, want) {
			t.Fatalf("canonical form of %q\n got %s\nwant %s", body, got, want)
		}
		if !jsonx.Valid(got) {
			t.Fatalf("canonical form %s of %q is not JSON", got, body)
		}
		// Invalid UTF-8 becomes the escape \ufffd, which decodes to a valid U+FFFD: the
		// form is stable only for valid text (the key stays conservative either way).
		if again := c.appendValue(nil, string(got)); utf8.Valid(body) && !bytes.Equal(again, got) {
			t.Fatalf("canonical form is not stable: %s then %s", got, again)
		}
	})
}

// FuzzRequestKey checks that any body either is refused with ErrNotCacheableBody or
// gets a key, the same every time, in every operation; it never panics.
func FuzzRequestKey(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(provider.OpChat))
	}
	f.Fuzz(func(t *testing.T, body []byte, op uint8) {
		o := provider.Op(op%3 + 1)
		k1, det1, err := RequestKey(o, testScope, body)
		valid := jsonx.ValidObject(body, jsonx.DefaultMaxDepth) == nil
		if (err == nil) != valid {
			t.Fatalf("RequestKey(%q) err = %v, valid = %v", body, err, valid)
		}
		if err != nil {
			return
		}
		k2, det2, _ := RequestKey(o, testScope, body)
		if k1 != k2 || det1 != det2 {
			t.Fatalf("key of %q changed between calls", body)
		}
		root := jsonx.Get(body, "@this")
		appendCanonicalRequest(nil, o, root, true) // the semantic context form must not panic either
	})
}

// referenceCanonical is the canonical encoding as cache/canon.go computed it before it
// became linear: a gjson ForEach per level. The fuzzer holds the new one to it.
func referenceCanonical(dst []byte, v jsonx.Result) []byte {
	switch {
	case v.IsObject():
		ms := sortedMembers(nil, v)
		dst = append(dst, '{')
		for i, m := range ms {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.Quote(dst, m.key)
			dst = append(dst, ':')
			dst = referenceCanonical(dst, m.val)
		}
		return append(dst, '}')
	case v.IsArray():
		dst = append(dst, '[')
		first := true
		v.ForEach(func(_, e jsonx.Result) bool {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = referenceCanonical(dst, e)
			return true
		})
		return append(dst, ']')
	}
	switch v.Raw {
	case "true", "false":
		return append(dst, v.Raw...)
	}
	switch v.Type {
	case jsonx.String:
		return jsonx.Quote(dst, v.Str)
	case numberType:
		return appendNumber(dst, v.Raw)
	}
	return append(dst, "null"...)
}
