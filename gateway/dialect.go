package gateway

import (
	"context"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/dialect/messages"
	"github.com/switchyard/switchyard/internal/dialect/responses"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/respstore"
	"github.com/switchyard/switchyard/internal/sse"
)

// api is the API a request came in through. Chat Completions is the hub schema; the
// Responses and Messages APIs are inbound dialects, passed through to a provider that
// speaks them natively and translated to and from Chat Completions for any other.
type api uint8

const (
	apiChat api = iota
	apiResponses
	apiMessages
)

func (a api) String() string {
	switch a {
	case apiResponses:
		return "responses"
	case apiMessages:
		return "messages"
	}
	return "chat"
}

// dialects are the inbound dialects' translators, by api (nil for chat).
type dialects [3]dialect.Translator

// native reports whether target t speaks the exchange's dialect itself.
func native(a api, t *target) bool {
	switch a {
	case apiResponses:
		return t.nativeResponses
	case apiMessages:
		return t.kind == provider.KindAnthropic
	}
	return true
}

// nativeOp is the provider operation of a dialect passed through.
func nativeOp(a api) provider.Op {
	if a == apiMessages {
		return provider.OpMessages
	}
	return provider.OpResponses
}

// forTarget returns the request to send to t for a dialect exchange and the sink its
// answer goes through: the client's bytes for a native provider, the Chat Completions
// translation (made once per exchange) for any other, whose answer is translated back.
func (g *Gateway) forTarget(ex *exchange, t *target, pr *provider.Request, out sink) (*provider.Request, sink, error) {
	if ex.api == apiChat {
		return pr, out, nil
	}
	if native(ex.api, t) {
		np := *pr
		np.Op, np.Body, np.Header = nativeOp(ex.api), ex.orig, ex.fwd
		return &np, out, nil
	}
	if ex.chat == nil {
		if id := jsonx.Get(ex.orig, "previous_response_id").Str; ex.api == apiResponses && id != "" {
			if err := g.loadPrior(ex, id); err != nil {
				return nil, nil, err
			}
		}
		c, err := ex.tr.Request(ex.orig, ex.prior)
		if err != nil {
			return nil, nil, err
		}
		ex.chat = &c
	}
	tp := *pr
	tp.Op, tp.Body, tp.Stream, tp.IncludeUsage = provider.OpChat, ex.chat.Body, ex.chat.Stream, true
	return &tp, &translatedSink{inner: out, ex: ex}, nil
}

// meta describes the answer a translation produces.
func (ex *exchange) meta() dialect.Meta {
	return dialect.Meta{ID: ex.answerID(), Created: ex.start.Unix(), Model: ex.rec.model, Request: ex.orig,
		PromptTokens: ex.rec.promptTokens}
}

// streamMeta is meta for a streamed answer: a Messages stream's message_start reports
// input tokens before the provider does, so it gets the prompt estimate (made here, and
// only for streams: a complete answer carries the provider's counts).
func (ex *exchange) streamMeta() dialect.Meta {
	m := ex.meta()
	if m.PromptTokens == 0 && ex.api == apiMessages && ex.chat != nil {
		m.PromptTokens = ex.g.meter.estimate(&ex.rec, ex.chat.Body)
	}
	return m
}

// answerID is the id a translated answer gets: resp_… or msg_…, from the request id.
func (ex *exchange) answerID() string {
	id := strings.TrimPrefix(ex.id, "req_")
	if ex.api == apiMessages {
		return "msg_sy" + id
	}
	return "resp_sy" + id
}

// translatedSink turns a Chat Completions answer back into the exchange's dialect.
type translatedSink struct {
	inner sink
	ex    *exchange
}

var _ sink = (*translatedSink)(nil)

func (s *translatedSink) answer(status int, h *fasthttp.ResponseHeader, body []byte) {
	out, usage, err := s.ex.tr.Response(body, s.ex.meta())
	if err != nil {
		s.inner.fail(apierr.BadGateway("upstream_bad_answer", "the upstream answer could not be translated: "+err.Error()))
		return
	}
	if usage.Reported {
		s.ex.rec.usage = usage
	}
	s.ex.g.storeResponse(s.ex, out)
	s.inner.answer(status, h, out)
}

func (s *translatedSink) stream(us *upstreamStream) {
	ds := s.ex.tr.NewStream(s.ex.streamMeta())
	// The cache and the metering text read the Chat Completions events, before translation.
	us.dec = &dialectDecoder{inner: us.dec, ds: ds, ex: s.ex, observe: us.observeFn}
	us.observeFn = nil
	if s.ex.api == apiMessages { // a translated provider's silence is kept alive as Anthropic does
		us.ping = messages.Ping
	}
	us.failEvent = func(e *apierr.Error) *[]byte {
		bp := eventBufs.Get().(*[]byte)
		*bp = ds.Fail(e, (*bp)[:0])
		return bp
	}
	s.inner.stream(us)
}

func (s *translatedSink) fail(err error) { s.inner.fail(err) }

// dialectDecoder chains a provider's stream decoder (upstream events to Chat Completions
// events) and a dialect's stream translator (Chat Completions events to the dialect's).
type dialectDecoder struct {
	inner   provider.StreamDecoder
	ds      dialect.Stream
	ex      *exchange
	chat    []byte
	derr    error
	out     []byte
	doneOut bool
	observe func([]byte) // the stream's observer of Chat Completions events
}

func (d *dialectDecoder) Event(ev *sse.Event, dst []byte) ([]byte, bool, error) {
	var done bool
	var err error
	d.chat, done, err = d.inner.Event(ev, d.chat[:0])
	d.out = dst
	sse.EachData(d.chat, d.translate)
	if d.derr != nil {
		return d.out, false, d.derr
	}
	if d.doneOut && !done {
		// The dialect closed its answer at the final (usage) chunk; the [DONE] that
		// follows adds nothing, and the drain reads it. The cache's assembler is told.
		done = true
		if d.observe != nil {
			d.observe([]byte("[DONE]"))
		}
	}
	if done && !d.doneOut {
		d.out, d.doneOut, d.derr = d.ds.Event([]byte("[DONE]"), d.out)
	}
	if done {
		d.ex.g.storeResponse(d.ex, d.ds.Result())
	}
	return d.out, done, err
}

func (d *dialectDecoder) translate(data []byte) {
	if d.observe != nil {
		d.observe(data)
	}
	if d.derr != nil || d.doneOut {
		return
	}
	d.out, d.doneOut, d.derr = d.ds.Event(data, d.out)
}

// Usage is the stream's usage: the dialect's reading, or the provider decoder's.
func (d *dialectDecoder) Usage() provider.Usage {
	if u := d.ds.Usage(); u.Reported {
		return u
	}
	return d.inner.Usage()
}

// dialectError writes err in the exchange's dialect envelope.
func (ex *exchange) dialectError(e *apierr.Error) {
	status, body := ex.tr.Error(e)
	rc := ex.rc
	rc.Response.ResetBody()
	rc.SetStatusCode(status)
	rc.SetContentType("application/json")
	if e.RetryAfter != "" {
		rc.Response.Header.Set("Retry-After", e.RetryAfter)
	}
	rc.Response.SetBodyRaw(body)
}

// wantsStore reports whether a Responses request asks to be stored (the default, as
// OpenAI's).
func wantsStore(body []byte) bool {
	v := jsonx.Get(body, "store")
	return !v.Exists() || v.Bool()
}

// newDialects builds the inbound dialects' translators and, with a ledger database, the
// response store in it.
func (g *Gateway) newDialects() error {
	g.dialects[apiResponses] = responses.New(responses.Options{})
	g.dialects[apiMessages] = messages.New()
	l := g.cfg.Metering.Ledger
	if l == "" || l == "none" {
		return nil
	}
	s, err := respstore.Open(context.Background(), l, g.cfg.Responses)
	if err != nil {
		return err
	}
	g.responses = s
	return nil
}

// cacheable returns the request the cache looks up for the exchange: the request itself
// for Chat Completions; for a dialect whose first provider translates, its Chat
// Completions translation (cached answers are Chat Completions answers, replayed in the
// dialect). A dialect passed through to a native provider is not cached.
func (g *Gateway) cacheable(ex *exchange, sel *selection, pr *provider.Request) (*provider.Request, bool, error) {
	if ex.api == apiChat {
		return pr, true, nil
	}
	t := g.targets[sel.dec.Candidate.Provider]
	if native(ex.api, t) {
		return nil, false, nil
	}
	tp, _, err := g.forTarget(ex, t, pr, nil)
	if err != nil {
		return nil, false, err
	}
	return tp, true, nil
}

// replayInDialect turns a cached Chat Completions answer (JSON, or SSE when stream) into
// the exchange's dialect.
func replayInDialect(ex *exchange, chat []byte, stream bool) ([]byte, error) {
	if !stream {
		out, _, err := ex.tr.Response(chat, ex.meta())
		return out, err
	}
	ds := ex.tr.NewStream(ex.streamMeta())
	var out []byte
	var done bool
	var err error
	sse.EachData(chat, func(data []byte) {
		if err == nil && !done {
			out, done, err = ds.Event(data, out)
		}
	})
	if err == nil && !done {
		out, _, err = ds.Event([]byte("[DONE]"), out)
	}
	return out, err
}
