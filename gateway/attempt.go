package gateway

import (
	"errors"
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
}

// attempt makes one upstream call to candidate c through t and, on success, answers
// the client (or hands the stream to a relay). It records the outcome in c's health.
func (g *Gateway) attempt(ctx *fasthttp.RequestCtx, rec *record, t *target, pr *provider.Request, c *router.Candidate) attemptResult {
	if pr.Op == provider.OpEmbedding && g.embeds != nil {
		if params, inputs, ok := batchable(pr.Body); ok {
			return g.attemptBatched(ctx, rec, t, pr, c, params, inputs)
		}
	}
	return g.attemptDirect(ctx, rec, t, pr, c)
}

// attemptDirect makes the upstream call for one attempt on its own (see attempt).
func (g *Gateway) attemptDirect(ctx *fasthttp.RequestCtx, rec *record, t *target, pr *provider.Request, c *router.Candidate) attemptResult {
	out := outboundPool.Get().(*provider.Outbound)
	defer func() { out.Reset(); outboundPool.Put(out) }()
	if err := t.tr.Encode(pr, out); err != nil {
		return attemptResult{err: classify(err)}
	}
	req := fasthttp.AcquireRequest()
	buildUpstreamRequest(ctx, req, out)
	span := g.startAttempt(rec, t, c, pr, rec.attempts, req)
	resp := fasthttp.AcquireResponse()
	c.Health.Start()
	start := time.Now()
	if pr.Stream {
		rec.tr.attempt = span // a relay that takes the stream ends it
		res := g.attemptStream(ctx, rec, t, pr, c, req, resp, start)
		if res.err != nil {
			endAttempt(span, res.status, res.err, provider.Usage{})
		}
		return res
	}
	defer fasthttp.ReleaseResponse(resp)
	err := t.client.Do(req, resp, g.nonStreamTimeout())
	fasthttp.ReleaseRequest(req)
	var res attemptResult
	switch {
	case err != nil:
		res = failed(c, start, err)
	case resp.StatusCode() >= 300:
		res = upstreamError(c, start, t, resp)
	default:
		if err := g.writeAnswer(ctx, rec, t, pr, resp); err != nil {
			c.Health.Done(router.Failure, 0, 0)
			res = attemptResult{err: classify(err), status: resp.StatusCode()}
			break
		}
		d := time.Since(start)
		c.Health.Done(router.Success, d, d)
		endAttempt(span, resp.StatusCode(), nil, rec.usage)
		return attemptResult{}
	}
	endAttempt(span, res.status, res.err, provider.Usage{})
	return res
}

// nonStreamTimeout bounds a non-streamed call: its headers come with the whole answer,
// so the first-byte timeout applies to all of it, within the whole-request timeout.
func (g *Gateway) nonStreamTimeout() time.Duration {
	return min(g.cfg.Timeouts.FirstByte, g.cfg.Timeouts.Request)
}

// failed records a transport failure and classifies it for the router.
func failed(c *router.Candidate, start time.Time, err error) attemptResult {
	class := transportClass(err)
	outcome := router.Failure
	if class == 0 {
		outcome = router.Cancelled
	}
	c.Health.Done(outcome, 0, time.Since(start))
	return attemptResult{err: classify(err), class: class}
}

// upstreamError translates an error answer and classifies it for the router. Errors
// that are the request's own fault do not count against the deployment's health.
func upstreamError(c *router.Candidate, start time.Time, t *target, resp *fasthttp.Response) attemptResult {
	return upstreamErrorAnswer(c, start, t, resp.StatusCode(), resp.Body(), string(resp.Header.Peek("Retry-After")))
}

// upstreamErrorAnswer is upstreamError for an answer already read.
func upstreamErrorAnswer(c *router.Candidate, start time.Time, t *target, status int, body []byte, ra string) attemptResult {
	e := t.tr.DecodeError(status, body, ra)
	class := errorClass(e)
	outcome := router.Success
	if class.Unhealthy() {
		outcome = router.Failure
	}
	d := time.Since(start)
	c.Health.Done(outcome, d, d)
	return attemptResult{status: status, err: e, class: class, retryAfter: parseRetryAfter(ra)}
}

// transportClass maps a failed call to an error class; 0 means do not retry.
func transportClass(err error) router.Class {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return 0
	}
	switch ue.Kind {
	case upstream.KindConnect:
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
