package metering

import (
	"github.com/switchyard/switchyard/internal/jsonx"
)

// Chat overheads, from OpenAI's published counting recipe for its chat models: every
// message costs 3 tokens of framing on top of its values, a name 1 more, and every reply
// is primed with 3 tokens.
const (
	tokensPerMessage = 3
	tokensPerName    = 1
	tokensReplyPrime = 3
	// Tool definitions are rendered by the provider into its own prompt format, which is
	// not published. They are approximated as the tokens of the name, description and
	// parameters JSON plus toolOverhead per tool and toolsOverhead once. Raw JSON has
	// more punctuation than the rendered form, so this leans high.
	toolOverhead  = 8
	toolsOverhead = 12
	// Image parts: OpenAI bills low-detail images at 85 tokens and high-detail ones at
	// 85 + 170 per 512 px tile. The body does not carry the image size, so an image is
	// estimated as a 1024×1024 high-detail one (765) unless it asks for detail "low".
	imageLowTokens  = 85
	imageHighTokens = 765
)

// EstimateChat estimates the prompt tokens of a chat completions request body (the raw
// OpenAI JSON) for model: messages (string or content-part contents, names, tool calls,
// tool call ids) with the per-message overheads, and the tool definitions. It reads the
// body with jsonx.Get and never decodes it whole. A malformed body counts what can be read.
//
// At most ExactBytes of text are tokenised per call; text past that budget is
// extrapolated from the tokens-per-byte ratio of the text counted so far.
func (t *Tokenizer) EstimateChat(model string, body []byte) int {
	enc, permille := Encoding(model)
	est := estimator{t: t, enc: enc}
	msgs := jsonx.Get(body, "messages")
	msgs.ForEach(func(_, m jsonx.Result) bool {
		est.fixed += tokensPerMessage
		m.ForEach(func(k, v jsonx.Result) bool {
			switch k.Str {
			case "content":
				est.content(v)
			case "name":
				est.fixed += tokensPerName
				est.text(v.String())
			case "tool_calls":
				v.ForEach(func(_, call jsonx.Result) bool {
					est.fixed += tokensPerMessage
					est.text(call.Get("function.name").String())
					est.text(call.Get("function.arguments").String())
					return true
				})
			case "role":
				if isSingleTokenRole(v.Str) {
					est.fixed++
				} else {
					est.text(v.String())
				}
			case "tool_call_id", "refusal":
				est.text(v.String())
			}
			return true
		})
		return true
	})
	if msgs.Exists() {
		est.fixed += tokensReplyPrime
	}
	est.tools(jsonx.Get(body, "tools"))
	return scale(est.total(), permille)
}

// isSingleTokenRole reports whether role is one of OpenAI's roles, each a single token in
// both cl100k_base and o200k_base.
func isSingleTokenRole(role string) bool {
	switch role {
	case "system", "user", "assistant", "tool", "developer", "function":
		return true
	}
	return false
}

// EstimateEmbedding estimates the input tokens of an embeddings request body: input as a
// string, an array of strings, or pre-tokenised arrays of token ids (counted as given).
func (t *Tokenizer) EstimateEmbedding(model string, body []byte) int {
	enc, permille := Encoding(model)
	est := estimator{t: t, enc: enc}
	est.input(jsonx.Get(body, "input"))
	return scale(est.total(), permille)
}

// EstimateCompletion estimates the prompt tokens of a legacy completions request body:
// prompt as a string, an array of strings or token-id arrays.
func (t *Tokenizer) EstimateCompletion(model string, body []byte) int {
	enc, permille := Encoding(model)
	est := estimator{t: t, enc: enc}
	est.input(jsonx.Get(body, "prompt"))
	return scale(est.total(), permille)
}

// estimator accumulates one estimate within the tokenizer's exact-counting budget.
type estimator struct {
	t   *Tokenizer
	enc string
	// fixed counts overhead and pre-tokenised tokens.
	fixed int
	// counted tokens came from countedBytes of text; extraBytes were over budget.
	counted, countedBytes, extraBytes int
	// tokenised is the bytes tokenised by this estimate (cache hits are free), which
	// ExactBytes bounds.
	tokenised int
}

// text counts s: from the count cache when it is there (free, and not charged to the
// budget, so a long conversation whose earlier turns were seen before stays exact),
// exactly while the budget lasts, else by extrapolation.
func (e *estimator) text(s string) {
	if s == "" {
		return
	}
	if n, ok := e.t.cached(e.enc, s); ok {
		e.counted += n
		e.countedBytes += len(s)
		return
	}
	budget := e.t.exactBytes - e.tokenised
	switch {
	case e.t.exactBytes < 0 || len(s) <= budget:
		e.counted += e.t.countEncoding(e.enc, s)
		e.tokenised += len(s)
	case budget > 0:
		// Count a prefix exactly and scale it to the whole text (not cached: it is an
		// extrapolation of this text alone).
		sub := Tokenizer{enc: e.t.enc, exactBytes: budget}
		e.counted += sub.countEncoding(e.enc, s)
		e.tokenised += budget
	default:
		e.extraBytes += len(s)
		return
	}
	e.countedBytes += len(s)
}

// content counts a message content: a string, or an array of parts.
func (e *estimator) content(v jsonx.Result) {
	if v.Type == jsonx.String {
		e.text(v.Str)
		return
	}
	v.ForEach(func(_, part jsonx.Result) bool {
		switch part.Get("type").Str {
		case "text", "input_text":
			e.text(part.Get("text").String())
		case "image_url", "input_image":
			if part.Get("image_url.detail").Str == "low" || part.Get("detail").Str == "low" {
				e.fixed += imageLowTokens
			} else {
				e.fixed += imageHighTokens
			}
		default:
			// Audio and file parts have no text to count; their raw JSON stands in.
			e.text(part.Raw)
		}
		return true
	})
}

// tools counts the tool definitions.
func (e *estimator) tools(tools jsonx.Result) {
	n := 0
	tools.ForEach(func(_, tool jsonx.Result) bool {
		n++
		e.fixed += toolOverhead
		fn := tool.Get("function")
		e.text(fn.Get("name").String())
		e.text(fn.Get("description").String())
		if p := fn.Get("parameters"); p.Exists() {
			e.text(p.Raw)
		}
		return true
	})
	if n > 0 {
		e.fixed += toolsOverhead
	}
}

// input counts an embeddings input or a completions prompt.
func (e *estimator) input(v jsonx.Result) {
	switch {
	case v.Type == jsonx.String:
		e.text(v.Str)
	case v.IsArray():
		v.ForEach(func(_, item jsonx.Result) bool {
			switch {
			case item.Type == jsonx.String:
				e.text(item.Str)
			case item.IsArray(): // one pre-tokenised input
				item.ForEach(func(_, _ jsonx.Result) bool { e.fixed++; return true })
			default: // a token id of a single pre-tokenised input
				e.fixed++
			}
			return true
		})
	}
}

// total returns the estimate: counted tokens, overheads, and over-budget text scaled by
// the ratio measured (or 4 bytes per token when nothing was counted).
func (e *estimator) total() int {
	n := e.fixed + e.counted
	if e.extraBytes > 0 {
		if e.countedBytes > 0 && e.counted > 0 {
			n += (e.extraBytes*e.counted + e.countedBytes - 1) / e.countedBytes
		} else {
			n += (e.extraBytes + 3) / 4
		}
	}
	return n
}
