// Package apierr holds the gateway's typed errors and their OpenAI error envelope.
//
// Every failure a client can see is an *Error: it carries the HTTP status and the
// four envelope fields OpenAI clients parse ({"error":{"message","type","code","param"}}).
// Errors from deeper layers are classified into an *Error in one place (the gateway);
// this package only defines the shape and the constructors for the documented cases.
package apierr

import (
	"errors"
	"strconv"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// Envelope types, as OpenAI uses them.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeUpstream       = "upstream_error"
	TypeTimeout        = "timeout_error"
	TypeServer         = "server_error"
)

// Error is an error a client sees. It is immutable once built.
type Error struct {
	// Status is the HTTP status code sent to the client.
	Status int
	// Type, Code, Param and Message are the OpenAI envelope fields; Code and Param may be empty.
	Type    string
	Code    string
	Param   string
	Message string
	// RetryAfter is the Retry-After header value in seconds, sent when non-empty.
	RetryAfter string
	// Upstream is the upstream's own error message, with credentials redacted (see
	// Redact), for the gateway's log only: it is never sent to the client. It is set
	// when Message deliberately does not carry the upstream's text (an authentication
	// failure); empty otherwise.
	Upstream string
}

func (e *Error) Error() string {
	return strconv.Itoa(e.Status) + " " + e.Type + ": " + e.Message
}

// envelope is the wire shape; nil strings encode as null, as OpenAI does.
type envelope struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// AppendJSON appends the OpenAI error envelope for e to dst.
func (e *Error) AppendJSON(dst []byte) []byte {
	var env envelope
	env.Error.Message = e.Message
	env.Error.Type = e.Type
	if e.Param != "" {
		env.Error.Param = &e.Param
	}
	if e.Code != "" {
		env.Error.Code = &e.Code
	}
	b, err := jsonx.Marshal(&env)
	if err != nil { // cannot happen for this struct of strings
		return append(dst, `{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}`...)
	}
	return append(dst, b...)
}

// New returns an error with the given fields.
func New(status int, typ, code, param, msg string) *Error {
	return &Error{Status: status, Type: typ, Code: code, Param: param, Message: msg}
}

// BadRequest is a 400 invalid_request_error about param (may be empty).
func BadRequest(code, param, msg string) *Error {
	return New(400, TypeInvalidRequest, code, param, msg)
}

// InvalidJSON is the 400 for a body that is not JSON.
func InvalidJSON() *Error {
	return BadRequest("invalid_json", "", "We could not parse the JSON body of your request. The body must be a valid JSON object.")
}

// InvalidJSONBody is the 400 invalid_json for a body that jsonx.ValidObject refused:
// a body nested too deeply gets a message naming the limit, anything else the message
// of InvalidJSON.
func InvalidJSONBody(err error) *Error {
	var de *jsonx.DepthError
	if errors.As(err, &de) {
		return BadRequest("invalid_json", "", "The JSON body of your request is nested deeper than the limit of "+
			strconv.Itoa(de.Limit)+" levels of objects and arrays.")
	}
	return InvalidJSON()
}

// MissingParam is the 400 for a required parameter that is absent.
func MissingParam(param string) *Error {
	return BadRequest("missing_required_parameter", param, "you must provide a "+param+" parameter")
}

// UnsupportedMediaType is the 415 for a body that is not application/json.
func UnsupportedMediaType(got string) *Error {
	return New(415, TypeInvalidRequest, "unsupported_media_type", "",
		"Content-Type must be application/json, got "+strconv.Quote(got))
}

// TooLarge is the 413 for a body over the configured limit.
func TooLarge(limit int) *Error {
	return New(413, TypeInvalidRequest, "request_too_large", "",
		"request body is larger than the limit of "+strconv.Itoa(limit)+" bytes")
}

// InvalidKey is the 401 for a missing or unknown gateway key.
func InvalidKey(missing bool) *Error {
	if missing {
		return New(401, TypeAuthentication, "missing_api_key", "",
			"You didn't provide an API key. Send it as 'Authorization: Bearer KEY' (or x-api-key: KEY).")
	}
	return New(401, TypeAuthentication, "invalid_api_key", "", "Incorrect API key provided.")
}

// Forbidden is the 403 for a key that may not do what it asked.
func Forbidden(msg string) *Error {
	return New(403, TypePermission, "forbidden", "", msg)
}

// UnknownModel is the 404 for a model the gateway does not serve.
func UnknownModel(model string) *Error {
	return New(404, TypeInvalidRequest, "model_not_found", "model",
		"The model "+strconv.Quote(model)+" does not exist or you do not have access to it.")
}

// NotFound is the 404 for an unknown route.
func NotFound(path string) *Error {
	return New(404, TypeInvalidRequest, "unknown_url", "", "Unknown request URL: "+path)
}

// MethodNotAllowed is the 405 for a known route with the wrong method.
func MethodNotAllowed(method, path string) *Error {
	return New(405, TypeInvalidRequest, "method_not_allowed", "", method+" is not allowed on "+path)
}

// Unsupported is the 400 for an operation the model's provider cannot do.
func Unsupported(model, op string) *Error {
	return BadRequest("unsupported_operation", "model", "model "+strconv.Quote(model)+" does not support "+op)
}

// RateLimited is a 429 with a Retry-After in seconds (empty for none).
func RateLimited(msg, retryAfter string) *Error {
	e := New(429, TypeRateLimit, "rate_limit_exceeded", "", msg)
	e.RetryAfter = retryAfter
	return e
}

// BadGateway is the 502 for an upstream that failed or answered nonsense.
func BadGateway(code, msg string) *Error {
	return New(502, TypeUpstream, code, "", msg)
}

// UpstreamAuthFailed is the 502 upstream_auth_failed for a provider that refused the
// gateway's own credential with status (401 or 403). The client learns which
// provider's credential was refused, never the upstream's text: providers quote the key
// they were shown (OpenAI: "Incorrect API key provided: sk-..."). upstreamMsg goes to
// Upstream, redacted, for the log.
func UpstreamAuthFailed(provider string, status int, upstreamMsg string) *Error {
	e := BadGateway("upstream_auth_failed", "the upstream provider "+strconv.Quote(provider)+
		" refused the gateway's credential (HTTP "+strconv.Itoa(status)+"); the gateway's operator must fix its key")
	e.Upstream = Redact(upstreamMsg)
	return e
}

// Unavailable is the 503 for an upstream that cannot be reached or the gateway shutting down.
func Unavailable(code, msg string) *Error {
	return New(503, TypeUpstream, code, "", msg)
}

// Timeout is the 504 for an upstream that did not answer in time.
func Timeout(msg string) *Error {
	return New(504, TypeTimeout, "upstream_timeout", "", msg)
}

// Internal is the 500 for a gateway bug; msg must not leak secrets.
func Internal(msg string) *Error {
	return New(500, TypeServer, "internal_error", "", msg)
}
