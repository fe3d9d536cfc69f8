package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// post sends a chat body to a gateway and returns the status and x-switchyard-cache.
func post(t *testing.T, addr, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Switchyard-Cache")
}

func cacheConfig(redisAddr, prefix, upstream string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
log: {requests: false}
metering: {ledger: none}
cache:
  enabled: true
  store: redis
  redis: {addr: %s, key_prefix: "%s", cooldown: 200ms}
  defaults: {semantic: "on"}
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}]
`, redisAddr, prefix, upstream)
}

const capital = `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"%s"}]}`

func TestTwoGatewaysSharingRedisServeEachOthersEntries(t *testing.T) {
	redisAddr := os.Getenv("SWITCHYARD_TEST_REDIS")
	if redisAddr == "" {
		t.Skip("SWITCHYARD_TEST_REDIS is not set (make test sets it)")
	}
	up := testutil.StartUpstream(t, mock.Config{})
	cfg := cacheConfig(redisAddr, fmt.Sprintf("sytest:%d:", time.Now().UnixNano()), up.URL)
	a, b := startServe(t, cfg), startServe(t, cfg)
	if s, c := post(t, a.addr, fmt.Sprintf(capital, "What is the capital of Italy?")); s != 200 || c != "miss" {
		t.Fatalf("first request through a: %d %s", s, c)
	}
	if s, c := post(t, b.addr, fmt.Sprintf(capital, "What is the capital of Italy?")); s != 200 || c != "hit" {
		t.Fatalf("the same request through b: %d %q, want an exact hit", s, c)
	}
	deadline := time.Now().Add(5 * time.Second) // b's vector index follows a's writes through Redis
	for {
		s, c := post(t, b.addr, fmt.Sprintf(capital, "what is the capital of italy"))
		if s == 200 && c == "semantic" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a near duplicate through b: %d %q, want a semantic hit", s, c)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if up.Calls() != 1 {
		t.Fatalf("%d upstream calls, want 1", up.Calls())
	}
}

// privateRedis runs a redis-server of our own on a free port, so the test can stop and
// restart it. It is killed at cleanup.
func privateRedis(t *testing.T) (addr string, stop, start func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	_ = ln.Close()
	port := addr[strings.LastIndex(addr, ":")+1:]
	dir := t.TempDir()
	var cmd *exec.Cmd
	start = func() {
		cmd = exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for range 100 {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("redis-server did not start")
	}
	stop = func() {
		if cmd != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			cmd = nil
		}
	}
	start()
	t.Cleanup(stop)
	return addr, stop, start
}

func TestRedisStoppingMidTestTurnsTheCacheIntoMissesAndItRecovers(t *testing.T) {
	addr, stop, start := privateRedis(t)
	up := testutil.StartUpstream(t, mock.Config{})
	g := startServe(t, cacheConfig(addr, "sy:", up.URL))
	q := fmt.Sprintf(capital, "What is the capital of Spain?")
	post(t, g.addr, q)
	if s, c := post(t, g.addr, q); s != 200 || c != "hit" {
		t.Fatalf("before the outage: %d %q", s, c)
	}
	stop()
	for i := range 20 {
		began := time.Now()
		s, c := post(t, g.addr, q)
		if s != 200 || c != "miss" {
			t.Fatalf("request %d during the outage: %d %q", i, s, c)
		}
		if d := time.Since(began); d > 2*time.Second {
			t.Fatalf("request %d took %v during the outage", i, d)
		}
	}
	start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, c := post(t, g.addr, q)
		if s != 200 {
			t.Fatalf("after the outage: %d", s)
		}
		if c == "hit" {
			break // stored again after recovery, then served
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache did not recover within 10s of Redis coming back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
