package upstream

import "time"

// Config tunes the connection pools. Zero values take the defaults in brackets, applied
// in WithDefaults only.
type Config struct {
	// ConnectTimeout bounds dialling one upstream connection, TLS handshake included [5s].
	// It is set from timeouts.connect, not from this section.
	ConnectTimeout time.Duration `yaml:"-"`
	// MaxConnsPerHost caps open connections to one provider, idle and busy [20000]. A
	// gateway in front of LLMs holds one connection per open stream for as long as the
	// stream lasts, so this is the ceiling on concurrent streams per provider; each
	// connection is also a file descriptor (the process needs about two per stream).
	MaxConnsPerHost int `yaml:"max_conns_per_host"`
	// MaxConnWait is how long a request waits for a connection once MaxConnsPerHost are
	// all busy, before it fails with 503 upstream_pool_exhausted and Retry-After [1s].
	MaxConnWait time.Duration `yaml:"max_conn_wait"`
	// MaxIdleConnDuration closes keep-alive connections idle this long [4s]. It is below
	// the 5 s after which most servers (Node, uvicorn and so vLLM, Ollama) close an idle
	// connection, so the gateway retires a connection before the server does. A pooled
	// connection that the server closed anyway is noticed before reuse, or on the first
	// read, and the request goes again on a fresh connection: see Client.
	MaxIdleConnDuration time.Duration `yaml:"max_idle_conn_duration"`
	// MaxResponseBodySize bounds a non-streamed answer in bytes [64 MiB].
	MaxResponseBodySize int `yaml:"max_response_body_size"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.MaxConnsPerHost <= 0 {
		c.MaxConnsPerHost = 20000
	}
	if c.MaxConnWait <= 0 {
		c.MaxConnWait = time.Second
	}
	if c.MaxIdleConnDuration <= 0 {
		c.MaxIdleConnDuration = 4 * time.Second
	}
	if c.MaxResponseBodySize <= 0 {
		c.MaxResponseBodySize = 64 << 20
	}
	return c
}
