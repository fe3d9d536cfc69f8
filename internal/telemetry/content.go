package telemetry

import (
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// SetRequestBody reads the request parameters (max_tokens or max_completion_tokens,
// temperature, top_p) off the client's JSON body onto the span and, when content
// recording is on, the prompt (messages, prompt or input, as raw JSON, truncated) as
// gen_ai.input.messages. It does nothing unless the request is sampled, so the body is
// parsed only for traces that are kept. body is not retained.
func (r *RequestSpan) SetRequestBody(body []byte) {
	if !r.Recording() {
		return
	}
	a := make([]attribute.KeyValue, 0, 5)
	mt := jsonx.Get(body, "max_completion_tokens")
	if !mt.Exists() {
		mt = jsonx.Get(body, "max_tokens")
	}
	if mt.Exists() {
		a = append(a, attribute.Int64(KeyMaxTokens, mt.Int()))
	}
	if v := jsonx.Get(body, "temperature"); v.Exists() {
		a = append(a, attribute.Float64(KeyTemperature, v.Float()))
	}
	if v := jsonx.Get(body, "top_p"); v.Exists() {
		a = append(a, attribute.Float64(KeyTopP, v.Float()))
	}
	if r.t.content > 0 {
		path := "messages"
		switch r.op {
		case OpTextCompletion:
			path = "prompt"
		case OpEmbeddings:
			path = "input"
		}
		if v := jsonx.Get(body, path); v.Exists() {
			a = r.appendContent(a, KeyInputMessages, v.Raw)
		}
	}
	r.span.SetAttributes(a...)
}

// SetResponseBody reads gen_ai.response.id and gen_ai.response.finish_reasons off a
// complete (not streamed) OpenAI-shaped answer and, when content recording is on, the
// completion (choices' messages or texts, raw JSON, truncated) as gen_ai.output.messages.
// It does nothing unless the request is sampled. body is not retained.
func (r *RequestSpan) SetResponseBody(body []byte) {
	if !r.Recording() {
		return
	}
	a := make([]attribute.KeyValue, 0, 4)
	if v := jsonx.Get(body, "id"); v.Str != "" {
		a = append(a, attribute.String(KeyResponseID, v.Str))
	}
	if v := jsonx.Get(body, "choices.#.finish_reason"); v.IsArray() {
		var reasons []string
		for _, f := range v.Array() {
			if f.Str != "" {
				reasons = append(reasons, f.Str)
			}
		}
		if len(reasons) > 0 {
			a = append(a, attribute.StringSlice(KeyFinishReasons, reasons))
		}
	}
	if r.t.content > 0 && r.op != OpEmbeddings {
		path := "choices.#.message"
		if r.op == OpTextCompletion {
			path = "choices.#.text"
		}
		if v := jsonx.Get(body, path); v.Exists() {
			a = r.appendContent(a, KeyOutputMessages, v.Raw)
		}
	}
	r.span.SetAttributes(a...)
}

// SetCompletion records a streamed answer's text (as the gateway assembled it) as
// gen_ai.output.messages when content recording is on and the request is sampled.
func (r *RequestSpan) SetCompletion(text []byte) {
	if !r.Recording() || r.t.content == 0 {
		return
	}
	r.span.SetAttributes(r.appendContent(nil, KeyOutputMessages, string(text))...)
}

// RecordsContent reports whether prompt and completion text would be recorded on this
// request's span, so the caller can skip assembling it otherwise.
func (r *RequestSpan) RecordsContent() bool { return r.Recording() && r.t.content > 0 }

func (r *RequestSpan) appendContent(a []attribute.KeyValue, key, s string) []attribute.KeyValue {
	s, cut := truncate(s, r.t.content)
	a = append(a, attribute.String(key, s))
	if cut {
		a = append(a, attribute.Bool(KeyContentTruncated, true))
	}
	return a
}

// truncate cuts s to at most max bytes without splitting a UTF-8 sequence.
func truncate(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], true
}
