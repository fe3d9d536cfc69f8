package gateway_test

import (
	"bufio"
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

// openRawStream sends a streamed chat request on a raw TCP connection and returns the
// connection and an event reader over the response body, once the 200 headers are in.
func openRawStream(t *testing.T, gw *testutil.Gateway, model string) (net.Conn, *testutil.EventReader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", gw.Addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	body := chatBody(model, true)
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"+
		"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", gatewayKey, len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the stream's headers: %v", err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return c, testutil.NewEventReader(resp.Body)
}

func streamGateway(t *testing.T, cfg mock.Config) (*testutil.Upstream, *testutil.Gateway) {
	t.Helper()
	up := testutil.StartUpstream(t, cfg)
	return up, testutil.StartGateway(t, fidelityConfig(up.URL), clientEnv)
}

func TestStreamedEventsAreRelayedOneByOneAtTheUpstreamsPace(t *testing.T) {
	t.Parallel()
	const interval = 150 * time.Millisecond
	_, gw := streamGateway(t, mock.Config{Chunks: 4, ChunkInterval: interval})
	_, events := openRawStream(t, gw, "gpt-4o-mini")
	evs, err := events.ReadAll()
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	// role chunk, 4 content chunks, the finish chunk, [DONE]: 6 upstream pauses.
	if len(evs) != 7 || !evs[6].Done() {
		t.Fatalf("got %d events ending with %q, want 7 ending with [DONE]", len(evs), evs[len(evs)-1].Data)
	}
	var text strings.Builder
	for i, ev := range evs {
		if i > 0 {
			// Each event left the upstream one interval after the previous; arriving
			// together means the gateway batched them.
			if gap := ev.At.Sub(evs[i-1].At); gap < interval/3 {
				t.Errorf("event %d arrived %v after event %d; want about %v (batched?)", i, gap, i-1, interval)
			}
		}
		if i >= 1 && i <= 4 {
			chunk := ev.Data
			j := strings.Index(chunk, `"content":"`)
			if j < 0 {
				t.Fatalf("event %d is not a content chunk: %s", i, chunk)
			}
			rest := chunk[j+len(`"content":"`):]
			text.WriteString(rest[:strings.IndexByte(rest, '"')])
		}
	}
	if span := evs[6].At.Sub(evs[1].At); span < 5*interval*6/10 {
		t.Errorf("first content event to [DONE] took %v; want about %v", span, 5*interval)
	}
	if want := "Mock reply to: tell me a story"; text.String() != want {
		t.Errorf("assembled text %q, want %q", text.String(), want)
	}
}

func TestAClientAbortingAStreamIsSeenByTheUpstreamWithinASecond(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  mock.Config
	}{
		{"while the upstream keeps sending", mock.Config{Chunks: 50, ChunkInterval: 100 * time.Millisecond}},
		{"while the upstream is silent", mock.Config{Chunks: 6, StallAfterChunks: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, gw := streamGateway(t, tt.cfg)
			conn, events := openRawStream(t, gw, "gpt-4o-mini")
			for i := 0; i < 2; i++ {
				if _, err := events.Next(); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
			}
			select {
			case <-up.Disconnects():
				t.Fatal("the upstream saw a disconnect before the client left")
			default:
			}
			_ = conn.Close()
			closed := time.Now()
			select {
			case at := <-up.Disconnects():
				if d := at.Sub(closed); d > time.Second {
					t.Fatalf("the upstream saw the disconnect %v after the client left", d)
				}
				t.Logf("the upstream saw the client leave after %v", at.Sub(closed))
			case <-time.After(time.Second):
				t.Fatal("the upstream did not see the client leave within 1s")
			}
			if n := up.Calls(); n != 1 {
				t.Errorf("upstream calls = %d, want 1 (a client cancel is never retried)", n)
			}
		})
	}
}
