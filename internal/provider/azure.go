package provider

import (
	"net/url"

	"github.com/switchyard/switchyard/internal/apierr"
)

// azure is the translator for Azure OpenAI. The wire schema is OpenAI's; only the URL
// (one per deployment, with an api-version query) and the key header differ. The model's
// upstream name is the deployment name. It does not implement Lister: Azure lists
// deployments through its management API, so the gateway lists configured models.
//
// The Responses API (OpResponses) is served by Azure's v1 API only, at one URL for every
// deployment ({endpoint}/openai/v1/responses, no api-version needed since the v1 API's
// general availability) with the deployment name as the body's model, which is patched
// in as for the other operations.
type azure struct {
	oa           *openAI
	query        string
	responsesURL string
}

var _ Translator = (*azure)(nil)

// azureResponsesPath is the Responses API under the resource endpoint (Azure's v1 API).
const azureResponsesPath = "/openai/v1/responses"

func newAzure(c Config) *azure {
	path := azureResponsesPath
	if p, ok := c.Paths["responses"]; ok {
		path = p
	}
	return &azure{oa: newOpenAI(c), query: "?api-version=" + url.QueryEscape(c.APIVersion), responsesURL: c.BaseURL + path}
}

// Encode builds the request for one deployment (r.Model). The Messages API is an
// *apierr.Error.
func (t *azure) Encode(r *Request, out *Outbound) error {
	if r.Model == "" {
		return apierr.BadRequest("invalid_value", "model", "azure provider needs a deployment name as the upstream model")
	}
	switch r.Op {
	case OpChat, OpCompletion, OpEmbedding, OpModels:
		out.URL = t.oa.cfg.BaseURL + "/openai/deployments/" + url.PathEscape(r.Model) + t.oa.cfg.path(r.Op) + t.query
	case OpResponses:
		out.URL = t.responsesURL
	default:
		return apierr.Unsupported(r.ClientModel, r.Op.String())
	}
	out.Method = "POST"
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
