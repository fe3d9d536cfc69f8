package gateway

import (
	"errors"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/upstream"
)

// classify maps any error on the request path to the error the client sees. It is the
// one place where errors from the layers below become statuses.
func classify(err error) *apierr.Error {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, errShutdown) {
		return apierr.Unavailable("server_shutting_down", "the gateway is shutting down")
	}
	var ue *upstream.Error
	if errors.As(err, &ue) {
		switch ue.Kind {
		case upstream.KindConnect:
			return apierr.Unavailable("upstream_unreachable", "could not connect to the upstream provider")
		case upstream.KindTimeout:
			return apierr.Timeout("the upstream provider did not answer in time")
		case upstream.KindAborted:
			return errClientClosed()
		case upstream.KindPoolExhausted:
			e := apierr.Unavailable("upstream_pool_exhausted", "every connection to the upstream provider is busy; retry shortly")
			e.RetryAfter = "1"
			return e
		}
		return apierr.BadGateway("upstream_connection_failed", "the connection to the upstream provider failed")
	}
	return apierr.Internal("internal error")
}

// writeError sends err as an OpenAI error envelope with its status.
func writeError(ctx *fasthttp.RequestCtx, err error) { _ = answerError(ctx, err) }

// answerError is writeError returning the error sent, for the callers that record its code.
func answerError(ctx *fasthttp.RequestCtx, err error) *apierr.Error {
	e := classify(err)
	ctx.Response.ResetBody()
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType("application/json")
	if e.RetryAfter != "" {
		ctx.Response.Header.Set("Retry-After", e.RetryAfter)
	}
	ctx.Response.SetBodyRaw(e.AppendJSON(make([]byte, 0, 160)))
	return e
}

// serverError answers errors raised by fasthttp itself before a handler runs (oversized
// body, malformed request line or headers) with the same envelope.
func (g *Gateway) serverError(ctx *fasthttp.RequestCtx, err error) {
	setRequestID(ctx, g.ids)
	var e *apierr.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		e = apierr.TooLarge(g.cfg.Limits.MaxBodyBytes)
	case isHeaderTooLarge(err):
		e = apierr.New(431, apierr.TypeInvalidRequest, "request_header_too_large", "",
			fmt.Sprintf("the request's headers are larger than %d bytes (limits.max_header_bytes)", g.cfg.Limits.MaxHeaderBytes))
	default:
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			e = apierr.New(408, apierr.TypeInvalidRequest, "request_timeout", "", "the request was not received in time")
		} else {
			e = apierr.BadRequest("malformed_request", "", "malformed HTTP request")
		}
	}
	ctx.SetConnectionClose()
	writeError(ctx, e)
}

// isHeaderTooLarge reports whether fasthttp failed to read a request head because it did
// not fit the read buffer.
func isHeaderTooLarge(err error) bool {
	var sb *fasthttp.ErrSmallBuffer
	return errors.As(err, &sb) || errors.Is(err, fasthttp.ErrSmallReadBuffer)
}

// errClientClosed is what a request whose client left is recorded as (status 499; the
// client never sees it).
func errClientClosed() *apierr.Error {
	return apierr.New(499, apierr.TypeInvalidRequest, "client_closed_request", "", "the client closed the request")
}
