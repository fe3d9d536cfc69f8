package cache

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/sse"
)

// Live streams as OpenAI sends them (stream_options.include_usage on).
const (
	liveHead = `{"id":"chatcmpl-live1","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_abc","choices":[`
	liveTail = `],"usage":null}`

	liveText = "data: " + liveHead + `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}` + liveTail + "\n\n" +
		"data: " + liveHead + `{"index":0,"delta":{"content":"The capital"},"logprobs":null,"finish_reason":null}` + liveTail + "\n\n" +
		"data: " + liveHead + `{"index":0,"delta":{"content":" of France is"},"logprobs":null,"finish_reason":null}` + liveTail + "\n\n" +
		"data: " + liveHead + `{"index":0,"delta":{"content":" Paris — «ville lumière» 🗼.\n"},"logprobs":null,"finish_reason":null}` + liveTail + "\n\n" +
		"data: " + liveHead + `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}` + liveTail + "\n\n" +
		"data: " + liveHead + `],"usage":{"prompt_tokens":14,"completion_tokens":12,"total_tokens":26,"prompt_tokens_details":{"cached_tokens":2,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}` + "\n\n" +
		"data: [DONE]\n\n"

	liveTools = "data: " + liveHead + `{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}` + liveTail + "\n\n" +
		"data: " + liveHead + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"logprobs":null,"finish_reason":null}` + liveTail + "\n\n" +
		"data: " + liveHead + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"logprobs":null,"finish_reason":null}` + liveTail + "\n\n" +
		"data: " + liveHead + `{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":""}}]},"logprobs":null,"finish_reason":null}` + liveTail + "\n\n" +
		"data: " + liveHead + `{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"tz\":\"CET\"}"}}]},"logprobs":null,"finish_reason":null}` + liveTail + "\n\n" +
		"data: " + liveHead + `{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}` + liveTail + "\n\n" +
		"data: " + liveHead + `],"usage":{"prompt_tokens":80,"completion_tokens":30,"total_tokens":110}}` + "\n\n" +
		"data: [DONE]\n\n"

	liveJSON = `{"id":"chatcmpl-j1","object":"chat.completion","created":1730000001,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Two plus two is four. It has been four for a long while, and it will stay four tomorrow.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":20,"total_tokens":29},"service_tier":"default","system_fingerprint":"fp_j"}`
)

// assemble feeds an SSE text to an Assembler.
func assemble(t *testing.T, stream string) ([]byte, provider.Usage, error) {
	t.Helper()
	a := NewAssembler()
	r := sse.NewReader(strings.NewReader(stream), 0)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, provider.Usage{}, err
		}
		a.Add(ev.Data)
	}
	return a.Result()
}

// sdkResult is what an application using go-openai sees of an answer.
type sdkResult struct {
	content, refusal, finish string
	tools                    []openai.ToolCall
	usage                    *openai.Usage
	chunks                   int
}

// serve answers every request with body and content type.
func serve(t *testing.T, body []byte, contentType string) *openai.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	cfg := openai.DefaultConfig("test")
	cfg.BaseURL = srv.URL + "/v1"
	return openai.NewClientWithConfig(cfg)
}

// readStream consumes an SSE body with go-openai's stream reader, the way an
// application assembles it.
func readStream(t *testing.T, body []byte) sdkResult {
	t.Helper()
	c := serve(t, body, "text/event-stream")
	st, err := c.CreateChatCompletionStream(context.Background(), openai.ChatCompletionRequest{Model: "gpt-4o-mini", StreamOptions: &openai.StreamOptions{IncludeUsage: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var res sdkResult
	var content, refusal strings.Builder
	for {
		chunk, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		res.chunks++
		if chunk.Usage != nil {
			res.usage = chunk.Usage
		}
		for _, ch := range chunk.Choices {
			content.WriteString(ch.Delta.Content)
			refusal.WriteString(ch.Delta.Refusal)
			if ch.FinishReason != "" {
				res.finish = string(ch.FinishReason)
			}
			for _, tc := range ch.Delta.ToolCalls {
				i := *tc.Index
				for len(res.tools) <= i {
					res.tools = append(res.tools, openai.ToolCall{})
				}
				if tc.ID != "" {
					res.tools[i].ID, res.tools[i].Type = tc.ID, tc.Type
				}
				res.tools[i].Function.Name += tc.Function.Name
				res.tools[i].Function.Arguments += tc.Function.Arguments
			}
		}
	}
	res.content, res.refusal = content.String(), refusal.String()
	return res
}

// readJSON decodes a non-stream body with go-openai.
func readJSON(t *testing.T, body []byte) sdkResult {
	t.Helper()
	c := serve(t, body, "application/json")
	resp, err := c.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{Model: "gpt-4o-mini"})
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Choices[0].Message
	u := resp.Usage
	return sdkResult{content: m.Content, refusal: m.Refusal, finish: string(resp.Choices[0].FinishReason), tools: m.ToolCalls, usage: &u, chunks: 1}
}

func sameAnswer(t *testing.T, got, want sdkResult) {
	t.Helper()
	if got.content != want.content || got.refusal != want.refusal || got.finish != want.finish {
		t.Fatalf("answer differs:\n got %q %q %q\nwant %q %q %q", got.content, got.refusal, got.finish, want.content, want.refusal, want.finish)
	}
	if !slices.EqualFunc(got.tools, want.tools, func(a, b openai.ToolCall) bool {
		return a.ID == b.ID && a.Type == b.Type && a.Function == b.Function
	}) {
		t.Fatalf("tool calls differ:\n got %+v\nwant %+v", got.tools, want.tools)
	}
	if (got.usage == nil) != (want.usage == nil) || got.usage != nil && (got.usage.PromptTokens != want.usage.PromptTokens ||
		got.usage.CompletionTokens != want.usage.CompletionTokens || got.usage.TotalTokens != want.usage.TotalTokens) {
		t.Fatalf("usage differs: got %+v want %+v", got.usage, want.usage)
	}
}

// shapes returns the set of JSON shapes (leaf paths and types, array positions folded)
// of the chunks in an SSE text, ignoring values and the inside of usage objects.
func shapes(t *testing.T, stream []byte) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	r := sse.NewReader(strings.NewReader(string(stream)), 0)
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.IsDone() {
			out["[DONE]"] = true
			continue
		}
		if !jsonx.Valid(ev.Data) {
			t.Fatalf("chunk is not JSON: %s", ev.Data)
		}
		var paths []string
		var walk func(prefix string, v jsonx.Result)
		walk = func(prefix string, v jsonx.Result) {
			switch {
			case v.IsObject() && prefix == ".usage":
				paths = append(paths, prefix+"{}") // the usage object is the provider's, as stored
			case v.IsObject():
				paths = append(paths, prefix+"{}")
				v.ForEach(func(k, e jsonx.Result) bool { walk(prefix+"."+k.Str, e); return true })
			case v.IsArray():
				paths = append(paths, prefix+"[]")
				v.ForEach(func(_, e jsonx.Result) bool { walk(prefix+".#", e); return true })
			default:
				paths = append(paths, prefix+":"+v.Type.String())
			}
		}
		walk("", jsonx.Get(ev.Data, "@this"))
		slices.Sort(paths)
		out[strings.Join(slices.Compact(paths), " ")] = true
	}
	return out
}

func entryOf(t *testing.T, body []byte) *Entry {
	t.Helper()
	root := jsonx.Get(body, "@this")
	return &Entry{Op: provider.OpChat, Body: body, Model: root.Get("model").Str, Usage: provider.OpenAIUsage(root.Get("usage"))}
}

func TestReplayedStreamsLookLikeLiveOnes(t *testing.T) {
	tests := []struct {
		name string
		live string
	}{
		{"text answer with usage", liveText},
		{"two parallel tool calls", liveTools},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, usage, err := assemble(t, tt.live)
			if err != nil {
				t.Fatal(err)
			}
			if !usage.Reported {
				t.Fatal("usage not read from the stream")
			}
			live := readStream(t, []byte(tt.live))
			for _, size := range []int{1, 4, 32, 1000} {
				replay, err := AppendSSE(nil, entryOf(t, body), ReplayOptions{IncludeUsage: true, ChunkBytes: size})
				if err != nil {
					t.Fatal(err)
				}
				sameAnswer(t, readStream(t, replay), live)
				if again, _, err := assemble(t, string(replay)); err != nil || string(again) != string(body) {
					t.Fatalf("chunk size %d: replay does not assemble back to the entry:\n%s\n%s (%v)", size, again, body, err)
				}
				liveShapes := shapes(t, []byte(tt.live))
				for s := range shapes(t, replay) {
					if !liveShapes[s] {
						t.Fatalf("chunk size %d: replayed chunk shape never seen live:\n%s", size, s)
					}
				}
			}
			// The same entry served as JSON gives the same answer.
			js, err := ReplayJSON(entryOf(t, body), ReplayOptions{ID: "chatcmpl-new", Created: 42})
			if err != nil {
				t.Fatal(err)
			}
			sameAnswer(t, readJSON(t, js), live)
			if jsonx.Get(js, "id").Str != "chatcmpl-new" || jsonx.Get(js, "created").Int() != 42 {
				t.Fatalf("id and created not replaced: %s", js)
			}
		})
	}
}

func TestAnswerStoredAsJSONReplaysAsStream(t *testing.T) {
	e := entryOf(t, []byte(liveJSON))
	want := readJSON(t, []byte(liveJSON))
	for _, includeUsage := range []bool{true, false} {
		replay, err := AppendSSE(nil, e, ReplayOptions{IncludeUsage: includeUsage, ChunkBytes: 16})
		if err != nil {
			t.Fatal(err)
		}
		got := readStream(t, replay)
		if !includeUsage {
			if got.usage != nil || strings.Contains(string(replay), `"usage"`) {
				t.Fatal("usage sent though the client did not ask")
			}
			got.usage = want.usage
		}
		sameAnswer(t, got, want)
		if got.chunks < 5 {
			t.Fatalf("answer replayed in only %d chunks", got.chunks)
		}
		for s := range shapes(t, replay) {
			if !shapes(t, []byte(liveText))[s] && includeUsage {
				t.Fatalf("replayed chunk shape never seen live:\n%s", s)
			}
		}
	}
}

func TestAssemblerRefusesIncompleteStreams(t *testing.T) {
	cut := strings.Split(liveText, "\n\n")
	tests := []struct {
		name   string
		stream string
		want   error
	}{
		{"a stream cut before [DONE]", strings.Join(cut[:5], "\n\n") + "\n\n", ErrIncomplete},
		{"a stream cut before the finish chunk", strings.Join(cut[:3], "\n\n") + "\n\ndata: [DONE]\n\n", ErrIncomplete},
		{"a stream with an error event", strings.Join(cut[:3], "\n\n") + "\n\ndata: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n", ErrStreamFailed},
		{"an empty stream", "data: [DONE]\n\n", ErrIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := assemble(t, tt.stream); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAssemblerTakesUsageFromTheDecoderWhenTheChunkWasDropped(t *testing.T) {
	parts := strings.Split(liveText, "\n\n")
	noUsage := strings.Join(append(parts[:5:5], "data: [DONE]", ""), "\n\n")
	a := NewAssembler()
	r := sse.NewReader(strings.NewReader(noUsage), 0)
	for ev, err := r.Next(); err == nil; ev, err = r.Next() {
		a.Add(ev.Data)
	}
	a.SetUsage(provider.Usage{Reported: true, InputTokens: 14, OutputTokens: 12})
	body, u, err := a.Result()
	if err != nil || u.InputTokens != 14 || jsonx.Get(body, "usage.total_tokens").Int() != 26 {
		t.Fatalf("usage = %+v, err %v, body %s", u, err, body)
	}
}

func TestSplitTextNeverBreaksACharacter(t *testing.T) {
	s := "héllo wörld 🗼🗼🗼 日本語のテキスト averyveryverylongwordwithoutspaces"
	for size := 1; size < 20; size++ {
		var b strings.Builder
		for p := range splitText(s, size) {
			if p != strings.ToValidUTF8(p, "?") {
				t.Fatalf("size %d: piece %q is not valid UTF-8", size, p)
			}
			b.WriteString(p)
		}
		if b.String() != s {
			t.Fatalf("size %d: pieces do not add up", size)
		}
	}
}

func TestEmbeddingsAreNotReplayedAsStreams(t *testing.T) {
	e := &Entry{Op: provider.OpEmbedding, Body: []byte(`{"object":"list","data":[]}`)}
	if _, err := AppendSSE(nil, e, ReplayOptions{}); !errors.Is(err, ErrNotReplayable) {
		t.Fatalf("err = %v", err)
	}
}

func TestLegacyCompletionStreamRoundTrip(t *testing.T) {
	head := `{"id":"cmpl-1","object":"text_completion","created":1,"model":"gpt-3.5-turbo-instruct","choices":[`
	live := "data: " + head + `{"text":"Once upon","index":0,"logprobs":null,"finish_reason":null}]}` + "\n\n" +
		"data: " + head + `{"text":" a time.","index":0,"logprobs":null,"finish_reason":null}]}` + "\n\n" +
		"data: " + head + `{"text":"","index":0,"logprobs":null,"finish_reason":"length"}]}` + "\n\n" +
		"data: [DONE]\n\n"
	body, _, err := assemble(t, live)
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonx.Get(body, "choices.0.text").Str; got != "Once upon a time." || jsonx.Get(body, "object").Str != "text_completion" {
		t.Fatalf("assembled %s", body)
	}
	e := &Entry{Op: provider.OpCompletion, Body: body}
	replay, err := AppendSSE(nil, e, ReplayOptions{ChunkBytes: 4})
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := assemble(t, string(replay))
	if err != nil || string(again) != string(body) {
		t.Fatalf("round trip:\n%s\n%s (%v)", again, body, err)
	}
	for s := range shapes(t, replay) {
		if !shapes(t, []byte(live))[s] {
			t.Fatalf("replayed chunk shape never seen live:\n%s", s)
		}
	}
}
