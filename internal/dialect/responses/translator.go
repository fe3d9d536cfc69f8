// Package responses translates OpenAI's Responses API (POST /v1/responses) to and from
// Chat Completions, for providers that do not speak Responses natively.
//
// Request turns a Responses request into a Chat Completions request; Response and the
// Stream from NewStream turn the Chat Completions answer back into a Responses object or
// the Responses event sequence. Everything is pure and allocation-light: values the
// client sent (strings, schemas, arguments) are copied as raw JSON text, never decoded
// and re-encoded. UsageOf and StreamUsage meter a provider that speaks Responses
// natively, whose bytes the gateway passes through untouched.
//
// What Chat Completions cannot express is refused with a 400 naming the field: built-in
// tools (web_search, file_search, computer_use, …), background mode, stored prompts and
// conversations, reasoning and item_reference input items. Hints with no Chat
// equivalent (truncation, include, text.verbosity, reasoning.summary, service_tier,
// max_tool_calls) are dropped; metadata and store stay on the response object and are
// not sent upstream.
package responses

import (
	"errors"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
)

// Options configures a Translator. The zero value is the default.
type Options struct {
	// MaxTokensField is the Chat Completions member that max_output_tokens becomes:
	// "max_tokens" (the default, read by every OpenAI-compatible server) or
	// "max_completion_tokens" (OpenAI's newer name, required by its reasoning models).
	MaxTokensField string
}

// Validate reports an Options value the translator cannot use.
func (o Options) Validate() error {
	switch o.MaxTokensField {
	case "", "max_tokens", "max_completion_tokens":
		return nil
	}
	return errors.New(`responses: max_tokens_field must be "max_tokens" or "max_completion_tokens", got "` + o.MaxTokensField + `"`)
}

// Translator is the Responses dialect. It is immutable and safe for concurrent use.
type Translator struct {
	maxTokensField string
}

var _ dialect.Translator = (*Translator)(nil)

// New returns a Translator for o, which must be valid (see Options.Validate); an
// invalid MaxTokensField falls back to "max_tokens".
func New(o Options) *Translator {
	t := &Translator{maxTokensField: "max_tokens"}
	if o.Validate() == nil && o.MaxTokensField != "" {
		t.maxTokensField = o.MaxTokensField
	}
	return t
}

// Error renders e in OpenAI's error envelope, which the Responses API shares with Chat
// Completions, with e's own status.
func (t *Translator) Error(e *apierr.Error) (int, []byte) {
	return e.Status, e.AppendJSON(nil)
}

// NewStream returns the translator of one streamed answer described by m.
func (t *Translator) NewStream(m dialect.Meta) dialect.Stream {
	return newStream(m)
}
