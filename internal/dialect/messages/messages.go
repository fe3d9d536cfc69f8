// Package messages is the Anthropic Messages API (POST /v1/messages, as Claude Code and the
// Anthropic SDKs send it) as an inbound dialect: it translates a Messages request into a
// Chat Completions request for a provider that does not speak Messages, and the provider's
// Chat Completions answer, streamed or not, back into a Messages answer.
//
// A provider that speaks Messages natively (kind: anthropic) gets the client's bytes
// unchanged instead; UsageOf and StreamUsage meter its answers.
//
// The files, one concept each:
//
//	request.go        the request's top-level fields, tools and tool_choice
//	request_turns.go  system, the turns and their content blocks
//	message.go        the message object an answer becomes (shared by both answer forms)
//	response.go       a non-streamed Chat Completions answer to a message
//	stream.go         a streamed Chat Completions answer to Anthropic's events
//	errors.go         the error envelope, its types and statuses; the error and ping events
//	usage.go          usage of native answers; count_tokens
package messages

import "github.com/switchyard/switchyard/internal/dialect"

// Translator translates the Messages dialect to and from Chat Completions. It has no
// state: the zero value is ready, and it is safe for concurrent use.
type Translator struct{}

var _ dialect.Translator = Translator{}

// New returns the Messages translator.
func New() Translator { return Translator{} }

// NewStream returns the translator of one streamed answer, described by m (m.ID is the
// msg_… id, m.Model the model the client asked for, m.PromptTokens the gateway's
// estimate of the prompt, reported by message_start until the upstream reports its own).
func (Translator) NewStream(m dialect.Meta) dialect.Stream { return newStream(m) }
