package gateway_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
	"github.com/switchyard/switchyard/metering"
)

const same = `{"model":"gpt-4o-mini","temperature":0,%s"messages":[{"role":"user","content":"What is new today?"}]}`

func coalescingGateway(t *testing.T, up *testutil.Upstream) (*testutil.Gateway, string) {
	t.Helper()
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	return testutil.StartGateway(t, fmt.Sprintf(`
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}]
`, ledger, up.URL), nil), ledger
}

func TestIdenticalConcurrentRequestsShareOneUpstreamCall(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			up := testutil.StartUpstream(t, mock.Config{Delay: 300 * time.Millisecond, Chunks: 8, ChunkInterval: 20 * time.Millisecond})
			g, ledger := coalescingGateway(t, up)
			body := fmt.Sprintf(same, "")
			if stream {
				body = fmt.Sprintf(same, `"stream":true,`)
			}
			const n = 100
			bodies := make([][]byte, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := g.Post(t, "/v1/chat/completions", body, "X-Request-Id", fmt.Sprint("c-", i))
					if r.Status != 200 {
						t.Errorf("request %d: %d %s", i, r.Status, r.Body)
					}
					bodies[i] = r.Body
				}()
			}
			wg.Wait()
			if up.Calls() != 1 {
				t.Fatalf("%d upstream calls for %d identical requests", up.Calls(), n)
			}
			for i := range bodies {
				if !bytes.Equal(bodies[i], bodies[0]) {
					t.Fatalf("client %d got different bytes:\n%s\nvs\n%s", i, bodies[i], bodies[0])
				}
			}
			if stream && !bytes.Contains(bodies[0], []byte("data: [DONE]")) {
				t.Fatalf("stream not complete: %s", bodies[0])
			}
			evs := ledgerEvents(t, ledger, n)
			paid, coalesced := 0, 0
			for _, ev := range evs {
				switch {
				case ev.Cache == metering.CacheCoalesced && ev.Cost == 0 && ev.Savings > 0:
					coalesced++
				case ev.Cache != metering.CacheCoalesced && ev.Cost > 0:
					paid++
				}
			}
			if paid != 1 || coalesced != n-1 {
				t.Fatalf("ledger: %d paid and %d coalesced events, want 1 and %d", paid, coalesced, n-1)
			}
		})
	}
}

func TestTheLeaderLeavingMidStreamDoesNotBreakTheFollowers(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{Chunks: 10, ChunkInterval: 60 * time.Millisecond})
	g, _ := coalescingGateway(t, up)
	body := fmt.Sprintf(same, `"stream":true,`)
	// The leader: a raw connection that reads two events, then hangs up.
	conn, err := net.Dial("tcp", g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	br := bufio.NewReader(conn)
	for seen := 0; seen < 2; {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") {
			seen++
		}
	}
	// Followers join while the leader's stream is live.
	const followers = 5
	results := make([]string, followers)
	var wg sync.WaitGroup
	for i := range followers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := g.Stream(t, "/v1/chat/completions", body)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results[i] = string(b)
		}()
	}
	time.Sleep(100 * time.Millisecond) // let them join
	conn.Close()                       // the leader's client goes away
	wg.Wait()
	for i, r := range results {
		if !strings.Contains(r, "data: [DONE]") || strings.Contains(r, `"error"`) {
			t.Fatalf("follower %d got a broken stream:\n%s", i, r)
		}
	}
	if up.Calls() != 1 {
		t.Fatalf("%d upstream calls", up.Calls())
	}
}
