package cache

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// The JSON value kinds, taken from the facade so this package does not name gjson.
var (
	nullType   = jsonx.Parse("null").Type
	numberType = jsonx.Parse("0").Type
	trueType   = jsonx.Parse("true").Type
	falseType  = jsonx.Parse("false").Type
)

// appendCanonical appends v re-encoded canonically: objects with their keys sorted
// (bytewise), strings re-quoted from their decoded value (so "\u00e9" and "é" agree),
// numbers normalised (see appendNumber), no insignificant whitespace. Two JSON texts
// that decode to the same value give the same bytes.
func appendCanonical(dst []byte, v jsonx.Result) []byte {
	switch {
	case v.IsObject():
		return appendCanonicalObject(dst, v)
	case v.IsArray():
		dst = append(dst, '[')
		first := true
		v.ForEach(func(_, e jsonx.Result) bool {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendCanonical(dst, e)
			return true
		})
		return append(dst, ']')
	}
	switch v.Type {
	case jsonx.String:
		return jsonx.Quote(dst, v.Str)
	case numberType:
		return appendNumber(dst, v.Raw)
	case falseType:
		return append(dst, "false"...)
	case trueType:
		return append(dst, "true"...)
	}
	return append(dst, "null"...)
}

// member is one object member, kept for sorting.
type member struct {
	key string
	val jsonx.Result
}

// sortedMembers appends v's members to ms sorted by key (stable: duplicate keys keep
// their document order) and returns it.
func sortedMembers(ms []member, v jsonx.Result) []member {
	v.ForEach(func(k, e jsonx.Result) bool {
		ms = append(ms, member{k.Str, e})
		return true
	})
	slices.SortStableFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	return ms
}

// appendCanonicalObject appends the object v with its members sorted by key. Duplicate
// keys are all kept, in document order, so documents that differ only there differ.
func appendCanonicalObject(dst []byte, v jsonx.Result) []byte {
	var buf [16]member
	ms := sortedMembers(buf[:0], v)
	dst = append(dst, '{')
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonx.Quote(dst, m.key)
		dst = append(dst, ':')
		dst = appendCanonical(dst, m.val)
	}
	return append(dst, '}')
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
