package cache

import (
	"errors"
	"fmt"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// ErrNotStored wraps the reason a completed answer was not stored (not an error of the
// cache: the answer or the request is not cacheable). Test with errors.Is.
var ErrNotStored = errors.New("cache: answer not stored")

// Response is a completed upstream answer offered to Cache.Store.
type Response struct {
	// Status is the HTTP status the upstream answered with; only 200 is stored.
	Status int
	// Body is the non-stream response JSON (for a stream, Assembler.Result's body).
	Body []byte
}

func notStored(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrNotStored, fmt.Sprintf(format, a...))
}

// checkResponse applies the storing rules to a completed answer: only a 200 with a
// well-formed body and no error; for chat and completions every choice must have
// finished with stop or length (length is deterministic: max_tokens is in the key) and,
// unless rules allow tool calls, none may call a tool; content_filter and unknown finish
// reasons are not stored.
func checkResponse(op provider.Op, r Response, rules Rules) error {
	if r.Status != 200 {
		return notStored("status %d", r.Status)
	}
	if !jsonx.Valid(r.Body) {
		return notStored("body is not JSON")
	}
	root := jsonx.Get(r.Body, "@this")
	if !root.IsObject() || root.Get("error").Exists() {
		return notStored("body is an error")
	}
	if op == provider.OpEmbedding {
		if !root.Get("data").IsArray() {
			return notStored("embeddings body has no data")
		}
		return nil
	}
	choices := root.Get("choices").Array()
	if len(choices) == 0 {
		return notStored("no choices")
	}
	for _, c := range choices {
		switch f := c.Get("finish_reason").Str; f {
		case "stop", "length":
		case "tool_calls", "function_call":
			if !rules.AllowToolCalls {
				return notStored("answer calls tools")
			}
		default:
			return notStored("finish_reason %q", f)
		}
		if tc := c.Get("message.tool_calls"); tc.IsArray() && len(tc.Array()) > 0 && !rules.AllowToolCalls {
			return notStored("answer calls tools")
		}
	}
	return nil
}
