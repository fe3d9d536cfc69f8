package provider

import (
	"slices"
	"strconv"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/sse"
)

// NewStream returns the decoder for one streamed Messages API answer to r: translated to
// chat.completion.chunk events for OpChat, passed through for OpMessages.
func (t *anthropic) NewStream(r *Request) StreamDecoder {
	if r.Op == OpMessages {
		return &messagesStream{cfg: &t.cfg}
	}
	s := &anthropicStream{cfg: &t.cfg, model: r.ClientModel, created: t.now().Unix(), includeUsage: r.IncludeUsage}
	s.buf = make([]byte, 0, 512) // a chunk is ~250 bytes plus its text
	s.tools = s.toolsArr[:0]
	return s
}

// maxContentBlocks bounds the content block indexes a stream may use, so that a broken
// upstream cannot make the decoder allocate without limit.
const maxContentBlocks = 4096

// anthropicStream translates Anthropic's stream events into chat.completion.chunk events:
//
//	message_start                  -> the role chunk {"role":"assistant","content":""}
//	content_block_start (tool_use) -> a tool call chunk with index, id, type and name
//	content_block_delta (text)     -> a content chunk
//	content_block_delta (json)     -> a tool call chunk with an arguments fragment
//	message_delta                  -> nothing; remembers stop_reason and usage
//	message_stop                   -> the finish_reason chunk, the usage chunk when the
//	                                  client asked for it, then [DONE]
//
// ping, content_block_stop, thinking blocks and event types added later produce nothing;
// an error event ends the stream with a *StreamError. Every chunk carries the same id,
// created and model. Text and JSON fragments are copied as the JSON string literals
// Anthropic sent, never unescaped and re-quoted; each event is parsed once.
type anthropicStream struct {
	cfg          *Config // the provider's, for its error events
	model        string  // the client's model name
	created      int64
	includeUsage bool

	prefix   []byte   // every chunk's opening, through `"choices":[`
	buf      []byte   // the chunk being built, reused
	tools    []int32  // tool call index by content block index, -1 for other blocks
	toolsArr [8]int32 // backs tools, so that most streams need no allocation for it
	ntools   int32
	stop     string // stop_reason from message_delta
	usage    anthropicUsage
	reported bool
}

var _ StreamDecoder = (*anthropicStream)(nil)

// Event translates one Anthropic event, appending zero or more chunks to dst. It reports
// done at message_stop, and returns an unforwarded *StreamError for an error event.
func (s *anthropicStream) Event(ev *sse.Event, dst []byte) ([]byte, bool, error) {
	name := ev.Name
	if len(name) == 0 { // Anthropic names every event; fall back to the data's type
		name = []byte(jsonx.Get(ev.Data, "type").Str)
	}
	switch string(name) {
	case "ping", "content_block_stop":
		return dst, false, nil
	case "message_stop":
		return s.finish(dst), true, nil
	}
	doc := jsonx.Parse(string(ev.Data)) // the event's one copy; Gets below are views into it
	switch string(name) {
	case "message_start":
		msg := doc.Get("message")
		s.setPrefix(msg.Get("id"))
		s.mergeUsage(msg.Get("usage"))
		s.open()
		s.buf = append(s.buf, `{"role":"assistant","content":""}`...)
		return s.close(dst, ""), false, nil
	case "content_block_start":
		return s.blockStart(doc, dst), false, nil
	case "content_block_delta":
		return s.blockDelta(doc, dst), false, nil
	case "message_delta":
		if r := doc.Get("delta.stop_reason").Str; r != "" {
			s.stop = r
		}
		s.mergeUsage(doc.Get("usage"))
		return dst, false, nil
	case "error":
		status := anthropicErrorStatus(doc.Get("error.type").Str)
		return dst, false, &StreamError{Err: anthropicError(s.cfg, status, ev.Data, ""), Forwarded: false}
	}
	return dst, false, nil
}

// Usage returns message_start's input and cache counts and the output count, updated by
// each message_delta (whose counts are cumulative, and override the earlier ones).
func (s *anthropicStream) Usage() Usage {
	if !s.reported {
		return Usage{}
	}
	return s.usage.usage()
}

// blockStart opens a content block. A tool_use block is announced as a tool call at once;
// text blocks start empty and arrive as deltas; other blocks are not shown.
func (s *anthropicStream) blockStart(doc jsonx.Result, dst []byte) []byte {
	block := doc.Get("content_block")
	switch block.Get("type").Str {
	case "text":
		return s.content(dst, block.Get("text"))
	case "tool_use":
		n := s.addTool(doc.Get("index").Int())
		if n < 0 {
			return dst
		}
		s.open()
		s.buf = append(s.buf, `{"tool_calls":[{"index":`...)
		s.buf = strconv.AppendInt(s.buf, int64(n), 10)
		s.buf = append(s.buf, `,"id":`...)
		s.buf = appendJSONString(s.buf, block.Get("id"))
		s.buf = append(s.buf, `,"type":"function","function":{"name":`...)
		s.buf = appendJSONString(s.buf, block.Get("name"))
		s.buf = append(s.buf, `,"arguments":""}}]}`...)
		return s.close(dst, "")
	}
	return dst
}

// blockDelta translates text and tool-input deltas; thinking, signature and citation
// deltas have no OpenAI counterpart.
func (s *anthropicStream) blockDelta(doc jsonx.Result, dst []byte) []byte {
	delta := doc.Get("delta")
	switch delta.Get("type").Str {
	case "text_delta":
		return s.content(dst, delta.Get("text"))
	case "input_json_delta":
		n := s.toolIndex(doc.Get("index").Int())
		frag := delta.Get("partial_json")
		if n < 0 || frag.Str == "" {
			return dst
		}
		s.open()
		s.buf = append(s.buf, `{"tool_calls":[{"index":`...)
		s.buf = strconv.AppendInt(s.buf, int64(n), 10)
		s.buf = append(s.buf, `,"function":{"arguments":`...)
		s.buf = appendJSONString(s.buf, frag)
		s.buf = append(s.buf, `}}]}`...)
		return s.close(dst, "")
	}
	return dst
}

// content appends a content chunk for text, nothing when text is empty.
func (s *anthropicStream) content(dst []byte, text jsonx.Result) []byte {
	if text.Str == "" {
		return dst
	}
	s.open()
	s.buf = append(s.buf, `{"content":`...)
	s.buf = appendJSONString(s.buf, text)
	s.buf = append(s.buf, '}')
	return s.close(dst, "")
}

// finish appends the finish_reason chunk, the usage chunk if asked for, and [DONE].
func (s *anthropicStream) finish(dst []byte) []byte {
	s.open()
	s.buf = append(s.buf, "{}"...)
	dst = s.close(dst, finishReason(s.stop))
	if s.includeUsage {
		u := s.usage.chat()
		b, _ := jsonx.Marshal(&u) // a struct of integers always encodes
		s.setPrefix(jsonx.Result{})
		s.buf = append(s.buf[:0], s.prefix...)
		s.buf = append(s.buf, `],"usage":`...)
		s.buf = append(s.buf, b...)
		s.buf = append(s.buf, '}')
		dst = sse.AppendData(dst, s.buf)
	}
	return sse.AppendDone(dst)
}

// setPrefix builds the chunk opening for Anthropic's message id (a JSON string), once:
// later calls keep the first, and a stream that skipped message_start gets "chatcmpl-".
func (s *anthropicStream) setPrefix(id jsonx.Result) {
	if s.prefix != nil {
		return
	}
	p := make([]byte, 0, 96+len(id.Raw)+len(s.model))
	p = append(p, `{"id":`...)
	p = appendJSONString(p, id)
	p = slices.Insert(p, len(`{"id":"`), []byte("chatcmpl-")...) // inside the id's quotes
	p = append(p, `,"object":"chat.completion.chunk","created":`...)
	p = strconv.AppendInt(p, s.created, 10)
	p = append(p, `,"model":`...)
	p = jsonx.Quote(p, s.model)
	s.prefix = append(p, `,"choices":[`...)
}

// open starts a chunk in s.buf, up to the delta object it must be followed by.
func (s *anthropicStream) open() {
	s.setPrefix(jsonx.Result{})
	s.buf = append(s.buf[:0], s.prefix...)
	s.buf = append(s.buf, `{"index":0,"delta":`...)
}

// close ends the chunk in s.buf with finish_reason (null when empty; else one of
// finishReason's constants, which need no escaping) and appends it to dst as one event.
func (s *anthropicStream) close(dst []byte, finish string) []byte {
	s.buf = append(s.buf, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		s.buf = append(s.buf, "null"...)
	} else {
		s.buf = append(append(append(s.buf, '"'), finish...), '"')
	}
	s.buf = append(s.buf, "}]}"...)
	return sse.AppendData(dst, s.buf)
}

// addTool records content block i as the next tool call and returns the call's index,
// or -1 when i is out of range.
func (s *anthropicStream) addTool(i int64) int32 {
	if i < 0 || i >= maxContentBlocks {
		return -1
	}
	for int64(len(s.tools)) <= i {
		s.tools = append(s.tools, -1)
	}
	s.tools[i] = s.ntools
	s.ntools++
	return s.tools[i]
}

// toolIndex returns the tool call index of content block i, -1 when it is not a tool call.
func (s *anthropicStream) toolIndex(i int64) int32 {
	if i < 0 || i >= int64(len(s.tools)) {
		return -1
	}
	return s.tools[i]
}

// mergeUsage takes the counts present in an Anthropic usage object (see merge).
func (s *anthropicStream) mergeUsage(u jsonx.Result) {
	if s.usage.merge(u) {
		s.reported = true
	}
}

// merge takes the counts present in the Anthropic usage object r and reports whether r
// is one. Counts are cumulative, so a later event's count replaces an earlier one;
// absent and null counts leave the earlier ones alone.
func (u *anthropicUsage) merge(r jsonx.Result) bool {
	if !r.IsObject() {
		return false
	}
	r.ForEach(func(k, v jsonx.Result) bool {
		if v.Raw == "null" {
			return true
		}
		switch k.Str {
		case "input_tokens":
			u.InputTokens = v.Int()
		case "output_tokens":
			u.OutputTokens = v.Int()
		case "cache_creation_input_tokens":
			u.CacheCreationInputTokens = v.Int()
		case "cache_read_input_tokens":
			u.CacheReadInputTokens = v.Int()
		}
		return true
	})
	return true
}

// appendJSONString appends the JSON string r: its literal as received when that is safe
// to embed in an SSE data line, else r's value quoted afresh.
func appendJSONString(dst []byte, r jsonx.Result) []byte {
	if r.Type == jsonx.String && safeLiteral(r.Raw) {
		return append(dst, r.Raw...)
	}
	return jsonx.Quote(dst, r.Str)
}

// safeLiteral reports whether raw, a string literal as the upstream wrote it, is valid
// JSON with no control byte (a raw newline would break the SSE line, a raw NUL the JSON):
// the upstream's bytes are not trusted to be valid JSON.
func safeLiteral(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x20 {
			return false
		}
	}
	return jsonx.Valid([]byte(raw))
}
