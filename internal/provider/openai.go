package provider

import (
	"bytes"
	"strconv"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/sse"
)

// openAI is the translator for the OpenAI API and every OpenAI-compatible server. The
// request body passes through untouched except for the model name (when the upstream
// name differs) and stream_options.include_usage (forced on for chat and completion
// streams); responses pass through byte for byte, except that the usage chunk the
// gateway forced is dropped again when the client did not ask for it.
//
// It also passes the Responses API (OpResponses) through, body and answer, model patched
// only; whether a provider gets Responses requests natively is Config.NativeResponses,
// the gateway's decision. The mock provider does not implement it.
type openAI struct {
	cfg     Config
	urls    [numOps]string // by Op; empty for the operations it does not serve
	headers []Header
}

var _ Translator = (*openAI)(nil)
var _ Lister = (*openAI)(nil)

func newOpenAI(c Config) *openAI {
	t := &openAI{cfg: c, headers: c.staticHeaders()}
	ops := []Op{OpChat, OpCompletion, OpEmbedding, OpModels, OpResponses}
	if c.Kind == KindMock {
		ops = ops[:4]
	}
	for _, op := range ops {
		t.urls[op] = c.BaseURL + c.path(op)
	}
	return t
}

// Encode builds the upstream request: the client's body with model patched (and usage
// forced on for chat and completion streams). Operations the provider does not speak
// (the Messages API, and the Responses API on the mock) are an *apierr.Error.
func (t *openAI) Encode(r *Request, out *Outbound) error {
	if r.Op >= numOps || t.urls[r.Op] == "" {
		return apierr.Unsupported(r.ClientModel, r.Op.String())
	}
	out.Method = "POST"
	out.URL = t.urls[r.Op]
	out.Header = append(out.Header, t.headers...)
	body, err := PatchOpenAIBody(r)
	if err != nil {
		return err
	}
	out.Body = body
	return nil
}

func (t *openAI) EncodeList(out *Outbound) error {
	out.Method = "GET"
	out.URL = t.urls[OpModels]
	out.Header = append(out.Header, t.headers...)
	return nil
}

// PatchOpenAIBody returns the body to send to an OpenAI-schema upstream: the client's
// bytes with the model replaced when the upstream name differs, and usage forced on for
// streams. It returns r.Body itself when nothing needs to change.
func PatchOpenAIBody(r *Request) ([]byte, error) {
	body := patchModel(r)
	if r.Stream && (r.Op == OpChat || r.Op == OpCompletion) && !r.IncludeUsage {
		so := jsonx.Get(body, "stream_options")
		switch {
		case so.IsObject():
			patched, err := jsonx.SetTopLevel([]byte(so.Raw), "include_usage", []byte("true"))
			if err != nil {
				return nil, apierr.BadRequest("invalid_value", "stream_options", "stream_options must be an object")
			}
			body = jsonx.Replace(body, so, patched)
		default:
			var err error
			body, err = jsonx.SetTopLevel(body, "stream_options", []byte(`{"include_usage":true}`))
			if err != nil {
				return nil, apierr.BadRequest("invalid_value", "", "request body must be a JSON object")
			}
		}
	}
	return body, nil
}

// patchModel returns the client's body with its top-level model replaced by the upstream
// name when that differs, r.Body itself otherwise (and when the body has no model).
func patchModel(r *Request) []byte {
	if r.Model == "" || r.Model == r.ClientModel {
		return r.Body
	}
	m := jsonx.Get(r.Body, "model")
	if !m.Exists() {
		return r.Body
	}
	return jsonx.Replace(r.Body, m, strconv.AppendQuote(nil, r.Model))
}

// Decode returns body itself and the usage it reports (chat, completions, embeddings
// and Responses API answers alike).
func (t *openAI) Decode(r *Request, body, dst []byte) ([]byte, Usage, error) {
	return body, OpenAIUsage(jsonx.Get(body, "usage")), nil
}

// OpenAIUsage reads an OpenAI usage object (chat, completions, embeddings, or the
// Responses API's input_tokens / output_tokens with their details).
func OpenAIUsage(u jsonx.Result) Usage {
	if !u.IsObject() {
		return Usage{}
	}
	out := Usage{Reported: true}
	u.ForEach(func(k, v jsonx.Result) bool {
		switch k.Str {
		case "prompt_tokens", "input_tokens":
			out.InputTokens = v.Int()
		case "completion_tokens", "output_tokens":
			out.OutputTokens = v.Int()
		case "prompt_tokens_details", "input_tokens_details":
			out.CachedInputTokens = v.Get("cached_tokens").Int()
			out.CacheWriteTokens = v.Get("cache_write_tokens").Int()
		case "completion_tokens_details", "output_tokens_details":
			out.ReasoningTokens = v.Get("reasoning_tokens").Int()
		}
		return true
	})
	return out
}

func (t *openAI) DecodeError(status int, body []byte, retryAfter string) *apierr.Error {
	return OpenAIError(t.cfg.Name, status, body, retryAfter, t.cfg.key)
}

// OpenAIError maps an error answer from the OpenAI-schema upstream named provider to the
// client's error. Client errors (400, 404, 409, 413, 422, 429) keep their status and the
// upstream's message; server errors become 502, since they are not the client's fault.
// 429 keeps Retry-After. The upstream rejecting the gateway's own credential (401, 403)
// is a 502 upstream_auth_failed naming provider and never carrying the upstream's text,
// which may quote the key; that text, redacted, is in the error's Upstream field for the
// log. Every relayed message is redacted too (apierr.Redact, with secrets: the
// provider's key), in case an upstream echoes a credential elsewhere.
func OpenAIError(provider string, status int, body []byte, retryAfter string, secrets ...string) *apierr.Error {
	e := jsonx.Get(body, "error")
	msg, typ, code, param := "", "", "", ""
	switch {
	case e.IsObject():
		msg, typ = e.Get("message").String(), e.Get("type").String()
		code, param = e.Get("code").String(), e.Get("param").String()
	case e.Type == jsonx.String:
		msg = e.String()
	}
	if msg == "" {
		msg = "upstream returned HTTP " + strconv.Itoa(status)
		if len(body) > 0 && len(body) < 512 && !bytes.ContainsAny(body, "\x00") {
			msg += ": " + string(bytes.TrimSpace(body))
		}
	}
	msg = apierr.Redact(msg, secrets...)
	switch {
	case status == 401 || status == 403:
		return apierr.UpstreamAuthFailed(provider, status, msg)
	case status == 429:
		out := apierr.RateLimited(msg, retryAfter)
		if typ != "" {
			out.Type = typ
		}
		if code != "" {
			out.Code = code
		}
		return out
	case status >= 400 && status < 500:
		if typ == "" {
			typ = apierr.TypeInvalidRequest
		}
		return apierr.New(status, typ, code, param, msg)
	case status == 503:
		out := apierr.Unavailable("upstream_unavailable", "upstream unavailable: "+msg)
		out.RetryAfter = retryAfter
		return out
	case status == 504:
		return apierr.Timeout("upstream timed out: " + msg)
	default:
		return apierr.BadGateway("upstream_error", "upstream error (HTTP "+strconv.Itoa(status)+"): "+msg)
	}
}

// NewStream returns the decoder for one streamed answer to r: a Responses API stream
// for OpResponses, else a Chat Completions (or completions) chunk stream.
func (t *openAI) NewStream(r *Request) StreamDecoder {
	if r.Op == OpResponses {
		return &responsesStream{}
	}
	return &openAIStream{dropUsage: !r.IncludeUsage}
}

// openAIStream passes events through as received. It reads usage off the final usage
// chunk and drops that chunk when the client did not ask for it.
type openAIStream struct {
	dropUsage bool
	usage     Usage
}

func (s *openAIStream) Event(ev *sse.Event, dst []byte) ([]byte, bool, error) {
	if ev.IsDone() {
		return append(dst, ev.Raw...), true, nil
	}
	if bytes.Contains(ev.Data, []byte(`"usage"`)) {
		if u := jsonx.Get(ev.Data, "usage"); u.IsObject() {
			s.usage = OpenAIUsage(u)
			if s.dropUsage && jsonx.Get(ev.Data, "choices.#").Int() == 0 {
				return dst, false, nil
			}
		}
	}
	if bytes.HasPrefix(ev.Data, []byte(`{"error"`)) {
		if e := jsonx.Get(ev.Data, "error"); e.IsObject() {
			return append(dst, ev.Raw...), false, upstreamStreamError(e)
		}
	}
	if err := checkEventJSON(ev); err != nil {
		return dst, false, err
	}
	return append(dst, ev.Raw...), false, nil
}

// checkEventJSON refuses an upstream event whose data is not JSON: relaying it would hand
// the client's SDK a line it cannot parse, and metering would read nothing from it. The
// error is unforwarded (the event did not reach the client).
func checkEventJSON(ev *sse.Event) error {
	if len(ev.Data) > 0 && !jsonx.Valid(ev.Data) {
		return &StreamError{Err: apierr.BadGateway("upstream_bad_event",
			"the upstream provider sent a stream event that is not JSON")}
	}
	return nil
}

// nativeEventName checks a natively passed-through event and returns its name: the SSE
// event name, or the data's "type" when the upstream sent none.
func nativeEventName(ev *sse.Event) (string, error) {
	if err := checkEventJSON(ev); err != nil {
		return "", err
	}
	if len(ev.Name) > 0 {
		return string(ev.Name), nil
	}
	return jsonx.Get(ev.Data, "type").Str, nil
}

func (s *openAIStream) Usage() Usage { return s.usage }

// StreamError is an error the upstream reported inside a stream. Its event has already
// been passed to the client when Forwarded is true.
type StreamError struct {
	Err       *apierr.Error
	Forwarded bool
}

func (e *StreamError) Error() string { return "upstream stream error: " + e.Err.Message }
func (e *StreamError) Unwrap() error { return e.Err }

func upstreamStreamError(e jsonx.Result) error {
	msg := e.Get("message").String()
	if msg == "" {
		msg = "upstream reported an error mid-stream"
	}
	typ := e.Get("type").String()
	if typ == "" {
		typ = apierr.TypeUpstream
	}
	return &StreamError{Err: apierr.New(502, typ, e.Get("code").String(), "", msg), Forwarded: true}
}
