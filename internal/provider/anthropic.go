package provider

import (
	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/sse"
)

// anthropic translates chat completions to the Anthropic Messages API and back.
// (Placeholder until the full translation lands.)
type anthropic struct{ cfg Config }

func newAnthropic(c Config) *anthropic { return &anthropic{cfg: c} }

func (t *anthropic) Encode(r *Request, out *Outbound) error {
	return apierr.Unsupported(r.ClientModel, r.Op.String())
}
func (t *anthropic) Decode(r *Request, body, dst []byte) ([]byte, Usage, error) {
	return nil, Usage{}, apierr.Internal("not implemented")
}
func (t *anthropic) DecodeError(status int, body []byte, retryAfter string) *apierr.Error {
	return OpenAIError(status, body, retryAfter)
}
func (t *anthropic) NewStream(r *Request) StreamDecoder { return nil }

var _ = sse.Event{}
