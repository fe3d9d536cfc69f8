package responses

import (
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// Response statuses and incomplete reasons, as the Responses API names them.
const (
	statusInProgress = "in_progress"
	statusCompleted  = "completed"
	statusIncomplete = "incomplete"
	statusFailed     = "failed"

	reasonMaxOutputTokens = "max_output_tokens"
	reasonContentFilter   = "content_filter"
)

// answer is a response object being built: by Response from a whole Chat answer, by a
// stream chunk by chunk. Both render it with the same echo, so a streamed answer's
// final object is the non-streamed one's.
type answer struct {
	status     string
	incomplete string        // incomplete_details.reason when status is incomplete
	err        *apierr.Error // error when status is failed
	items      []item
	usage      provider.Usage
	total      int64 // total_tokens as the upstream reported it
}

// item is one output item: a message (parts) or a function call.
type item struct {
	id     string
	status string
	call   bool
	parts  []part // message content, in order
	// Function call members, JSON-escaped (string contents without the quotes).
	callID, name string
	args         []byte
}

// part is one content part of a message: output_text, or refusal when refusal is set.
type part struct {
	refusal bool
	text    []byte // JSON-escaped, without the quotes
}

// finishStatus maps a Chat finish_reason to the response status and incomplete reason.
func finishStatus(reason string) (status, incomplete string) {
	switch reason {
	case "length":
		return statusIncomplete, reasonMaxOutputTokens
	case "content_filter":
		return statusIncomplete, reasonContentFilter
	}
	return statusCompleted, ""
}

// setUsage takes a Chat Completions usage object.
func (a *answer) setUsage(u jsonx.Result) {
	if !u.IsObject() {
		return
	}
	a.usage = provider.OpenAIUsage(u)
	if t := u.Get("total_tokens"); t.Exists() {
		a.total = t.Int()
	} else {
		a.total = a.usage.InputTokens + a.usage.OutputTokens
	}
}

// echo holds the members of a response object that come from the request and the
// Meta, rendered once per answer.
type echo struct {
	idBase string // the response id without "resp_", for item ids
	// head is `{"id":…,"object":"response","created_at":…,"status":"`; mid runs from
	// `,"instructions":` to `,"output":`; tail from `,"parallel_tool_calls":` to
	// `,"usage":`; end from `,"user":` to the closing brace.
	head, mid, tail, end []byte
}

// newEcho renders the echoed members from m. m.Request must be the JSON object that
// Request accepted (the gateway validated it); members it lacks get OpenAI's defaults.
func newEcho(m dialect.Meta) *echo {
	var f fields
	if req := jsonx.View(m.Request); req.IsObject() {
		f = readFields(req)
	}
	e := &echo{idBase: strings.TrimPrefix(m.ID, "resp_")}
	// One buffer holds the four fragments, each capped so that none grows into the next.
	buf := make([]byte, 0, 640+len(m.ID)+len(m.Model)+len(f.instructions.Raw)+len(f.tools.Raw)+
		len(f.text.Raw)+len(f.reasoning.Raw)+len(f.metadata.Raw)+len(f.toolChoice.Raw)+len(f.user.Raw))
	e.head = append(buf, `{"id":`...)
	e.head = jsonx.Quote(e.head, m.ID)
	e.head = append(e.head, `,"object":"response","created_at":`...)
	e.head = appendInt(e.head, m.Created)
	e.head = append(e.head, `,"status":"`...)
	e.head = e.head[:len(e.head):len(e.head)]

	e.mid = echoMember(e.head[len(e.head):], "instructions", f.instructions, "null")
	e.mid = echoMember(e.mid, "max_output_tokens", f.maxOutputTokens, "null")
	e.mid = echoMember(e.mid, "max_tool_calls", f.maxToolCalls, "null")
	e.mid = append(e.mid, `,"model":`...)
	switch {
	case m.Model != "":
		e.mid = jsonx.Quote(e.mid, m.Model)
	case isString(f.model):
		e.mid = append(e.mid, f.model.Raw...)
	default:
		e.mid = append(e.mid, `""`...)
	}
	e.mid = append(e.mid, `,"output":`...)
	e.mid = e.mid[:len(e.mid):len(e.mid)]

	e.tail = echoMember(e.mid[len(e.mid):], "parallel_tool_calls", f.parallel, "true")
	e.tail = echoMember(e.tail, "previous_response_id", f.previousResponseID, "null")
	e.tail = echoMember(e.tail, "reasoning", f.reasoning, `{"effort":null,"summary":null}`)
	e.tail = echoMember(e.tail, "store", f.store, "true")
	e.tail = echoMember(e.tail, "temperature", f.temperature, "1")
	e.tail = echoMember(e.tail, "text", f.text, `{"format":{"type":"text"}}`)
	e.tail = echoMember(e.tail, "tool_choice", f.toolChoice, `"auto"`)
	e.tail = echoMember(e.tail, "tools", f.tools, "[]")
	e.tail = echoMember(e.tail, "top_p", f.topP, "1")
	e.tail = echoMember(e.tail, "truncation", f.truncation, `"disabled"`)
	e.tail = append(e.tail, `,"usage":`...)
	e.tail = e.tail[:len(e.tail):len(e.tail)]

	e.end = echoMember(e.tail[len(e.tail):], "user", f.user, "null")
	e.end = echoMember(e.end, "metadata", f.metadata, "{}")
	e.end = append(e.end, '}')
	return e
}

// size is the length of the echoed members, a lower bound of a response object's.
func (e *echo) size() int { return len(e.head) + len(e.mid) + len(e.tail) + len(e.end) }

// echoMember appends ,"key": and the request's value v, compacted, or def when the
// request has none.
func echoMember(dst []byte, key string, v jsonx.Result, def string) []byte {
	raw := def
	if present(v) {
		raw = v.Raw
	}
	return appendMember(dst, false, key, raw)
}

// itemID is the id of output item i: prefix (msg or fc), the response id's base, i.
func (e *echo) itemID(prefix string, i int) string {
	return prefix + "_" + e.idBase + "_" + strconv.Itoa(i)
}

// appendObject appends the response object for a.
func (e *echo) appendObject(dst []byte, a *answer) []byte {
	dst = append(dst, e.head...)
	dst = append(dst, a.status...)
	dst = append(dst, `","background":false,"error":`...)
	if a.err != nil {
		dst = appendFailure(dst, a.err)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"incomplete_details":`...)
	if a.incomplete != "" {
		dst = append(dst, `{"reason":"`...)
		dst = append(dst, a.incomplete...)
		dst = append(dst, `"}`...)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, e.mid...)
	dst = append(dst, '[')
	for i := range a.items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = a.items[i].appendJSON(dst)
	}
	dst = append(dst, ']')
	dst = append(dst, e.tail...)
	dst = appendUsage(dst, a)
	return append(dst, e.end...)
}

// appendFailure appends a response's error object {code,message}. The code is the
// gateway's own (context_length_exceeded, upstream_timeout, …) where it has one.
func appendFailure(dst []byte, e *apierr.Error) []byte {
	code := e.Code
	switch {
	case code != "":
	case e.Status == 429:
		code = "rate_limit_exceeded"
	default:
		code = "server_error"
	}
	dst = append(dst, `{"code":`...)
	dst = jsonx.Quote(dst, code)
	dst = append(dst, `,"message":`...)
	dst = jsonx.Quote(dst, e.Message)
	return append(dst, '}')
}

// appendUsage appends the Responses usage object, or null when none was reported.
func appendUsage(dst []byte, a *answer) []byte {
	u := &a.usage
	if !u.Reported {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"input_tokens":`...)
	dst = appendInt(dst, u.InputTokens)
	dst = append(dst, `,"input_tokens_details":{"cached_tokens":`...)
	dst = appendInt(dst, u.CachedInputTokens)
	dst = append(dst, `},"output_tokens":`...)
	dst = appendInt(dst, u.OutputTokens)
	dst = append(dst, `,"output_tokens_details":{"reasoning_tokens":`...)
	dst = appendInt(dst, u.ReasoningTokens)
	dst = append(dst, `},"total_tokens":`...)
	dst = appendInt(dst, a.total)
	return append(dst, '}')
}

// appendJSON appends the output item.
func (it *item) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonx.Quote(dst, it.id)
	if it.call {
		dst = append(dst, `,"type":"function_call","status":"`...)
		dst = append(dst, it.status...)
		dst = append(dst, `","arguments":"`...)
		dst = append(dst, it.args...)
		dst = append(dst, `","call_id":"`...)
		dst = append(dst, it.callID...)
		dst = append(dst, `","name":"`...)
		dst = append(dst, it.name...)
		return append(dst, `"}`...)
	}
	dst = append(dst, `,"type":"message","status":"`...)
	dst = append(dst, it.status...)
	dst = append(dst, `","content":[`...)
	for j := range it.parts {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = it.parts[j].appendJSON(dst)
	}
	return append(dst, `],"role":"assistant"}`...)
}

// appendJSON appends the content part.
func (p *part) appendJSON(dst []byte) []byte {
	if p.refusal {
		dst = append(dst, `{"type":"refusal","refusal":"`...)
		dst = append(dst, p.text...)
		return append(dst, `"}`...)
	}
	dst = append(dst, `{"type":"output_text","annotations":[],"logprobs":[],"text":"`...)
	dst = append(dst, p.text...)
	return append(dst, `"}`...)
}
