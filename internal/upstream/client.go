// Package upstream owns the pooled HTTP clients that carry requests to providers.
//
// One Client serves one provider base URL (one host) with a pool of keep-alive
// connections. Do reads a whole answer; Open returns after the response headers and
// hands back a Stream whose reads the caller bounds with per-chunk deadlines and can
// abort at any time from another goroutine (the client went away, a timeout fired).
package upstream

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Config tunes the connection pools. Zero values take the defaults in brackets.
type Config struct {
	// ConnectTimeout bounds dialling one upstream connection, TLS excluded [5s]. It is
	// set from timeouts.connect, not from this section.
	ConnectTimeout time.Duration `yaml:"-"`
	// MaxConnsPerHost caps open connections to one provider [4096].
	MaxConnsPerHost int `yaml:"max_conns_per_host"`
	// MaxIdleConnDuration closes keep-alive connections idle this long [90s].
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
		c.MaxConnsPerHost = 4096
	}
	if c.MaxIdleConnDuration <= 0 {
		c.MaxIdleConnDuration = 90 * time.Second
	}
	if c.MaxResponseBodySize <= 0 {
		c.MaxResponseBodySize = 64 << 20
	}
	return c
}

// DialFunc opens a connection to addr ("host:port").
type DialFunc func(addr string) (net.Conn, error)

// Client sends requests to one upstream host. It is safe for concurrent use.
type Client struct {
	hc *fasthttp.HostClient
}

// New returns a client for the host of baseURL. dial replaces TCP dialling when non-nil
// (the in-process mock provider).
func New(baseURL string, cfg Config, dial DialFunc) (*Client, error) {
	cfg = cfg.WithDefaults()
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("upstream: bad base URL %q", baseURL)
	}
	isTLS := u.Scheme == "https"
	addr := u.Host
	if u.Port() == "" {
		if isTLS {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	if dial == nil {
		d := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
		dial = func(addr string) (net.Conn, error) {
			c, err := d.Dial("tcp", addr)
			if err != nil {
				return nil, &Error{Kind: KindConnect, Err: err}
			}
			return c, nil
		}
	}
	hc := &fasthttp.HostClient{
		Addr:                          addr,
		IsTLS:                         isTLS,
		TLSConfig:                     &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12},
		Dial:                          func(a string) (net.Conn, error) { return track(dial(a)) },
		MaxConns:                      cfg.MaxConnsPerHost,
		MaxIdleConnDuration:           cfg.MaxIdleConnDuration,
		MaxResponseBodySize:           cfg.MaxResponseBodySize,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		MaxIdemponentCallAttempts:     1,
		ReadBufferSize:                4 << 10,
		WriteBufferSize:               4 << 10,
		ConnPoolStrategy:              fasthttp.LIFO,
	}
	return &Client{hc: hc}, nil
}

// Do sends req and reads the whole answer into resp, all within timeout.
func (c *Client) Do(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error {
	req.SetTimeout(timeout)
	resp.StreamBody = false
	return classify(c.hc.Do(req, resp))
}

// Open sends req and returns once the response headers arrived, within firstByte. The
// body is left on the connection: read it through the returned Stream and Close it. A
// non-2xx answer is read whole and returned with a nil Stream and a nil error, so the
// caller can translate the upstream's error body.
func (c *Client) Open(req *fasthttp.Request, resp *fasthttp.Response, firstByte time.Duration) (*Stream, error) {
	req.SetTimeout(firstByte)
	resp.StreamBody = true
	if err := c.hc.Do(req, resp); err != nil {
		return nil, classify(err)
	}
	st := &Stream{resp: resp, body: resp.BodyStream()}
	if a, ok := resp.LocalAddr().(*connAddr); ok {
		st.conn = a.conn
	}
	if resp.StatusCode() >= 300 {
		// Error answers are small; read them whole for translation.
		_ = st.SetDeadline(time.Now().Add(firstByte))
		body, err := readAll(st.body, 1<<20)
		st.Close()
		if err != nil {
			return nil, classify(err)
		}
		resp.SetBodyRaw(body)
		return nil, nil
	}
	return st, nil
}

// Error is a failure to get an answer from the upstream, classified for the retry loop
// and the client's status.
type Error struct {
	Kind Kind
	Err  error
}

// Kind classifies an upstream failure.
type Kind uint8

// Kinds of upstream failure.
const (
	// KindConnect: the connection could not be opened; nothing was sent, always safe to retry.
	KindConnect Kind = iota + 1
	// KindTimeout: a deadline passed (first byte, idle or whole request).
	KindTimeout
	// KindBroken: the connection failed after the request was sent.
	KindBroken
	// KindAborted: the gateway aborted the call itself (client gone, shutdown).
	KindAborted
)

func (e *Error) Error() string {
	switch e.Kind {
	case KindConnect:
		return "upstream connect: " + e.Err.Error()
	case KindTimeout:
		return "upstream timeout: " + e.Err.Error()
	case KindAborted:
		return "upstream call aborted: " + e.Err.Error()
	}
	return "upstream connection: " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrAborted is the cause recorded when the gateway closes a stream on purpose.
var ErrAborted = errors.New("aborted by the gateway")

func classify(err error) error {
	if err == nil {
		return nil
	}
	var ue *Error
	if errors.As(err, &ue) {
		return ue
	}
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) || isTimeout(err) {
		return &Error{Kind: KindTimeout, Err: err}
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return &Error{Kind: KindConnect, Err: err}
	}
	if errors.Is(err, fasthttp.ErrNoFreeConns) || strings.Contains(err.Error(), "dial") {
		return &Error{Kind: KindConnect, Err: err}
	}
	return &Error{Kind: KindBroken, Err: err}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
