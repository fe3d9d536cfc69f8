package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzValidObject checks ValidObject against encoding/json on arbitrary bytes: the same
// verdict when the depth limit is not reached, a *DepthError exactly when the nesting
// (counted independently) exceeds the limit, and never a panic.
func FuzzValidObject(f *testing.F) {
	for _, s := range []string{chatBody, `{}`, `{"a":[1,{"b":"\u00e9"}]}`, `{"a":[[[[]]]]}`, `{"a":"x\\"}`, `[]`, `{"a":1e5,"b":-0.5E-3}`, "{\"a\":\"\xff\"}"} {
		f.Add([]byte(s), uint8(4))
	}
	f.Fuzz(func(t *testing.T, body []byte, limit uint8) {
		max := int(limit%16) + 1
		err := ValidObject(body, max)
		var de *DepthError
		var se *SyntaxError
		switch {
		case err == nil:
		case errors.As(err, &de):
			if de.Limit != max || de.Offset < 0 || de.Offset >= len(body) || (body[de.Offset] != '{' && body[de.Offset] != '[') {
				t.Fatalf("bad DepthError %+v for %q", de, body)
			}
		case errors.As(err, &se):
			if se.Offset < 0 || se.Offset > len(body) || se.Reason == "" {
				t.Fatalf("bad SyntaxError %+v for %q", se, body)
			}
		default:
			t.Fatalf("error of type %T: %v", err, err)
		}
		object := bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{"))
		want := object && json.Valid(body)
		if want != Valid(body) && object {
			t.Fatalf("encoding/json and gjson disagree on %q", body)
		}
		if de == nil && (err == nil) != want {
			t.Fatalf("ValidObject(%q, %d) = %v, encoding/json valid object = %v", body, max, err, want)
		}
		if want {
			if deep := depth(body) > max; deep != (de != nil) {
				t.Fatalf("depth %d, limit %d, got %v", depth(body), max, err)
			}
		}
	})
}

// depth returns the nesting depth of valid JSON text, ignoring brackets inside strings.
func depth(b []byte) int {
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
