// Package dialect translates the inbound APIs other than Chat Completions — OpenAI's
// Responses API and Anthropic's Messages API — to and from Chat Completions, the
// gateway's hub schema, for providers that do not speak them natively. Each dialect is a
// sub-package (responses, messages) implementing Translator; translation is pure: bytes
// in, bytes out, no I/O. A provider that speaks the dialect natively gets the client's
// bytes unchanged instead, and the dialect's Usage readers meter its answers.
package dialect

import (
	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/provider"
)

// Chat is a client request translated to Chat Completions.
type Chat struct {
	// Body is the Chat Completions request body, model as the client named it.
	Body []byte
	// Stream is true when the client asked for a streamed answer.
	Stream bool
}

// Meta is what a translation of an answer needs besides the answer itself.
type Meta struct {
	// ID is the id the answer gets (resp_… for Responses, msg_… for Messages).
	ID string
	// Created is the answer's creation time, unix seconds.
	Created int64
	// Model is the model name to report (the one the client asked for).
	Model string
	// Request is the client's original request body, for the members an answer echoes
	// (Responses: instructions, tools, metadata, temperature, text, …).
	Request []byte
	// PromptTokens is the gateway's estimate of the prompt's tokens, for the events that
	// report input usage before the upstream did (Anthropic's message_start); 0 when unknown.
	PromptTokens int64
}

// Translator is one inbound dialect. Implementations are stateless and safe for
// concurrent use; per-answer state lives in Stream.
type Translator interface {
	// Request translates a client request body into Chat Completions. prior holds Chat
	// Completions messages (JSON objects) to put before the request's own, from a stored
	// conversation (Responses' previous_response_id); nil when none. An error is an
	// *apierr.Error, status 400, whose Param names the offending field — among them any
	// feature Chat Completions cannot express (a built-in tool such as web search).
	Request(body []byte, prior [][]byte) (Chat, error)
	// Response translates a complete, successful Chat Completions answer into the
	// dialect's answer body, and returns the usage it carries.
	Response(chat []byte, m Meta) ([]byte, provider.Usage, error)
	// NewStream returns the translator of one streamed answer.
	NewStream(m Meta) Stream
	// Error renders e in the dialect's error envelope; status is the HTTP status to send
	// (the dialect may map statuses: Anthropic answers 529 for overload, for example).
	Error(e *apierr.Error) (status int, body []byte)
}

// Stream translates one streamed Chat Completions answer, event by event. It is used by
// one goroutine.
type Stream interface {
	// Event takes the data of one Chat Completions SSE event (a chunk's JSON, or
	// [DONE]) and appends the dialect's complete SSE events ("event: …\ndata: …\n\n") to
	// dst. The first call also emits the dialect's opening events (response.created and
	// response.in_progress; message_start). done is true after [DONE] (or the chunk that
	// ends the answer), once the closing events are in dst.
	Event(data []byte, dst []byte) (out []byte, done bool, err error)
	// Fail appends the events that end a stream which failed mid-way (response.failed;
	// Anthropic's error event) to dst.
	Fail(e *apierr.Error, dst []byte) []byte
	// Usage is the usage the stream reported so far (complete after done).
	Usage() provider.Usage
	// Result is the complete answer in the dialect's non-streamed form, after done: what
	// the gateway stores (Responses' store) and what the final event carried.
	Result() []byte
}
