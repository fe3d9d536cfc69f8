// Package mock is a deterministic OpenAI-compatible server. It is the embedded default's
// provider when no upstream key is set (served in process on a memory listener), the
// fake upstream of the integration tests (on a real loopback socket), and the upstream
// of the benchmark harness. Answers depend only on the request, so tests can compare a
// streamed answer with a non-streamed one.
package mock

import (
	"math"
	"time"
)

// Config shapes the server's behaviour. The zero value answers at once, in 4 chunks.
type Config struct {
	// Delay is how long to wait before sending response headers. Default 0.
	Delay time.Duration
	// Chunks is how many content chunks a streamed answer is split into. Default 4.
	Chunks int
	// ChunkInterval is the pause between streamed chunks. Default 0.
	ChunkInterval time.Duration
	// Reply, when set, is the assistant text for every chat request; otherwise the reply
	// is derived from the last user message.
	Reply string
	// Dimensions is the embedding vector length when the request sets none. Default 8.
	Dimensions int

	// Status, when non-zero, makes every request fail with this HTTP status and an
	// OpenAI-shaped error body.
	Status int
	// RetryAfter is sent as Retry-After with a failing Status.
	RetryAfter string
	// FailEvery > 1 makes only every FailEvery-th request fail with Status (2: half).
	FailEvery int
	// ErrorCode and ErrorMessage replace the failing answer's code and message, e.g.
	// context_length_exceeded for a 400.
	ErrorCode, ErrorMessage string
	// StallHeaders makes the server never answer (until the client goes away).
	StallHeaders bool
	// StallAfterChunks > 0 makes a stream go silent, connection open, after that many
	// content chunks.
	StallAfterChunks int
	// CutAfterChunks > 0 makes a stream close its connection abruptly after that many
	// content chunks, without the final chunk or [DONE].
	CutAfterChunks int
	// ErrorAfterChunks > 0 makes a stream send an error event after that many chunks.
	ErrorAfterChunks int
	// FailRate in (0, 1] applies the faults above (Status, StallHeaders and the
	// AfterChunks knobs) only to that share of requests, spread evenly by arrival (0.25:
	// the 4th, 8th, …); the others answer normally. 0 applies them to every request
	// (Status then honours FailEvery).
	FailRate float64
}

// picked reports whether the n-th request (from 1) is one of the FailRate share that
// fails: the running count of failures floor(n × rate) steps up at it.
func (c *Config) picked(n int64) bool {
	return c.FailRate <= 0 || math.Floor(float64(n)*c.FailRate) > math.Floor(float64(n-1)*c.FailRate)
}

// healthy returns c without its faults.
func (c *Config) healthy() *Config {
	h := *c
	h.Status, h.StallHeaders, h.StallAfterChunks, h.CutAfterChunks, h.ErrorAfterChunks = 0, false, 0, 0, 0
	return &h
}

func (c Config) withDefaults() Config {
	if c.Chunks <= 0 {
		c.Chunks = 4
	}
	if c.Dimensions <= 0 {
		c.Dimensions = 8
	}
	return c
}
