package metering

import (
	"github.com/switchyard/switchyard/internal/provider"
)

// UsageSource says where an event's token counts come from.
type UsageSource string

// Usage sources.
const (
	// UsageMeasured: the provider reported the usage of a complete response (the
	// non-stream usage object, the forced final stream usage chunk, or Anthropic's
	// message_start and message_delta counts).
	UsageMeasured UsageSource = "measured"
	// UsageEstimated: the response did not complete (the stream was aborted or failed
	// mid-way, or the provider sent no usage), so the counts are what arrived plus the
	// tokenizer's estimate.
	UsageEstimated UsageSource = "estimated"
)

// Tokens are an event's token counts by class. Input counts every prompt token, cached
// ones included; CachedInput and CacheWrite are parts of Input; Reasoning is part of
// Output. This is provider.Usage's convention, so cost classes never double count.
type Tokens struct {
	Input       int64 `json:"input_tokens"`
	CachedInput int64 `json:"cached_input_tokens"`
	CacheWrite  int64 `json:"cache_write_tokens"`
	Output      int64 `json:"output_tokens"`
	Reasoning   int64 `json:"reasoning_tokens"`
}

// TokensOf converts provider usage to Tokens.
func TokensOf(u provider.Usage) Tokens {
	return Tokens{
		Input: u.InputTokens, CachedInput: u.CachedInputTokens, CacheWrite: u.CacheWriteTokens,
		Output: u.OutputTokens, Reasoning: u.ReasoningTokens,
	}
}

// uncachedInput returns the input tokens billed at the plain input rate.
func (t Tokens) uncachedInput() int64 {
	n := t.Input - t.CachedInput - t.CacheWrite
	if n < 0 {
		return 0
	}
	return n
}

// ResolveUsage decides the tokens to bill for one response and their source.
//
//   - complete and reported: the provider's usage, measured.
//   - otherwise (stream aborted or failed, or no usage sent): estimated. Input is the
//     provider's count when it sent one (Anthropic reports input at message_start) and
//     the prompt estimate otherwise; cache counts are kept as reported; Output is the
//     larger of what the provider reported so far and outputEstimate (the tokens of the
//     text that reached the client, see StreamText); Reasoning is kept as reported.
//
// complete is true when the upstream response finished normally (a non-stream answer, or
// a stream that reached its end).
func ResolveUsage(reported provider.Usage, complete bool, promptEstimate, outputEstimate int64) (Tokens, UsageSource) {
	t := TokensOf(reported)
	if complete && reported.Reported {
		return t, UsageMeasured
	}
	if t.Input <= 0 {
		t.Input = promptEstimate
	}
	if outputEstimate > t.Output {
		t.Output = outputEstimate
	}
	if t.CachedInput+t.CacheWrite > t.Input {
		t.Input = t.CachedInput + t.CacheWrite
	}
	return t, UsageEstimated
}

// StreamText keeps the text of a streamed answer so that its tokens can be counted if,
// and only if, the stream ends without usage. Appending is a copy into a buffer; nothing
// is tokenised on the streaming path. Text past MaxStreamText bytes is only measured by
// length and extrapolated at 4 bytes per token. A StreamText belongs to one request; the
// zero value is ready to use and Reset makes it reusable (e.g. from a sync.Pool).
type StreamText struct {
	buf      []byte
	overflow int64
}

// MaxStreamText is the most text a StreamText keeps, in bytes.
const MaxStreamText = 256 << 10

// Append adds streamed answer text (content deltas, tool call argument deltas).
func (s *StreamText) Append(text []byte) {
	room := MaxStreamText - len(s.buf)
	if len(text) > room {
		s.overflow += int64(len(text) - room)
		text = text[:room]
	}
	s.buf = append(s.buf, text...)
}

// AppendString is Append for a string.
func (s *StreamText) AppendString(text string) {
	room := MaxStreamText - len(s.buf)
	if len(text) > room {
		s.overflow += int64(len(text) - room)
		text = text[:room]
	}
	s.buf = append(s.buf, text...)
}

// Len returns the bytes of text seen, kept or not.
func (s *StreamText) Len() int64 { return int64(len(s.buf)) + s.overflow }

// Tokens counts the text's tokens for model with t.
func (s *StreamText) Tokens(t *Tokenizer, model string) int64 {
	n := int64(t.Count(model, string(s.buf)))
	return n + (s.overflow+3)/4
}

// Reset empties s, keeping its buffer.
func (s *StreamText) Reset() { s.buf, s.overflow = s.buf[:0], 0 }
