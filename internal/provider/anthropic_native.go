package provider

import (
	"strings"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/sse"
)

// The Messages API passed through: a client that speaks Anthropic's schema (OpMessages,
// OpCountTokens) gets its body sent as it is but for model, and the answer, JSON or SSE,
// back byte for byte. Nothing else in the body is rewritten, so prompt-caching
// cache_control, thinking blocks and fields added later reach Anthropic untouched.

// nativeHeaders are the headers of a Messages API request passed through, computed once.
type nativeHeaders struct {
	countURL string   // POST /v1/messages/count_tokens: the messages URL + /count_tokens
	base     []Header // the static headers but anthropic-version and anthropic-beta
	version  string   // anthropic-version when the client sends none
	beta     string   // the configured anthropic-beta, empty when none
}

// newNativeHeaders splits c's static headers: anthropic-version (a configured header,
// else Config.AnthropicVersion) and anthropic-beta are set per request, since the
// client's own take part.
func newNativeHeaders(c Config, messagesURL string) nativeHeaders {
	n := nativeHeaders{countURL: messagesURL + "/count_tokens", version: c.AnthropicVersion}
	for _, h := range c.staticHeaders() {
		switch {
		case strings.EqualFold(h.Key, "anthropic-version"):
			n.version = h.Value
		case strings.EqualFold(h.Key, "anthropic-beta"):
			n.beta = h.Value
		default:
			n.base = append(n.base, h)
		}
	}
	n.base = append(n.base, Header{"Content-Type", "application/json"})
	return n
}

// encodeNative builds a Messages API request passed through: POST to the messages URL
// (or its count_tokens), the client's body with model patched, the provider's key and
// extra headers, and anthropic-version and anthropic-beta. The client's anthropic-version
// wins over the configured one (the body is written for it); the client's anthropic-beta
// values are added to the configured ones, each once.
func (t *anthropic) encodeNative(r *Request, out *Outbound) error {
	out.Method = "POST"
	out.URL = t.url
	if r.Op == OpCountTokens {
		out.URL = t.native.countURL
	}
	out.Header = append(out.Header, t.native.base...)
	version, beta := t.native.version, t.native.beta
	for _, h := range r.Header {
		switch {
		case h.Value == "":
		case strings.EqualFold(h.Key, "anthropic-version"):
			version = h.Value
		case strings.EqualFold(h.Key, "anthropic-beta"):
			beta = joinBetas(beta, h.Value)
		}
	}
	out.SetHeader("anthropic-version", version)
	if beta != "" {
		out.SetHeader("anthropic-beta", beta)
	}
	out.Body = patchModel(r)
	return nil
}

// joinBetas adds the comma-separated beta names of more to have, skipping those already
// there. It returns more itself when have is empty, allocating nothing.
func joinBetas(have, more string) string {
	if have == "" {
		return more
	}
	out := have
	for _, b := range strings.Split(more, ",") {
		b = strings.TrimSpace(b)
		if b != "" && !hasBeta(out, b) {
			out += "," + b
		}
	}
	return out
}

// hasBeta reports whether the comma-separated list has the beta name b.
func hasBeta(list, b string) bool {
	for _, x := range strings.Split(list, ",") {
		if strings.TrimSpace(x) == b {
			return true
		}
	}
	return false
}

// decodeNative returns a Messages API answer as it is, with its usage (none for
// count_tokens, whose input_tokens is an estimate, not billed).
func decodeNative(r *Request, body []byte) ([]byte, Usage, error) {
	if r.Op == OpCountTokens {
		return body, Usage{}, nil
	}
	var u AnthropicUsage
	u.Merge(jsonx.Get(body, "usage"))
	return body, u.Usage(), nil
}

// messagesStream passes a native Messages API stream through, every event byte for byte
// (ev.Raw), and reads usage off it:
//
//	message_start -> the input side (input and cache counts) from message.usage
//	message_delta -> output_tokens, and the input counts when present (cumulative)
//	message_stop  -> done
//	error         -> a forwarded *StreamError, with the status the same error has
//	                 before a stream (overloaded_error: 503)
//
// ping, content blocks and event types added later are copied without being parsed. An
// event whose data is not JSON is not relayed and ends the stream with an unforwarded
// *StreamError.
type messagesStream struct {
	cfg   *Config // the provider's, for its error events
	usage AnthropicUsage
}

var _ StreamDecoder = (*messagesStream)(nil)

func (s *messagesStream) Event(ev *sse.Event, dst []byte) ([]byte, bool, error) {
	if ev.IsDone() { // not Anthropic's, but a proxy's terminator
		return append(dst, ev.Raw...), true, nil
	}
	name, err := nativeEventName(ev)
	if err != nil {
		return dst, false, err
	}
	dst = append(dst, ev.Raw...)
	switch name {
	case "message_start":
		s.usage.Merge(jsonx.Get(ev.Data, "message.usage"))
	case "message_delta":
		s.usage.Merge(jsonx.Get(ev.Data, "usage"))
	case "message_stop":
		return dst, true, nil
	case "error":
		status := anthropicErrorStatus(jsonx.Get(ev.Data, "error.type").Str)
		return dst, false, &StreamError{Err: anthropicError(s.cfg, status, ev.Data, ""), Forwarded: true}
	}
	return dst, false, nil
}

// Usage returns the counts seen so far, unreported before message_start.
func (s *messagesStream) Usage() Usage { return s.usage.Usage() }
