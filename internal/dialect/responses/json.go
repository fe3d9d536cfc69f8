package responses

import (
	"strconv"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// present reports whether r holds a value other than null (the zero Type is null).
func present(r jsonx.Result) bool { return r.Exists() && r.Type != (jsonx.Result{}).Type }

// isString reports whether r is a JSON string.
func isString(r jsonx.Result) bool { return r.Type == jsonx.String }

// appendCompact appends the JSON text raw without the whitespace outside its strings,
// so that a value the client pretty-printed fits on one SSE data line. raw must be
// valid JSON.
func appendCompact(dst []byte, raw string) []byte {
	start, inString := 0, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case ' ', '\t', '\n', '\r':
			dst = append(dst, raw[start:i]...)
			start = i + 1
		}
	}
	return append(dst, raw[start:]...)
}

// appendMember appends ,"key":value (or "key":value when first) with value compacted.
func appendMember(dst []byte, first bool, key, raw string) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return appendCompact(dst, raw)
}

// appendInt appends n in decimal.
func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// indexed is param[i], as OpenAI names an array element in an error's param.
func indexed(param string, i int) string { return param + "[" + strconv.Itoa(i) + "]" }

// inner is a JSON string's escaped contents, without the quotes; "" for a non-string.
func inner(r jsonx.Result) string {
	if r.Type != jsonx.String || len(r.Raw) < 2 {
		return ""
	}
	return r.Raw[1 : len(r.Raw)-1]
}
