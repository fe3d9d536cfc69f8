package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/testutil"
)

// BenchmarkDialectRequest compares a Responses and a Messages request translated to Chat
// Completions with the same request passed through to a native provider, end to end
// through the gateway on loopback (client and upstream included, so compare the rows with
// each other, not with a bare proxy). Non-streamed, sampled: nothing is cached or coalesced.
func BenchmarkDialectRequest(b *testing.B) {
	chat := `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`
	resp := `{"id":"resp_1","object":"response","status":"completed","model":"m","output":[{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hello there!","annotations":[]}]}],"usage":{"input_tokens":9,"output_tokens":3,"total_tokens":12}}`
	msg := `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Hello there!"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":3}}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/responses"):
			io.WriteString(w, resp)
		case strings.HasSuffix(r.URL.Path, "/messages"):
			io.WriteString(w, msg)
		default:
			io.WriteString(w, chat)
		}
	}))
	defer up.Close()
	g := testutil.StartGateway(b, fmt.Sprintf(`
metering: {ledger: none}
log: {requests: false}
providers:
  - {name: chat, base_url: %s/v1}
  - {name: oai, base_url: %s/v1, responses_api: native}
  - {name: claude, kind: anthropic, base_url: %s}
models:
  - {name: translated, provider: chat, upstream_model: m}
  - {name: native-responses, provider: oai, upstream_model: m}
  - {name: native-messages, provider: claude, upstream_model: m}
`, up.URL, up.URL, up.URL), nil)
	cases := []struct{ name, path, body string }{
		{"chat completions (the hub, passed through)", "/v1/chat/completions", `{"model":"translated","messages":[{"role":"user","content":"Say hello"}]}`},
		{"responses translated", "/v1/responses", `{"model":"translated","input":"Say hello","store":false}`},
		{"responses native", "/v1/responses", `{"model":"native-responses","input":"Say hello","store":false}`},
		{"messages translated", "/v1/messages", `{"model":"translated","max_tokens":64,"messages":[{"role":"user","content":"Say hello"}]}`},
		{"messages native", "/v1/messages", `{"model":"native-messages","max_tokens":64,"messages":[{"role":"user","content":"Say hello"}]}`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := g.Post(b, c.path, c.body)
				if r.Status != 200 {
					b.Fatalf("%d %s", r.Status, r.Body)
				}
			}
		})
	}
}
