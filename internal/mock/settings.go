package mock

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Settings is the mock provider's behaviour as a config file writes it, in the mock
// section of a provider of kind mock. It exists so fallbacks, circuit breakers, timeouts
// and coalescing can be tried with a config file alone. The zero value answers at once,
// in 4 chunks, and never fails.
type Settings struct {
	// Latency is the wait before response headers: the time to first byte. Default 0.
	Latency time.Duration `yaml:"latency"`
	// Chunks is how many content chunks a streamed answer is split into. Default 4.
	Chunks int `yaml:"chunks"`
	// ChunkInterval is the pause between two streamed chunks. Default 0.
	ChunkInterval time.Duration `yaml:"chunk_interval"`
	// Reply, when set, is the assistant text of every chat answer. Default: "Mock reply
	// to: " and the last user message.
	Reply string `yaml:"reply"`
	// Failure makes a share of the requests fail. Default: none fails.
	Failure Failure `yaml:"failure"`
}

// Failure kinds.
const (
	// FailStatus answers with an HTTP error status and an OpenAI-shaped error body.
	FailStatus = "status"
	// FailHang never sends response headers, until the client gives up (a first-byte
	// timeout in the gateway).
	FailHang = "hang"
	// FailStall makes a stream go silent, connection open, after AfterChunks chunks (an
	// idle timeout in the gateway).
	FailStall = "stall"
	// FailCut closes a stream's connection after AfterChunks chunks, without its end.
	FailCut = "cut"
	// FailErrorEvent sends an SSE error event after AfterChunks chunks and ends the stream.
	FailErrorEvent = "error_event"
)

// Failure is which requests fail and how.
type Failure struct {
	// Rate is the share of requests that fail, from 0 to 1, spread evenly by arrival
	// (0.25 fails the 4th, 8th, 12th… request; 1 fails all). Default 0.
	Rate float64 `yaml:"rate"`
	// Kind is how a failing request fails: status (an HTTP error), hang (no response
	// headers), stall (a stream goes silent), cut (a stream's connection closes) or
	// error_event (an SSE error event mid-stream). stall, cut and error_event shape
	// streamed answers; a non-streamed request picked by them answers normally.
	// Default status.
	Kind string `yaml:"kind"`
	// Status is the HTTP status of kind status, 400 to 599. Default 503.
	Status int `yaml:"status"`
	// RetryAfter is the Retry-After header of kind status, in whole seconds. Default
	// none.
	RetryAfter int `yaml:"retry_after"`
	// AfterChunks is how many content chunks a stream sends before kinds stall, cut and
	// error_event take effect. Default 1.
	AfterChunks int `yaml:"after_chunks"`
}

// Validate reports the first invalid setting.
func (s Settings) Validate() error {
	f := s.Failure
	switch {
	case s.Latency < 0 || s.ChunkInterval < 0:
		return fmt.Errorf("mock: latency and chunk_interval must not be negative")
	case s.Chunks < 0:
		return fmt.Errorf("mock: chunks must not be negative")
	case math.IsNaN(f.Rate) || f.Rate < 0 || f.Rate > 1:
		return fmt.Errorf("mock: failure.rate %v must be between 0 and 1", f.Rate)
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("mock: failure.status %d must be between 400 and 599", f.Status)
	case f.RetryAfter < 0 || f.AfterChunks < 0:
		return fmt.Errorf("mock: failure.retry_after and failure.after_chunks must not be negative")
	}
	switch f.Kind {
	case "", FailStatus, FailHang, FailStall, FailCut, FailErrorEvent:
		return nil
	}
	return fmt.Errorf("mock: failure.kind %q: want status, hang, stall, cut or error_event", f.Kind)
}

// Config turns valid settings into the server's Config.
func (s Settings) Config() Config {
	c := Config{Delay: s.Latency, Chunks: s.Chunks, ChunkInterval: s.ChunkInterval, Reply: s.Reply}
	f := s.Failure
	if f.Rate <= 0 {
		return c
	}
	c.FailRate = f.Rate
	after := f.AfterChunks
	if after <= 0 {
		after = 1
	}
	switch f.Kind {
	case FailHang:
		c.StallHeaders = true
	case FailStall:
		c.StallAfterChunks = after
	case FailCut:
		c.CutAfterChunks = after
	case FailErrorEvent:
		c.ErrorAfterChunks = after
	default:
		c.Status = f.Status
		if c.Status == 0 {
			c.Status = 503
		}
		if f.RetryAfter > 0 {
			c.RetryAfter = strconv.Itoa(f.RetryAfter)
		}
	}
	return c
}
