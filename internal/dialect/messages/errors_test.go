package messages

import (
	"strconv"
	"testing"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

func TestErrorMapsGatewayErrorsToAnthropicsEnvelope(t *testing.T) {
	tests := []struct {
		name   string
		err    *apierr.Error
		status int
		typ    string
	}{
		{"a bad request is invalid_request_error", apierr.MissingParam("max_tokens"), 400, "invalid_request_error"},
		{"a bad key is authentication_error", apierr.InvalidKey(false), 401, "authentication_error"},
		{"a refused key is permission_error", apierr.Forbidden("no"), 403, "permission_error"},
		{"an unknown model is not_found_error", apierr.UnknownModel("claude-9"), 404, "not_found_error"},
		{"a method not allowed stays 405 as invalid_request_error", apierr.MethodNotAllowed("GET", "/v1/messages"), 405, "invalid_request_error"},
		{"a body too large is request_too_large", apierr.TooLarge(1 << 20), 413, "request_too_large"},
		{"a wrong content type stays 415 as invalid_request_error", apierr.UnsupportedMediaType("text/plain"), 415, "invalid_request_error"},
		{"a limit is rate_limit_error", apierr.RateLimited("slow down", "3"), 429, "rate_limit_error"},
		{"a gateway bug is api_error", apierr.Internal("bug"), 500, "api_error"},
		{"an upstream failure stays 502 as api_error", apierr.BadGateway("upstream_error", "broken"), 502, "api_error"},
		{"an unavailable upstream is 529 overloaded_error", apierr.Unavailable("upstream_unavailable", "busy"), 529, "overloaded_error"},
		{"an upstream timeout is timeout_error", apierr.Timeout("slow"), 504, "timeout_error"},
		{"a status that is no error is a 500", apierr.New(200, "x", "", "", "odd"), 500, "api_error"},
	}
	var golden []byte
	golden = append(golden, '[')
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := New().Error(tt.err)
			if status != tt.status || jsonx.Get(body, "type").Str != "error" ||
				jsonx.Get(body, "error.type").Str != tt.typ || jsonx.Get(body, "error.message").Str != tt.err.Message {
				t.Errorf("Error = %d %s, want %d and type %s", status, body, tt.status, tt.typ)
			}
			if i > 0 {
				golden = append(golden, ',')
			}
			golden = append(golden, `{"gateway_status":`...)
			golden = strconv.AppendInt(golden, int64(tt.err.Status), 10)
			golden = append(golden, `,"status":`...)
			golden = strconv.AppendInt(golden, int64(status), 10)
			golden = append(golden, `,"body":`...)
			golden = append(golden, body...)
			golden = append(golden, '}')
		})
	}
	golden = append(golden, ']')
	checkGoldenJSON(t, "testdata/errors.golden.json", golden)
}
