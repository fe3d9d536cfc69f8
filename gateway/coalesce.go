package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/flight"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/metering"
)

// Request coalescing: identical deterministic in-flight requests (same body bytes and the
// exact cache's scope, same stream shape) share one upstream call. The first becomes the
// flight's leader: after its own routing, admission and cache lookup, its attempt loop
// runs once, in the flight's producer goroutine, and writes the answer into the flight (a
// sink). Every client, the leader's included, reads the answer from the flight at its
// own pace. The upstream call continues while any client remains and is cancelled when
// all are gone. The leader's exchange is metered as the paid request; each follower's
// as coalesced, at zero cost, with its savings.

// flightMeta is what a flight's subscribers need besides the bytes: the answer's status
// and headers, and, once it ends, what it used.
type flightMeta struct {
	status  int
	stream  bool
	header  [][2][]byte
	usage   atomic.Pointer[provider.Usage]
	served  string
	upModel string
	kind    string // the serving provider's kind, for the followers' savings labels
}

// coalesceKey returns the flight key for a routed request, or "" when it must not be
// coalesced (sampled unless the route allows it). The key hashes the body's raw bytes
// with the scope and the answer's shape: deterministic requests pay for a hash, never a
// canonicalisation. Two bodies that differ only in member order or spacing therefore do
// not share a flight (the exact cache, which canonicalises, still serves the second).
func (g *Gateway) coalesceKey(pl *plan, sel *selection, pr *provider.Request, f *fields, rec *record, a api) string {
	if pr.Op == provider.OpModels {
		return ""
	}
	cr := pl.snap.Routes[sel.routeIndex]
	if cr.Coalesce != nil && !*cr.Coalesce {
		return ""
	}
	if !f.deterministic && pr.Op != provider.OpEmbedding && cr.Coalesce == nil {
		return "" // the common case
	}
	sc := cacheScope(rec, sel.dec.Candidate.Model)
	var h maphash.Hash
	h.SetSeed(g.flightSeed)
	for _, s := range [...]string{a.String(), pr.Op.String(), sc.Tenant, sc.Feature, sc.Model, sc.PromptVersion} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	h.Write(pr.Body)
	shape := "j"
	if pr.Stream {
		shape = "s"
		if pr.IncludeUsage {
			shape = "u"
		}
	}
	var b [40]byte
	k := strconv.AppendUint(append(b[:0], shape...), h.Sum64(), 36)
	k = strconv.AppendInt(append(k, ':'), int64(len(pr.Body)), 10)
	return string(k) // one allocation
}

// coalesce joins the flight for key and answers the client from it. The leader's flight
// runs its attempt loop; nothing else is sent upstream.
func (g *Gateway) coalesce(ex *exchange, key string, sel *selection, pr *provider.Request) {
	lp := *pr
	ex.hold() // the producer's, if this request leads
	sub, leader := g.flights.Join(key, func(fctx context.Context, f *flight.Flight) {
		// The body must outlive the leader's handler: its client may leave while followers
		// still wait for a retry.
		lp.Body = bytes.Clone(lp.Body)
		g.produce(fctx, ex, sel, &lp, f)
	})
	if !leader {
		ex.release()
		ex.rec.cache = metering.CacheCoalesced
	}
	g.readFlight(ex, sub, leader)
}

// produce is a flight's producer: the leader's attempt loop writing into the flight. It
// releases the leader's producer hold before the finish, so the leader's handler, which
// waits for the finish, completes the exchange (with its cost headers).
func (g *Gateway) produce(fctx context.Context, ex *exchange, sel *selection, pr *provider.Request, f *flight.Flight) {
	fs := &flightSink{ex: ex, f: f, ctx: fctx}
	defer func() {
		if v := recover(); v != nil {
			g.log.Error("panic in coalesced request", "request_id", ex.id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !fs.delivered {
				fs.fail(apierr.Internal("internal error"))
			}
		}
		ex.release()
		f.Finish(nil)
	}()
	g.run(ex, fctx, sel, pr, fs)
}

// flightSink delivers the leader's answer into its flight.
type flightSink struct {
	ex        *exchange
	f         *flight.Flight
	ctx       context.Context
	delivered bool
}

var _ sink = (*flightSink)(nil)

func (s *flightSink) meta(status int, stream bool, h *fasthttp.ResponseHeader) *flightMeta {
	rec := &s.ex.rec
	m := &flightMeta{status: status, stream: stream, served: rec.served, upModel: rec.upstream, kind: rec.kind}
	out := &fasthttp.ResponseHeader{}
	if h != nil {
		copyResponseHeaders(out, h)
	}
	setRouteHeaders(out, rec)
	if stream {
		setStreamHeaders(out)
	} else {
		out.SetContentType("application/json")
	}
	for k, v := range out.All() {
		m.header = append(m.header, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
	}
	return m
}

func (s *flightSink) answer(status int, h *fasthttp.ResponseHeader, body []byte) {
	s.delivered = true
	m := s.meta(status, false, h)
	u := s.ex.rec.usage
	m.usage.Store(&u)
	s.f.Header(m)
	s.f.Append(body)
}

func (s *flightSink) stream(us *upstreamStream) {
	s.delivered = true
	m := s.meta(200, true, us.Header())
	s.f.Header(m)
	err := us.pump(flightEvents{s})
	if err != nil {
		code, ev := us.errorEvent(err)
		s.ex.rec.errCode = code
		if ev != nil {
			s.f.Append(*ev)
			eventBufs.Put(ev)
		}
	}
	us.finish(s.ctx.Err() != nil)
	u := s.ex.rec.usage
	m.usage.Store(&u)
}

func (s *flightSink) fail(err error) {
	s.delivered = true
	e := classify(err)
	s.ex.rec.errCode = e.Code
	m := &flightMeta{status: e.Status, header: [][2][]byte{{[]byte("Content-Type"), []byte("application/json")}}}
	if e.RetryAfter != "" {
		m.header = append(m.header, [2][]byte{[]byte("Retry-After"), []byte(e.RetryAfter)})
	}
	s.f.Header(m)
	s.f.Append(e.AppendJSON(nil))
}

// flightEvents appends a stream's events to the flight.
type flightEvents struct{ s *flightSink }

func (fe flightEvents) send(b *[]byte) bool {
	fe.s.f.Append(*b)
	eventBufs.Put(b)
	return fe.s.ctx.Err() == nil
}

// readFlight answers the exchange's client from the flight: the leader's and every
// follower's alike. For the leader it writes nothing into the exchange's record: the
// producer owns that.
func (g *Gateway) readFlight(ex *exchange, sub *flight.Subscriber, leader bool) {
	rc, rec := ex.rc, &ex.rec
	wait := rec.tr.span.Child(telemetry.SpanCoalesce)
	m, err := sub.Meta(ex.ctx)
	wait.End()
	meta, _ := m.(*flightMeta)
	if err != nil || meta == nil {
		sub.Leave()
		if err == nil || errors.Is(err, context.Canceled) {
			err = errClientClosed()
		}
		if leader {
			writeError(rc, err)
		} else {
			ex.fail(err)
		}
		return
	}
	rc.SetStatusCode(meta.status)
	for _, h := range meta.header {
		if !bytes.EqualFold(h[0], []byte(headerRequestID)) && !isHopByHop(h[0]) {
			rc.Response.Header.SetBytesKV(h[0], h[1])
		}
	}
	if !leader {
		rec.served, rec.upstream, rec.provider, rec.status = meta.served, meta.upModel, "coalesced", meta.status
		rec.kind = meta.kind
		rc.Response.Header.Set("X-Switchyard-Cache", "coalesced")
	}
	if meta.stream {
		if !leader {
			rec.stream = true
		}
		ex.hold()
		g.streams.Add(1)
		rc.Response.ImmediateHeaderFlush = true
		rc.SetBodyStream(&flightReader{ex: ex, sub: sub, meta: meta, leader: leader, started: time.Now()}, -1)
		return
	}
	b, err := sub.Next(ex.ctx)
	if err == nil {
		rc.SetBody(b)
		_, err = sub.Next(ex.ctx) // the finish: the producer has released the leader by then
	}
	sub.Leave()
	if err != nil && !errors.Is(err, io.EOF) && !leader {
		ex.fail(err)
		return
	}
	if u := meta.usage.Load(); u != nil && !leader {
		rec.usage = *u
	}
}

// flightReader is a client's view of a coalesced stream: it reads the flight at its own
// pace and leaves the flight when it ends or its client goes.
type flightReader struct {
	ex      *exchange
	sub     *flight.Subscriber
	meta    *flightMeta
	leader  bool
	started time.Time
	pending []byte
	first   time.Duration
	done    bool
	closed  atomic.Bool
}

func (r *flightReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.done {
			return 0, io.EOF
		}
		b, err := r.sub.Next(r.ex.ctx)
		switch {
		case err == nil:
			if r.first == 0 {
				r.first = time.Since(r.started)
			}
			r.pending = b
		case r.ex.ctx.Err() != nil:
			return 0, errClientGone
		default: // io.EOF, or the flight's error (its error event is already in the bytes)
			r.done = true
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

func (r *flightReader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	r.sub.Leave()
	ex := r.ex
	if !r.leader {
		if u := r.meta.usage.Load(); u != nil {
			ex.rec.usage = *u
		}
		ex.ttft, ex.us.complete = r.first, r.done
		if !r.done && ex.rec.errCode == "" {
			ex.rec.errCode = "client_closed_request"
		}
	}
	ex.g.streams.Done()
	ex.release()
	return nil
}
