package load

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// sample is what one request measured. err is empty for a success.
type sample struct {
	lat, ttfb, lag time.Duration
	err            string
	errMsg         string
}

// worker owns one request and response object, reused for all its requests.
type worker struct {
	r    *runner
	req  *fasthttp.Request
	resp *fasthttp.Response
	buf  []byte
	tail []byte // the last bytes of the current stream
	out  []sample
}

func newWorker(r *runner) *worker {
	w := &worker{r: r, req: &fasthttp.Request{}, resp: &fasthttp.Response{},
		buf: make([]byte, 16<<10), tail: make([]byte, 0, 64)}
	w.req.Header.SetMethod(fasthttp.MethodPost)
	w.req.SetRequestURI(r.uri)
	w.req.Header.SetHost(r.addr)
	w.req.Header.SetContentType("application/json")
	for _, h := range r.cfg.Header {
		w.req.Header.Set(h[0], h[1])
	}
	w.req.SetBodyRaw(r.cfg.Body)
	return w
}

// do sends one request; t0 is when it was meant to be sent (latency is measured from it).
func (w *worker) do(t0 time.Time) sample {
	r := w.r
	r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	w.req.SetTimeout(r.cfg.Timeout)
	w.resp.StreamBody = r.cfg.Stream
	if err := r.hc.Do(w.req, w.resp); err != nil {
		return sample{err: classify(err), errMsg: err.Error()}
	}
	if code := w.resp.StatusCode(); code != fasthttp.StatusOK {
		body := w.resp.Body() // drains a streamed body too
		_ = w.resp.CloseBodyStream()
		return sample{err: "status_" + strconv.Itoa(code), errMsg: string(truncate(body, 200))}
	}
	if !r.cfg.Stream {
		if len(w.resp.Body()) == 0 {
			return sample{err: "empty_body"}
		}
		return sample{lat: time.Since(t0)}
	}
	return w.readStream(t0)
}

var done = []byte("[DONE]")

// readStream reads a streamed answer to its end, noting when its first byte came.
func (w *worker) readStream(t0 time.Time) sample {
	r := w.r
	var s sample
	defer func() { _ = w.resp.CloseBodyStream() }()
	if !bytes.HasPrefix(w.resp.Header.ContentType(), []byte("text/event-stream")) {
		return sample{err: "not_event_stream", errMsg: string(w.resp.Header.ContentType())}
	}
	body := w.resp.BodyStream()
	if body == nil {
		return sample{err: "no_body_stream"}
	}
	w.tail = w.tail[:0]
	opened := false
	for {
		n, err := body.Read(w.buf)
		if n > 0 {
			if !opened {
				opened = true
				s.ttfb = time.Since(t0)
				r.noteOpen(r.open.Add(1))
			}
			w.keepTail(w.buf[:n])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			s.err, s.errMsg = "stream_"+classify(err), err.Error()
			break
		}
	}
	if opened {
		r.open.Add(-1)
	}
	s.lat = time.Since(t0)
	if s.err == "" && !bytes.Contains(w.tail, done) {
		s.err, s.errMsg = "stream_incomplete", string(w.tail)
	}
	return s
}

func (w *worker) keepTail(b []byte) {
	if len(b) >= cap(w.tail) {
		w.tail = append(w.tail[:0], b[len(b)-cap(w.tail):]...)
		return
	}
	if over := len(w.tail) + len(b) - cap(w.tail); over > 0 {
		w.tail = append(w.tail[:0], w.tail[over:]...)
	}
	w.tail = append(w.tail, b...)
}

// classify names a transport error for the error table.
func classify(err error) string {
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no_free_conns"
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "conn_closed"
	case errors.As(err, &oe) && oe.Op == "dial":
		return "dial"
	}
	return "transport"
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
