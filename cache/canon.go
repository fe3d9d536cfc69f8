package cache

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// The JSON value kinds, taken from the facade so this package does not name gjson.
var (
	nullType   = jsonx.Parse("null").Type
	numberType = jsonx.Parse("0").Type
)

// canonicalizer re-encodes JSON values canonically: objects with their keys sorted
// (bytewise on the decoded keys, stable, so duplicate keys keep their document order and
// documents that differ only there differ), strings re-quoted from their decoded value
// (so "\u00e9" and "é" agree), numbers normalised (see appendNumber), no insignificant
// whitespace. Two JSON texts that decode to the same value give the same bytes.
//
// Its cost is linear in the text, whatever the nesting: one pass indexes every object's
// members (sorted as each object closes), a second emits the values in canonical order,
// reading each byte once more. A walk that re-parsed each nested value from its parent
// (as a gjson ForEach per level does) costs the depth times the size. The value must be
// valid JSON nested at most jsonx.DefaultMaxDepth levels (analyze validates the body
// first); anything else is appended unchanged. A canonicalizer is reused through
// canonicalizers, by one goroutine at a time.
type canonicalizer struct {
	objs    []canonObject // every object of the value, in document order of its '{'
	members []canonMember // the members of objs, each object's run sorted by key
	pending []canonMember // members of the objects still open, innermost last
	open    []openLevel   // the containers still open, innermost last
}

// canonObject is one object found by index.
type canonObject struct {
	start, end   int32 // offsets of its '{' and just after its '}'
	first, count int32 // its members are members[first : first+count]
}

// canonMember is one object member: its decoded key (a view into the text unless the
// key had escapes) and the offset of its value's first byte (-1 until seen).
type canonMember struct {
	key string
	val int32
}

// openLevel is a container being indexed: an object (obj >= 0, its index in objs) or an
// array (obj < 0); base is len(pending) when it opened.
type openLevel struct {
	obj, base int32
}

var canonicalizers = sync.Pool{New: func() any { return new(canonicalizer) }}

// appendValue appends the canonical form of the JSON text s (see canonicalizer).
func (c *canonicalizer) appendValue(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	switch s[0] {
	case '{', '[':
		if len(s) > math.MaxInt32 || !c.index(s) {
			return append(dst, s...)
		}
	}
	dst, _ = c.emit(dst, s, 0)
	return dst
}

// index fills c.objs and c.members for the text s, reporting false when s is nested
// too deeply or its brackets do not match.
func (c *canonicalizer) index(s string) bool {
	c.objs, c.members, c.pending, c.open = c.objs[:0], c.members[:0], c.pending[:0], c.open[:0]
	wantKey, wantVal := false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if isJSONSpace(ch) {
			continue
		}
		if wantVal {
			c.pending[len(c.pending)-1].val = int32(i)
			wantVal = false
		}
		switch ch {
		case ',':
			wantKey = len(c.open) > 0 && c.open[len(c.open)-1].obj >= 0
		case ':':
			wantVal = len(c.pending) > 0
		case '{', '[':
			if len(c.open) >= jsonx.DefaultMaxDepth {
				return false
			}
			lv := openLevel{obj: -1, base: int32(len(c.pending))}
			if ch == '{' {
				lv.obj = int32(len(c.objs))
				c.objs = append(c.objs, canonObject{start: int32(i)})
			}
			c.open = append(c.open, lv)
			wantKey = ch == '{'
		case '}', ']':
			if len(c.open) == 0 || (ch == '}') != (c.open[len(c.open)-1].obj >= 0) {
				return false
			}
			lv := c.open[len(c.open)-1]
			c.open = c.open[:len(c.open)-1]
			if ch == '}' && !c.closeObject(lv, int32(i+1)) {
				return false
			}
			wantKey = false
		case '"':
			j := jsonStringEnd(s, i)
			if wantKey {
				key := s[i+1 : max(j-1, i+1)]
				if strings.IndexByte(key, '\\') >= 0 {
					key = jsonx.Parse(s[i:j]).Str
				}
				c.pending = append(c.pending, canonMember{key: key, val: -1})
				wantKey = false
			}
			i = j - 1
		}
	}
	return len(c.open) == 0
}

// closeObject moves the members of the object lv, which ends before end, from pending
// to members, sorted by key. It reports false for a member without a value.
func (c *canonicalizer) closeObject(lv openLevel, end int32) bool {
	ms := c.pending[lv.base:]
	for _, m := range ms {
		if m.val < 0 {
			return false
		}
	}
	slices.SortStableFunc(ms, func(a, b canonMember) int { return strings.Compare(a.key, b.key) })
	o := &c.objs[lv.obj]
	o.end, o.first, o.count = end, int32(len(c.members)), int32(len(ms))
	c.members = append(c.members, ms...)
	c.pending = c.pending[:lv.base]
	return true
}

// emit appends the canonical value starting at s[i] (not whitespace) and returns the
// offset just after it. Its recursion is as deep as the value, which index bounded.
func (c *canonicalizer) emit(dst []byte, s string, i int) ([]byte, int) {
	switch s[i] {
	case '{':
		k, ok := slices.BinarySearchFunc(c.objs, int32(i), func(o canonObject, at int32) int { return int(o.start - at) })
		if !ok {
			return append(dst, "null"...), len(s)
		}
		o := c.objs[k]
		dst = append(dst, '{')
		for n, m := range c.members[o.first : o.first+o.count] {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.Quote(dst, m.key)
			dst = append(dst, ':')
			dst, _ = c.emit(dst, s, int(m.val))
		}
		return append(dst, '}'), int(o.end)
	case '[':
		dst = append(dst, '[')
		j := skipJSONSpace(s, i+1)
		for n := 0; j < len(s) && s[j] != ']'; n++ {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst, j = c.emit(dst, s, j)
			if j = skipJSONSpace(s, j); j < len(s) && s[j] == ',' {
				j = skipJSONSpace(s, j+1)
			}
		}
		return append(dst, ']'), j + 1
	case '"':
		j := jsonStringEnd(s, i)
		if strings.IndexByte(s[i:j], '\\') >= 0 {
			return jsonx.Quote(dst, jsonx.Parse(s[i:j]).Str), j
		}
		return jsonx.Quote(dst, s[i+1:max(j-1, i+1)]), j
	case 't':
		return append(dst, "true"...), i + 4
	case 'f':
		return append(dst, "false"...), i + 5
	case 'n':
		return append(dst, "null"...), i + 4
	}
	j := i
	for j < len(s) && strings.IndexByte("+-.0123456789eE", s[j]) >= 0 {
		j++
	}
	if j == i { // not JSON: stop here rather than loop
		return append(dst, "null"...), len(s)
	}
	return appendNumber(dst, s[i:j]), j
}

// jsonStringEnd returns the offset just after the string literal starting at s[i].
func jsonStringEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipJSONSpace returns the offset of the first byte at or after i that is not whitespace.
func skipJSONSpace(s string, i int) int {
	for i < len(s) && isJSONSpace(s[i]) {
		i++
	}
	return i
}

// member is one object member, kept for sorting.
type member struct {
	key string
	val jsonx.Result
}

// sortedMembers appends v's members to ms sorted by key (stable: duplicate keys keep
// their document order) and returns it. It reads one level of v (a gjson ForEach).
func sortedMembers(ms []member, v jsonx.Result) []member {
	v.ForEach(func(k, e jsonx.Result) bool {
		ms = append(ms, member{k.Str, e})
		return true
	})
	slices.SortStableFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	return ms
}

// appendNumber appends a JSON number literal in normal form. Integer literals are kept
// exactly (big seeds must not collide through float rounding), with "-0" as "0". Literals
// with a fraction or exponent are parsed as float64; integral values within ±2^53 are
// written as integers (so 1, 1.0 and 1e0 agree), others in Go's shortest 'g' form.
func appendNumber(dst []byte, raw string) []byte {
	if !strings.ContainsAny(raw, ".eE") {
		if raw == "-0" {
			return append(dst, '0')
		}
		return append(dst, raw...)
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return append(dst, raw...)
	}
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}
