package gateway_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// Fault tests: every failure gets its documented status and an OpenAI error envelope,
// and the gateway keeps serving (each case is followed by a normal request).

const hashedKey = "sk-hashed-only-key"

// faultTimeouts are small so that timeout cases finish quickly.
const (
	faultFirstByte = 300 * time.Millisecond
	faultIdle      = 300 * time.Millisecond
	faultRequest   = 1200 * time.Millisecond
)

// faultGateway starts one upstream per fault and a gateway with one model per upstream,
// no "*" model, a 4 KiB body limit and two keys: one from the environment, one given
// only as its SHA-256.
func faultGateway(t *testing.T) *testutil.Gateway {
	t.Helper()
	ups := []struct {
		name string
		cfg  mock.Config
	}{
		{"healthy", mock.Config{}},
		{"failing", mock.Config{Status: 500}},
		{"limited", mock.Config{Status: 429, RetryAfter: "7"}},
		{"silent", mock.Config{StallHeaders: true}},
		{"stalling", mock.Config{Chunks: 6, StallAfterChunks: 2}},
		{"cutting", mock.Config{Chunks: 6, CutAfterChunks: 2}},
		{"erroring", mock.Config{Chunks: 6, ErrorAfterChunks: 2}},
	}
	sum := sha256.Sum256([]byte(hashedKey))
	var b strings.Builder
	fmt.Fprintf(&b, "limits: {max_body_bytes: 4096}\n")
	fmt.Fprintf(&b, "timeouts: {first_byte: %s, idle: %s, request: %s}\n", faultFirstByte, faultIdle, faultRequest)
	fmt.Fprintf(&b, "keys:\n  - {name: env-key, key_env: GATEWAY_KEY}\n  - {name: hashed-key, sha256: %s}\n",
		strings.ToUpper(hex.EncodeToString(sum[:])))
	b.WriteString("providers:\n")
	fmt.Fprintf(&b, "  - {name: dead, base_url: http://%s/v1}\n", testutil.ClosedAddr(t))
	for _, u := range ups {
		fmt.Fprintf(&b, "  - {name: %s, base_url: %s}\n", u.name, testutil.StartUpstream(t, u.cfg).URL)
	}
	b.WriteString("models:\n  - {name: dead-model, provider: dead}\n")
	for _, u := range ups {
		fmt.Fprintf(&b, "  - {name: %s-model, provider: %s}\n", u.name, u.name)
	}
	return testutil.StartGateway(t, b.String(), map[string]string{"GATEWAY_KEY": gatewayKey})
}

func chatBody(model string, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":"tell me a story"}]}`, model, stream)
}

// assertStillServing sends a normal request and fails unless it succeeds.
func assertStillServing(t *testing.T, gw *testutil.Gateway) {
	t.Helper()
	resp := gw.Post(t, "/v1/chat/completions", chatBody("healthy-model", false), "Authorization", "Bearer "+gatewayKey)
	if resp.Status != 200 || !strings.Contains(string(resp.Body), "Mock reply to: tell me a story") {
		t.Fatalf("a normal request after the fault got %d: %s", resp.Status, resp.Body)
	}
}

// anyCode accepts any envelope code where the status, type and param are what matter.
const anyCode = "*"

func TestFaultsGetTheDocumentedStatusAndEnvelope(t *testing.T) {
	t.Parallel()
	gw := faultGateway(t)
	bearer := "Bearer " + gatewayKey
	tests := []struct {
		name        string
		contentType string
		auth        string
		body        string
		status      int
		typ, code   string
		param       string
		retryAfter  string
		atLeast     time.Duration // the answer must not come sooner (timeouts); a retry may double it
	}{
		{name: "invalid JSON is 400", body: `{"model":"healthy-model",`, status: 400,
			typ: "invalid_request_error", code: "invalid_json"},
		{name: "a JSON array body is 400", body: `[{"model":"healthy-model"}]`, status: 400,
			typ: "invalid_request_error", code: "invalid_json"},
		{name: "a missing model is 400 with param model", body: `{"messages":[]}`, status: 400,
			typ: "invalid_request_error", code: "missing_required_parameter", param: "model"},
		{name: "a non-string model is 400 with param model", body: `{"model":42,"messages":[]}`, status: 400,
			typ: "invalid_request_error", code: anyCode, param: "model"},
		{name: "an unknown model is 404 model_not_found", body: chatBody("gpt-5-ultra", false), status: 404,
			typ: "invalid_request_error", code: "model_not_found", param: "model"},
		{name: "a wrong content type is 415", contentType: "text/plain", body: chatBody("healthy-model", false), status: 415,
			typ: "invalid_request_error", code: "unsupported_media_type"},
		{name: "form encoding is 415", contentType: "application/x-www-form-urlencoded", body: "model=healthy-model", status: 415,
			typ: "invalid_request_error", code: "unsupported_media_type"},
		{name: "a body over max_body_bytes is 413", body: `{"model":"healthy-model","pad":"` + strings.Repeat("x", 8192) + `"}`,
			status: 413, typ: "invalid_request_error", code: "request_too_large"},
		{name: "a missing gateway key is 401", auth: "-", body: chatBody("healthy-model", false), status: 401,
			typ: "authentication_error", code: "missing_api_key"},
		{name: "a wrong gateway key is 401", auth: "Bearer sk-not-a-key", body: chatBody("healthy-model", false), status: 401,
			typ: "authentication_error", code: "invalid_api_key"},
		{name: "a key without the Bearer scheme is 401", auth: gatewayKey, body: chatBody("healthy-model", false), status: 401,
			typ: "authentication_error", code: "missing_api_key"},
		{name: "the hash of a key is not a key", auth: "Bearer " + strings.Repeat("0", 64), body: chatBody("healthy-model", false),
			status: 401, typ: "authentication_error", code: "invalid_api_key"},
		{name: "an unreachable upstream is 503", body: chatBody("dead-model", false), status: 503,
			typ: "upstream_error", code: "upstream_unreachable"},
		{name: "an unreachable upstream is 503 for a stream too", body: chatBody("dead-model", true), status: 503,
			typ: "upstream_error", code: "upstream_unreachable"},
		{name: "an upstream 500 is 502", body: chatBody("failing-model", false), status: 502,
			typ: "upstream_error", code: "upstream_error"},
		{name: "an upstream 500 is 502 for a stream too", body: chatBody("failing-model", true), status: 502,
			typ: "upstream_error", code: "upstream_error"},
		{name: "an upstream 429 is 429 with its Retry-After", body: chatBody("limited-model", false), status: 429,
			typ: "rate_limit_error", code: "rate_limit_exceeded", retryAfter: "7"},
		{name: "an upstream 429 is 429 with its Retry-After for a stream too", body: chatBody("limited-model", true), status: 429,
			typ: "rate_limit_error", code: "rate_limit_exceeded", retryAfter: "7"},
		{name: "a stream from an upstream silent before its headers is 504 after first_byte", body: chatBody("silent-model", true),
			status: 504, typ: "timeout_error", code: "upstream_timeout", atLeast: faultFirstByte},
		{name: "an answer from an upstream silent before its headers is 504 after first_byte", body: chatBody("silent-model", false),
			status: 504, typ: "timeout_error", code: "upstream_timeout", atLeast: faultFirstByte},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", gw.URL+"/v1/chat/completions", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			switch tt.auth {
			case "":
				req.Header.Set("Authorization", bearer)
			case "-":
			default:
				req.Header.Set("Authorization", tt.auth)
			}
			start := time.Now()
			resp := gw.Do(t, req)
			took := time.Since(start)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.Status, tt.status, resp.Body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			e, err := testutil.ParseEnvelope(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if e.Type != tt.typ || (tt.code != anyCode && e.CodeString() != tt.code) || e.ParamString() != tt.param {
				t.Errorf("envelope type %q code %q param %q, want %q %q %q (%s)",
					e.Type, e.CodeString(), e.ParamString(), tt.typ, tt.code, tt.param, e.Message)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if took < tt.atLeast*9/10 || took > tt.atLeast+3*time.Second {
				t.Errorf("answered after %v; want about %v", took, tt.atLeast)
			}
			assertStillServing(t, gw)
		})
	}
}

func TestBothKindsOfConfiguredKeyAreAccepted(t *testing.T) {
	t.Parallel()
	gw := faultGateway(t)
	for _, tt := range []struct{ name, auth string }{
		{"a key read from key_env", "Bearer " + gatewayKey},
		{"a key configured only by its sha256", "Bearer " + hashedKey},
		{"a key with a lower-case bearer scheme", "bearer " + hashedKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := gw.Post(t, "/v1/chat/completions", chatBody("healthy-model", false), "Authorization", tt.auth)
			if resp.Status != 200 {
				t.Fatalf("status %d: %s", resp.Status, resp.Body)
			}
		})
	}
	resp := gw.Post(t, "/v1/chat/completions", chatBody("healthy-model", false), "Api-Key", hashedKey)
	if resp.Status != 200 {
		t.Fatalf("an azure-style Api-Key header: status %d: %s", resp.Status, resp.Body)
	}
}

func TestMidStreamFaultsEndWithAnErrorEventAndNoDone(t *testing.T) {
	t.Parallel()
	gw := faultGateway(t)
	tests := []struct {
		name, model string
		code        string
		atLeast     time.Duration // from the last content event to the error event
	}{
		{"an upstream silent mid-stream is cut after the idle timeout", "stalling-model", "upstream_idle_timeout", faultIdle},
		{"an upstream that drops the connection mid-stream", "cutting-model", "upstream_stream_cut", 0},
		{"an upstream error event mid-stream is forwarded", "erroring-model", "mock_error", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := gw.Stream(t, "/v1/chat/completions", chatBody(tt.model, true), "Authorization", "Bearer "+gatewayKey)
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d, Content-Type %q: want a 200 event stream", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			evs, err := testutil.NewEventReader(resp.Body).ReadAll()
			if err != nil {
				t.Fatalf("the stream did not end cleanly after its error event: %v", err)
			}
			if len(evs) < 3 {
				t.Fatalf("got %d events, want the role chunk, 2 content chunks and an error event", len(evs))
			}
			for _, ev := range evs {
				if ev.Done() {
					t.Fatal("a failed stream ended with [DONE]")
				}
			}
			for _, ev := range evs[1:3] {
				if !strings.Contains(ev.Data, `"content"`) {
					t.Errorf("event before the failure is not a content chunk: %s", ev.Data)
				}
			}
			last := evs[len(evs)-1]
			e, err := testutil.ParseEnvelope([]byte(last.Data))
			if err != nil {
				t.Fatalf("last event: %v", err)
			}
			if e.CodeString() != tt.code {
				t.Errorf("error event code %q, want %q (%s)", e.CodeString(), tt.code, last.Data)
			}
			if gap := last.At.Sub(evs[len(evs)-2].At); gap < tt.atLeast*9/10 || gap > tt.atLeast+3*time.Second {
				t.Errorf("error event came %v after the last chunk; want about %v", gap, tt.atLeast)
			}
			assertStillServing(t, gw)
		})
	}
}

func TestMalformedRequestsOnARawConnectionGet400WithTheEnvelope(t *testing.T) {
	t.Parallel()
	gw := faultGateway(t)
	tests := []struct{ name, raw string }{
		{"a request line of one word", "GARBAGE\r\n\r\n"},
		{"a request line without a URI", "GET\r\n\r\n"},
		{"binary noise", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"},
		{"a header line without a colon", "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nthis is not a header\r\n\r\n"},
		{"a non-numeric content length", "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: lots\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", gw.Addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, tt.raw); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no HTTP answer: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, b)
			}
			e, err := testutil.ParseEnvelope(b)
			if err != nil {
				t.Fatal(err)
			}
			if e.Type != "invalid_request_error" || e.CodeString() != "malformed_request" {
				t.Errorf("envelope type %q code %q, want invalid_request_error malformed_request", e.Type, e.CodeString())
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			assertStillServing(t, gw)
		})
	}
}
