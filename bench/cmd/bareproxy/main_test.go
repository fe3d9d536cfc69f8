package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
)

// startProxy serves a mock upstream behind the bare proxy and returns both base URLs.
func startProxy(t *testing.T, cfg mock.Config) (direct, proxied string) {
	t.Helper()
	m := mock.New(cfg, false)
	up, err := m.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(up, 5*time.Second)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + up, "http://" + ln.Addr().String()
}

func post(t *testing.T, base, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestAnswersPassThroughByteForByte(t *testing.T) {
	direct, proxied := startProxy(t, mock.Config{})
	for _, body := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi there"}]}`,
	} {
		want, _ := io.ReadAll(post(t, direct, body).Body)
		resp := post(t, proxied, body)
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(got) != string(want) {
			t.Errorf("status %d, body\n%s\nwant\n%s", resp.StatusCode, got, want)
		}
	}
}

func TestStreamedEventsAreFlushedOneByOne(t *testing.T) {
	const gap = 300 * time.Millisecond
	_, proxied := startProxy(t, mock.Config{Chunks: 2, ChunkInterval: gap})
	start := time.Now()
	resp := post(t, proxied, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hello"}]}`)
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	if d := time.Since(start); d >= gap {
		t.Errorf("first event took %v: the proxy held it back until the next one", d)
	}
}
