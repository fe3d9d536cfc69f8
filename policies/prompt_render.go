package policies

import (
	"errors"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// ErrBadMessages is returned by Render and RenderRequest when the client's messages are
// not a JSON array. The gateway answers it with 400, param messages.
var ErrBadMessages = errors.New("messages must be a JSON array")

// Render returns an OpenAI chat completions request body for this version:
//
//	{"model":M,"messages":[rendered…, client…],PARAMS…}
//
// model is the version's default (left out when it has none), the rendered messages come
// first and clientMessages (a raw JSON array, or nil) are appended as they are, and the
// params follow in key order. vars are the request's variables, as a JSON decode gives
// them (string, float64 or json.Number, bool, []any, map[string]any; nil counts as
// absent); names the version does not declare are ignored. A missing required variable
// or a value of the wrong type is a *VarError. Render is safe for concurrent use; it
// allocates the body and little else.
func (v *PromptVersion) Render(vars map[string]any, clientMessages []byte) ([]byte, error) {
	var valBuf [8]any
	var absBuf [8]bool
	vals, absent := varScratch(len(v.vars), valBuf[:], absBuf[:])
	if err := resolveVars(v.vars, vars, vals, absent); err != nil {
		return nil, err
	}
	inner, err := arrayInner(clientMessages)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, v.estimate(vals)+len(inner))
	out = append(out, v.head...)
	out = v.appendMessages(out, vals, absent, inner)
	return append(out, v.tail...), nil
}

// RenderRequest applies this version to a client's chat completions request body and
// returns the body to send upstream. Precedence, per top-level key:
//
//   - messages: the rendered messages, then the client's messages (if any);
//   - model: the client's when it is a non-empty string, else the version's default;
//   - each param: the client's value when the client sets that key, else the version's
//     (shallow: a client's response_format replaces the version's whole, no deep merge);
//   - prompt: removed (it is the reference this call resolves);
//   - every other member passes through byte for byte, in the client's order.
//
// Errors are *VarError, ErrBadMessages, or jsonx.ErrNotObject for a body that is not a
// JSON object.
func (v *PromptVersion) RenderRequest(vars map[string]any, clientBody []byte) ([]byte, error) {
	var valBuf [8]any
	var absBuf [8]bool
	vals, absent := varScratch(len(v.vars), valBuf[:], absBuf[:])
	if err := resolveVars(v.vars, vars, vals, absent); err != nil {
		return nil, err
	}
	if !jsonx.Valid(clientBody) {
		return nil, jsonx.ErrNotObject
	}
	doc := jsonx.Parse(string(clientBody))
	if !doc.IsObject() {
		return nil, jsonx.ErrNotObject
	}
	m := merger{v: v, vals: vals, absent: absent}
	m.out = make([]byte, 0, v.estimate(vals)+len(clientBody))
	m.out = append(m.out, '{')
	doc.ForEach(m.member)
	if m.err != nil {
		return nil, m.err
	}
	if !m.model && v.Model != "" {
		m.key("model")
		m.out = jsonx.Quote(m.out, v.Model)
	}
	if !m.messages {
		m.key("messages")
		m.out = v.appendMessages(m.out, vals, absent, nil)
	}
	for i, p := range v.params {
		if m.have&(1<<i) == 0 {
			m.key(p.Key)
			m.out = append(m.out, p.Value...)
		}
	}
	return append(m.out, '}'), nil
}

// merger copies a client body's members into out, applying RenderRequest's precedence.
type merger struct {
	v               *PromptVersion
	vals            []any
	absent          []bool
	out             []byte
	n               int    // members written
	have            uint64 // params the client set, by index
	model, messages bool
	err             error
}

func (m *merger) member(k, val jsonx.Result) bool {
	switch k.Str {
	case "prompt":
		return true
	case "model":
		if val.Type != jsonx.String || val.Str == "" {
			return true // the version's default goes in at the end
		}
		m.model = true
	case "messages":
		inner, err := arrayInner([]byte(val.Raw))
		if err != nil {
			m.err = err
			return false
		}
		m.key("messages")
		m.out = m.v.appendMessages(m.out, m.vals, m.absent, inner)
		m.messages = true
		return true
	default:
		for i, p := range m.v.params {
			if p.Key == k.Str {
				m.have |= 1 << i
			}
		}
	}
	if m.n > 0 {
		m.out = append(m.out, ',')
	}
	m.n++
	m.out = append(m.out, k.Raw...)
	m.out = append(m.out, ':')
	m.out = append(m.out, val.Raw...)
	return true
}

// key writes a member's key (and the comma before it).
func (m *merger) key(k string) {
	if m.n > 0 {
		m.out = append(m.out, ',')
	}
	m.n++
	m.out = jsonx.Quote(m.out, k)
	m.out = append(m.out, ':')
}

// appendMessages writes the messages array: rendered messages, then inner (the client's
// array without its brackets).
func (v *PromptVersion) appendMessages(out []byte, vals []any, absent []bool, inner []byte) []byte {
	out = append(out, '[')
	for i := range v.msgs {
		m := &v.msgs[i]
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, m.prefix...)
		for j := range m.segs {
			s := &m.segs[j]
			switch {
			case s.v < 0:
				out = append(out, s.text...)
			case absent[s.v]:
				out = append(out, s.def...)
			default:
				out = appendValueText(out, vals[s.v])
			}
		}
		out = append(out, '"', '}')
	}
	if len(inner) > 0 {
		if len(v.msgs) > 0 {
			out = append(out, ',')
		}
		out = append(out, inner...)
	}
	return append(out, ']')
}

// estimate is a capacity guess for a body with these values: each value's length times
// its uses, with room for escapes.
func (v *PromptVersion) estimate(vals []any) int {
	n := v.size
	for i, x := range vals {
		l := 32
		if s, ok := x.(string); ok {
			l = len(s) + len(s)/8
		}
		n += l * v.uses[i]
	}
	return n + 64
}

// varScratch returns value and absence slices of length n, on the caller's buffers when
// they are big enough.
func varScratch(n int, vals []any, absent []bool) ([]any, []bool) {
	if n <= len(vals) {
		return vals[:n], absent[:n]
	}
	return make([]any, n), make([]bool, n)
}

// arrayInner returns a raw JSON array's elements without the brackets (nil for nil, an
// empty array or null), or ErrBadMessages.
func arrayInner(raw []byte) ([]byte, error) {
	raw = trimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '[' || raw[len(raw)-1] != ']' || !jsonx.Valid(raw) {
		return nil, ErrBadMessages
	}
	return trimSpace(raw[1 : len(raw)-1]), nil
}

func trimSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
