package messages

import (
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/sse"
)

// maxBlocks bounds the content blocks one answer may open, so that a broken upstream
// (a new tool call index in every chunk) cannot grow a stream without limit. Deltas
// past it are dropped.
const maxBlocks = 1024

// stream translates one streamed Chat Completions answer into Anthropic's events:
//
//	first event                     message_start: the message with empty content, usage
//	                                input_tokens the gateway's estimate, output_tokens 0
//	delta.content, delta.refusal    a text block: content_block_start (at the next index),
//	                                then content_block_delta with a text_delta per chunk
//	delta.tool_calls[i], new i      the open block's content_block_stop, then a tool_use
//	                                block: content_block_start with id, name and input {}
//	delta.tool_calls[i].arguments   content_block_delta with an input_json_delta
//	finish_reason                   content_block_stop of the open block
//	[DONE], or the usage chunk      message_delta (stop_reason, stop_sequence and the
//	after finish_reason             usage, input and output), then message_stop; done
//
// Blocks are sequential, as Anthropic's are: text after a tool call opens a new text
// block. Arguments for a tool call whose block was already closed (an upstream that
// interleaves calls; OpenAI and vLLM stream them one after the other) cannot be sent any
// more and are dropped, from Result too, so that Result is always what the events
// carried. Reasoning deltas are not shown (see Response). Text and argument fragments are copied as the JSON
// string literals the upstream sent; each chunk is parsed once.
type stream struct {
	meta     dialect.Meta
	msg      message
	started  bool
	finished bool  // message_stop (or the error event) is out
	sawStop  bool  // a finish_reason arrived
	open     int   // index of the open block in msg.blocks, -1 when none
	calls    []int // block index of each Chat tool call, by order of appearance
	callIdx  []int64
	buf      []byte // the event data being built, reused
}

var _ dialect.Stream = (*stream)(nil)

func newStream(m dialect.Meta) *stream {
	return &stream{meta: m, open: -1, buf: make([]byte, 0, 256)}
}

// Event translates the data of one Chat Completions event. An event that is not a
// JSON object, or that carries an error object (as some servers report a failure
// mid-stream), is an *apierr.Error (502): the gateway then ends the stream with Fail.
// Events after done are ignored.
func (s *stream) Event(data, dst []byte) ([]byte, bool, error) {
	if s.finished {
		return dst, true, nil
	}
	if !s.started {
		dst = s.start(dst)
	}
	if string(data) == "[DONE]" {
		return s.finish(dst), true, nil
	}
	if jsonx.ValidObject(data, 0) != nil {
		return dst, false, apierr.BadGateway("upstream_bad_event", "the upstream sent an event that is not a JSON object")
	}
	doc := jsonx.View(data)
	if e := doc.Get("error"); e.IsObject() {
		return dst, false, apierr.BadGateway("upstream_error", "the upstream failed mid-stream: "+e.Get("message").String())
	}
	choices := doc.Get("choices")
	nchoices := 0
	choices.ForEach(func(_, c jsonx.Result) bool {
		nchoices++
		if c.Get("index").Int() == 0 { // one choice is asked for; others are ignored
			dst = s.choice(c, dst)
		}
		return true
	})
	if u := doc.Get("usage"); u.IsObject() {
		s.msg.usage.read(u)
		if s.sawStop && nchoices == 0 { // OpenAI's usage chunk, the last before [DONE]
			return s.finish(dst), true, nil
		}
	}
	return dst, false, nil
}

// choice translates one chunk's choice.
func (s *stream) choice(c jsonx.Result, dst []byte) []byte {
	delta := c.Get("delta")
	if t := delta.Get("content"); t.Type == jsonx.String && t.Str != "" {
		dst = s.text(t, dst)
	}
	if t := delta.Get("refusal"); t.Type == jsonx.String && t.Str != "" {
		dst = s.text(t, dst)
	}
	delta.Get("tool_calls").ForEach(func(_, tc jsonx.Result) bool {
		dst = s.toolDelta(tc, dst)
		return true
	})
	if r := c.Get("finish_reason"); r.Type == jsonx.String && r.Str != "" {
		dst = s.closeBlock(dst)
		s.msg.setFinish(r.Str, c)
		s.msg.stopSeq = strings.Clone(s.msg.stopSeq)
		s.sawStop = true
	}
	return dst
}

// start appends message_start.
func (s *stream) start(dst []byte) []byte {
	s.started = true
	b := append(s.buf[:0], `{"type":"message_start","message":{"id":`...)
	b = jsonx.Quote(b, s.meta.ID)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = jsonx.Quote(b, s.meta.Model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = appendUsage(b, s.meta.PromptTokens, 0, 0, 0)
	s.buf = append(b, "}}"...)
	return sse.AppendEvent(dst, "message_start", s.buf)
}

// text appends a text fragment (a JSON string literal), opening a text block if the
// open block is not one.
func (s *stream) text(t jsonx.Result, dst []byte) []byte {
	if s.open < 0 || s.msg.blocks[s.open].tool {
		if len(s.msg.blocks) >= maxBlocks {
			return dst
		}
		dst = s.closeBlock(dst)
		s.msg.blocks = append(s.msg.blocks, content{})
		s.open = len(s.msg.blocks) - 1
		b := s.blockStart()
		s.buf = append(b, `{"type":"text","text":""}}`...)
		dst = sse.AppendEvent(dst, "content_block_start", s.buf)
	}
	blk := &s.msg.blocks[s.open]
	blk.text = append(blk.text, t.Str...)
	b := s.blockDelta()
	b = append(b, `"text_delta","text":`...)
	b = append(b, t.Raw...)
	s.buf = append(b, "}}"...)
	return sse.AppendEvent(dst, "content_block_delta", s.buf)
}

// toolDelta appends one tool call delta: a new call opens a tool_use block, arguments
// become an input_json_delta of the call's block.
func (s *stream) toolDelta(tc jsonx.Result, dst []byte) []byte {
	idx := tc.Get("index")
	bi := -1
	if idx.Exists() {
		bi = s.callBlock(idx.Int())
	} else if id := tc.Get("id").Str; id == "" && len(s.calls) > 0 { // no index: the last call
		bi = s.calls[len(s.calls)-1]
	}
	if bi < 0 {
		if len(s.msg.blocks) >= maxBlocks {
			return dst
		}
		dst = s.closeBlock(dst)
		id := strings.Clone(tc.Get("id").Str)
		if id == "" {
			id = toolID(s.meta, len(s.calls))
		}
		s.msg.blocks = append(s.msg.blocks, content{tool: true, id: id, name: strings.Clone(tc.Get("function.name").Str)})
		bi = len(s.msg.blocks) - 1
		s.open = bi
		s.calls = append(s.calls, bi)
		s.callIdx = append(s.callIdx, idx.Int())
		b := s.blockStart()
		b = append(b, `{"type":"tool_use","id":`...)
		b = jsonx.Quote(b, id)
		b = append(b, `,"name":`...)
		b = jsonx.Quote(b, s.msg.blocks[bi].name)
		s.buf = append(b, `,"input":{}}}`...)
		dst = sse.AppendEvent(dst, "content_block_start", s.buf)
	}
	blk := &s.msg.blocks[bi]
	if blk.name == "" { // a server that names the function after the first delta
		blk.name = strings.Clone(tc.Get("function.name").Str)
	}
	args := tc.Get("function.arguments")
	if args.Type != jsonx.String || args.Str == "" {
		return dst
	}
	if bi != s.open {
		return dst // its block is closed: see the type's comment
	}
	blk.args = append(blk.args, args.Str...)
	b := s.blockDelta()
	b = append(b, `"input_json_delta","partial_json":`...)
	b = append(b, args.Raw...)
	s.buf = append(b, "}}"...)
	return sse.AppendEvent(dst, "content_block_delta", s.buf)
}

// callBlock returns the block of the Chat tool call with index i, -1 when it is new.
func (s *stream) callBlock(i int64) int {
	for k, ci := range s.callIdx {
		if ci == i {
			return s.calls[k]
		}
	}
	return -1
}

// blockStart begins a content_block_start's data in s.buf, up to the content block.
func (s *stream) blockStart() []byte {
	b := append(s.buf[:0], `{"type":"content_block_start","index":`...)
	b = strconv.AppendInt(b, int64(s.open), 10)
	return append(b, `,"content_block":`...)
}

// blockDelta begins a content_block_delta's data for the open block, up to the delta type.
func (s *stream) blockDelta() []byte {
	b := append(s.buf[:0], `{"type":"content_block_delta","index":`...)
	b = strconv.AppendInt(b, int64(s.open), 10)
	return append(b, `,"delta":{"type":`...)
}

// closeBlock appends content_block_stop for the open block, if any.
func (s *stream) closeBlock(dst []byte) []byte {
	if s.open < 0 {
		return dst
	}
	b := append(s.buf[:0], `{"type":"content_block_stop","index":`...)
	b = strconv.AppendInt(b, int64(s.open), 10)
	s.buf = append(b, '}')
	s.open = -1
	return sse.AppendEvent(dst, "content_block_stop", s.buf)
}

// finish appends the open block's stop, message_delta and message_stop.
func (s *stream) finish(dst []byte) []byte {
	dst = s.closeBlock(dst)
	s.finished = true
	b := append(s.buf[:0], `{"type":"message_delta","delta":{`...)
	b = s.msg.appendStop(b)
	b = append(b, `},"usage":`...)
	b = s.msg.usage.appendAnthropic(b, s.meta.PromptTokens)
	s.buf = append(b, '}')
	dst = sse.AppendEvent(dst, "message_delta", s.buf)
	return sse.AppendEvent(dst, "message_stop", []byte(`{"type":"message_stop"}`))
}

// Fail appends Anthropic's error event for e ({"type":"error","error":{"type","message"}},
// the type as Error maps e's status), as Anthropic ends a stream that failed: no
// content_block_stop, message_delta or message_stop follows, so no client mistakes the
// answer for a complete one. Events after it are ignored.
func (s *stream) Fail(e *apierr.Error, dst []byte) []byte {
	s.finished = true
	return appendErrorEvent(dst, e)
}

// Usage is the usage the upstream reported so far (unreported until its usage chunk).
func (s *stream) Usage() provider.Usage { return s.msg.usage.provider() }

// Result is the answer as a message object, byte for byte what Response makes of the
// same answer non-streamed; before done, the message so far.
func (s *stream) Result() []byte {
	return s.msg.appendJSON(nil, s.meta)
}
