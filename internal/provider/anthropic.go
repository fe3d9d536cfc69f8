package provider

import (
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// anthropic translates OpenAI chat completions to the Anthropic Messages API
// (POST {base_url}/v1/messages) and the answers back, streamed or not.
//
// Unlike the OpenAI-schema translators it decodes and re-encodes the whole request: the
// schemas differ in shape (system prompt, content blocks, tool calls, tool results), so
// there is nothing to patch. Request fields with no Anthropic counterpart (n above 1
// excepted, which is rejected) are dropped: frequency and presence penalties, logit_bias,
// logprobs, seed, response_format, stream_options and the legacy functions fields.
// Sampling values pass through unchanged; Anthropic answers 400 to a temperature above 1,
// and that error reaches the client as such.
//
// Response ids are "chatcmpl-" followed by Anthropic's message id, so a client-visible
// id still names the upstream message.
//
// The Messages API itself (OpMessages, OpCountTokens) is passed through instead: see
// anthropic_native.go.
type anthropic struct {
	cfg     Config
	url     string
	headers []Header
	native  nativeHeaders
	// now is the clock for the "created" field; time.Now except in tests.
	now func() time.Time
}

var _ Translator = (*anthropic)(nil)

// anthropicMessagesPath is where the Messages API lives under the base URL.
const anthropicMessagesPath = "/v1/messages"

// newAnthropic builds the translator for a resolved config. The request path is
// /v1/messages unless the config's chat path overrides it (e.g. behind a proxy).
func newAnthropic(c Config) *anthropic {
	path := anthropicMessagesPath
	if p, ok := c.Paths["chat"]; ok {
		path = p
	}
	hs := c.staticHeaders()
	if !hasHeader(hs, "anthropic-version") {
		hs = append(hs, Header{"anthropic-version", c.AnthropicVersion})
	}
	hs = append(hs, Header{"Content-Type", "application/json"})
	return &anthropic{cfg: c, url: c.BaseURL + path, headers: hs, native: newNativeHeaders(c, c.BaseURL+path), now: time.Now}
}

// hasHeader reports whether hs sets key (case-insensitively): a configured header
// overrides the translator's default, e.g. to pin another anthropic-version.
func hasHeader(hs []Header, key string) bool {
	for _, h := range hs {
		if strings.EqualFold(h.Key, key) {
			return true
		}
	}
	return false
}

// Encode translates a chat completion request. It decodes the client body in full and
// returns a 400 *apierr.Error naming the offending parameter when the request cannot be
// expressed for Anthropic. Messages API requests pass through (encodeNative); other
// operations are unsupported.
func (t *anthropic) Encode(r *Request, out *Outbound) error {
	switch r.Op {
	case OpChat:
	case OpMessages, OpCountTokens:
		return t.encodeNative(r, out)
	default:
		return apierr.Unsupported(r.ClientModel, r.Op.String())
	}
	req, err := t.request(r)
	if err != nil {
		return err
	}
	body, err := jsonx.Marshal(req)
	if err != nil {
		return apierr.Internal("encoding the anthropic request: " + err.Error())
	}
	out.Method = "POST"
	out.URL = t.url
	out.Header = append(out.Header, t.headers...)
	out.Body = body
	return nil
}

// request builds the Messages API request for r.
func (t *anthropic) request(r *Request) (*anthropicRequest, error) {
	var in chatRequest
	if !jsonx.Valid(r.Body) {
		return nil, apierr.InvalidJSON()
	}
	if err := jsonx.Unmarshal(r.Body, &in); err != nil {
		return nil, apierr.BadRequest("invalid_type", "", "the request body does not match the chat completions schema: "+err.Error())
	}
	if in.Messages == nil {
		return nil, apierr.MissingParam("messages")
	}
	if in.N != nil && *in.N > 1 {
		return nil, apierr.BadRequest("invalid_value", "n", "this model returns one choice per request; n must be 1")
	}
	out := &anthropicRequest{
		Model:       r.Model,
		Stream:      r.Stream,
		Temperature: in.Temperature,
		TopP:        in.TopP,
	}
	if out.Model == "" {
		out.Model = in.Model
	}
	var err error
	if out.System, out.Messages, err = anthropicMessages(in.Messages); err != nil {
		return nil, err
	}
	if out.MaxTokens, err = maxTokens(&in, t.cfg.MaxTokensDefault); err != nil {
		return nil, err
	}
	if out.StopSequences, err = stopSequences(in.Stop); err != nil {
		return nil, err
	}
	if in.User != "" {
		out.Metadata = &anthropicMetadata{UserID: in.User}
	}
	if out.Tools, err = anthropicTools(in.Tools); err != nil {
		return nil, err
	}
	if len(out.Tools) > 0 {
		if out.ToolChoice, err = toolChoice(in.ToolChoice, in.ParallelToolCalls); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// maxTokens picks max_completion_tokens, else max_tokens, else the configured default.
func maxTokens(in *chatRequest, def int) (int, error) {
	param, n := "max_completion_tokens", in.MaxCompletionTokens
	if n == nil {
		param, n = "max_tokens", in.MaxTokens
	}
	if n == nil {
		return def, nil
	}
	if *n < 1 {
		return 0, apierr.BadRequest("invalid_value", param, param+" must be at least 1")
	}
	return *n, nil
}

// stopSequences reads OpenAI's stop: null, a string, or an array of strings.
func stopSequences(raw jsonx.RawMessage) ([]string, error) {
	switch v := jsonx.Parse(string(raw)); {
	case isNull(raw):
		return nil, nil
	case v.Type == jsonx.String:
		return []string{v.Str}, nil
	case v.IsArray():
		var out []string
		if err := jsonx.Unmarshal(raw, &out); err != nil {
			return nil, apierr.BadRequest("invalid_type", "stop", "stop must be a string or an array of strings")
		}
		return out, nil
	}
	return nil, apierr.BadRequest("invalid_type", "stop", "stop must be a string or an array of strings")
}

// anthropicTools converts function tools; their JSON schema passes through untouched.
func anthropicTools(tools []chatTool) ([]anthropicTool, error) {
	if len(tools) == 0 {
		return nil, nil
	}
	out := make([]anthropicTool, 0, len(tools))
	for i, tl := range tools {
		param := "tools[" + strconv.Itoa(i) + "]"
		if tl.Type != "function" {
			return nil, apierr.BadRequest("invalid_value", param+".type", "only function tools are supported, got "+strconv.Quote(tl.Type))
		}
		if tl.Function.Name == "" {
			return nil, apierr.MissingParam(param + ".function.name")
		}
		schema := tl.Function.Parameters
		if isNull(schema) {
			schema = emptyObjectSchema
		} else if !jsonx.Parse(string(schema)).IsObject() {
			return nil, apierr.BadRequest("invalid_type", param+".function.parameters", "parameters must be a JSON schema object")
		}
		out = append(out, anthropicTool{
			Name:         tl.Function.Name,
			Description:  tl.Function.Description,
			InputSchema:  schema,
			CacheControl: tl.CacheControl,
		})
	}
	return out, nil
}

// emptyObjectSchema is the input schema of a tool that takes no parameters; Anthropic
// requires one on every tool.
var emptyObjectSchema = jsonx.RawMessage(`{"type":"object","properties":{}}`)

// toolChoice maps OpenAI's tool_choice and parallel_tool_calls to Anthropic's tool_choice:
// none, auto, required (any) or one named function (tool). It returns nil when neither is set.
func toolChoice(raw jsonx.RawMessage, parallel *bool) (*anthropicToolChoice, error) {
	var out *anthropicToolChoice
	switch v := jsonx.Parse(string(raw)); {
	case isNull(raw):
	case v.Type == jsonx.String:
		switch v.Str {
		case "none":
			return &anthropicToolChoice{Type: "none"}, nil // nothing to parallelise
		case "auto":
			out = &anthropicToolChoice{Type: "auto"}
		case "required":
			out = &anthropicToolChoice{Type: "any"}
		default:
			return nil, apierr.BadRequest("invalid_value", "tool_choice", "tool_choice must be none, auto, required or a function, got "+strconv.Quote(v.Str))
		}
	case v.IsObject():
		name := v.Get("function.name").Str
		if v.Get("type").Str != "function" || name == "" {
			return nil, apierr.BadRequest("invalid_value", "tool_choice", `tool_choice object must be {"type":"function","function":{"name":...}}`)
		}
		out = &anthropicToolChoice{Type: "tool", Name: name}
	default:
		return nil, apierr.BadRequest("invalid_type", "tool_choice", "tool_choice must be a string or an object")
	}
	if parallel != nil && !*parallel {
		if out == nil {
			out = &anthropicToolChoice{Type: "auto"}
		}
		out.DisableParallelToolUse = true
	}
	return out, nil
}

// isNull reports whether a decoded raw value was absent or JSON null.
func isNull(raw jsonx.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }
