package provider

import (
	"strings"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// anthropicResponse is a Messages API answer, as far as the translation reads it.
type anthropicResponse struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	StopReason string `json:"stop_reason"`
	Content    []struct {
		Type  string           `json:"type"`
		Text  string           `json:"text"`
		ID    string           `json:"id"`
		Name  string           `json:"name"`
		Input jsonx.RawMessage `json:"input"`
	} `json:"content"`
	Usage anthropicUsage `json:"usage"`
}

// anthropicUsage is Anthropic's usage object. input_tokens excludes the tokens read from
// and written to the prompt cache, which Anthropic counts separately.
type anthropicUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
}

// usage returns the gateway's usage: input counts every prompt token, cached or not.
func (u *anthropicUsage) usage() Usage {
	return Usage{
		Reported:          true,
		InputTokens:       u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens,
		OutputTokens:      u.OutputTokens,
		CachedInputTokens: u.CacheReadInputTokens,
		CacheWriteTokens:  u.CacheCreationInputTokens,
	}
}

// chat returns the OpenAI usage object for u.
func (u *anthropicUsage) chat() chatUsage {
	g := u.usage()
	out := chatUsage{PromptTokens: g.InputTokens, CompletionTokens: g.OutputTokens, TotalTokens: g.InputTokens + g.OutputTokens}
	out.PromptTokensDetails.CachedTokens = g.CachedInputTokens
	return out
}

// The OpenAI chat completion the translation produces.
type (
	chatCompletion struct {
		ID      string       `json:"id"`
		Object  string       `json:"object"`
		Created int64        `json:"created"`
		Model   string       `json:"model"`
		Choices []chatChoice `json:"choices"`
		Usage   chatUsage    `json:"usage"`
	}
	chatChoice struct {
		Index        int       `json:"index"`
		Message      chatReply `json:"message"`
		Logprobs     *struct{} `json:"logprobs"` // always null
		FinishReason string    `json:"finish_reason"`
	}
	chatReply struct {
		Role      string          `json:"role"`
		Content   *string         `json:"content"`
		Refusal   *string         `json:"refusal"` // always null
		ToolCalls []chatReplyCall `json:"tool_calls,omitempty"`
	}
	chatReplyCall struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	chatUsage struct {
		PromptTokens        int64 `json:"prompt_tokens"`
		CompletionTokens    int64 `json:"completion_tokens"`
		TotalTokens         int64 `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens int64 `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	}
)

// Decode translates a Messages API answer into a chat.completion, appended to dst.
// Text blocks are joined into the message content (null when the answer is only tool
// calls); tool_use blocks become tool calls; thinking and server-tool blocks are dropped.
// A Messages API answer passed through is returned as is (decodeNative).
func (t *anthropic) Decode(r *Request, body, dst []byte) ([]byte, Usage, error) {
	if r.Op == OpMessages || r.Op == OpCountTokens {
		return decodeNative(r, body)
	}
	var in anthropicResponse
	if err := jsonx.Unmarshal(body, &in); err != nil || in.Type != "message" {
		return nil, Usage{}, apierr.BadGateway("upstream_invalid_response", "the upstream answer is not an Anthropic message")
	}
	reply := chatReply{Role: "assistant"}
	var text strings.Builder
	for _, b := range in.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			call := chatReplyCall{ID: b.ID, Type: "function"}
			call.Function.Name = b.Name
			call.Function.Arguments = "{}"
			if !isNull(b.Input) {
				args, err := jsonx.Marshal(b.Input) // compacts the object
				if err != nil {
					return nil, Usage{}, apierr.BadGateway("upstream_invalid_response", "the upstream tool call input is not JSON")
				}
				call.Function.Arguments = string(args)
			}
			reply.ToolCalls = append(reply.ToolCalls, call)
		}
	}
	if s := text.String(); s != "" || len(reply.ToolCalls) == 0 {
		reply.Content = &s
	}
	out := chatCompletion{
		ID:      "chatcmpl-" + in.ID,
		Object:  "chat.completion",
		Created: t.now().Unix(),
		Model:   r.ClientModel,
		Choices: []chatChoice{{Message: reply, FinishReason: finishReason(in.StopReason)}},
		Usage:   in.Usage.chat(),
	}
	b, err := jsonx.Marshal(&out)
	if err != nil {
		return nil, Usage{}, apierr.Internal("encoding the chat completion: " + err.Error())
	}
	return append(dst, b...), in.Usage.usage(), nil
}

// finishReason maps Anthropic's stop_reason to OpenAI's finish_reason. pause_turn (a
// server tool paused a long turn) has no OpenAI counterpart and reads as a normal stop.
func finishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return "stop" // end_turn, stop_sequence, pause_turn, or a reason added later
}

// DecodeError maps an Anthropic error answer ({"type":"error","error":{"type","message"}})
// to the client's error; see anthropicError.
func (t *anthropic) DecodeError(status int, body []byte, retryAfter string) *apierr.Error {
	return anthropicError(&t.cfg, status, body, retryAfter)
}

// anthropicError maps an error from the Anthropic provider c to the client's error
// (authentication failures as OpenAIError describes). Anthropic's error object
// has the same type and message fields as OpenAI's, so OpenAIError does the work, with
// three Anthropic-specific rules: 529 (overloaded) is the service being unavailable,
// 503; 402 (billing) is the gateway's account, not the client's fault, so 502; and a 413
// is an invalid_request_error with code request_too_large, since OpenAI clients do not
// know Anthropic's request_too_large type (and Anthropic's proxy may send no JSON at all).
func anthropicError(c *Config, status int, body []byte, retryAfter string) *apierr.Error {
	switch status {
	case 529:
		status = 503
	case 402:
		e := OpenAIError(c.Name, status, body, retryAfter, c.key)
		return apierr.BadGateway("upstream_billing_error", "the upstream provider refused the gateway's account: "+e.Message)
	}
	e := OpenAIError(c.Name, status, body, retryAfter, c.key)
	if status == 413 {
		e.Type, e.Code = apierr.TypeInvalidRequest, "request_too_large"
	}
	return e
}

// anthropicErrorStatus is the HTTP status Anthropic documents for an error type. An error
// event inside a stream has no status of its own; this gives it the one the same error
// would have had before the stream started.
func anthropicErrorStatus(typ string) int {
	switch typ {
	case "invalid_request_error":
		return 400
	case "authentication_error":
		return 401
	case "billing_error":
		return 402
	case "permission_error":
		return 403
	case "not_found_error":
		return 404
	case "request_too_large":
		return 413
	case "rate_limit_error":
		return 429
	case "timeout_error":
		return 504
	case "overloaded_error":
		return 529
	}
	return 500 // api_error, or a type added later
}

// AnthropicUsage accumulates Anthropic usage objects: a message's, or a stream's
// message_start and message_delta, whose counts present replace the earlier ones. Usage
// gives the gateway's terms (input counts cached tokens too); unreported before any
// usage object. The zero value is ready; one goroutine uses it.
type AnthropicUsage struct {
	counts   anthropicUsage
	reported bool
}

// Merge takes the counts of usage object r; it reports whether r was one.
func (a *AnthropicUsage) Merge(r jsonx.Result) bool {
	if !a.counts.merge(r) {
		return false
	}
	a.reported = true
	return true
}

// Usage returns the counts merged so far.
func (a *AnthropicUsage) Usage() Usage {
	if !a.reported {
		return Usage{}
	}
	return a.counts.usage()
}
