package gateway_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/testutil"
	"github.com/switchyard/switchyard/metering"
)

// upstreamFunc starts an upstream on net/http answering with h.
func upstreamFunc(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL + "/v1"
}

const okChat = `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`

func TestHostileRequestsGetAClearAnswerAndTheGatewayGoesOn(t *testing.T) {
	up := startFakeOpenAI(t, 5*time.Second, 0)
	g := defaultGateway(t, up.URL(), "limits: {max_header_bytes: 4096}")
	deep := `{"model":"gpt-4o-mini","messages":` + strings.Repeat("[", 6_000_000) + strings.Repeat("]", 6_000_000) + `}`
	tests := []struct {
		name    string
		body    string
		headers []string
		status  int
		code    string
	}{
		{"a body nested 6,000,000 levels deep is refused before anything walks it", deep, nil, 400, "invalid_json"},
		{"a body nested 129 levels deep is refused naming the limit", `{"model":"m","messages":` + strings.Repeat("[", 129) + strings.Repeat("]", 129) + `}`, nil, 400, "invalid_json"},
		{"headers over the limit get 431", exBody(false, false, ""), []string{"X-Big", strings.Repeat("a", 6000)}, 431, "request_header_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.Post(t, "/v1/chat/completions", tt.body, tt.headers...)
			if r.Status != tt.status || !strings.Contains(string(r.Body), `"code":"`+tt.code+`"`) {
				t.Fatalf("got %d %.300s, want %d %s", r.Status, r.Body, tt.status, tt.code)
			}
		})
	}
	r := g.Post(t, "/v1/chat/completions", `{"model":"m","messages":`+strings.Repeat("[", 129)+strings.Repeat("]", 129)+`}`)
	if !strings.Contains(string(r.Body), "128") {
		t.Errorf("the depth error does not name the limit: %s", r.Body)
	}
	check(t, "after the hostile requests", g.Post(t, "/v1/chat/completions", exBody(false, false, "")), false)
}

func TestOnlySafeValuesAreEchoedInResponseHeaders(t *testing.T) {
	up := startFakeOpenAI(t, 5*time.Second, 0)
	g := defaultGateway(t, up.URL(), "")
	for _, model := range []string{"gpt\\u0000\\u001b[31m-evil\\u007f", strings.Repeat("m", 300)} {
		body := fmt.Sprintf(`{"model":"%s","messages":[{"role":"user","content":"hi"}]}`, model)
		r := g.Post(t, "/v1/chat/completions", body) // Go's client rejects an answer with a bad header value
		if r.Status != 200 {
			t.Fatalf("model %.40q: %d %s", model, r.Status, r.Body)
		}
		if v := r.Header.Get("X-Switchyard-Model"); v != "" {
			t.Errorf("model %.40q echoed as %.60q", model, v)
		}
	}
	if r := g.Post(t, "/v1/chat/completions", exBody(false, false, "")); r.Header.Get("X-Switchyard-Model") != "gpt-4o-mini" {
		t.Errorf("a plain model name is no longer echoed: %q", r.Header.Get("X-Switchyard-Model"))
	}
}

func TestAStreamOverHTTP10IsRefusedClearly(t *testing.T) {
	up := startFakeOpenAI(t, 5*time.Second, 0)
	g := defaultGateway(t, up.URL(), "")
	conn, err := net.Dial("tcp", g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := exBody(true, false, "")
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "stream_needs_http11") || len(resp.TransferEncoding) > 0 {
		t.Fatalf("HTTP/1.0 stream: %d %v %s", resp.StatusCode, resp.TransferEncoding, b)
	}
}

func TestACompressedAnswerIsDecodedAndMetered(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(okChat))
	_ = zw.Close()
	whole := gz.Bytes()
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"a gzip answer reaches the client decoded, its usage metered", whole, 200},
		{"a gzip answer shorter than its Content-Length is a 502, never a truncated 200", whole[:len(whole)/2], 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("Accept-Encoding"); got != "identity" {
					t.Errorf("the gateway asked for Accept-Encoding %q, want identity", got)
				}
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				w.Header().Set("Content-Length", fmt.Sprint(len(whole)))
				w.WriteHeader(200)
				_, _ = w.Write(tc.body)
				if len(tc.body) < len(whole) {
					c, _, _ := w.(http.Hijacker).Hijack()
					c.Close()
				}
			})
			ledger := filepath.Join(t.TempDir(), "ledger.db")
			g := testutil.StartGateway(t, fmt.Sprintf(`
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s}]
models: [{name: "*", provider: openai}]
`, ledger, url), nil)
			r := g.Post(t, "/v1/chat/completions", exBody(false, false, ""), "X-Request-Id", "gz-1")
			if r.Status != tc.status {
				t.Fatalf("status %d %s, want %d", r.Status, r.Body, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if !bytes.Equal(r.Body, []byte(okChat)) || r.Header.Get("Content-Encoding") != "" {
				t.Fatalf("the client got %q (encoding %q)", r.Body, r.Header.Get("Content-Encoding"))
			}
			ev := ledgerEvents(t, ledger, 1)["gz-1"]
			if ev.Tokens.Input != 9 || ev.Tokens.Output != 3 || ev.UsageSource != metering.UsageMeasured {
				t.Fatalf("metered %+v (%s), want the upstream's 9/3", ev.Tokens, ev.UsageSource)
			}
		})
	}
}

func TestABrokenUpstreamStreamEndsWithANamedError(t *testing.T) {
	chunk := `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]}` + "\n\n"
	for _, tc := range []struct {
		name, send, code string
	}{
		{"an event over 1 MiB", chunk + "data: {\"x\":\"" + strings.Repeat("a", 2<<20) + "\"}\n\n", "upstream_event_too_large"},
		{"an event that is not JSON", chunk + "data: this is not json\n\n", "upstream_bad_event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, tc.send)
				_, _ = io.WriteString(w, "data: [DONE]\n\n")
			})
			g := defaultGateway(t, url, "")
			r := g.Post(t, "/v1/chat/completions", exBody(true, false, ""))
			body := string(r.Body)
			if r.Status != 200 || !strings.Contains(body, `"code":"`+tc.code+`"`) || strings.Contains(body, "[DONE]") {
				t.Fatalf("got %d %.400s", r.Status, body)
			}
			if strings.Contains(body, "this is not json") {
				t.Fatal("the invalid event was relayed to the client")
			}
			waitLog(t, g, `"error":"`+tc.code+`"`)
		})
	}
}

func TestAStreamedCacheHitIsRecordedAsAStream(t *testing.T) {
	up := startFakeOpenAI(t, 5*time.Second, 0)
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	g := testutil.StartGateway(t, fmt.Sprintf(`
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
cache: {enabled: true}
providers: [{name: openai, base_url: %s}]
models: [{name: "*", provider: openai}]
`, ledger, up.URL()), nil)
	body := exBody(true, true, "cached")
	check(t, "miss", g.Post(t, "/v1/chat/completions", body, "X-Request-Id", "s-miss"), true)
	var hit testutil.Response
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		hit = g.Post(t, "/v1/chat/completions", body, "X-Request-Id", "s-hit")
		if hit.Header.Get("X-Switchyard-Cache") == "hit" {
			break
		}
	}
	if hit.Header.Get("X-Switchyard-Cache") != "hit" {
		t.Fatalf("no cache hit: %v", hit.Header)
	}
	evs := ledgerEvents(t, ledger, 2)
	if ev := evs["s-hit"]; !ev.Stream || ev.Cache != metering.CacheHit {
		t.Fatalf("the streamed hit was recorded as %+v", ev)
	}
}

func TestSlowClientsAreCutAndOneAddressCannotHoldEveryConnection(t *testing.T) {
	up := startFakeOpenAI(t, 5*time.Second, 0)
	g := defaultGateway(t, up.URL(), "timeouts: {header_read: 1s, body_read: 1s}\nlimits: {max_conns_per_ip: 3}")
	closedWithin := func(c net.Conn, d time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(d))
		_, err := io.ReadAll(c) // returns at the gateway's close (EOF) or at our deadline
		var ne net.Error
		return err == nil || !(errors.As(err, &ne) && ne.Timeout())
	}
	t.Run("headers sent a byte at a time are cut at header_read", func(t *testing.T) {
		c, err := net.Dial("tcp", g.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go func() {
			for _, b := range []byte("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n") {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
		if !closedWithin(c, 4*time.Second) {
			t.Fatal("a slowloris connection was still open after 4 s with header_read 1s")
		}
	})
	t.Run("a body that never comes is cut at body_read", func(t *testing.T) {
		c, err := net.Dial("tcp", g.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
		if !closedWithin(c, 4*time.Second) {
			t.Fatal("a connection whose body never came was still open after 4 s with body_read 1s")
		}
	})
	t.Run("connections past max_conns_per_ip are closed at once", func(t *testing.T) {
		var held []net.Conn
		for range 3 {
			c, err := net.Dial("tcp", g.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			held = append(held, c)
		}
		time.Sleep(100 * time.Millisecond)
		extra, err := net.Dial("tcp", g.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer extra.Close()
		if !closedWithin(extra, 2*time.Second) {
			t.Fatal("a fourth connection from one address was kept open with max_conns_per_ip 3")
		}
		for _, c := range held {
			c.Close()
		}
		time.Sleep(100 * time.Millisecond)
		check(t, "once the connections closed", g.Post(t, "/v1/chat/completions", exBody(false, false, "")), false)
	})
}

func TestAProvidersCredentialErrorNeverReachesTheClient(t *testing.T) {
	const secret = "sk-proj-abc123DEF456ghi789JKL"
	url := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}`, secret)
	})
	g := defaultGateway(t, url, "")
	r := g.Post(t, "/v1/chat/completions", exBody(false, false, ""))
	if r.Status != 502 || !strings.Contains(string(r.Body), "upstream_auth_failed") || strings.Contains(string(r.Body), "sk-proj") {
		t.Fatalf("the client got %d %s", r.Status, r.Body)
	}
	waitLog(t, g, "upstream refused the gateway's credential")
	if strings.Contains(g.Logs.String(), secret) {
		t.Fatal("the key appears in the log")
	}
}
