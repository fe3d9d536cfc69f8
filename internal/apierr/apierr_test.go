package apierr

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/jsonx"
)

func TestInvalidJSONBodyNamesTheDepthLimit(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"a body nested too deeply", &jsonx.DepthError{Limit: 128, Offset: 200}, "limit of 128 levels"},
		{"a body that is not JSON", &jsonx.SyntaxError{Offset: 3, Reason: "unexpected character"}, "could not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := InvalidJSONBody(tt.err)
			if e.Status != 400 || e.Code != "invalid_json" || !strings.Contains(e.Message, tt.want) {
				t.Fatalf("got %d %s %q, want 400 invalid_json containing %q", e.Status, e.Code, e.Message, tt.want)
			}
		})
	}
}
