package responses

import "github.com/switchyard/switchyard/internal/jsonx"

// fields are the top-level members of a Responses request that the translation reads,
// found in one pass over the body (each a zero Result when absent).
type fields struct {
	model, input, instructions, stream                 jsonx.Result
	background, conversation, prompt                   jsonx.Result
	maxOutputTokens, maxToolCalls, temperature, topP   jsonx.Result
	reasoning, user, text, tools, toolChoice, parallel jsonx.Result
	previousResponseID, store, truncation, metadata    jsonx.Result
}

// readFields fills fields from the object doc; the first of duplicate keys wins, as
// with Get.
func readFields(doc jsonx.Result) fields {
	var f fields
	doc.ForEach(func(k, v jsonx.Result) bool {
		var dst *jsonx.Result
		switch k.Str {
		case "model":
			dst = &f.model
		case "input":
			dst = &f.input
		case "instructions":
			dst = &f.instructions
		case "stream":
			dst = &f.stream
		case "background":
			dst = &f.background
		case "conversation":
			dst = &f.conversation
		case "prompt":
			dst = &f.prompt
		case "max_output_tokens":
			dst = &f.maxOutputTokens
		case "max_tool_calls":
			dst = &f.maxToolCalls
		case "temperature":
			dst = &f.temperature
		case "top_p":
			dst = &f.topP
		case "reasoning":
			dst = &f.reasoning
		case "user":
			dst = &f.user
		case "text":
			dst = &f.text
		case "tools":
			dst = &f.tools
		case "tool_choice":
			dst = &f.toolChoice
		case "parallel_tool_calls":
			dst = &f.parallel
		case "previous_response_id":
			dst = &f.previousResponseID
		case "store":
			dst = &f.store
		case "truncation":
			dst = &f.truncation
		case "metadata":
			dst = &f.metadata
		default:
			return true
		}
		if !dst.Exists() {
			*dst = v
		}
		return true
	})
	return f
}
