package responses

import (
	"bytes"
	"strings"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// stream translates one streamed Chat Completions answer into the Responses event
// sequence. Output items are opened as the chunks first mention them (text, a refusal,
// a tool call by index) and closed when the next one opens or the choice finishes, as
// OpenAI streams them, so every item's events are contiguous. The answer ends at [DONE]
// or at the usage chunk (choices: []) after finish_reason, with response.completed or
// response.incomplete carrying the whole object. It is used by one goroutine.
type stream struct {
	e   *echo
	a   answer
	seq int64
	// open is the index in a.items of the item taking deltas, -1 for none.
	open     int
	calls    []chatCall
	started  bool
	finished bool // finish_reason seen, items closed
	done     bool
	result   []byte
}

// chatCall maps a Chat tool call's index to its output item.
type chatCall struct {
	index int64
	item  int
}

func newStream(m dialect.Meta) *stream {
	e := newEcho(m)
	return &stream{e: e, open: -1, a: answer{status: statusInProgress},
		result: make([]byte, 0, e.size()+512)}
}

// Event takes one Chat Completions SSE event's data. A chunk that is not JSON, an error
// object in the stream and a tool call chunk for an item already closed are upstream
// failures (502); the gateway then ends the stream with Fail. An upstream that ends
// without [DONE] or the usage chunk is not done either, and must be ended with Fail too.
func (s *stream) Event(data []byte, dst []byte) ([]byte, bool, error) {
	if s.done {
		return dst, true, nil
	}
	if !s.started {
		dst = s.opening(dst)
	}
	data = bytes.TrimSpace(data)
	if string(data) == "[DONE]" {
		return s.finish(dst), true, nil
	}
	if !jsonx.Valid(data) {
		return dst, false, apierr.BadGateway("upstream_bad_event", "the upstream sent a stream event that is not JSON")
	}
	var errObj, usage, choice jsonx.Result
	empty := false // choices is an empty array: the usage chunk
	jsonx.View(data).ForEach(func(k, v jsonx.Result) bool {
		switch k.Str {
		case "error":
			errObj = v
		case "usage":
			usage = v
		case "choices":
			choice = v.Get("0")
			empty = v.IsArray() && !choice.Exists()
		}
		return true
	})
	if present(errObj) {
		return dst, false, apierr.BadGateway("upstream_error", "the upstream failed mid-stream: "+errObj.Get("message").String())
	}
	s.a.setUsage(usage)
	if choice.IsObject() {
		var err error
		if dst, err = s.choice(dst, choice); err != nil {
			return dst, false, err
		}
	} else if s.finished && empty && usage.IsObject() {
		return s.finish(dst), true, nil
	}
	return dst, false, nil
}

// choice translates one chunk's choice: its deltas, then its finish_reason.
func (s *stream) choice(dst []byte, choice jsonx.Result) ([]byte, error) {
	delta := choice.Get("delta")
	if c := inner(delta.Get("content")); c != "" {
		dst = s.text(dst, false, c)
	}
	if r := inner(delta.Get("refusal")); r != "" {
		dst = s.text(dst, true, r)
	}
	if tcs := delta.Get("tool_calls"); tcs.IsArray() {
		var err error
		tcs.ForEach(func(_, tc jsonx.Result) bool {
			dst, err = s.toolCall(dst, tc)
			return err == nil
		})
		if err != nil {
			return dst, err
		}
	}
	if fr := choice.Get("finish_reason"); isString(fr) && fr.Str != "" && !s.finished {
		s.a.status, s.a.incomplete = finishStatus(fr.Str)
		s.finished = true
		dst = s.closeOpen(dst, true)
	}
	return dst, nil
}

// text appends a text (or refusal) delta, esc being its JSON-escaped contents.
func (s *stream) text(dst []byte, refusal bool, esc string) []byte {
	if s.open < 0 || s.a.items[s.open].call {
		dst = s.closeOpen(dst, false)
		dst = s.addItem(dst, item{id: s.e.itemID("msg", len(s.a.items)), status: statusInProgress})
	}
	it := &s.a.items[s.open]
	if n := len(it.parts); n == 0 || it.parts[n-1].refusal != refusal {
		if n > 0 {
			dst = s.partDone(dst, s.open, n-1)
		}
		dst = s.addPart(dst, refusal)
	}
	c := len(it.parts) - 1
	if refusal {
		dst = s.head(dst, "response.refusal.delta")
	} else {
		dst = s.head(dst, "response.output_text.delta")
	}
	dst = s.itemRef(dst, s.open)
	dst = append(dst, `,"content_index":`...)
	dst = appendInt(dst, int64(c))
	dst = append(dst, `,"delta":"`...)
	dst = append(dst, esc...)
	if refusal {
		dst = append(dst, '"')
	} else {
		dst = append(dst, `","logprobs":[]`...)
	}
	dst = tail(dst)
	it.parts[c].text = append(it.parts[c].text, esc...)
	return dst
}

// toolCall appends one tool call delta. A chunk names its call by index; servers that
// omit the index send each call whole, told apart by id.
func (s *stream) toolCall(dst []byte, tc jsonx.Result) ([]byte, error) {
	id := strings.Clone(inner(tc.Get("id")))
	var index int64
	switch ix := tc.Get("index"); {
	case ix.Type == jsonx.Number:
		index = ix.Int()
	case len(s.calls) > 0 && (id == "" || id == s.a.items[s.calls[len(s.calls)-1].item].callID):
		index = s.calls[len(s.calls)-1].index
	default:
		index = int64(len(s.calls))
	}
	at := -1
	for _, c := range s.calls {
		if c.index == index {
			at = c.item
		}
	}
	switch {
	case at < 0:
		dst = s.closeOpen(dst, false)
		at = len(s.a.items)
		it := item{id: s.e.itemID("fc", at), status: statusInProgress, call: true, callID: id,
			name: strings.Clone(inner(tc.Get("function.name")))}
		if it.callID == "" {
			it.callID = s.e.itemID("call", at)
		}
		s.calls = append(s.calls, chatCall{index: index, item: at})
		dst = s.addItem(dst, it)
	case at != s.open:
		return dst, apierr.BadGateway("upstream_bad_event", "the upstream resumed a tool call after starting another")
	}
	it := &s.a.items[at]
	if it.name == "" {
		it.name = strings.Clone(inner(tc.Get("function.name")))
	}
	if args := inner(tc.Get("function.arguments")); args != "" {
		dst = s.head(dst, "response.function_call_arguments.delta")
		dst = s.itemRef(dst, at)
		dst = append(dst, `,"delta":"`...)
		dst = append(dst, args...)
		dst = tail(append(dst, '"'))
		it.args = append(it.args, args...)
	}
	return dst, nil
}

// opening appends response.created and response.in_progress.
func (s *stream) opening(dst []byte) []byte {
	s.started = true
	dst = s.objectEvent(dst, "response.created")
	return s.objectEvent(dst, "response.in_progress")
}

// finish closes the answer: the open item, an empty message when there was no output,
// then response.completed or response.incomplete.
func (s *stream) finish(dst []byte) []byte {
	dst = s.closeOpen(dst, true)
	if len(s.a.items) == 0 {
		dst = s.addItem(dst, item{id: s.e.itemID("msg", 0), status: statusInProgress})
		dst = s.addPart(dst, false)
		dst = s.closeOpen(dst, true)
	}
	if s.a.status == statusInProgress {
		s.a.status = statusCompleted
	}
	s.done = true
	if s.a.status == statusIncomplete {
		return s.objectEvent(dst, "response.incomplete")
	}
	return s.objectEvent(dst, "response.completed")
}

// Fail ends a stream that failed mid-way with response.failed, whose object carries
// e's code and message and the output so far (unfinished items incomplete). After Fail,
// Result is that failed object.
func (s *stream) Fail(e *apierr.Error, dst []byte) []byte {
	if s.done {
		return dst
	}
	if !s.started {
		dst = s.opening(dst)
	}
	if s.open >= 0 {
		s.a.items[s.open].status = statusIncomplete
		s.open = -1
	}
	s.a.status, s.a.incomplete, s.a.err = statusFailed, "", e
	s.done = true
	return s.objectEvent(dst, "response.failed")
}

// Usage is the usage of the last usage chunk seen.
func (s *stream) Usage() provider.Usage { return s.a.usage }

// Result is the final response object, as the last event carried it; nil before done.
func (s *stream) Result() []byte {
	if !s.done {
		return nil
	}
	return s.result
}

// objectEvent appends an event carrying the response object in its current state.
func (s *stream) objectEvent(dst []byte, typ string) []byte {
	s.result = s.e.appendObject(s.result[:0], &s.a)
	dst = s.head(dst, typ)
	dst = append(dst, `,"response":`...)
	dst = append(dst, s.result...)
	return tail(dst)
}

// addItem opens it as the next output item with response.output_item.added.
func (s *stream) addItem(dst []byte, it item) []byte {
	s.a.items = append(s.a.items, it)
	s.open = len(s.a.items) - 1
	dst = s.head(dst, "response.output_item.added")
	dst = append(dst, `,"output_index":`...)
	dst = appendInt(dst, int64(s.open))
	dst = append(dst, `,"item":`...)
	dst = s.a.items[s.open].appendJSON(dst)
	return tail(dst)
}

// addPart opens the next content part of the open message.
func (s *stream) addPart(dst []byte, refusal bool) []byte {
	it := &s.a.items[s.open]
	it.parts = append(it.parts, part{refusal: refusal})
	return s.partEvent(dst, "response.content_part.added", s.open, len(it.parts)-1)
}

// partDone appends the done events of part c of item i.
func (s *stream) partDone(dst []byte, i, c int) []byte {
	p := &s.a.items[i].parts[c]
	if p.refusal {
		dst = s.head(dst, "response.refusal.done")
	} else {
		dst = s.head(dst, "response.output_text.done")
	}
	dst = s.itemRef(dst, i)
	dst = append(dst, `,"content_index":`...)
	dst = appendInt(dst, int64(c))
	if p.refusal {
		dst = append(dst, `,"refusal":"`...)
		dst = append(dst, p.text...)
		dst = append(dst, '"')
	} else {
		dst = append(dst, `,"text":"`...)
		dst = append(dst, p.text...)
		dst = append(dst, `","logprobs":[]`...)
	}
	dst = tail(dst)
	return s.partEvent(dst, "response.content_part.done", i, c)
}

func (s *stream) partEvent(dst []byte, typ string, i, c int) []byte {
	dst = s.head(dst, typ)
	dst = s.itemRef(dst, i)
	dst = append(dst, `,"content_index":`...)
	dst = appendInt(dst, int64(c))
	dst = append(dst, `,"part":`...)
	dst = s.a.items[i].parts[c].appendJSON(dst)
	return tail(dst)
}

// closeOpen closes the open item, if any: its last part or its arguments, then
// response.output_item.done. final is true when the answer ends with it, so that a
// length or content-filter stop leaves it incomplete.
func (s *stream) closeOpen(dst []byte, final bool) []byte {
	i := s.open
	if i < 0 {
		return dst
	}
	s.open = -1
	it := &s.a.items[i]
	if it.call {
		dst = s.head(dst, "response.function_call_arguments.done")
		dst = s.itemRef(dst, i)
		dst = append(dst, `,"name":"`...)
		dst = append(dst, it.name...)
		dst = append(dst, `","arguments":"`...)
		dst = append(dst, it.args...)
		dst = tail(append(dst, '"'))
	} else if n := len(it.parts); n > 0 {
		dst = s.partDone(dst, i, n-1)
	}
	it.status = statusCompleted
	if final && s.a.status == statusIncomplete {
		it.status = statusIncomplete
	}
	dst = s.head(dst, "response.output_item.done")
	dst = append(dst, `,"output_index":`...)
	dst = appendInt(dst, int64(i))
	dst = append(dst, `,"item":`...)
	dst = it.appendJSON(dst)
	return tail(dst)
}

// head opens an SSE event of type typ: the event line, then the data's type and
// sequence_number members. tail closes it.
func (s *stream) head(dst []byte, typ string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, typ...)
	dst = append(dst, "\ndata: {\"type\":\""...)
	dst = append(dst, typ...)
	dst = append(dst, `","sequence_number":`...)
	dst = appendInt(dst, s.seq)
	s.seq++
	return dst
}

// itemRef appends the item_id and output_index members naming item i.
func (s *stream) itemRef(dst []byte, i int) []byte {
	dst = append(dst, `,"item_id":`...)
	dst = jsonx.Quote(dst, s.a.items[i].id)
	dst = append(dst, `,"output_index":`...)
	return appendInt(dst, int64(i))
}

func tail(dst []byte) []byte { return append(dst, "}\n\n"...) }
