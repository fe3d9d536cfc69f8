// Package jsonx is the project's one JSON facade.
//
// Full encodes and decodes go through Marshal and Unmarshal. The hot path does not
// decode: it reads the few fields it needs with Get (a scanner over the bytes, no
// allocation for the value's raw bytes) and changes a request with the patch helpers,
// which splice bytes so everything else reaches the upstream exactly as the client sent it.
package jsonx

import (
	"encoding/json"
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

// Quote appends s as a JSON string to dst.
func Quote(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // strings always encode
	return append(dst, b...)
}
