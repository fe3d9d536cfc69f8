package load

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
)

func startMock(t *testing.T, cfg mock.Config) string {
	t.Helper()
	m := mock.New(cfg, false)
	addr, err := m.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return "http://" + addr + "/v1/chat/completions"
}

const chatBody = `{"model":"m","messages":[{"role":"user","content":"hello"}]}`
const streamBody = `{"model":"m","stream":true,"messages":[{"role":"user","content":"hello"}]}`

func TestRuns(t *testing.T) {
	tests := []struct {
		name   string
		mock   mock.Config
		cfg    Config
		check  func(t *testing.T, r *Result)
		errors bool
	}{
		{
			name: "a closed loop with a request count sends exactly that many and records them all",
			cfg:  Config{Body: []byte(chatBody), Concurrency: 4, Requests: 200},
			check: func(t *testing.T, r *Result) {
				if r.OK != 200 || r.Latency.N != 200 || r.Throughput <= 0 || r.Loop != "closed" {
					t.Errorf("got %+v", r)
				}
			},
		},
		{
			name: "an open loop keeps its rate and reports how late requests left",
			cfg:  Config{Body: []byte(chatBody), Concurrency: 8, Rate: 500, Duration: 400 * time.Millisecond},
			check: func(t *testing.T, r *Result) {
				if r.OK < 190 || r.OK > 210 || r.SendLag == nil || r.Loop != "open" {
					t.Errorf("want about 200 requests with send lag, got ok=%d lag=%v", r.OK, r.SendLag)
				}
			},
		},
		{
			name: "streams record time to first byte, never after the whole answer",
			mock: mock.Config{Chunks: 4, ChunkInterval: 5 * time.Millisecond},
			cfg:  Config{Body: []byte(streamBody), Stream: true, Concurrency: 2, Requests: 10},
			check: func(t *testing.T, r *Result) {
				if r.OK != 10 || r.TTFB == nil || r.TTFB.P50 >= r.Latency.P50 || r.Latency.P50 < 20 {
					t.Errorf("got ok=%d ttfb=%+v latency=%+v", r.OK, r.TTFB, r.Latency)
				}
			},
		},
		{
			name: "failed answers are counted by kind and left out of the latencies",
			mock: mock.Config{Status: 503},
			cfg:  Config{Body: []byte(chatBody), Concurrency: 2, Requests: 20},
			check: func(t *testing.T, r *Result) {
				if r.Errors != 20 || r.ErrorKinds["status_503"] != 20 || r.Latency.N != 0 {
					t.Errorf("got errors=%d kinds=%v n=%d", r.Errors, r.ErrorKinds, r.Latency.N)
				}
			},
		},
		{
			name: "a stream cut before [DONE] is an error",
			mock: mock.Config{CutAfterChunks: 2},
			cfg:  Config{Body: []byte(streamBody), Stream: true, Concurrency: 1, Requests: 3},
			check: func(t *testing.T, r *Result) {
				if r.Errors != 3 || r.OK != 0 {
					t.Errorf("got ok=%d errors=%v", r.OK, r.ErrorKinds)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.URL = startMock(t, tt.mock)
			tt.cfg.Timeout = 5 * time.Second
			r, err := Run(context.Background(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestWarmupRequestsAreNotRecorded(t *testing.T) {
	url := startMock(t, mock.Config{})
	r, err := Run(context.Background(), Config{URL: url, Body: []byte(chatBody), Concurrency: 2,
		Warmup: 200 * time.Millisecond, Requests: 50, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != 50 {
		t.Errorf("measured %d requests, want 50", r.OK)
	}
}

func TestRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "https://x/v1", Body: []byte(chatBody)},
		{URL: "http://127.0.0.1:1/v1"},
		{URL: "http://127.0.0.1:1/v1", Body: []byte(chatBody), Rate: -1},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
