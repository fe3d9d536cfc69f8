package router

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestHealth(cfg HealthConfig) (*Health, *clock) {
	c := &clock{t: time.Unix(1000, 0)}
	h := NewHealth(cfg)
	h.now = c.now
	return h, c
}

func run(h *Health, o Outcome) {
	h.Start()
	h.Done(o, time.Millisecond, time.Millisecond)
}

func TestCircuitOpensAfterConsecutiveFailuresAndRecoversThroughAProbe(t *testing.T) {
	h, c := newTestHealth(HealthConfig{FailureThreshold: 3, Cooldown: time.Second, MinRequests: 1000})
	for range 2 {
		run(h, Failure)
	}
	if h.State() != Closed {
		t.Fatal("opened before the threshold")
	}
	run(h, Failure)
	if h.State() != Open || h.Available() {
		t.Fatal("did not open at the threshold")
	}
	c.t = c.t.Add(999 * time.Millisecond)
	if h.Available() {
		t.Fatal("available during cooldown")
	}
	c.t = c.t.Add(2 * time.Millisecond)
	if h.State() != HalfOpen || !h.Available() {
		t.Fatal("not half-open after cooldown")
	}
	h.Start() // the probe takes the only slot
	if h.Available() {
		t.Fatal("a second probe was allowed")
	}
	h.Done(Success, time.Millisecond, time.Millisecond)
	if h.State() != Closed {
		t.Fatal("a successful probe did not close the circuit")
	}
}

func TestAFailedProbeReopensTheCircuit(t *testing.T) {
	h, c := newTestHealth(HealthConfig{FailureThreshold: 1, Cooldown: time.Second})
	run(h, Failure)
	c.t = c.t.Add(2 * time.Second)
	if h.State() != HalfOpen {
		t.Fatal("not half-open")
	}
	run(h, Failure)
	if h.State() != Open {
		t.Fatal("a failed probe did not reopen")
	}
}

func TestCancellationsNeverCountAsFailures(t *testing.T) {
	h, _ := newTestHealth(HealthConfig{FailureThreshold: 2, MinRequests: 2})
	for range 50 {
		run(h, Cancelled)
	}
	if h.State() != Closed || h.InFlight() != 0 {
		t.Fatalf("state %d inflight %d", h.State(), h.InFlight())
	}
}

func TestErrorRateOpensTheCircuit(t *testing.T) {
	h, _ := newTestHealth(HealthConfig{FailureThreshold: 100, ErrorRate: 0.5, MinRequests: 10})
	for i := range 10 {
		if i%2 == 1 {
			run(h, Failure)
		} else {
			run(h, Success)
		}
	}
	if h.State() != Open {
		t.Fatal("a 50% error rate over 10 requests did not open the circuit")
	}
}

func TestOldFailuresLeaveTheWindow(t *testing.T) {
	h, c := newTestHealth(HealthConfig{FailureThreshold: 100, ErrorRate: 0.5, MinRequests: 4, Window: 10 * time.Second})
	for range 2 {
		run(h, Failure)
		run(h, Success) // resets the consecutive count
	}
	c.t = c.t.Add(time.Minute)
	run(h, Failure) // with the old outcomes: 3 of 5 failed, which would trip
	if h.State() != Closed {
		t.Fatal("failures from a minute ago still counted")
	}
}

func TestLatencyIsAnEWMA(t *testing.T) {
	h, _ := newTestHealth(HealthConfig{LatencyDecay: 0.5})
	if _, _, ok := h.Latency(); ok {
		t.Fatal("latency before any sample")
	}
	h.Start()
	h.Done(Success, 100*time.Millisecond, 200*time.Millisecond)
	h.Start()
	h.Done(Success, 300*time.Millisecond, 400*time.Millisecond)
	ttft, total, _ := h.Latency()
	if ttft != 200*time.Millisecond || total != 300*time.Millisecond {
		t.Fatalf("ttft %v total %v", ttft, total)
	}
}
