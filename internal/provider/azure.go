package provider

import (
	"net/url"

	"github.com/switchyard/switchyard/internal/apierr"
)

// azure is the translator for Azure OpenAI. The wire schema is OpenAI's; only the URL
// (one per deployment, with an api-version query) and the key header differ. The model's
// upstream name is the deployment name. It does not implement Lister: Azure lists
// deployments through its management API, so the gateway lists configured models.
type azure struct {
	oa    *openAI
	query string
}

var _ Translator = (*azure)(nil)

func newAzure(c Config) *azure {
	return &azure{oa: newOpenAI(c), query: "?api-version=" + url.QueryEscape(c.APIVersion)}
}

func (t *azure) Encode(r *Request, out *Outbound) error {
	if r.Model == "" {
		return apierr.BadRequest("invalid_value", "model", "azure provider needs a deployment name as the upstream model")
	}
	out.Method = "POST"
	out.URL = t.oa.cfg.BaseURL + "/openai/deployments/" + url.PathEscape(r.Model) + t.oa.cfg.path(r.Op) + t.query
	out.Header = append(out.Header, t.oa.headers...)
	body, err := PatchOpenAIBody(r)
	if err != nil {
		return err
	}
	out.Body = body
	return nil
}

func (t *azure) Decode(r *Request, body, dst []byte) ([]byte, Usage, error) {
	return t.oa.Decode(r, body, dst)
}

func (t *azure) DecodeError(status int, body []byte, retryAfter string) *apierr.Error {
	return OpenAIError(t.oa.cfg.Name, status, body, retryAfter, t.oa.cfg.key)
}

func (t *azure) NewStream(r *Request) StreamDecoder { return t.oa.NewStream(r) }
