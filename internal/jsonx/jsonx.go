// Package jsonx is the project's one JSON facade.
//
// Full encodes and decodes go through Marshal and Unmarshal. The hot path does not
// decode: it reads the few fields it needs with Get (a scanner over the bytes, no
// allocation for the value's raw bytes) and changes a request with the patch helpers,
// which splice bytes so everything else reaches the upstream exactly as the client sent it.
package jsonx

import (
	"encoding/json"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Result is a value found by Get. Raw is a sub-slice view of the JSON text; Index is its
// byte offset in the document (0 when not known, e.g. for a missing value).
type Result = gjson.Result

// String and Number are Result.Type values.
const (
	String = gjson.String
	Number = gjson.Number
)

// RawMessage is raw JSON text kept as is.
type RawMessage = json.RawMessage

// Marshal encodes v.
func Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// NumberLiteral is a JSON number kept as its literal (encoding/json's Number), for
// decoding numbers without losing their form.
type NumberLiteral = json.Number

// Unmarshal decodes data into v.
func Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Valid reports whether data is one well-formed JSON value.
func Valid(data []byte) bool { return gjson.ValidBytes(data) }

// Get returns the value at path (gjson syntax: "a.b", "a.0.b"). It does not allocate
// for objects and arrays beyond the Result itself.
func Get(data []byte, path string) Result { return gjson.GetBytes(data, path) }

// View parses b without copying it: the result and every string taken from it alias b,
// so they must not be used after b changes or is reused (clone what you keep).
func View(b []byte) Result {
	if len(b) == 0 {
		return Result{}
	}
	return gjson.Parse(unsafe.String(&b[0], len(b)))
}

// Parse wraps already-extracted JSON text.
func Parse(s string) Result { return gjson.Parse(s) }

// Quote appends s as a JSON string to dst (see AppendEscaped).
func Quote(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// AppendEscaped appends s escaped for use inside a JSON string (without the quotes), as
// encoding/json does minus the HTML escapes: quotes, backslashes, control characters,
// U+2028 and U+2029 are escaped and invalid UTF-8 becomes U+FFFD. It allocates nothing
// beyond growing dst.
func AppendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
