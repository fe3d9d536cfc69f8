package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/internal/testutil"
)

// TestCoalescedRequestsEachHaveOneCompleteTrace: 20 identical deterministic requests make
// one upstream call, and every client request has exactly one trace of its own: a server
// span with the policy resolved once beneath it, no span outside a request's trace, one
// attempt span in all (the leader's), and every non-streamed answer carries its cost.
func TestCoalescedRequestsEachHaveOneCompleteTrace(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			up := testutil.StartUpstream(t, mock.Config{Delay: 300 * time.Millisecond, Chunks: 4, ChunkInterval: 10 * time.Millisecond})
			g, rcv := tracedGateway(t, up, up)
			body := fmt.Sprintf(same, "")
			if stream {
				body = fmt.Sprintf(same, `"stream":true,`)
			}
			const n = 20
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := g.Post(t, "/v1/chat/completions", body, "Authorization", "Bearer k1", "X-Request-Id", fmt.Sprint("co-", i))
					if r.Status != 200 {
						t.Errorf("request %d: %d %s", i, r.Status, r.Body)
					}
					if !stream && r.Header.Get("X-Switchyard-Cost-Usd") == "" {
						t.Errorf("request %d (cache %q) has no cost header", i, r.Header.Get("X-Switchyard-Cache"))
					}
				}()
			}
			wg.Wait()
			if up.Calls() != 1 {
				t.Fatalf("%d upstream calls for %d identical requests", up.Calls(), n)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var spans []*tracepb.Span
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if err := g.FlushTelemetry(ctx); err != nil {
					t.Fatal(err)
				}
				spans = rcv.Spans()
				if count(spans, func(s *tracepb.Span) bool { return s.Kind == tracepb.Span_SPAN_KIND_SERVER }) >= n {
					break
				}
			}
			servers := map[string]*tracepb.Span{} // by trace id
			for _, s := range spans {
				if s.Kind == tracepb.Span_SPAN_KIND_SERVER {
					if servers[string(s.TraceId)] != nil {
						t.Fatalf("two server spans in one trace")
					}
					servers[string(s.TraceId)] = s
				}
			}
			if len(servers) != n {
				t.Fatalf("%d server spans (traces) for %d client requests", len(servers), n)
			}
			policies := map[string]int{}
			attempts := 0
			for _, s := range spans {
				srv := servers[string(s.TraceId)]
				if srv == nil {
					t.Errorf("orphan span %q in a trace with no server span", s.Name)
					continue
				}
				if s.Name == telemetry.SpanPolicy {
					policies[string(s.TraceId)]++
					if !bytes.Equal(s.ParentSpanId, srv.SpanId) {
						t.Errorf("policy span not under its request's server span")
					}
				}
				if s.Kind == tracepb.Span_SPAN_KIND_CLIENT {
					attempts++
				}
			}
			for tr, srv := range servers {
				if policies[tr] != 1 {
					t.Errorf("request %v resolved its policy %d times", srv.Attributes, policies[tr])
				}
			}
			if attempts != 1 {
				t.Errorf("%d upstream attempt spans, want 1", attempts)
			}
		})
	}
}

func count(spans []*tracepb.Span, f func(*tracepb.Span) bool) int {
	n := 0
	for _, s := range spans {
		if f(s) {
			n++
		}
	}
	return n
}
