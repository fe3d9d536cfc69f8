package jsonx

import "errors"

// ErrNotObject is returned by the patch helpers when the document is not a JSON object.
var ErrNotObject = errors.New("jsonx: document is not a JSON object")

// Replace returns doc with the value r (found in doc by Get) replaced by raw JSON text.
// The result is a new slice; doc is not modified. r must come from Get on doc and exist.
func Replace(doc []byte, r Result, raw []byte) []byte {
	start := r.Index
	end := start + len(r.Raw)
	out := make([]byte, 0, len(doc)-len(r.Raw)+len(raw))
	out = append(out, doc[:start]...)
	out = append(out, raw...)
	return append(out, doc[end:]...)
}

// SetTopLevel sets key (a plain key, no path syntax) at the top level of the object doc to
// the raw JSON text value: replacing the existing value in place, or appending the member
// before the closing brace. Everything else in doc is kept byte for byte.
func SetTopLevel(doc []byte, key string, raw []byte) ([]byte, error) {
	if r := Get(doc, escapeKey(key)); r.Exists() && r.Index > 0 {
		return Replace(doc, r, raw), nil
	}
	end := lastNonSpace(doc)
	if end < 0 || doc[end] != '}' || firstNonSpace(doc) < 0 || doc[firstNonSpace(doc)] != '{' {
		return nil, ErrNotObject
	}
	empty := true
	for i := firstNonSpace(doc) + 1; i < end; i++ {
		if !isSpace(doc[i]) {
			empty = false
			break
		}
	}
	out := make([]byte, 0, len(doc)+len(key)+len(raw)+4)
	out = append(out, doc[:end]...)
	if !empty {
		out = append(out, ',')
	}
	out = Quote(out, key)
	out = append(out, ':')
	out = append(out, raw...)
	return append(out, doc[end:]...), nil
}

func escapeKey(k string) string {
	for i := 0; i < len(k); i++ {
		switch k[i] {
		case '.', '*', '?', '|', '#', '@', '\\', '!', '=', '<', '>', '%':
			out := make([]byte, 0, len(k)+4)
			for j := 0; j < len(k); j++ {
				switch k[j] {
				case '.', '*', '?', '|', '#', '@', '\\', '!', '=', '<', '>', '%':
					out = append(out, '\\')
				}
				out = append(out, k[j])
			}
			return string(out)
		}
	}
	return k
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func lastNonSpace(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if !isSpace(b[i]) {
			return i
		}
	}
	return -1
}

func firstNonSpace(b []byte) int {
	for i := range b {
		if !isSpace(b[i]) {
			return i
		}
	}
	return -1
}
