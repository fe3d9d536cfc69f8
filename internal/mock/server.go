package mock

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// Server is a running mock upstream. It records what it received so tests can assert
// on it. All methods are safe for concurrent use.
type Server struct {
	cfg   atomic.Pointer[Config]
	srv   *fasthttp.Server
	ln    net.Listener
	calls atomic.Int64

	mu          sync.Mutex
	requests    []Received
	record      bool
	disconnects chan time.Time
}

// Received is one request as the server saw it.
type Received struct {
	Method, Path string
	Header       map[string]string
	Body         []byte
}

// New returns a server with cfg; call Listen or ListenInMemory to start it. When record
// is true every request is kept for Requests (tests); the benchmark leaves it off.
func New(cfg Config, record bool) *Server {
	s := &Server{record: record, disconnects: make(chan time.Time, 1024)}
	c := cfg.withDefaults()
	s.cfg.Store(&c)
	s.srv = &fasthttp.Server{
		Handler:                       s.handle,
		Name:                          "switchyard-mock",
		NoDefaultDate:                 true,
		DisableHeaderNamesNormalizing: false,
		StreamRequestBody:             false,
		MaxRequestBodySize:            64 << 20,
		Logger:                        quiet{},
	}
	return s
}

// quiet drops fasthttp's own messages (closed connections are the mock's normal life).
type quiet struct{}

func (quiet) Printf(string, ...any) {}

// SetConfig replaces the behaviour for requests that start from now on.
func (s *Server) SetConfig(cfg Config) {
	c := cfg.withDefaults()
	s.cfg.Store(&c)
}

// Listen serves on a TCP address such as 127.0.0.1:0 and returns the bound address.
func (s *Server) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.ln = ln
	go func() { _ = s.srv.Serve(ln) }()
	return ln.Addr().String(), nil
}

// ListenInMemory serves on a memory listener and returns a dial function for clients.
func (s *Server) ListenInMemory() func(addr string) (net.Conn, error) {
	ln := fasthttputil.NewInmemoryListener()
	s.ln = ln
	go func() { _ = s.srv.Serve(ln) }()
	return func(string) (net.Conn, error) { return ln.Dial() }
}

// Close stops the server.
func (s *Server) Close() error {
	if s.ln == nil {
		return nil
	}
	return s.srv.Shutdown()
}

// Calls returns how many requests the server has received.
func (s *Server) Calls() int64 { return s.calls.Load() }

// Requests returns a copy of the recorded requests.
func (s *Server) Requests() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.requests...)
}

// Disconnects delivers the time of each stream the client abandoned before its end.
func (s *Server) Disconnects() <-chan time.Time { return s.disconnects }

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	n := s.calls.Add(1)
	if s.record {
		r := Received{Method: string(ctx.Method()), Path: string(ctx.Path()), Header: map[string]string{},
			Body: append([]byte(nil), ctx.PostBody()...)}
		for k, v := range ctx.Request.Header.All() {
			r.Header[string(k)] = string(v)
		}
		s.mu.Lock()
		s.requests = append(s.requests, r)
		s.mu.Unlock()
	}
	cfg := s.cfg.Load()
	if !cfg.picked(n) {
		cfg = cfg.healthy()
	}
	if cfg.StallHeaders {
		s.stall(ctx)
		return
	}
	if cfg.Delay > 0 {
		time.Sleep(cfg.Delay)
	}
	if cfg.Status != 0 && (cfg.FailEvery <= 1 || n%int64(cfg.FailEvery) == 0) {
		writeErrorBody(ctx, cfg.Status, cfg.RetryAfter, cfg.ErrorCode, cfg.ErrorMessage)
		return
	}
	path := ctx.Path()
	switch {
	case string(ctx.Method()) == "GET" && hasSuffix(path, "/models"):
		writeModels(ctx)
	case hasSuffix(path, "/chat/completions"):
		s.chat(ctx, cfg)
	case hasSuffix(path, "/completions"):
		s.completion(ctx, cfg)
	case hasSuffix(path, "/embeddings"):
		embeddings(ctx, cfg)
	default:
		ctx.SetStatusCode(404)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"error":{"message":"no such route","type":"invalid_request_error","param":null,"code":null}}`)
	}
}

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}

// stall holds the request until the client closes the connection, then records it.
func (s *Server) stall(ctx *fasthttp.RequestCtx) {
	conn := ctx.Conn()
	one := make([]byte, 1)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := conn.Read(one); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			s.disconnects <- time.Now()
			ctx.SetConnectionClose()
			return
		}
	}
}

// errCut ends a stream on purpose without its terminator: the server stops reading the
// body, sends nothing more and closes the connection.
var errCut = errors.New("mock: stream cut")

// errGone reports a stream abandoned by its client.
var errGone = errors.New("mock: client went away")

// streamTo writes events to the client one by one, flushing each, and records a
// disconnect when the client went away before the end. The events go through a
// synchronous pipe to the server's chunked writer, so every event the writer flushed
// is on the connection before the next is read, and a cut (errCut) takes effect only
// after everything before it was sent.
func (s *Server) streamTo(ctx *fasthttp.RequestCtx, write func(w *bufio.Writer) error) {
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		err := write(w)
		if err == nil {
			err = w.Flush()
		}
		if err != nil && !errors.Is(err, errCut) {
			s.disconnects <- time.Now()
		}
		_ = pw.CloseWithError(err) // nil: the reader sees EOF and the server ends the body
	}()
	ctx.SetBodyStream(pr, -1)
}
