package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// process is the gateway binary running as a subprocess.
type process struct {
	cmd    *exec.Cmd
	addr   string
	stderr *testutil.SyncBuffer
	exited chan struct{} // closed once Wait returned; then err holds its result
	err    error
}

// startServe runs `switchyard serve --config FILE` with yamlText as FILE and waits for
// its "serving" log line. The process is killed at cleanup if it is still running.
func startServe(t *testing.T, yamlText string) *process {
	t.Helper()
	return startServeWith(t, yamlText)
}

// startServeWith is startServe with a command the binary runs under (e.g. prlimit).
func startServeWith(t *testing.T, yamlText string, wrapper ...string) *process {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchyard.yaml")
	if err := os.WriteFile(path, []byte(yamlText), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(append(wrapper, binary(t)), "serve", "--config", path)
	p := &process{cmd: exec.Command(args[0], args[1:]...),
		stderr: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	p.cmd.Dir = filepath.Dir(path) // relative paths (the default ledger file) stay in the test's directory
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			fmt.Fprintln(p.stderr, sc.Text())
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	go func() {
		<-scanned // Wait closes the pipe; read it to the end first
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("gateway stderr:\n%s", p.stderr.String())
		}
	})
	select {
	case p.addr = <-addrc:
	case <-p.exited:
		t.Fatalf("the gateway exited at start (%v):\n%s", p.err, p.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("the gateway did not log its address within 10s:\n%s", p.stderr.String())
	}
	return p
}

// streamResult is how one client stream ended.
type streamResult struct {
	events int
	done   bool
	err    error
	end    time.Time
}

func TestSIGTERMDrainsOpenStreamsRefusesNewConnectionsAndExitsZero(t *testing.T) {
	const streams = 50
	up := testutil.StartUpstream(t, mock.Config{Reply: strings.Repeat("ab", 20), Chunks: 20, ChunkInterval: 50 * time.Millisecond})
	p := startServe(t, fmt.Sprintf(`
listen: 127.0.0.1:0
timeouts: {shutdown: 20s}
log: {requests: false}
providers:
  - {name: up, base_url: %s}
models:
  - {name: "*", provider: up}
`, up.URL))

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"a long story please"}]}`
	results := make([]streamResult, streams)
	started := make(chan error, streams) // nil, or why a stream did not start
	var wg sync.WaitGroup
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			defer func() { r.end = time.Now() }()
			resp, err := client.Post("http://"+p.addr+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				r.err = err
				started <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				r.err = fmt.Errorf("status %d", resp.StatusCode)
				started <- r.err
				return
			}
			evs := testutil.NewEventReader(resp.Body)
			first, err := evs.Next()
			started <- err
			if err != nil {
				r.err = err
				return
			}
			rest, err := evs.ReadAll()
			r.events, r.err = 1+len(rest), err
			r.done = first.Done() || (len(rest) > 0 && rest[len(rest)-1].Done())
		}()
	}
	for range streams {
		select {
		case err := <-started:
			if err != nil {
				t.Fatalf("a stream failed to start: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the streams did not all start within 10s")
		}
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	// A dial racing the listener's close may be reset rather than refused (the kernel
	// had queued it); keep dialling until the port refuses outright.
	var refusedAt time.Time
	for refusedAt.IsZero() {
		c, err := net.DialTimeout("tcp", p.addr, 500*time.Millisecond)
		switch {
		case err == nil:
			_ = c.Close()
		case errors.Is(err, syscall.ECONNREFUSED):
			refusedAt = time.Now()
		case !errors.Is(err, syscall.ECONNRESET):
			t.Fatalf("a new connection after SIGTERM failed with %v, want connection refused", err)
		}
		if refusedAt.IsZero() && time.Since(signalled) > 3*time.Second {
			t.Fatal("new connections were still accepted 3s after SIGTERM")
		}
		time.Sleep(5 * time.Millisecond)
	}

	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-allDone:
	case <-time.After(15 * time.Second):
		t.Fatal("the open streams did not finish within 15s of SIGTERM")
	}
	var lastEnd time.Time
	for i, r := range results {
		if r.err != nil || !r.done || r.events != 23 {
			t.Errorf("stream %d: %d events, [DONE] %v, error %v; want 23 events (role, 20 content, finish, [DONE]) ending with [DONE]", i, r.events, r.done, r.err)
		}
		if r.end.After(lastEnd) {
			lastEnd = r.end
		}
	}
	if !refusedAt.Before(lastEnd) {
		t.Errorf("new connections were refused only at %v, after the last stream ended at %v", refusedAt, lastEnd)
	}

	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not exit within 10s of its streams ending")
	}
	if p.err != nil {
		t.Fatalf("the gateway exited with %v, want exit 0", p.err)
	}
	select {
	case at := <-up.Disconnects():
		t.Errorf("the upstream saw a stream abandoned at %v", at)
	default:
	}
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no \"stopped\" log line")
	}
}
