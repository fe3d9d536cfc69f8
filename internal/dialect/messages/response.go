package messages

import (
	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// Response translates a complete Chat Completions answer into a Messages answer: the
// first choice's text (content, then any refusal) as one text block, each tool call as a
// tool_use block (id kept, input the parsed arguments), stop_reason and stop_sequence
// from the finish reason, usage converted as chatUsage.appendAnthropic says. Reasoning
// text (reasoning_content) is not shown: a thinking block needs a signature only
// Anthropic can make. It returns the answer's usage as the upstream reported it. An
// answer that is not a chat completion is a 502 *apierr.Error.
func (Translator) Response(chat []byte, m dialect.Meta) ([]byte, provider.Usage, error) {
	if jsonx.ValidObject(chat, 0) != nil {
		return nil, provider.Usage{}, apierr.BadGateway("upstream_invalid_response", "the upstream answer is not a JSON object")
	}
	doc := jsonx.View(chat)
	if e := doc.Get("error"); e.IsObject() {
		return nil, provider.Usage{}, apierr.BadGateway("upstream_error", "the upstream failed: "+e.Get("message").String())
	}
	choice := doc.Get("choices.0")
	if !choice.IsObject() {
		return nil, provider.Usage{}, apierr.BadGateway("upstream_invalid_response", "the upstream answer has no choices")
	}
	var msg message
	reply := choice.Get("message")
	var text []byte
	switch c := reply.Get("content"); {
	case c.Type == jsonx.String:
		text = append(text, c.Str...)
	case c.IsArray(): // content parts, as a few servers answer
		c.ForEach(func(_, p jsonx.Result) bool {
			text = append(text, p.Get("text").Str...)
			return true
		})
	}
	text = append(text, reply.Get("refusal").Str...)
	if len(text) > 0 {
		msg.blocks = append(msg.blocks, content{text: text})
	}
	n := 0
	reply.Get("tool_calls").ForEach(func(_, tc jsonx.Result) bool {
		id := tc.Get("id").Str
		if id == "" {
			id = toolID(m, n)
		}
		n++
		fn := tc.Get("function")
		msg.blocks = append(msg.blocks, content{tool: true, id: id, name: fn.Get("name").Str, args: []byte(fn.Get("arguments").Str)})
		return true
	})
	msg.setFinish(choice.Get("finish_reason").Str, choice)
	msg.usage.read(doc.Get("usage"))
	return msg.appendJSON(make([]byte, 0, len(chat)+128), m), msg.usage.provider(), nil
}
