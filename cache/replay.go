package cache

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/sse"
)

// ErrNotReplayable is returned when a stored answer cannot be replayed in the requested
// form: an embeddings answer as a stream, or a chat answer carrying logprobs, audio or
// annotations as a stream (their streamed shapes are not reproduced). Lookup treats such
// an entry as a miss for that request.
var ErrNotReplayable = errors.New("cache: entry cannot be replayed in this form")

// ReplayOptions shape one replay.
type ReplayOptions struct {
	// ID replaces the stored response id when not empty (so clients that deduplicate by
	// id see a fresh one); the gateway passes a new "chatcmpl-..." id.
	ID string
	// Created replaces the stored created time (Unix seconds) when not zero.
	Created int64
	// IncludeUsage adds the usage chunk (and "usage":null on every other chunk), as
	// OpenAI does for stream_options.include_usage. Ignored for JSON replies.
	IncludeUsage bool
	// ChunkBytes is the target size of one content chunk in bytes; default 32. Text is
	// cut after whitespace once the target is reached, never inside a UTF-8 sequence.
	ChunkBytes int
}

// ReplayJSON returns the stored answer as the non-stream response body, with id and
// created replaced as opt says. The result is a new slice; e is not modified.
func ReplayJSON(e *Entry, opt ReplayOptions) ([]byte, error) {
	body := e.Body
	var err error
	if opt.ID == "" && opt.Created == 0 {
		return append([]byte(nil), body...), nil
	}
	if opt.ID != "" {
		if body, err = jsonx.SetTopLevel(body, "id", jsonx.Quote(nil, opt.ID)); err != nil {
			return nil, err
		}
	}
	if opt.Created != 0 {
		if body, err = jsonx.SetTopLevel(body, "created", strconv.AppendInt(nil, opt.Created, 10)); err != nil {
			return nil, err
		}
	}
	return body, nil // SetTopLevel always returns a new slice
}

// streamable reports whether the stored answer can be replayed as SSE.
func streamable(e *Entry) error {
	if e.Op == provider.OpEmbedding {
		return ErrNotReplayable
	}
	ok := true
	jsonx.Get(e.Body, "choices").ForEach(func(_, c jsonx.Result) bool {
		if lp := c.Get("logprobs"); lp.Exists() && lp.Type != nullType {
			ok = false
		}
		m := c.Get("message")
		if a := m.Get("audio"); a.Exists() && a.Type != nullType {
			ok = false
		}
		if a := m.Get("annotations"); a.IsArray() && len(a.Array()) > 0 {
			ok = false
		}
		if f := m.Get("function_call"); f.Exists() && f.Type != nullType {
			ok = false
		}
		return ok
	})
	if !ok {
		return ErrNotReplayable
	}
	return nil
}

// AppendSSE appends the stored answer to dst as a complete SSE stream, shaped as OpenAI
// streams it: for chat, a role chunk, content (or refusal) chunks, tool-call chunks (the
// first with id, type and name, then argument fragments), a finish chunk per choice, the
// usage chunk when opt.IncludeUsage, then [DONE]. Legacy completions stream text chunks.
func AppendSSE(dst []byte, e *Entry, opt ReplayOptions) ([]byte, error) {
	if err := streamable(e); err != nil {
		return dst, err
	}
	if opt.ChunkBytes <= 0 {
		opt.ChunkBytes = 32
	}
	root := jsonx.Get(e.Body, "@this")
	legacy := root.Get("object").Str == "text_completion"
	r := replayer{dst: dst, opt: opt}
	r.prefix, r.suffix = chunkFrame(root, opt, legacy)
	root.Get("choices").ForEach(func(_, c jsonx.Result) bool {
		if legacy {
			r.legacyChoice(c)
		} else {
			r.chatChoice(c)
		}
		return true
	})
	if opt.IncludeUsage {
		u := root.Get("usage")
		chunk := append([]byte(nil), r.prefix...)
		chunk = append(chunk, `],"usage":`...)
		if u.Exists() {
			chunk = append(chunk, u.Raw...)
		} else {
			chunk = append(chunk, "null"...)
		}
		r.dst = sse.AppendData(r.dst, append(chunk, '}'))
	}
	return sse.AppendDone(r.dst), nil
}

// chunkFrame returns the bytes every chunk starts with (up to and including the opening
// bracket of "choices") and ends with.
func chunkFrame(root jsonx.Result, opt ReplayOptions, legacy bool) (prefix, suffix []byte) {
	id := root.Get("id").Str
	if opt.ID != "" {
		id = opt.ID
	}
	created := root.Get("created").Int()
	if opt.Created != 0 {
		created = opt.Created
	}
	object := "chat.completion.chunk"
	if legacy {
		object = "text_completion"
	}
	p := append([]byte(`{"id":`), jsonx.Quote(nil, id)...)
	p = append(p, `,"object":"`...)
	p = append(p, object...)
	p = append(p, `","created":`...)
	p = strconv.AppendInt(p, created, 10)
	p = append(p, `,"model":`...)
	p = jsonx.Quote(p, root.Get("model").Str)
	if t := root.Get("service_tier"); t.Type == jsonx.String {
		p = append(p, `,"service_tier":`...)
		p = jsonx.Quote(p, t.Str)
	}
	if f := root.Get("system_fingerprint"); f.Type == jsonx.String {
		p = append(p, `,"system_fingerprint":`...)
		p = jsonx.Quote(p, f.Str)
	}
	p = append(p, `,"choices":[`...)
	s := []byte("]}")
	if opt.IncludeUsage {
		s = []byte(`],"usage":null}`)
	}
	return p, s
}

// replayer writes chunks for one replay.
type replayer struct {
	dst            []byte
	opt            ReplayOptions
	prefix, suffix []byte
	chunk          []byte
}

// emit appends one chunk whose choice object is choice.
func (r *replayer) emit(choice []byte) {
	r.chunk = append(append(append(r.chunk[:0], r.prefix...), choice...), r.suffix...)
	r.dst = sse.AppendData(r.dst, r.chunk)
}

// choiceHead starts a choice object: {"index":N,"delta":
func choiceHead(b []byte, index int64, key string) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, index, 10)
	b = append(b, ',', '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

const choiceTail = `,"logprobs":null,"finish_reason":null}`

func (r *replayer) chatChoice(c jsonx.Result) {
	idx := c.Get("index").Int()
	m := c.Get("message")
	content, refusal := m.Get("content"), m.Get("refusal")
	role := m.Get("role").Str
	if role == "" {
		role = "assistant"
	}
	tools := m.Get("tool_calls").Array()
	var b []byte
	toolsOnly := content.Type != jsonx.String && len(tools) > 0
	if !toolsOnly {
		// Role chunk, as OpenAI sends it: empty content, null refusal.
		b = choiceHead(b, idx, "delta")
		b = append(b, `{"role":`...)
		b = jsonx.Quote(b, role)
		b = append(b, `,"content":"","refusal":null}`...)
		r.emit(append(b, choiceTail...))
	}
	if rc := m.Get("reasoning_content"); rc.Type == jsonx.String {
		r.textChunks(idx, "reasoning_content", rc.Str)
	}
	if content.Type == jsonx.String {
		r.textChunks(idx, "content", content.Str)
	}
	if refusal.Type == jsonx.String {
		r.textChunks(idx, "refusal", refusal.Str)
	}
	for i, tc := range tools {
		// With no content, the first tool call carries the role (as OpenAI sends it).
		r.toolChunks(idx, int64(i), tc, toolsOnly && i == 0, role)
	}
	b = choiceHead(b[:0], idx, "delta")
	b = append(b, `{},"logprobs":null,"finish_reason":`...)
	b = jsonx.Quote(b, c.Get("finish_reason").Str)
	r.emit(append(b, '}'))
}

// textChunks emits s as delta.<field> fragments.
func (r *replayer) textChunks(idx int64, field, s string) {
	var b []byte
	for piece := range splitText(s, r.opt.ChunkBytes) {
		b = choiceHead(b[:0], idx, "delta")
		b = append(b, `{"`...)
		b = append(b, field...)
		b = append(b, `":`...)
		b = jsonx.Quote(b, piece)
		b = append(b, '}')
		r.emit(append(b, choiceTail...))
	}
}

func (r *replayer) toolChunks(idx, i int64, tc jsonx.Result, withRole bool, role string) {
	head := func(b []byte) []byte {
		b = choiceHead(b, idx, "delta")
		b = append(b, `{"tool_calls":[{"index":`...)
		return strconv.AppendInt(b, i, 10)
	}
	var b []byte
	if withRole {
		b = choiceHead(b, idx, "delta")
		b = append(b, `{"role":`...)
		b = jsonx.Quote(b, role)
		b = append(b, `,"content":null,"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, i, 10)
	} else {
		b = head(nil)
	}
	b = append(b, `,"id":`...)
	b = jsonx.Quote(b, tc.Get("id").Str)
	b = append(b, `,"type":`...)
	typ := tc.Get("type").Str
	if typ == "" {
		typ = "function"
	}
	b = jsonx.Quote(b, typ)
	b = append(b, `,"function":{"name":`...)
	b = jsonx.Quote(b, tc.Get("function.name").Str)
	b = append(b, `,"arguments":""}}]`...)
	if withRole {
		b = append(b, `,"refusal":null`...)
	}
	b = append(b, '}')
	r.emit(append(b, choiceTail...))
	for piece := range splitText(tc.Get("function.arguments").Str, r.opt.ChunkBytes) {
		b = head(b[:0])
		b = append(b, `,"function":{"arguments":`...)
		b = jsonx.Quote(b, piece)
		b = append(b, `}}]}`...)
		r.emit(append(b, choiceTail...))
	}
}

func (r *replayer) legacyChoice(c jsonx.Result) {
	idx := c.Get("index").Int()
	var b []byte
	for piece := range splitText(c.Get("text").Str, r.opt.ChunkBytes) {
		b = append(b[:0], `{"text":`...)
		b = jsonx.Quote(b, piece)
		b = append(b, `,"index":`...)
		b = strconv.AppendInt(b, idx, 10)
		r.emit(append(b, choiceTail...))
	}
	b = append(b[:0], `{"text":"","index":`...)
	b = strconv.AppendInt(b, idx, 10)
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	b = jsonx.Quote(b, c.Get("finish_reason").Str)
	r.emit(append(b, '}'))
}

// splitText yields s in pieces of about target bytes: each piece ends after a space once
// it reached target, or at 2*target on a rune boundary when there is no space.
func splitText(s string, target int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(s) > 0 {
			n := len(s)
			if n > target {
				n = cutPoint(s, target)
			}
			if !yield(s[:n]) {
				return
			}
			s = s[n:]
		}
	}
}

func cutPoint(s string, target int) int {
	limit := min(2*target, len(s))
	for i := target; i < limit; i++ {
		if s[i-1] == ' ' || s[i-1] == '\n' {
			return i
		}
	}
	for limit < len(s) && !utf8.RuneStart(s[limit]) {
		limit--
	}
	if limit == 0 {
		limit = target
		for limit < len(s) && !utf8.RuneStart(s[limit]) {
			limit++
		}
	}
	return limit
}
