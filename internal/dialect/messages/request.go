package messages

import (
	"strconv"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// mode is the endpoint a request was sent to.
type mode uint8

const (
	// modeMessage is POST /v1/messages: max_tokens is required and stream honoured.
	modeMessage mode = iota
	// modeCount is POST /v1/messages/count_tokens: the same body without max_tokens,
	// never streamed.
	modeCount
)

// fields are the top-level members of a Messages request the translation reads, found
// in one pass over the body. A member given twice is the last one, as encoding/json does.
type fields struct {
	model, system, messages, maxTokens, temperature, topP, stopSequences jsonx.Result
	metadata, tools, toolChoice, stream                                  jsonx.Result
}

func (f *fields) set(key string, v jsonx.Result) {
	switch key {
	case "model":
		f.model = v
	case "system":
		f.system = v
	case "messages":
		f.messages = v
	case "max_tokens":
		f.maxTokens = v
	case "temperature":
		f.temperature = v
	case "top_p":
		f.topP = v
	case "stop_sequences":
		f.stopSequences = v
	case "metadata":
		f.metadata = v
	case "tools":
		f.tools = v
	case "tool_choice":
		f.toolChoice = v
	case "stream":
		f.stream = v
	}
}

// Request translates a Messages request into a Chat Completions request:
//
//	model                         model, as the client named it
//	system (string or text blocks) a system message first (blocks joined by a blank line)
//	messages                      the turns (see request_turns.go)
//	max_tokens (required)         max_tokens
//	temperature, top_p            the same
//	stop_sequences                stop
//	metadata.user_id              user
//	tools, tool_choice            function tools, tool_choice and parallel_tool_calls
//	stream                        stream, with stream_options.include_usage forced on
//	                              so that the answer's usage is known
//
// top_k has no Chat Completions counterpart and is dropped, as are the members that only
// mean something to Anthropic: thinking (and thinking blocks in the turns), cache_control
// on any block or tool, service_tier, container and anthropic-specific betas. Server tools
// (web search, code execution, bash, text editor, computer use…) and document blocks
// cannot be expressed and are a 400 naming the field. prior messages (Chat Completions
// message objects) go after the system message and before the turns.
//
// Errors are *apierr.Error, status 400, whose Param names the field in Anthropic's
// dotted form (messages.1.content.0.type) and whose message starts with it, as
// Anthropic's own do: a missing max_tokens is "max_tokens: Field required".
func (Translator) Request(body []byte, prior [][]byte) (dialect.Chat, error) {
	return translate(body, prior, modeMessage)
}

// CountTokensRequest translates a count_tokens request (a Messages request without
// max_tokens, never streamed) into the Chat Completions body whose tokens the gateway's
// tokenizer estimates for a provider that has no count_tokens. It validates and drops
// the same fields as Request.
func CountTokensRequest(body []byte) (dialect.Chat, error) {
	return translate(body, nil, modeCount)
}

// translate is Request and CountTokensRequest. The body is validated (depth-limited)
// before any walk, then read once; the Chat body is written as it is read, string
// values copied as the client encoded them.
func translate(body []byte, prior [][]byte, md mode) (dialect.Chat, error) {
	if err := jsonx.ValidObject(body, 0); err != nil {
		return dialect.Chat{}, apierr.InvalidJSONBody(err)
	}
	var f fields
	jsonx.View(body).ForEach(func(k, v jsonx.Result) bool {
		f.set(k.Str, v)
		return true
	})
	if absent(f.model) {
		return dialect.Chat{}, missing("model")
	}
	if f.model.Type != jsonx.String || f.model.Str == "" {
		return dialect.Chat{}, invalid("model", "Input should be a non-empty string")
	}
	b := builder{out: make([]byte, 0, len(body)+128)}
	b.out = append(b.out, `{"model":`...)
	b.out = append(b.out, f.model.Raw...)
	b.out = append(b.out, `,"messages":[`...)
	if err := b.system(f.system); err != nil {
		return dialect.Chat{}, err
	}
	for _, m := range prior {
		if len(m) > 0 {
			b.out = append(comma(b.out), m...)
		}
	}
	if err := b.turns(f.messages); err != nil {
		return dialect.Chat{}, err
	}
	b.out = append(b.out, ']')
	stream, err := b.scalars(&f, md)
	if err != nil {
		return dialect.Chat{}, err
	}
	if err := b.tools(f.tools, f.toolChoice); err != nil {
		return dialect.Chat{}, err
	}
	if stream {
		b.out = append(b.out, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	b.out = append(b.out, '}')
	return dialect.Chat{Body: b.out, Stream: stream}, nil
}

// builder writes one Chat Completions body. Its scratch buffers hold the parts of a
// message that must be written after others (a user turn's parts after its tool
// results; an assistant turn's tool calls after its text).
type builder struct {
	out   []byte
	parts []byte         // content parts of the user message being built
	calls []byte         // tool calls of the assistant message being built
	texts []jsonx.Result // text values of the message being built
}

// scalars validates and writes max_tokens, temperature, top_p, stop, user, and returns
// whether the answer is to be streamed.
func (b *builder) scalars(f *fields, md mode) (bool, error) {
	if md == modeMessage || !absent(f.maxTokens) {
		n, err := maxTokens(f.maxTokens)
		if err != nil {
			return false, err
		}
		b.out = append(b.out, `,"max_tokens":`...)
		b.out = strconv.AppendInt(b.out, n, 10)
	}
	for _, p := range [...]struct {
		name string
		v    jsonx.Result
	}{{"temperature", f.temperature}, {"top_p", f.topP}} {
		if absent(p.v) {
			continue
		}
		if p.v.Type != jsonx.Number {
			return false, invalid(p.name, "Input should be a valid number")
		}
		b.out = append(b.out, ',', '"')
		b.out = append(b.out, p.name...)
		b.out = append(b.out, '"', ':')
		b.out = append(b.out, p.v.Raw...)
	}
	if err := b.stop(f.stopSequences); err != nil {
		return false, err
	}
	if !absent(f.metadata) {
		if !f.metadata.IsObject() {
			return false, invalid("metadata", "Input should be a valid dictionary")
		}
		switch u := f.metadata.Get("user_id"); {
		case absent(u):
		case u.Type != jsonx.String:
			return false, invalid("metadata.user_id", "Input should be a valid string")
		case u.Str != "":
			b.out = append(b.out, `,"user":`...)
			b.out = append(b.out, u.Raw...)
		}
	}
	if md == modeCount || absent(f.stream) {
		return false, nil
	}
	if !f.stream.IsBool() {
		return false, invalid("stream", "Input should be a valid boolean")
	}
	return f.stream.Bool(), nil
}

// maxTokens reads max_tokens: a whole number, at least 1.
func maxTokens(v jsonx.Result) (int64, error) {
	if absent(v) {
		return 0, missing("max_tokens")
	}
	n := v.Int()
	if v.Type != jsonx.Number || float64(n) != v.Float() {
		return 0, invalid("max_tokens", "Input should be a valid integer")
	}
	if n < 1 {
		return 0, invalid("max_tokens", "Input should be greater than or equal to 1")
	}
	return n, nil
}

// stop writes stop_sequences, an array of strings, as stop; an empty array writes nothing.
func (b *builder) stop(seqs jsonx.Result) error {
	if absent(seqs) {
		return nil
	}
	if !seqs.IsArray() {
		return invalid("stop_sequences", "Input should be a valid list")
	}
	n := 0
	var err error
	seqs.ForEach(func(_, s jsonx.Result) bool {
		if s.Type != jsonx.String {
			err = invalid("stop_sequences."+strconv.Itoa(n), "Input should be a valid string")
			return false
		}
		if n == 0 {
			b.out = append(b.out, `,"stop":[`...)
		} else {
			b.out = append(b.out, ',')
		}
		b.out = append(b.out, s.Raw...)
		n++
		return true
	})
	if err == nil && n > 0 {
		b.out = append(b.out, ']')
	}
	return err
}

// tools writes tools as function tools and, when there are any, tool_choice as Chat's
// tool_choice: auto as "auto", any as "required", none as "none", tool as the named
// function; disable_parallel_tool_use as parallel_tool_calls false. Chat Completions
// refuses a tool_choice without tools, so a tool_choice alone is validated and dropped.
func (b *builder) tools(tools, choice jsonx.Result) error {
	n := 0
	if !absent(tools) {
		if !tools.IsArray() {
			return invalid("tools", "Input should be a valid list")
		}
		var err error
		tools.ForEach(func(_, t jsonx.Result) bool {
			if n == 0 {
				b.out = append(b.out, `,"tools":[`...)
			} else {
				b.out = append(b.out, ',')
			}
			err = b.tool(t, "tools."+strconv.Itoa(n))
			n++
			return err == nil
		})
		if err != nil {
			return err
		}
		if n > 0 {
			b.out = append(b.out, ']')
		}
	}
	if absent(choice) {
		return nil
	}
	if !choice.IsObject() {
		return invalid("tool_choice", "Input should be a valid dictionary")
	}
	var name jsonx.Result
	var raw string
	switch typ := choice.Get("type"); typ.Str {
	case "auto":
		raw = `"auto"`
	case "any":
		raw = `"required"`
	case "none":
		raw = `"none"`
	case "tool":
		if name = choice.Get("name"); name.Type != jsonx.String || name.Str == "" {
			return missing("tool_choice.name")
		}
	default:
		return invalid("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'")
	}
	if n == 0 {
		return nil
	}
	b.out = append(b.out, `,"tool_choice":`...)
	if raw != "" {
		b.out = append(b.out, raw...)
	} else {
		b.out = append(b.out, `{"type":"function","function":{"name":`...)
		b.out = append(b.out, name.Raw...)
		b.out = append(b.out, "}}"...)
	}
	if raw != `"none"` && choice.Get("disable_parallel_tool_use").Bool() {
		b.out = append(b.out, `,"parallel_tool_calls":false`...)
	}
	return nil
}

// emptySchema is the parameters of a tool given no input_schema.
const emptySchema = `{"type":"object","properties":{}}`

// tool writes one custom tool as a function tool; its input_schema passes through
// untouched as the function's parameters.
func (b *builder) tool(t jsonx.Result, param string) error {
	if !t.IsObject() {
		return invalid(param, "Input should be a valid dictionary")
	}
	var typ, name, desc, schema jsonx.Result
	t.ForEach(func(k, v jsonx.Result) bool {
		switch k.Str {
		case "type":
			typ = v
		case "name":
			name = v
		case "description":
			desc = v
		case "input_schema":
			schema = v
		}
		return true
	})
	if !absent(typ) && typ.Str != "custom" {
		return unsupported(param+".type", "the tool type "+strconv.Quote(typ.String()))
	}
	if name.Type != jsonx.String || name.Str == "" {
		return missing(param + ".name")
	}
	b.out = append(b.out, `{"type":"function","function":{"name":`...)
	b.out = append(b.out, name.Raw...)
	switch {
	case absent(desc):
	case desc.Type != jsonx.String:
		return invalid(param+".description", "Input should be a valid string")
	default:
		b.out = append(b.out, `,"description":`...)
		b.out = append(b.out, desc.Raw...)
	}
	b.out = append(b.out, `,"parameters":`...)
	switch {
	case absent(schema):
		b.out = append(b.out, emptySchema...)
	case !schema.IsObject():
		return invalid(param+".input_schema", "Input should be a valid dictionary")
	default:
		b.out = append(b.out, schema.Raw...)
	}
	b.out = append(b.out, "}}"...)
	return nil
}

// absent reports whether a member is missing or null.
func absent(v jsonx.Result) bool { return !v.Exists() || v.Raw == "null" }

// comma appends the separator an array element needs: none after the opening bracket.
func comma(out []byte) []byte {
	if n := len(out); n > 0 && out[n-1] != '[' {
		return append(out, ',')
	}
	return out
}

// invalid is the 400 for a field whose value is wrong; the message starts with the field.
func invalid(param, msg string) *apierr.Error {
	return apierr.BadRequest("invalid_value", param, param+": "+msg)
}

// missing is the 400 for a required field that is absent, worded as Anthropic words it.
func missing(param string) *apierr.Error {
	return apierr.New(400, apierr.TypeInvalidRequest, "missing_required_parameter", param, param+": Field required")
}

// unsupported is the 400 for a feature that Chat Completions cannot express.
func unsupported(param, what string) *apierr.Error {
	return apierr.BadRequest("unsupported_parameter", param,
		param+": "+what+" is not supported for this model: its provider does not speak the Messages API")
}
