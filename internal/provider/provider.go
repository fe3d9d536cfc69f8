// Package provider translates OpenAI-shaped client requests into a provider's wire format
// and the provider's answers back, one translator per provider schema.
//
// A translator is pure: bytes in, bytes out plus usage. It never does I/O; the gateway
// sends what Encode produced through the upstream client and feeds the answer to Decode
// or to a StreamDecoder. When the provider speaks OpenAI's schema (OpenAI itself, Azure,
// and every OpenAI-compatible server) the body passes through untouched but for the
// fields the gateway must change, and usage is read off the answer.
package provider

import (
	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/sse"
)

// Op is the operation a request performs: an OpenAI Chat Completions family operation,
// or a dialect's own operation passed through to a provider that speaks it natively.
type Op uint8

// The operations the gateway proxies. New operations are appended: the values are
// stable within a build (tables are indexed by them), but not a wire format.
const (
	OpChat Op = iota + 1
	OpCompletion
	OpEmbedding
	OpModels
	// OpResponses is OpenAI's Responses API (POST /v1/responses), passed through to a
	// provider that implements it (the OpenAI API, Azure OpenAI).
	OpResponses
	// OpMessages is Anthropic's Messages API (POST /v1/messages), passed through to an
	// Anthropic provider.
	OpMessages
	// OpCountTokens is Anthropic's POST /v1/messages/count_tokens, passed through to an
	// Anthropic provider.
	OpCountTokens

	numOps // one past the last operation: the size of tables indexed by Op
)

// String names the operation as it appears in logs and errors.
func (o Op) String() string {
	switch o {
	case OpChat:
		return "chat.completions"
	case OpCompletion:
		return "completions"
	case OpEmbedding:
		return "embeddings"
	case OpModels:
		return "models"
	case OpResponses:
		return "responses"
	case OpMessages:
		return "messages"
	case OpCountTokens:
		return "messages.count_tokens"
	}
	return "unknown"
}

// Usage is token usage as the provider reported it.
type Usage struct {
	// Reported is true when the provider sent usage; false means the counts are unknown.
	Reported bool
	// InputTokens counts all prompt tokens, cached ones included (OpenAI's prompt_tokens).
	InputTokens int64
	// OutputTokens counts completion tokens, reasoning ones included.
	OutputTokens int64
	// CachedInputTokens is the part of InputTokens read from the provider's prompt cache.
	CachedInputTokens int64
	// CacheWriteTokens is the part of InputTokens written to the provider's prompt cache.
	CacheWriteTokens int64
	// ReasoningTokens is the part of OutputTokens spent on reasoning.
	ReasoningTokens int64
}

// Request is what a translator needs to know about one client request. The gateway fills
// it once per request; translators must not modify Body.
type Request struct {
	Op Op
	// Body is the client's request body, exactly as received.
	Body []byte
	// Model is the upstream model name (the provider's name, or an Azure deployment).
	Model string
	// ClientModel is the model name the client asked for.
	ClientModel string
	// Stream is true for a streamed request (chat, completion, responses or messages).
	Stream bool
	// IncludeUsage is true when the client asked for the usage chunk
	// (stream_options.include_usage); the gateway forces usage on either way.
	IncludeUsage bool
	// Header holds the client headers the request's dialect forwards to a provider that
	// speaks the dialect natively (for the Messages API: anthropic-version and
	// anthropic-beta, as the client sent them). A translator sends the ones its provider
	// understands and ignores the rest; translators must not modify Header.
	Header []Header
}

// Header is one HTTP header to send upstream.
type Header struct{ Key, Value string }

// Outbound is the upstream HTTP request a translator produced. The gateway reuses
// Outbound values across requests; Reset clears one.
type Outbound struct {
	// Method is the HTTP method, POST unless set otherwise.
	Method string
	// URL is the absolute upstream URL.
	URL string
	// Header holds the headers to set, authentication included.
	Header []Header
	// Body is the upstream request body; it may alias Request.Body when nothing changed.
	Body []byte
}

// Reset clears o for reuse, keeping its header slice.
func (o *Outbound) Reset() {
	o.Method, o.URL, o.Body = "", "", nil
	o.Header = o.Header[:0]
}

// SetHeader appends a header to send.
func (o *Outbound) SetHeader(k, v string) { o.Header = append(o.Header, Header{k, v}) }

// Translator converts requests and responses for one configured provider. A Translator
// is built once from its Config and is safe for concurrent use.
type Translator interface {
	// Encode builds the upstream request for r into out. It returns an *apierr.Error
	// when the request cannot be expressed for this provider.
	Encode(r *Request, out *Outbound) error
	// Decode translates a successful (2xx) non-streamed upstream body into the OpenAI
	// response body, appended to dst (or returned as body itself when unchanged).
	Decode(r *Request, body, dst []byte) ([]byte, Usage, error)
	// DecodeError turns an upstream error response (status >= 400) into the error the
	// client sees. retryAfter is the upstream's Retry-After header, possibly empty.
	DecodeError(status int, body []byte, retryAfter string) *apierr.Error
	// NewStream returns the decoder for one streamed response to r.
	NewStream(r *Request) StreamDecoder
}

// StreamDecoder translates one streamed response, event by event. It is used by one
// goroutine and discarded after the stream.
type StreamDecoder interface {
	// Event translates one upstream event, appending zero or more complete client SSE
	// events to dst. done is true once the upstream stream has finished normally (the
	// client's terminator, if any, is already in dst). An error means the upstream
	// reported a failure mid-stream; the gateway ends the stream with an error event.
	Event(ev *sse.Event, dst []byte) (out []byte, done bool, err error)
	// Usage returns the usage seen so far.
	Usage() Usage
}

// Lister is implemented by translators that can list the provider's models through
// the upstream (OpenAI-compatible servers). The gateway otherwise lists configured models.
type Lister interface {
	// EncodeList builds the upstream request for GET /models.
	EncodeList(out *Outbound) error
}
