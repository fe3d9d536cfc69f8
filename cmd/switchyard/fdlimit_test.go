package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// TestRunningOutOfFileDescriptorsSlowsAcceptingAndNeverExits starts the gateway with 256
// file descriptors and sends 1,000 concurrent requests to a slow upstream. The gateway
// must run out of descriptors (it logs the accept errors it waits out), stay up, serve
// what it can, and answer normally once the load is over.
func TestRunningOutOfFileDescriptorsSlowsAcceptingAndNeverExits(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) is not installed")
	}
	up := testutil.StartUpstream(t, mock.Config{Delay: 500 * time.Millisecond})
	p := startServeWith(t, fmt.Sprintf(`
listen: 127.0.0.1:0
log: {requests: false}
providers:
  - {name: up, base_url: %s}
models:
  - {name: "*", provider: up}
`, up.URL), prlimit, "--nofile=256:256", "--")
	url := "http://" + p.addr + "/v1/chat/completions"
	const clients = 1000
	var ok, failed atomic.Int64
	var mu sync.Mutex
	why := map[string]int{}
	note := func(s string) { mu.Lock(); why[s]++; mu.Unlock() }
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			body := fmt.Sprintf(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi %d"}]}`, i)
			resp, err := c.Post(url, "application/json", strings.NewReader(body))
			if err != nil {
				failed.Add(1)
				note(err.Error()[strings.LastIndex(err.Error(), ":")+1:])
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ok.Add(1)
			} else {
				failed.Add(1)
				note(resp.Status)
			}
		}()
	}
	wg.Wait()
	t.Logf("1,000 concurrent requests with 256 descriptors: %d answered 200, %d failed (%v), in %v",
		ok.Load(), failed.Load(), why, time.Since(start).Round(time.Millisecond))
	select {
	case <-p.exited:
		t.Fatalf("the gateway exited under descriptor exhaustion: %v\n%s", p.err, p.stderr.String())
	default:
	}
	if !strings.Contains(p.stderr.String(), "accept failed; retrying") {
		t.Fatalf("the gateway never ran out of descriptors; the test proves nothing:\n%s", p.stderr.String())
	}
	if ok.Load() == 0 {
		t.Fatal("nothing was served under load")
	}
	// Recovery: once the load is over, requests are answered at once.
	for i := range 5 {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"after"}]}`))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d after the load: %v %v", i, err, resp)
		}
		resp.Body.Close()
	}
}
