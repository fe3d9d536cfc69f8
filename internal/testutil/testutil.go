// Package testutil holds the shared helpers of the integration tests: a fake upstream
// and a gateway, each serving on a real loopback socket, and clients pointed at them.
//
// Everything a helper starts is stopped by t.Cleanup, in reverse order of starting, so
// a test that starts an upstream and then a gateway in front of it has the gateway shut
// down first. Nothing here talks to the network beyond 127.0.0.1.
package testutil

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/switchyard/switchyard/gateway"
	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/internal/mock"
)

// Upstream is a fake OpenAI-compatible provider on a loopback TCP socket. It records
// every request it receives (mock.Server.Requests).
type Upstream struct {
	*mock.Server
	// Addr is the host:port it listens on.
	Addr string
	// URL is its API base URL, for a provider's base_url ("http://ADDR/v1").
	URL string
}

// StartUpstream starts a recording mock upstream with cfg on 127.0.0.1:0.
func StartUpstream(t testing.TB, cfg mock.Config) *Upstream {
	t.Helper()
	s := mock.New(cfg, true)
	addr, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start mock upstream: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &Upstream{Server: s, Addr: addr, URL: "http://" + addr + "/v1"}
}

// Gateway is a running gateway on a loopback TCP socket.
type Gateway struct {
	*gateway.Gateway
	// Addr is the host:port it listens on.
	Addr string
	// URL is its root ("http://ADDR"); the OpenAI base URL is URL+"/v1".
	URL string
	// HTTP is a plain client for it whose idle connections are closed at cleanup.
	HTTP *http.Client
	// Logs holds everything the gateway logged; it is printed when the test fails.
	Logs *SyncBuffer
}

// StartGateway parses yamlText as a config file (secrets read from env only, never
// from the process environment), builds a gateway and serves it on 127.0.0.1:0 (the
// config's listen address is ignored). At cleanup the gateway must shut down within
// 5s, which fails the test when a stream was left hanging.
func StartGateway(t testing.TB, yamlText string, env map[string]string) *Gateway {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yamlText), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if !strings.Contains(yamlText, "ledger") { // each test gets its own ledger file
		cfg.Metering.Ledger = "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	}
	return serve(t, cfg)
}

// StartGatewayFile is StartGateway for a config file on disk, which the gateway watches
// and reloads (keys, rate limits, prices) as it changes.
func StartGatewayFile(t testing.TB, path string, env map[string]string) *Gateway {
	t.Helper()
	cfg, err := config.Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return serve(t, cfg)
}

// serve builds a gateway from cfg and serves it on 127.0.0.1:0 until cleanup.
func serve(t testing.TB, cfg *config.Config) *Gateway {
	t.Helper()
	logs := &SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	g, err := gateway.New(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("gateway shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("gateway Serve returned %v", err)
		}
	})
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections) // runs before the shutdown above
	addr := ln.Addr().String()
	return &Gateway{Gateway: g, Addr: addr, URL: "http://" + addr,
		HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}, Logs: logs}
}

// OpenAI returns an official-style client for the gateway that authenticates with key
// (which may be empty).
func (g *Gateway) OpenAI(key string) *openai.Client {
	c := openai.DefaultConfig(key)
	c.BaseURL = g.URL + "/v1"
	c.HTTPClient = g.HTTP
	return openai.NewClientWithConfig(c)
}

// Response is a whole HTTP response as a test sees it.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Post sends body to the gateway's path as JSON with the given extra headers (pairs of
// name and value) and reads the whole answer.
func (g *Gateway) Post(t testing.TB, path, body string, headers ...string) Response {
	t.Helper()
	req, err := http.NewRequest("POST", g.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return g.Do(t, req)
}

// Do sends req with the gateway's client and reads the whole answer.
func (g *Gateway) Do(t testing.TB, req *http.Request) Response {
	t.Helper()
	resp, err := g.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL.Path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// ClosedAddr returns a loopback host:port on which nothing listens: it was just bound
// and released, so a connection to it is refused.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns a copy of what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
