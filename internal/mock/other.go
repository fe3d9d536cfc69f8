package mock

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"math"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/sse"
)

// Models lists the models the mock serves (any name is accepted in requests).
var models = []string{"mock-chat", "mock-embed", "gpt-4o-mini", "gpt-4o", "text-embedding-3-small"}

func writeModels(ctx *fasthttp.RequestCtx) {
	data := make([]any, 0, len(models))
	for _, m := range models {
		data = append(data, map[string]any{"id": m, "object": "model", "created": created, "owned_by": "switchyard-mock"})
	}
	b, _ := jsonx.Marshal(map[string]any{"object": "list", "data": data})
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func writeError(ctx *fasthttp.RequestCtx, status int, retryAfter string) {
	writeErrorBody(ctx, status, retryAfter, "", "")
}

// writeErrorBody answers with an OpenAI error envelope; empty code and message take
// defaults that depend on the status.
func writeErrorBody(ctx *fasthttp.RequestCtx, status int, retryAfter, code, message string) {
	typ, defCode := "server_error", "mock_error"
	switch {
	case status == 429:
		typ, defCode = "rate_limit_error", "rate_limit_exceeded"
	case status < 500:
		typ = "invalid_request_error"
	}
	if code == "" {
		code = defCode
	}
	if message == "" {
		message = "mock upstream error " + fasthttp.StatusMessage(status)
	}
	if retryAfter != "" {
		ctx.Response.Header.Set("Retry-After", retryAfter)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	body, _ := jsonx.Marshal(map[string]any{"error": map[string]any{"message": message, "type": typ, "param": nil, "code": code}})
	ctx.SetBody(body)
}

func (s *Server) completion(ctx *fasthttp.RequestCtx, cfg *Config) {
	body := ctx.PostBody()
	if !jsonx.Valid(body) {
		writeError(ctx, 400, "")
		return
	}
	prompt := jsonx.Get(body, "prompt").String()
	text := cfg.Reply
	if text == "" {
		text = "Mock completion of: " + prompt
	}
	a := answer{id: "cmpl-mock" + hash(string(body))[:16], model: jsonx.Get(body, "model").String(), text: text,
		promptTokens: len(strings.Fields(prompt)) + 1, outputTokens: len(strings.Fields(text)) + 1}
	if !jsonx.Get(body, "stream").Bool() {
		out, _ := jsonx.Marshal(map[string]any{"id": a.id, "object": "text_completion", "created": created, "model": a.model,
			"choices": []any{map[string]any{"index": 0, "text": a.text, "logprobs": nil, "finish_reason": "stop"}},
			"usage":   usage(a)})
		ctx.SetContentType("application/json")
		ctx.SetBody(out)
		return
	}
	frame := func(text string, finish any, u any) []byte {
		m := map[string]any{"id": a.id, "object": "text_completion", "created": created, "model": a.model,
			"choices": []any{map[string]any{"index": 0, "text": text, "logprobs": nil, "finish_reason": finish}}}
		if u != nil {
			m["choices"], m["usage"] = []any{}, u
		}
		b, _ := jsonx.Marshal(m)
		return sse.AppendData(nil, b)
	}
	var frames [][]byte
	frames = append(frames, frame("", nil, nil))
	for _, p := range split(a.text, cfg.Chunks) {
		frames = append(frames, frame(p, nil, nil))
	}
	frames = append(frames, frame("", "stop", nil))
	if jsonx.Get(body, "stream_options.include_usage").Bool() {
		frames = append(frames, frame("", nil, usage(a)))
	}
	frames = append(frames, sse.AppendDone(nil))
	conn := ctx.Conn()
	s.streamTo(ctx, func(w *bufio.Writer) error { return s.writeFrames(w, conn, cfg, frames) })
}

// embeddings answers with deterministic unit vectors derived from each input's text.
func embeddings(ctx *fasthttp.RequestCtx, cfg *Config) {
	body := ctx.PostBody()
	if !jsonx.Valid(body) {
		writeError(ctx, 400, "")
		return
	}
	dims := int(jsonx.Get(body, "dimensions").Int())
	if dims <= 0 {
		dims = cfg.Dimensions
	}
	var inputs []string
	in := jsonx.Get(body, "input")
	switch {
	case in.IsArray():
		in.ForEach(func(_, v jsonx.Result) bool {
			inputs = append(inputs, v.Raw)
			return true
		})
	case in.Exists():
		inputs = append(inputs, in.Raw)
	}
	if len(inputs) == 0 {
		writeError(ctx, 400, "")
		return
	}
	for _, s := range inputs {
		if s == `""` || s == "[]" {
			ctx.SetStatusCode(400)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"error":{"message":"'$.input' is invalid: empty input","type":"invalid_request_error","param":"input","code":null}}`)
			return
		}
	}
	data := make([]any, len(inputs))
	tokens := 0
	for i, s := range inputs {
		var emb any = Vector(s, dims)
		if jsonx.Get(body, "encoding_format").String() == "base64" {
			emb = base64Vector(Vector(s, dims))
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
		tokens += len(strings.Fields(s)) + 1
	}
	out, _ := jsonx.Marshal(map[string]any{"object": "list", "data": data, "model": jsonx.Get(body, "model").String(),
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens}})
	ctx.SetContentType("application/json")
	ctx.SetBody(out)
}

// base64Vector encodes v as OpenAI does for encoding_format "base64": little-endian
// float32 values, base64 encoded.
func base64Vector(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Vector is the mock's embedding of the raw JSON input text s: a unit vector of dims
// floats that depends only on s.
func Vector(s string, dims int) []float32 {
	v := make([]float32, dims)
	var norm float64
	for i := range v {
		h := fnv.New64a()
		h.Write([]byte(s))
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(i))
		h.Write(b[:])
		x := float64(h.Sum64()%2000)/1000 - 1
		v[i] = float32(x)
		norm += x * x
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return v
}
