package gateway

import (
	"strings"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// fields are the few top-level request members the gateway acts on, read in one pass
// over the body (validation aside) so that a large prompt is scanned a fixed number of
// times however many members the routing needs.
type fields struct {
	model        string
	stream       bool
	includeUsage bool
	maxTokens    int
	hasTools     bool
	hasImages    bool
	user         string
	metadata     jsonx.Result // the metadata object, if any
	prompt       jsonx.Result // the prompt reference object, if any
	// deterministic is true when the answer is not drawn at random: temperature 0 or a
	// seed, and one choice (the exact cache's rule; embeddings always are).
	deterministic bool
}

// readFields fills f from a body already known to be a valid JSON object. The strings it
// keeps are copies; metadata aliases body and lives only as long as the handler.
func readFields(body []byte) (f fields, err error) {
	var temperatureZero, seeded, manyChoices bool
	defer func() { f.deterministic = (temperatureZero || seeded) && !manyChoices }()
	jsonx.View(body).ForEach(func(k, v jsonx.Result) bool {
		switch k.Str {
		case "model":
			if v.Type != jsonx.String {
				err = apierr.BadRequest("invalid_type", "model", "model must be a string")
				return false
			}
			f.model = strings.Clone(v.Str)
		case "stream":
			f.stream = v.Bool()
		case "stream_options":
			f.includeUsage = v.Get("include_usage").Bool()
		case "max_tokens", "max_completion_tokens":
			if n := int(v.Int()); n > f.maxTokens {
				f.maxTokens = n
			}
		case "tools":
			f.hasTools = v.IsArray() && strings.IndexByte(v.Raw, '{') >= 0
		case "messages", "input":
			f.hasImages = strings.Contains(v.Raw, `"image_url"`) || strings.Contains(v.Raw, `"input_image"`)
		case "user":
			f.user = strings.Clone(v.String())
		case "metadata":
			if v.IsObject() {
				f.metadata = v
			}
		case "prompt":
			f.prompt = v
		case "temperature":
			temperatureZero = v.Type == jsonx.Number && v.Float() == 0
		case "seed":
			seeded = v.Type == jsonx.Number
		case "n", "best_of":
			manyChoices = manyChoices || v.Int() > 1
		}
		return true
	})
	return f, err
}
