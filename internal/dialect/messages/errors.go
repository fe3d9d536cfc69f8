package messages

import (
	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/sse"
)

// Anthropic's error types, as its error envelope names them.
const (
	typeInvalidRequest  = "invalid_request_error"
	typeAuthentication  = "authentication_error"
	typeBilling         = "billing_error"
	typePermission      = "permission_error"
	typeNotFound        = "not_found_error"
	typeRequestTooLarge = "request_too_large"
	typeRateLimit       = "rate_limit_error"
	typeAPI             = "api_error"
	typeTimeout         = "timeout_error"
	typeOverloaded      = "overloaded_error"
)

// statusOverloaded is the status Anthropic answers when it is overloaded.
const statusOverloaded = 529

// errorType maps a gateway error's HTTP status to the status and error type Anthropic
// would answer, following Anthropic's documented table: 400 invalid_request_error, 401
// authentication_error, 402 billing_error, 403 permission_error, 404 not_found_error, 413
// request_too_large, 429 rate_limit_error, 500 api_error, 504 timeout_error, 529
// overloaded_error. The gateway's 503 (an upstream or the gateway itself unavailable,
// a pool exhausted) is Anthropic's overload, 529, which Anthropic clients retry; other
// 4xx statuses keep their status as invalid_request_error (Anthropic says it uses that
// type for unlisted 4xx), other 5xx keep theirs as api_error, and a status outside
// 400–599 (a bug) is a 500.
func errorType(status int) (int, string) {
	switch status {
	case 400:
		return status, typeInvalidRequest
	case 401:
		return status, typeAuthentication
	case 402:
		return status, typeBilling
	case 403:
		return status, typePermission
	case 404:
		return status, typeNotFound
	case 413:
		return status, typeRequestTooLarge
	case 429:
		return status, typeRateLimit
	case 503, statusOverloaded:
		return statusOverloaded, typeOverloaded
	case 504:
		return status, typeTimeout
	}
	switch {
	case status > 400 && status < 500:
		return status, typeInvalidRequest
	case status >= 500 && status < 600:
		return status, typeAPI
	}
	return 500, typeAPI
}

// appendEnvelope appends {"type":"error","error":{"type":typ,"message":msg}} to dst.
func appendEnvelope(dst []byte, typ, msg string) []byte {
	dst = append(dst, `{"type":"error","error":{"type":`...)
	dst = jsonx.Quote(dst, typ)
	dst = append(dst, `,"message":`...)
	dst = jsonx.Quote(dst, msg)
	return append(dst, "}}"...)
}

// Error renders e in Anthropic's error envelope with the status errorType gives. The
// message is e.Message unchanged: it names the offending field where there is one, as
// Anthropic's messages do. Anthropic's envelope also carries a request_id; the gateway's
// id is in the x-request-id header instead, since e does not hold it.
func (Translator) Error(e *apierr.Error) (int, []byte) {
	status, typ := errorType(e.Status)
	return status, appendEnvelope(make([]byte, 0, 64+len(e.Message)), typ, e.Message)
}

// appendErrorEvent appends Anthropic's error event for e: "event: error" with the error
// envelope as its data, as Anthropic sends one mid-stream.
func appendErrorEvent(dst []byte, e *apierr.Error) []byte {
	_, typ := errorType(e.Status)
	return sse.AppendEvent(dst, "error", appendEnvelope(make([]byte, 0, 64+len(e.Message)), typ, e.Message))
}

// pingData is the data of Anthropic's ping event.
const pingData = `{"type":"ping"}`

// Ping appends a ping event ("event: ping", data {"type":"ping"}) to dst: the gateway
// sends one while the upstream is silent, as Anthropic does, so that clients and proxies
// see the stream alive. Clients ignore it. It allocates nothing beyond growing dst.
func Ping(dst []byte) []byte { return sse.AppendEvent(dst, "ping", []byte(pingData)) }
