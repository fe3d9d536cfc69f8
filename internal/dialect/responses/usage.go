package responses

import (
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// UsageOf reads the usage of a Responses object, as a provider that speaks Responses
// natively answers it; Reported is false when the object has none. It does not
// allocate.
func UsageOf(body []byte) provider.Usage {
	return provider.OpenAIUsage(jsonx.View(body).Get("usage"))
}

// StreamUsage reads the usage off a native Responses event stream: the response object
// of the closing event (response.completed, response.incomplete or response.failed).
// The zero value is ready; it is used by one goroutine.
type StreamUsage struct {
	usage provider.Usage
}

// Observe takes the data of one SSE event. Events other than the closing ones cost one
// scan of their "type" member, which OpenAI sends first.
func (s *StreamUsage) Observe(data []byte) {
	doc := jsonx.View(data)
	switch doc.Get("type").Str {
	case "response.completed", "response.incomplete", "response.failed":
		if u := provider.OpenAIUsage(doc.Get("response.usage")); u.Reported {
			s.usage = u
		}
	}
}

// Usage is the usage of the closing event seen; Reported is false before one.
func (s *StreamUsage) Usage() provider.Usage { return s.usage }
