// Package load generates HTTP load against one OpenAI-compatible endpoint and measures
// it: closed loop (a fixed number of workers, each sending its next request when the
// last one ends) or open loop (requests scheduled at a fixed rate whatever the answers,
// latency measured from each request's intended send time, so a stalled server cannot
// hide its stall by slowing the load down: no coordinated omission).
//
// It uses fasthttp's HostClient rather than net/http: on a machine where the load
// generator shares CPUs with the servers it measures, its own cost per request must be
// as small as possible, and fasthttp reuses requests, responses and buffers (no
// allocation per request) and runs no per-connection reader goroutine.
package load

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config describes one load run. Defaults are applied by withDefaults.
type Config struct {
	// URL is the endpoint, e.g. http://127.0.0.1:8080/v1/chat/completions. Required;
	// plain http only.
	URL string
	// Body is sent with every request as application/json. Required.
	Body []byte
	// Header holds extra request headers as name, value pairs. Default none.
	Header [][2]string
	// Stream reads each answer as an SSE stream: it records the time to the first body
	// byte and requires the stream to end with [DONE]. It does not change Body, which
	// should ask for "stream": true itself. Default false.
	Stream bool
	// Concurrency is the number of workers: the requests in flight in closed loop, the
	// most requests in flight in open loop. Default 64.
	Concurrency int
	// Rate > 0 selects open loop at this many requests per second. Default 0: closed loop.
	Rate float64
	// Duration bounds the measured phase. Default 10s when Requests is 0; no bound when
	// Requests is set and Duration is 0.
	Duration time.Duration
	// Requests > 0 ends the measured phase after this many requests. Default 0: no bound.
	Requests int64
	// Warmup runs the same load for this long before measuring; its requests are not
	// recorded. Default 0.
	Warmup time.Duration
	// Timeout bounds one request, a streamed answer's body included. Default 30s.
	Timeout time.Duration
	// ProgressEvery is how often OnProgress is called. Default 1s (when OnProgress is set).
	ProgressEvery time.Duration
	// OnProgress, when set, receives live counters every ProgressEvery, from one goroutine.
	OnProgress func(Progress)
}

// Progress is a live view of a run.
type Progress struct {
	Elapsed  time.Duration // since the run (warmup included) started
	InFlight int64         // requests sent and not yet finished
	Open     int64         // streams whose first body byte arrived and that have not ended
	Done     int64         // requests finished, warmup included
	Errors   int64         // failed requests, warmup included
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.Duration <= 0 && c.Requests <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = time.Second
	}
	return c
}

// validate returns the request target's host:port and request URI.
func (c Config) validate() (addr, uri string, err error) {
	if len(c.Body) == 0 {
		return "", "", errors.New("load: a request body is required")
	}
	if c.Rate < 0 || c.Requests < 0 || c.Duration < 0 || c.Warmup < 0 {
		return "", "", errors.New("load: rate, requests, duration and warmup must not be negative")
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", "", fmt.Errorf("load: URL %q must be http://host:port/path", c.URL)
	}
	addr = u.Host
	if u.Port() == "" {
		addr += ":80"
	}
	return addr, u.RequestURI(), nil
}
