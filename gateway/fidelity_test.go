package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// fidelityConfig maps public names to different upstream names for chat, completions
// and embeddings, and serves one model under its own name.
func fidelityConfig(upstreamURL string) string {
	return fmt.Sprintf(`
providers:
  - {name: up, base_url: %s, api_key_env: UPSTREAM_KEY}
models:
  - {name: gpt-4o-mini, provider: up}
  - {name: public-chat, provider: up, upstream_model: vendor-chat-v2}
  - {name: public-embed, provider: up, upstream_model: vendor-embed-v1}
keys:
  - {name: app, key_env: GATEWAY_KEY}
`, upstreamURL)
}

// header returns the value of name in a recorded request, ignoring case.
func header(r mock.Received, name string) (string, bool) {
	for k, v := range r.Header {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func lastRequest(t *testing.T, up *testutil.Upstream) mock.Received {
	t.Helper()
	reqs := up.Requests()
	if len(reqs) == 0 {
		t.Fatal("the upstream received no request")
	}
	return reqs[len(reqs)-1]
}

func TestUpstreamReceivesTheClientBodyByteForByte(t *testing.T) {
	t.Parallel()
	up := testutil.StartUpstream(t, mock.Config{})
	gw := testutil.StartGateway(t, fidelityConfig(up.URL), clientEnv)
	const msgs = `"messages" : [ {"role":"user","content":"h\u00e9llo \"quoted\" \\ tab\t"} ]`
	const extra = `"temperature":1.0e0, "x_vendor_extension":{"nested":[1,2,{"k":null}]},"metadata":{"trace":"abc"}`
	tests := []struct {
		name, path, in, want string
	}{
		{"an unmapped model with unknown fields passes untouched",
			"/v1/chat/completions",
			`{ "model" : "gpt-4o-mini", ` + msgs + `, ` + extra + ` }`,
			`{ "model" : "gpt-4o-mini", ` + msgs + `, ` + extra + ` }`},
		{"a mapped model has only its name replaced",
			"/v1/chat/completions",
			`{"model":   "public-chat",` + msgs + `,` + extra + `}`,
			`{"model":   "vendor-chat-v2",` + msgs + `,` + extra + `}`},
		{"a stream without stream_options gets include_usage appended",
			"/v1/chat/completions",
			`{"model":"gpt-4o-mini","stream":true,` + msgs + `,"zz_unknown":[true]}`,
			`{"model":"gpt-4o-mini","stream":true,` + msgs + `,"zz_unknown":[true],"stream_options":{"include_usage":true}}`},
		{"a stream with include_usage false has it turned on in place",
			"/v1/chat/completions",
			`{"stream_options": {"include_usage": false, "x_opt": 1},"model":"public-chat","stream":true,` + msgs + `}`,
			`{"stream_options": {"include_usage": true, "x_opt": 1},"model":"vendor-chat-v2","stream":true,` + msgs + `}`},
		{"a stream that asked for usage passes untouched",
			"/v1/chat/completions",
			`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},` + msgs + `}`,
			`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},` + msgs + `}`},
		{"a legacy completions stream gets include_usage too",
			"/v1/completions",
			`{"model":"public-chat","prompt":"Say hi","stream":true}`,
			`{"model":"vendor-chat-v2","prompt":"Say hi","stream":true,"stream_options":{"include_usage":true}}`},
		{"an embeddings request has only its model replaced",
			"/v1/embeddings",
			`{"input":["a","b"],"model":"public-embed","encoding_format":"float","x_unknown":{}}`,
			`{"input":["a","b"],"model":"vendor-embed-v1","encoding_format":"float","x_unknown":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := gw.Post(t, tt.path, tt.in, "Authorization", "Bearer "+gatewayKey)
			if resp.Status != 200 {
				t.Fatalf("status %d: %s", resp.Status, resp.Body)
			}
			got := lastRequest(t, up)
			if got.Path != tt.path {
				t.Errorf("upstream path %q, want %q", got.Path, tt.path)
			}
			if string(got.Body) != tt.want {
				t.Errorf("upstream body\n got %s\nwant %s", got.Body, tt.want)
			}
		})
	}
}

func TestTheClientsAuthorizationNeverReachesTheUpstream(t *testing.T) {
	t.Parallel()
	withKey := testutil.StartUpstream(t, mock.Config{})
	gwKeyed := testutil.StartGateway(t, fidelityConfig(withKey.URL), clientEnv)
	noKey := testutil.StartUpstream(t, mock.Config{})
	gwOpen := testutil.StartGateway(t, fmt.Sprintf(`
providers: [{name: up, base_url: %s}]
models: [{name: "*", provider: up}]
`, noKey.URL), nil)

	tests := []struct {
		name     string
		gw       *testutil.Gateway
		up       *testutil.Upstream
		headers  []string
		wantAuth string // "" means no Authorization header upstream
	}{
		{"the provider key replaces the gateway key", gwKeyed, withKey,
			[]string{"Authorization", "Bearer " + gatewayKey}, "Bearer sk-upstream-secret"},
		{"an unauthenticated gateway drops the client's own bearer token", gwOpen, noKey,
			[]string{"Authorization", "Bearer sk-client-own-secret"}, ""},
		{"an azure-style api-key header is not forwarded either", gwOpen, noKey,
			[]string{"Api-Key", "sk-client-own-secret"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, body := range []string{
				`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
				`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			} {
				resp := tt.gw.Post(t, "/v1/chat/completions", body, tt.headers...)
				if resp.Status != 200 {
					t.Fatalf("status %d: %s", resp.Status, resp.Body)
				}
				got := lastRequest(t, tt.up)
				auth, ok := header(got, "Authorization")
				if auth != tt.wantAuth || (tt.wantAuth == "" && ok) {
					t.Errorf("upstream Authorization = %q (present %v), want %q", auth, ok, tt.wantAuth)
				}
				for k, v := range got.Header {
					if strings.Contains(v, "sk-client-own-secret") || strings.Contains(v, gatewayKey) {
						t.Errorf("upstream header %s carries the client's key: %q", k, v)
					}
				}
			}
		})
	}
}

// rawRequest sends one HTTP/1.1 request written out by hand on a fresh connection and
// reads the answer, so the test controls every header byte.
func rawRequest(t *testing.T, addr, head, body string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := head
	if body != "" || strings.HasPrefix(head, "POST") {
		msg += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	if _, err := io.WriteString(c, msg+"\r\n"+body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer body: %v", err)
	}
	return resp, b
}

func TestHopByHopRequestHeadersAreNotForwarded(t *testing.T) {
	t.Parallel()
	up := testutil.StartUpstream(t, mock.Config{})
	gw := testutil.StartGateway(t, fidelityConfig(up.URL), clientEnv)
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	for _, stream := range []bool{false, true} {
		b := body
		if stream {
			b = `{"stream":true,` + body[1:]
		}
		resp, _ := rawRequest(t, gw.Addr, "POST /v1/chat/completions HTTP/1.1\r\n"+
			"Host: gateway.test\r\n"+
			"Content-Type: application/json\r\n"+
			"Authorization: Bearer "+gatewayKey+"\r\n"+
			"Connection: keep-alive, X-Client-Hop\r\n"+
			"X-Client-Hop: per-connection\r\n"+
			"Keep-Alive: timeout=5\r\n"+
			"Te: trailers\r\n"+
			"Trailer: X-Checksum\r\n"+
			"Proxy-Authorization: Basic c2VjcmV0\r\n"+
			"Proxy-Connection: keep-alive\r\n"+
			"OpenAI-Beta: assistants=v2\r\n", b)
		if resp.StatusCode != 200 {
			t.Fatalf("stream=%v: status %d", stream, resp.StatusCode)
		}
		got := lastRequest(t, up)
		for _, h := range []string{"X-Client-Hop", "Keep-Alive", "Te", "Trailer", "Proxy-Authorization", "Proxy-Connection"} {
			if v, ok := header(got, h); ok {
				t.Errorf("stream=%v: upstream received hop-by-hop %s: %q", stream, h, v)
			}
		}
		if v, _ := header(got, "Connection"); strings.Contains(strings.ToLower(v), "x-client-hop") {
			t.Errorf("stream=%v: upstream received the client's Connection header %q", stream, v)
		}
		if v, _ := header(got, "OpenAI-Beta"); v != "assistants=v2" {
			t.Errorf("stream=%v: OpenAI-Beta = %q, want it forwarded", stream, v)
		}
	}
}

// The hand-written upstream's answers, with members no SDK knows and odd spacing.
const (
	hopAnswer = `{"id":"x",  "object":"chat.completion","choices":[],"x_upstream_extension":{"a":[1,2.50]}}`
	hopStream = "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}],\"x_ext\":true}\n\n" +
		"data: {\"id\":\"x\",\"choices\":[],  \"x_ext\":null}\n\ndata: [DONE]\n\n"
)

// hopUpstream is a hand-written upstream that answers every request with hop-by-hop
// headers (some named only in its Connection header) next to end-to-end ones.
func hopUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					b, _ := io.ReadAll(req.Body)
					ct, body := "application/json", hopAnswer
					if strings.Contains(string(b), `"stream":true`) {
						ct, body = "text/event-stream", hopStream
					}
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n"+
						"Connection: keep-alive, X-Upstream-Hop\r\nX-Upstream-Hop: per-connection\r\n"+
						"Keep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nTrailer: X-Checksum\r\n"+
						"Upgrade: h2c\r\nSet-Cookie: upstream=session\r\nServer: upstream-server/1.0\r\n"+
						"X-Request-Id: upstream-own-id\r\n"+
						"X-Ratelimit-Remaining-Requests: 99\r\nOpenAI-Processing-Ms: 12\r\n\r\n%s", ct, len(body), body)
				}
			}(c)
		}
	}()
	return "http://" + ln.Addr().String() + "/v1"
}

func TestUpstreamAnswersPassBackUnchangedButForHopByHopHeaders(t *testing.T) {
	t.Parallel()
	gw := testutil.StartGateway(t, fidelityConfig(hopUpstream(t)), clientEnv)
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			body := fmt.Sprintf(`{"model":"gpt-4o-mini","stream":%v,"messages":[{"role":"user","content":"hi"}]}`, stream)
			resp, got := rawRequest(t, gw.Addr, "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n"+
				"Content-Type: application/json\r\nAuthorization: Bearer "+gatewayKey+"\r\n", body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for _, h := range []string{"X-Upstream-Hop", "Keep-Alive", "Proxy-Authenticate", "Trailer", "Upgrade", "Set-Cookie"} {
				if v := resp.Header.Values(h); len(v) > 0 {
					t.Errorf("client received hop-by-hop %s: %q", h, v)
				}
			}
			if v := resp.Header.Get("Connection"); strings.Contains(strings.ToLower(v), "x-upstream-hop") {
				t.Errorf("client received the upstream's Connection header %q", v)
			}
			if v := resp.Header.Get("Server"); strings.Contains(v, "upstream-server") {
				t.Errorf("client received the upstream's Server header %q", v)
			}
			if v := resp.Header.Values("X-Request-Id"); len(v) != 1 || v[0] == "upstream-own-id" {
				t.Errorf("X-Request-Id = %q, want the gateway's one id", v)
			}
			if v := resp.Header.Get("X-Ratelimit-Remaining-Requests"); v != "99" {
				t.Errorf("end-to-end X-Ratelimit-Remaining-Requests = %q, want 99", v)
			}
			if v := resp.Header.Get("Openai-Processing-Ms"); v != "12" {
				t.Errorf("end-to-end OpenAI-Processing-Ms = %q, want 12", v)
			}
			want := hopAnswer
			if stream {
				want = hopStream
			}
			if string(got) != want {
				t.Errorf("the client got the upstream's answer changed:\n got %q\nwant %q", got, want)
			}
		})
	}
}

var generatedID = regexp.MustCompile(`^req_[0-9a-f]{12}_[0-9a-z]+$`)

func TestRequestIDsAreHonouredWhenSaneAndForwarded(t *testing.T) {
	t.Parallel()
	up := testutil.StartUpstream(t, mock.Config{})
	gw := testutil.StartGateway(t, fidelityConfig(up.URL), clientEnv)
	tests := []struct {
		name, inbound string
		honoured      bool
	}{
		{"a sane id is honoured", "trace-01J.abc_9:z", true},
		{"a 128-character id is honoured", strings.Repeat("a", 128), true},
		{"no id gets a generated one", "", false},
		{"a 129-character id is replaced", strings.Repeat("a", 129), false},
		{"an id with a space is replaced", "has space", false},
		{"an id with a slash is replaced", "a/b", false},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				body := fmt.Sprintf(`{"model":"gpt-4o-mini","stream":%v,"messages":[{"role":"user","content":"hi"}]}`, stream)
				hs := []string{"Authorization", "Bearer " + gatewayKey}
				if tt.inbound != "" {
					hs = append(hs, "X-Request-Id", tt.inbound)
				}
				resp := gw.Post(t, "/v1/chat/completions", body, hs...)
				if resp.Status != 200 {
					t.Fatalf("status %d: %s", resp.Status, resp.Body)
				}
				id := resp.Header.Values("X-Request-Id")
				if len(id) != 1 {
					t.Fatalf("X-Request-Id = %q, want exactly one", id)
				}
				if tt.honoured && id[0] != tt.inbound {
					t.Errorf("X-Request-Id = %q, want the inbound %q", id[0], tt.inbound)
				}
				if !tt.honoured && !generatedID.MatchString(id[0]) {
					t.Errorf("X-Request-Id = %q, want a generated req_ id", id[0])
				}
				if fwd, _ := header(lastRequest(t, up), "X-Request-Id"); fwd != id[0] {
					t.Errorf("upstream got X-Request-Id %q, want %q", fwd, id[0])
				}
			})
		}
	}
}

func TestEveryResponseCarriesARequestID(t *testing.T) {
	t.Parallel()
	up := testutil.StartUpstream(t, mock.Config{})
	gw := testutil.StartGateway(t, fidelityConfig(up.URL)+"limits: {max_body_bytes: 1024}\n", clientEnv)
	chat := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	auth := "Authorization: Bearer " + gatewayKey + "\r\n"
	tests := []struct {
		name, head, body string
		status           int
	}{
		{"a chat answer", "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n" + auth, chat, 200},
		{"a streamed chat answer", "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n" + auth,
			`{"stream":true,` + chat[1:], 200},
		{"the model list", "GET /v1/models HTTP/1.1\r\nHost: gw\r\n" + auth, "", 200},
		{"the health check", "GET /healthz HTTP/1.1\r\nHost: gw\r\n", "", 200},
		{"a missing key", "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n", chat, 401},
		{"an unknown route", "GET /v1/nothing-here HTTP/1.1\r\nHost: gw\r\n", "", 404},
		{"a wrong method", "GET /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n" + auth, "", 405},
		{"a body over the limit", "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n" + auth,
			`{"model":"gpt-4o-mini","pad":"` + strings.Repeat("x", 2048) + `"}`, 413},
		{"a malformed request line", "GARBAGE\r\n", "", 400},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := rawRequest(t, gw.Addr, tt.head, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			id := resp.Header.Values("X-Request-Id")
			if len(id) != 1 || !generatedID.MatchString(id[0]) {
				t.Fatalf("X-Request-Id = %q, want one generated id", id)
			}
			if prev, dup := seen[id[0]]; dup {
				t.Fatalf("X-Request-Id %q was already used for %q", id[0], prev)
			}
			seen[id[0]] = tt.name
		})
	}
}
