package responses

import (
	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// Response translates a complete Chat Completions answer into a Responses object: the
// first choice's text (and refusal) as one message item, then one function_call item
// per tool call, the status from finish_reason ("length" is incomplete with reason
// max_output_tokens), the usage renamed, and the request's members echoed from m. An
// answer with no output gets one empty message, as a streamed one does. An answer that
// is not a chat completion is a 502.
func (t *Translator) Response(chat []byte, m dialect.Meta) ([]byte, provider.Usage, error) {
	if !jsonx.Valid(chat) {
		return nil, provider.Usage{}, badAnswer("the upstream answer is not JSON")
	}
	doc := jsonx.View(chat)
	if e := doc.Get("error"); present(e) {
		return nil, provider.Usage{}, apierr.BadGateway("upstream_error", "the upstream answered with an error: "+e.Get("message").String())
	}
	choice := doc.Get("choices.0")
	if !choice.IsObject() {
		return nil, provider.Usage{}, badAnswer("the upstream answer has no choices")
	}
	e := newEcho(m)
	var a answer
	a.status, a.incomplete = finishStatus(choice.Get("finish_reason").Str)
	msg := choice.Get("message")
	var parts []part
	if c := inner(msg.Get("content")); c != "" {
		parts = append(parts, part{text: []byte(c)})
	}
	if r := inner(msg.Get("refusal")); r != "" {
		parts = append(parts, part{refusal: true, text: []byte(r)})
	}
	calls := msg.Get("tool_calls").Array()
	if len(parts) > 0 || len(calls) == 0 {
		if len(parts) == 0 {
			parts = append(parts, part{})
		}
		a.items = append(a.items, item{id: e.itemID("msg", 0), status: statusCompleted, parts: parts})
	}
	for _, tc := range calls {
		i := len(a.items)
		it := item{id: e.itemID("fc", i), status: statusCompleted, call: true,
			callID: inner(tc.Get("id")), name: inner(tc.Get("function.name")),
			args: []byte(inner(tc.Get("function.arguments")))}
		if it.callID == "" {
			it.callID = e.itemID("call", i)
		}
		a.items = append(a.items, it)
	}
	if a.status == statusIncomplete {
		a.items[len(a.items)-1].status = statusIncomplete
	}
	a.setUsage(doc.Get("usage"))
	return e.appendObject(make([]byte, 0, e.size()+256+len(chat)), &a), a.usage, nil
}

func badAnswer(msg string) *apierr.Error {
	return apierr.BadGateway("upstream_invalid_response", msg)
}
