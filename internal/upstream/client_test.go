package upstream

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// server is a real net/http server on loopback that counts the requests it received
// and closes keep-alive connections idle for idle.
func server(t *testing.T, idle time.Duration, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	s.Config.IdleTimeout = idle
	s.Start()
	t.Cleanup(s.Close)
	return s, &n
}

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) }

func post(t *testing.T, c *Client, ctx context.Context, url string, timeout time.Duration) (*fasthttp.Response, error) {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod("POST")
	req.SetRequestURI(url)
	req.SetBodyString(`{"model":"m"}`)
	resp := fasthttp.AcquireResponse()
	t.Cleanup(func() { fasthttp.ReleaseResponse(resp) })
	return resp, c.Do(ctx, req, resp, timeout)
}

// hidden wraps a connection so that it has no socket to peek at: the pool cannot see a
// server's hang-up before reuse and must find out on the first read.
type hidden struct{ net.Conn }

func TestAConnectionTheServerClosedWhileIdleIsNeverAFailure(t *testing.T) {
	tests := []struct {
		name       string
		dial       DialFunc
		wantRetry  uint64 // requests sent again after the first read found the connection closed
		wantDials  uint64
		wantServer int64
	}{
		{"seen closed before reuse, the request goes on a new connection", nil, 0, 2, 2},
		{"found closed on the first read, the request is sent again on a fresh one", func(a string) (net.Conn, error) {
			c, err := net.Dial("tcp", a)
			return hidden{c}, err
		}, 1, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, n := server(t, 300*time.Millisecond, ok)
			c, err := New(s.URL, Config{}, tt.dial)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i := range 2 {
				resp, err := post(t, c, context.Background(), s.URL+"/v1/x", 5*time.Second)
				if err != nil || resp.StatusCode() != 200 {
					t.Fatalf("request %d: %v %d", i, err, resp.StatusCode())
				}
				time.Sleep(700 * time.Millisecond) // past the server's idle timeout
			}
			st := c.Stats()
			if st.StaleRetries != tt.wantRetry || st.Dials != tt.wantDials || n.Load() != tt.wantServer {
				t.Fatalf("stale retries %d dials %d server saw %d; want %d %d %d",
					st.StaleRetries, st.Dials, n.Load(), tt.wantRetry, tt.wantDials, tt.wantServer)
			}
		})
	}
}

func TestSequentialCallsReuseOneConnection(t *testing.T) {
	s, n := server(t, time.Minute, ok)
	c, _ := New(s.URL, Config{}, nil)
	defer c.Close()
	for i := range 5 {
		if _, err := post(t, c, context.Background(), s.URL, 5*time.Second); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if st := c.Stats(); st.Dials != 1 || st.Idle != 1 || n.Load() != 5 {
		t.Fatalf("dials %d idle %d server %d; want 1 1 5", st.Dials, st.Idle, n.Load())
	}
}

func TestAConnectionIdleLongerThanTheLimitIsRetired(t *testing.T) {
	s, _ := server(t, time.Minute, ok)
	c, _ := New(s.URL, Config{MaxIdleConnDuration: 100 * time.Millisecond}, nil)
	defer c.Close()
	_, _ = post(t, c, context.Background(), s.URL, 5*time.Second)
	time.Sleep(150 * time.Millisecond)
	_, _ = post(t, c, context.Background(), s.URL, 5*time.Second)
	if st := c.Stats(); st.Dials != 2 || st.Open != 1 {
		t.Fatalf("dials %d open %d; want the old connection closed and a new one dialled", st.Dials, st.Open)
	}
}

func TestCancellingTheContextAbortsTheCallAtOnce(t *testing.T) {
	gone := make(chan time.Time, 1)
	s, _ := server(t, time.Minute, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // as a real server parses the request before it works on it
		select {
		case <-r.Context().Done():
			gone <- time.Now()
		case <-time.After(30 * time.Second):
		}
	})
	c, _ := New(s.URL, Config{}, nil)
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := time.AfterFunc(200*time.Millisecond, cancel)
	defer cancelled.Stop()
	start := time.Now()
	_, err := post(t, c, ctx, s.URL, time.Minute)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindAborted {
		t.Fatalf("err = %v, want KindAborted", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the call returned after %v", d)
	}
	select {
	case at := <-gone:
		t.Logf("upstream saw the cancellation %v after it", at.Sub(start.Add(200*time.Millisecond)))
	case <-time.After(2 * time.Second):
		t.Fatal("the upstream never saw the call cancelled")
	}
}

func TestAFullPoolWaitsThenAnswersPoolExhausted(t *testing.T) {
	release, first := make(chan struct{}), make(chan struct{})
	s, _ := server(t, time.Minute, func(w http.ResponseWriter, r *http.Request) { <-release })
	c, _ := New(s.URL, Config{MaxConnsPerHost: 1, MaxConnWait: 50 * time.Millisecond}, nil)
	defer c.Close()
	go func() {
		defer close(first)
		_, _ = post(t, c, context.Background(), s.URL, 10*time.Second)
	}()
	defer func() { close(release); <-first }()
	time.Sleep(100 * time.Millisecond)
	_, err := post(t, c, context.Background(), s.URL, 10*time.Second)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindPoolExhausted {
		t.Fatalf("err = %v, want KindPoolExhausted", err)
	}
	if c.Stats().PoolExhausted != 1 {
		t.Fatalf("stats: %+v", c.Stats())
	}
}

func TestAConnectionThatBreaksAfterTheRequestWasSentIsBroken(t *testing.T) {
	var seen atomic.Int64
	s, _ := server(t, time.Minute, func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close() // read the request, then hang up without answering
	})
	c, _ := New(s.URL, Config{}, nil)
	defer c.Close()
	_, err := post(t, c, context.Background(), s.URL, 5*time.Second)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindBroken {
		t.Fatalf("err = %v, want KindBroken", err)
	}
	if seen.Load() != 1 || c.Stats().StaleRetries != 0 {
		t.Fatalf("a fresh connection that broke after the request was sent must not be sent again: server saw %d", seen.Load())
	}
}

func TestAStreamReadToItsEndReturnsItsConnection(t *testing.T) {
	s, _ := server(t, time.Minute, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for range 3 {
			_, _ = w.Write([]byte("data: {}\n\n"))
			w.(http.Flusher).Flush()
		}
		_, _ = w.Write([]byte("data: [DONE]\n\n"))
	})
	c, _ := New(s.URL, Config{}, nil)
	defer c.Close()
	for range 3 {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.Header.SetMethod("POST")
		req.SetRequestURI(s.URL)
		st, err := c.Open(context.Background(), req, resp, 5*time.Second)
		if err != nil || st == nil {
			t.Fatalf("open: %v", err)
		}
		buf := make([]byte, 64)
		for {
			if _, err := st.Read(buf); err != nil {
				break
			}
		}
		st.Close()
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
	if st := c.Stats(); st.Dials != 1 {
		t.Fatalf("%d dials for 3 streams read to their end, want 1", st.Dials)
	}
}
