package messages

import (
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// content is one content block of an answer: text, or a tool call (tool_use).
type content struct {
	tool bool
	text []byte // a text block's text
	id   string // a tool call's id, kept from the upstream
	name string // a tool call's function name
	args []byte // a tool call's arguments, the JSON text the upstream produced
}

// message is an answer as Anthropic's message object holds it, built from a Chat
// Completions answer: by Response from the whole answer, by the stream from its chunks.
// Both render it with appendJSON, so the two forms of one answer are the same bytes.
type message struct {
	blocks  []content
	finish  string // Chat's finish_reason; empty until known
	stopSeq string // the stop sequence that ended the answer, when the upstream said which
	usage   chatUsage
}

// setFinish records the choice's finish_reason, and the stop sequence that caused a
// "stop" when the upstream names it: vLLM's stop_reason or SGLang's matched_stop, a
// string (an integer there is a stop token, not a sequence). OpenAI itself never says.
func (m *message) setFinish(reason string, choice jsonx.Result) {
	m.finish = reason
	if reason != "stop" {
		return
	}
	for _, key := range [...]string{"stop_reason", "matched_stop"} {
		if s := choice.Get(key); s.Type == jsonx.String && s.Str != "" {
			m.stopSeq = s.Str
			return
		}
	}
}

// stopReason maps the finish reason to Anthropic's stop_reason: stop is end_turn (or
// stop_sequence when the sequence is known), length is max_tokens, tool_calls (and the
// legacy function_call) is tool_use, content_filter is refusal; a missing or unknown one
// is end_turn. An answer with tool calls whose finish reason is stop (Ollama and others
// answer so) is tool_use: Anthropic clients run the tools on tool_use.
func (m *message) stopReason() string {
	switch m.finish {
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	}
	if m.hasTools() {
		return "tool_use"
	}
	if m.stopSeq != "" {
		return "stop_sequence"
	}
	return "end_turn"
}

func (m *message) hasTools() bool {
	for i := range m.blocks {
		if m.blocks[i].tool {
			return true
		}
	}
	return false
}

// appendStop appends the stop_reason and stop_sequence members (without braces).
func (m *message) appendStop(dst []byte) []byte {
	reason := m.stopReason()
	dst = append(dst, `"stop_reason":"`...)
	dst = append(dst, reason...)
	dst = append(dst, `","stop_sequence":`...)
	if reason == "stop_sequence" {
		return jsonx.Quote(dst, m.stopSeq)
	}
	return append(dst, "null"...)
}

// appendJSON appends the message object:
// {id, type "message", role "assistant", model, content, stop_reason, stop_sequence, usage}.
// A tool call's input is its arguments when they are a JSON object, else {} (no
// arguments, or arguments the model broke; Anthropic's input is always an object).
func (m *message) appendJSON(dst []byte, meta dialect.Meta) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonx.Quote(dst, meta.ID)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = jsonx.Quote(dst, meta.Model)
	dst = append(dst, `,"content":[`...)
	for i := range m.blocks {
		if i > 0 {
			dst = append(dst, ',')
		}
		c := &m.blocks[i]
		if !c.tool {
			dst = append(dst, `{"type":"text","text":"`...)
			dst = jsonx.AppendEscaped(dst, string(c.text))
			dst = append(dst, `"}`...)
			continue
		}
		dst = append(dst, `{"type":"tool_use","id":`...)
		dst = jsonx.Quote(dst, c.id)
		dst = append(dst, `,"name":`...)
		dst = jsonx.Quote(dst, c.name)
		dst = append(dst, `,"input":`...)
		dst = appendInput(dst, c.args)
		dst = append(dst, '}')
	}
	dst = append(dst, "],"...)
	dst = m.appendStop(dst)
	dst = append(dst, `,"usage":`...)
	dst = m.usage.appendAnthropic(dst, meta.PromptTokens)
	return append(dst, '}')
}

// appendInput appends a tool call's arguments as a tool_use input object.
func appendInput(dst, args []byte) []byte {
	a := strings.TrimSpace(string(args))
	if a == "" || jsonx.ValidObject([]byte(a), 0) != nil {
		return append(dst, "{}"...)
	}
	return append(dst, a...)
}

// toolID is the id of a tool call the upstream gave none (some servers do not): unique
// within the answer, derived from the message id so both answer forms agree.
func toolID(meta dialect.Meta, n int) string {
	return "toolu_" + strings.TrimPrefix(meta.ID, "msg_") + "_" + strconv.Itoa(n)
}

// chatUsage is a Chat Completions usage object.
type chatUsage struct {
	reported   bool
	prompt     int64 // prompt_tokens: every prompt token, cached ones included
	completion int64 // completion_tokens, reasoning included
	cached     int64 // prompt_tokens_details.cached_tokens
	reasoning  int64 // completion_tokens_details.reasoning_tokens
}

// read takes the counts of a usage object; anything but an object leaves u alone.
func (u *chatUsage) read(v jsonx.Result) {
	if !v.IsObject() {
		return
	}
	u.reported = true
	u.prompt = v.Get("prompt_tokens").Int()
	u.completion = v.Get("completion_tokens").Int()
	u.cached = v.Get("prompt_tokens_details.cached_tokens").Int()
	u.reasoning = v.Get("completion_tokens_details.reasoning_tokens").Int()
}

// provider is the usage as the gateway meters it (unreported when the upstream sent none).
func (u *chatUsage) provider() provider.Usage {
	if !u.reported {
		return provider.Usage{}
	}
	return provider.Usage{
		Reported:          true,
		InputTokens:       u.prompt,
		OutputTokens:      u.completion,
		CachedInputTokens: u.cached,
		ReasoningTokens:   u.reasoning,
	}
}

// appendAnthropic appends the usage as Anthropic's usage object. Anthropic's
// input_tokens counts only the prompt tokens neither read from nor written to the
// prompt cache, where OpenAI's prompt_tokens counts them all: input_tokens is
// prompt_tokens minus cached_tokens, and cache_read_input_tokens is cached_tokens. Chat
// Completions does not report cache writes, so cache_creation_input_tokens is 0. When
// the upstream reported nothing, input_tokens is estimate (the gateway's count of the
// prompt) and output_tokens 0.
func (u *chatUsage) appendAnthropic(dst []byte, estimate int64) []byte {
	input, output, cached := estimate, int64(0), int64(0)
	if u.reported {
		input, output, cached = max(u.prompt-u.cached, 0), u.completion, u.cached
	}
	return appendUsage(dst, input, 0, cached, output)
}

// appendUsage appends an Anthropic usage object with these counts.
func appendUsage(dst []byte, input, cacheCreation, cacheRead, output int64) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = strconv.AppendInt(dst, input, 10)
	dst = append(dst, `,"cache_creation_input_tokens":`...)
	dst = strconv.AppendInt(dst, cacheCreation, 10)
	dst = append(dst, `,"cache_read_input_tokens":`...)
	dst = strconv.AppendInt(dst, cacheRead, 10)
	dst = append(dst, `,"output_tokens":`...)
	dst = strconv.AppendInt(dst, output, 10)
	return append(dst, '}')
}
