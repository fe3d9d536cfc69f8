package mock

import (
	"bufio"
	"encoding/hex"
	"hash/fnv"
	"net"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/sse"
)

// answer is what the mock replies to one chat request, whether streamed or not.
type answer struct {
	id, model, text string
	toolCall        *toolCall
	promptTokens    int
	outputTokens    int
}

type toolCall struct{ id, name, args string }

// compose derives the answer from the request: with tools offered and no tool result
// yet, it calls the first tool; after a tool result it reports the result; otherwise it
// echoes the last user message (or Config.Reply).
func compose(body []byte, cfg *Config) answer {
	a := answer{model: jsonx.Get(body, "model").String()}
	msgs := jsonx.Get(body, "messages")
	last := msgs.Get("@reverse|0")
	lastUser := ""
	words := 0
	msgs.ForEach(func(_, m jsonx.Result) bool {
		c := contentText(m.Get("content"))
		words += len(strings.Fields(c)) + 3
		if m.Get("role").String() == "user" {
			lastUser = c
		}
		return true
	})
	a.promptTokens = words
	tools := jsonx.Get(body, "tools")
	switch {
	case last.Get("role").String() == "tool":
		a.text = "The tool returned: " + contentText(last.Get("content"))
	case tools.IsArray() && len(tools.Array()) > 0 && jsonx.Get(body, "tool_choice").String() != "none":
		name := tools.Get("0.function.name").String()
		args, _ := jsonx.Marshal(map[string]string{"query": lastUser})
		a.toolCall = &toolCall{id: "call_" + hash(lastUser)[:12], name: name, args: string(args)}
	case cfg.Reply != "":
		a.text = cfg.Reply
	default:
		a.text = "Mock reply to: " + lastUser
	}
	a.id = "chatcmpl-mock" + hash(string(body))[:16]
	a.outputTokens = len(strings.Fields(a.text)) + 1
	if a.toolCall != nil {
		a.outputTokens = 12
	}
	return a
}

func contentText(c jsonx.Result) string {
	if c.IsArray() {
		var b strings.Builder
		c.ForEach(func(_, p jsonx.Result) bool {
			b.WriteString(p.Get("text").String())
			return true
		})
		return b.String()
	}
	return c.String()
}

// hash returns 32 hex digits that depend only on s.
func hash(s string) string {
	h := fnv.New128a()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

const created = 1700000000

func (s *Server) chat(ctx *fasthttp.RequestCtx, cfg *Config) {
	body := ctx.PostBody()
	if !jsonx.Valid(body) {
		writeError(ctx, 400, "")
		return
	}
	a := compose(body, cfg)
	if jsonx.Get(body, "stream").Bool() {
		s.streamChat(ctx, cfg, a, jsonx.Get(body, "stream_options.include_usage").Bool())
		return
	}
	msg := map[string]any{"role": "assistant", "content": a.text, "refusal": nil}
	finish := "stop"
	if a.toolCall != nil {
		msg["content"] = nil
		msg["tool_calls"] = []any{map[string]any{"id": a.toolCall.id, "type": "function",
			"function": map[string]any{"name": a.toolCall.name, "arguments": a.toolCall.args}}}
		finish = "tool_calls"
	}
	out, _ := jsonx.Marshal(map[string]any{
		"id": a.id, "object": "chat.completion", "created": created, "model": a.model,
		"choices":            []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
		"usage":              usage(a),
		"system_fingerprint": "fp_mock",
	})
	ctx.SetContentType("application/json")
	ctx.SetBody(out)
}

func usage(a answer) map[string]any {
	return map[string]any{"prompt_tokens": a.promptTokens, "completion_tokens": a.outputTokens,
		"total_tokens": a.promptTokens + a.outputTokens}
}

// split cuts text into n pieces at byte boundaries that keep UTF-8 intact.
func split(text string, n int) []string {
	if n <= 1 || len(text) == 0 {
		return []string{text}
	}
	var parts []string
	size := (len(text) + n - 1) / n
	for len(text) > 0 {
		end := min(size, len(text))
		for end < len(text) && !utf8Start(text[end]) {
			end++
		}
		parts = append(parts, text[:end])
		text = text[end:]
	}
	return parts
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func (s *Server) streamChat(ctx *fasthttp.RequestCtx, cfg *Config, a answer, includeUsage bool) {
	conn := ctx.Conn()
	chunk := func(delta map[string]any, finish any) []byte {
		b, _ := jsonx.Marshal(map[string]any{"id": a.id, "object": "chat.completion.chunk", "created": created,
			"model": a.model, "system_fingerprint": "fp_mock",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}})
		return sse.AppendData(nil, b)
	}
	var frames [][]byte
	frames = append(frames, chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil))
	if a.toolCall != nil {
		frames = append(frames, chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "id": a.toolCall.id,
			"type": "function", "function": map[string]any{"name": a.toolCall.name, "arguments": ""}}}}, nil))
		for _, p := range split(a.toolCall.args, cfg.Chunks) {
			frames = append(frames, chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0,
				"function": map[string]any{"arguments": p}}}}, nil))
		}
	} else {
		for _, p := range split(a.text, cfg.Chunks) {
			frames = append(frames, chunk(map[string]any{"content": p}, nil))
		}
	}
	finish := "stop"
	if a.toolCall != nil {
		finish = "tool_calls"
	}
	frames = append(frames, chunk(map[string]any{}, finish))
	if includeUsage {
		b, _ := jsonx.Marshal(map[string]any{"id": a.id, "object": "chat.completion.chunk", "created": created,
			"model": a.model, "system_fingerprint": "fp_mock", "choices": []any{}, "usage": usage(a)})
		frames = append(frames, sse.AppendData(nil, b))
	}
	frames = append(frames, sse.AppendDone(nil))
	s.streamTo(ctx, func(w *bufio.Writer) error {
		return s.writeFrames(w, conn, cfg, frames)
	})
}

// writeFrames sends frames with the configured pacing and faults; the fault knobs count
// the frames after the first (role) frame as content chunks. It returns nil when every
// frame went out, errCut for a deliberate cut, and any other error when the client went
// away.
func (s *Server) writeFrames(w *bufio.Writer, conn net.Conn, cfg *Config, frames [][]byte) error {
	for i, f := range frames {
		sent := i - 1 // content chunks already sent before this frame
		switch {
		case cfg.CutAfterChunks > 0 && sent == cfg.CutAfterChunks:
			if err := w.Flush(); err != nil {
				return err
			}
			return errCut
		case cfg.StallAfterChunks > 0 && sent == cfg.StallAfterChunks:
			waitGone(conn)
			return errGone
		case cfg.ErrorAfterChunks > 0 && sent == cfg.ErrorAfterChunks:
			_, _ = w.Write(sse.AppendData(nil, []byte(`{"error":{"message":"mock failure mid-stream","type":"server_error","param":null,"code":"mock_error"}}`)))
			return w.Flush()
		}
		if i > 0 && cfg.ChunkInterval > 0 {
			time.Sleep(cfg.ChunkInterval)
		}
		if _, err := w.Write(f); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// waitGone keeps a stream open and silent until the client goes away, which it notices
// by reading the connection (the client sends nothing more on it). It gives up after a
// minute.
func waitGone(conn net.Conn) {
	deadline := time.Now().Add(time.Minute)
	one := make([]byte, 1)
	for time.Now().Before(deadline) {
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := conn.Read(one); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return
		}
	}
}
