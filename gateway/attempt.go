package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/upstream"
	"github.com/switchyard/switchyard/router"
)

// attemptResult is how one upstream attempt ended. err is nil when the answer went (or
// is going, for a stream) to the client; otherwise nothing was sent and class says
// whether the router may try again.
type attemptResult struct {
	status     int // the upstream's HTTP status; 0 when none came
	err        *apierr.Error
	class      router.Class
	retryAfter time.Duration
	// broken: the connection failed after the request was written, so the upstream may
	// have received it; only an idempotent route retries it.
	broken bool
}

// attempt makes one upstream call to candidate c through t and, on success, delivers the
// answer to out (or hands it the stream). ctx cancels the call. It records the outcome in
// c's health.
func (g *Gateway) attempt(ex *exchange, ctx context.Context, t *target, pr *provider.Request, c *router.Candidate, out sink) attemptResult {
	if pr.Op == provider.OpEmbedding && g.embeds != nil {
		if params, inputs, ok := batchable(pr.Body); ok {
			return g.attemptBatched(ex, ctx, t, pr, c, params, inputs, out)
		}
	}
	return g.attemptDirect(ex, ctx, t, pr, c, out)
}

// attemptDirect makes the upstream call for one attempt on its own (see attempt).
func (g *Gateway) attemptDirect(ex *exchange, ctx context.Context, t *target, pr *provider.Request, c *router.Candidate, out sink) attemptResult {
	rec := &ex.rec
	o := outboundPool.Get().(*provider.Outbound)
	defer func() { o.Reset(); outboundPool.Put(o) }()
	if err := t.tr.Encode(pr, o); err != nil {
		return attemptResult{err: classify(err)}
	}
	req := fasthttp.AcquireRequest()
	buildUpstreamRequest(ex, req, o)
	span := g.startAttempt(rec, t, c, pr, rec.attempts, req)
	resp := fasthttp.AcquireResponse()
	c.Health.Start()
	start := time.Now()
	if pr.Stream {
		rec.tr.attempt = span // the stream's owner ends it
		res := g.attemptStream(ex, ctx, t, pr, c, req, resp, start, out)
		if res.err != nil {
			endAttempt(span, res.status, res.err, provider.Usage{})
		}
		return res
	}
	defer fasthttp.ReleaseResponse(resp)
	err := t.client.Do(ctx, req, resp, g.nonStreamTimeout())
	fasthttp.ReleaseRequest(req)
	var res attemptResult
	switch {
	case err != nil:
		res = failed(c, start, err)
	case resp.StatusCode() >= 300:
		res = upstreamError(c, start, t, resp)
	default:
		res = g.deliver(ex, c, t, pr, resp, start, out)
		if res.err == nil {
			endAttempt(span, resp.StatusCode(), nil, rec.usage)
			return res
		}
	}
	endAttempt(span, res.status, res.err, provider.Usage{})
	return res
}

// deliver translates a successful (2xx) complete upstream answer, offers it to the cache
// and hands it to out.
func (g *Gateway) deliver(ex *exchange, c *router.Candidate, t *target, pr *provider.Request, resp *fasthttp.Response, start time.Time, out sink) attemptResult {
	raw, err := identityBody(resp)
	if err != nil {
		c.Health.Done(router.Failure, 0, 0)
		return attemptResult{err: apierr.BadGateway("upstream_bad_answer", "the upstream provider's compressed answer could not be decoded"), status: resp.StatusCode()}
	}
	body, usage, err := t.tr.Decode(pr, raw, nil)
	if err != nil {
		c.Health.Done(router.Failure, 0, 0)
		return attemptResult{err: classify(err), status: resp.StatusCode()}
	}
	d := time.Since(start)
	c.Health.Done(router.Success, d, d)
	ex.rec.usage = usage
	ex.rec.tr.span.SetResponseBody(body)
	g.storeAnswer(ex.rec.hit, resp.StatusCode(), body, []byte(ex.id))
	out.answer(resp.StatusCode(), &resp.Header, body)
	return attemptResult{}
}

// nonStreamTimeout bounds a non-streamed call: its headers come with the whole answer,
// so the first-byte timeout applies to all of it, within the whole-request timeout.
func (g *Gateway) nonStreamTimeout() time.Duration {
	return min(g.cfg.Timeouts.FirstByte, g.cfg.Timeouts.Request)
}

// failed records a transport failure and classifies it for the router. A call the
// gateway aborted (client gone, shutdown) or that found the pool full is not the
// upstream's failure.
func failed(c *router.Candidate, start time.Time, err error) attemptResult {
	outcome := router.Failure
	var ue *upstream.Error
	if errors.As(err, &ue) && (ue.Kind == upstream.KindAborted || ue.Kind == upstream.KindPoolExhausted) {
		outcome = router.Cancelled
	}
	c.Health.Done(outcome, 0, time.Since(start))
	return attemptResult{err: classify(err), class: transportClass(err), broken: errors.As(err, &ue) && ue.Kind == upstream.KindBroken}
}

// upstreamError translates an error answer and classifies it for the router. Errors
// that are the request's own fault do not count against the deployment's health.
func upstreamError(c *router.Candidate, start time.Time, t *target, resp *fasthttp.Response) attemptResult {
	return upstreamErrorAnswer(c, start, t, resp.StatusCode(), resp.Body(), string(resp.Header.Peek("Retry-After")))
}

// upstreamErrorAnswer is upstreamError for an answer already read.
func upstreamErrorAnswer(c *router.Candidate, start time.Time, t *target, status int, body []byte, ra string) attemptResult {
	e := t.tr.DecodeError(status, body, ra)
	if e.Upstream != "" && (status == 401 || status == 403) {
		logUpstreamAuth(t, e)
	}
	class := errorClass(e)
	outcome := router.Success
	if class.Unhealthy() {
		outcome = router.Failure
	}
	d := time.Since(start)
	c.Health.Done(outcome, d, d)
	return attemptResult{status: status, err: e, class: class, retryAfter: parseRetryAfter(ra)}
}

// transportClass maps a failed call to an error class; 0 means do not retry. A
// connection that broke after the request was written is ClassServerError here; the
// attempt loop retries it only on an idempotent route (attemptResult.broken).
func transportClass(err error) router.Class {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return 0
	}
	switch ue.Kind {
	case upstream.KindConnect, upstream.KindPoolExhausted:
		return router.ClassConnect
	case upstream.KindTimeout:
		return router.ClassTimeout
	case upstream.KindBroken:
		return router.ClassServerError
	}
	return 0
}

// errorClass maps an upstream's translated error answer to an error class; 0 means the
// error is the client's to see (a bad request) and no other deployment would do better.
func errorClass(e *apierr.Error) router.Class {
	msg := strings.ToLower(e.Message)
	switch {
	case e.Status == 429:
		return router.ClassRateLimit
	case e.Status == 504:
		return router.ClassTimeout
	case e.Status >= 500:
		return router.ClassServerError
	case e.Code == "context_length_exceeded" || e.Code == "string_above_max_length" ||
		strings.Contains(msg, "context length") || strings.Contains(msg, "maximum context") ||
		strings.Contains(msg, "prompt is too long") || strings.Contains(msg, "too many tokens"):
		return router.ClassContextLength
	case e.Code == "content_filter" || e.Code == "content_policy_violation" ||
		strings.Contains(msg, "content management policy") || strings.Contains(msg, "content filter"):
		return router.ClassContentFilter
	}
	return 0
}

// parseRetryAfter reads a Retry-After header given in seconds or as an HTTP date.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second))
	}
	if t, err := time.Parse(time.RFC1123, v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// identityBody is the answer's body without its content coding: an upstream that
// compressed it anyway (it was asked for identity) is decoded, so its usage is metered
// and the client gets what it expects. A truncated or corrupt body is an error.
func identityBody(resp *fasthttp.Response) ([]byte, error) {
	switch ce := resp.Header.ContentEncoding(); {
	case len(ce) == 0 || bytes.EqualFold(ce, []byte("identity")):
		return resp.Body(), nil
	case bytes.EqualFold(ce, []byte("gzip")):
		b, err := resp.BodyGunzip()
		resp.Header.Del("Content-Encoding")
		return b, err
	case bytes.EqualFold(ce, []byte("deflate")):
		b, err := resp.BodyInflate()
		resp.Header.Del("Content-Encoding")
		return b, err
	}
	return nil, fmt.Errorf("unsupported content encoding %q", resp.Header.ContentEncoding())
}
