package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/internal/flight"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/metering"
)

// Request coalescing: identical in-flight requests (same canonical key and scope as the
// exact cache, same stream shape) share one upstream call. The first becomes the flight's
// leader: its request is run once more, headless, by the flight (the whole proxy path on
// a detached copy of the request), and every client, the leader's included, reads the
// answer from the flight. The upstream call continues while any client remains and is
// cancelled when all are gone. The headless run is metered as the paid request (under
// the leader's request id); each follower is metered as coalesced, at zero cost, with
// its savings.

// headlessKey marks a detached request so that it is not coalesced again.
const headlessKey = "switchyard.headless"

// flightMeta is what a flight's subscribers need besides the bytes: the answer's status
// and headers, and, once it ends, what it used.
type flightMeta struct {
	status  int
	stream  bool
	header  [][2][]byte
	usage   atomic.Pointer[provider.Usage]
	served  string
	upModel string
	prov    string
}

// coalesceKey returns the flight key for a routed request, or "" when it must not be
// coalesced (sampled unless the route allows it, not routed, or headless already).
func (g *Gateway) coalesceKey(ctx *fasthttp.RequestCtx, pl *plan, sel *selection, pr *provider.Request, f *fields, rec *record) string {
	if g.flights == nil || ctx.UserValue(headlessKey) != nil || pr.Op == provider.OpModels {
		return ""
	}
	cr := pl.snap.Routes[sel.routeIndex]
	if cr.Coalesce != nil && !*cr.Coalesce {
		return ""
	}
	if !f.deterministic && pr.Op != provider.OpEmbedding && cr.Coalesce == nil {
		return "" // the common case, decided without canonicalising the body
	}
	key, deterministic, err := cache.RequestKey(pr.Op, cacheScope(rec, sel.dec.Candidate.Model), pr.Body)
	if err != nil || (!deterministic && (cr.Coalesce == nil || !*cr.Coalesce)) {
		return ""
	}
	shape := "|json"
	if pr.Stream {
		shape = "|sse"
		if pr.IncludeUsage {
			shape = "|sse+usage"
		}
	}
	return key + shape
}

// coalesce joins the flight for key and answers the client from it. The leader's flight
// runs the request headless; nothing is sent upstream by this call itself.
func (g *Gateway) coalesce(ctx *fasthttp.RequestCtx, op provider.Op, key string, rec *record) {
	body := append([]byte(nil), ctx.PostBody()...)
	if rec.body != nil {
		body = rec.body
	}
	rid := string(ctx.Response.Header.Peek(headerRequestID))
	src := &ctx.Request
	prompt := rec.prompt
	sub, leader := g.flights.Join(key, func(fctx context.Context, f *flight.Flight) {
		g.runHeadless(fctx, f, src, body, rid, op, prompt)
	})
	if leader {
		rec.coalescedLeader = true // the headless run carries this request's cost event
	} else {
		rec.cache = metering.CacheCoalesced
	}
	wait := rec.tr.span.Child(telemetry.SpanCoalesce)
	m, err := sub.Meta(context.Background())
	wait.End()
	meta, _ := m.(*flightMeta)
	if err != nil || meta == nil {
		sub.Leave()
		rec.errCode = writeError(ctx, err).Code
		return
	}
	ctx.SetStatusCode(meta.status)
	for _, h := range meta.header {
		if !bytes.EqualFold(h[0], []byte(headerRequestID)) && !isHopByHop(h[0]) {
			ctx.Response.Header.SetBytesKV(h[0], h[1])
		}
	}
	rec.served, rec.upstream, rec.provider = meta.served, meta.upModel, meta.prov
	if !leader {
		rec.provider = "coalesced"
	}
	if rec.cache == metering.CacheCoalesced {
		ctx.Response.Header.Set("X-Switchyard-Cache", "coalesced")
	}
	if !meta.stream {
		b, err := sub.Next(context.Background())
		sub.Leave()
		if err != nil && !errors.Is(err, io.EOF) {
			rec.errCode = writeError(ctx, err).Code
			return
		}
		ctx.SetBody(b)
		if u := meta.usage.Load(); u != nil {
			rec.usage = *u
		}
		return
	}
	ctx.Response.ImmediateHeaderFlush = true
	fr := &flightReader{g: g, sub: sub, client: ctx.Conn(), meta: meta, rec: *rec, rid: rid, started: time.Now()}
	fr.rec.stream, rec.stream = true, true
	g.streams.Add(1)
	ctx.SetBodyStream(fr, -1)
}

// runHeadless runs the leader's request on a detached copy, as the proxy would, and
// feeds its answer into the flight.
func (g *Gateway) runHeadless(fctx context.Context, f *flight.Flight, src *fasthttp.Request, body []byte, rid string, op provider.Op, prompt *usedPrompt) {
	d := new(fasthttp.RequestCtx)
	var req fasthttp.Request
	src.CopyTo(&req)
	req.SetBody(body) // the leader's body, its prompt already rendered
	req.Header.Del("X-Switchyard-Prompt")
	req.Header.Set(headerRequestID, rid)
	d.Init(&req, nil, nil)
	d.SetUserValue(headlessKey, true)
	if prompt != nil {
		d.SetUserValue(promptKey, prompt)
	}
	start := time.Now()
	setRequestID(d, g.ids)
	rec := g.proxy(d, op)
	meta := &flightMeta{status: d.Response.StatusCode(), stream: rec.stream, served: rec.served, upModel: rec.upstream, prov: rec.provider}
	for k, v := range d.Response.Header.All() {
		meta.header = append(meta.header, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
	}
	if ct := d.Response.Header.ContentType(); len(ct) > 0 {
		meta.header = append(meta.header, [2][]byte{[]byte("Content-Type"), bytes.Clone(ct)})
	}
	f.Header(meta)
	if !rec.stream {
		f.Append(d.Response.Body())
		u := rec.usage
		meta.usage.Store(&u)
		g.finish(&rec, rid, start, time.Since(start), 0, usageState{complete: rec.status < 300}, body)
		g.logRequest(d, []byte(rid), &rec, time.Since(start))
		f.Finish(nil)
		return
	}
	r, _ := d.Response.BodyStream().(*relay)
	stop := context.AfterFunc(fctx, func() { r.st.Abort() }) // every client left
	defer stop()
	buf := make([]byte, 16<<10)
	var err error
	for {
		var n int
		n, err = r.Read(buf)
		if n > 0 {
			f.Append(buf[:n])
		}
		if err != nil {
			break
		}
	}
	_ = r.Close()
	u := r.rec.usage
	meta.usage.Store(&u)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	f.Finish(err)
}

// flightReader is a client's view of a coalesced stream: it reads the flight at its own
// pace, checks that its client is still there while the flight is silent, and leaves the
// flight when it ends.
type flightReader struct {
	g       *Gateway
	sub     *flight.Subscriber
	client  net.Conn
	meta    *flightMeta
	rec     record
	rid     string
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
		ctx, cancel := context.WithTimeout(context.Background(), livenessInterval)
		b, err := r.sub.Next(ctx)
		cancel()
		switch {
		case err == nil:
			if r.first == 0 {
				r.first = time.Since(r.started)
			}
			r.pending = b
		case errors.Is(err, context.DeadlineExceeded):
			if !clientAlive(r.client) {
				return 0, errClientGone
			}
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
	if u := r.meta.usage.Load(); u != nil {
		r.rec.usage = *u
	}
	r.rec.status = r.meta.status
	d := time.Since(r.started)
	if !r.rec.coalescedLeader {
		r.g.finish(&r.rec, r.rid, r.started, d, r.first, usageState{complete: r.done}, nil)
	}
	if !r.rec.coalescedLeader { // the headless run logs the leader's request
		r.g.logStream(r.rid, &r.rec, d, r.first, r.done)
	}
	r.g.streams.Done()
	return nil
}
