package responses

import (
	"strconv"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// Request translates a Responses request into a Chat Completions request. The messages
// are, in order: instructions as a system message, prior (a stored conversation, which
// must not repeat the earlier request's instructions: Responses does not carry them
// over), then the request's input. Values are copied as the client wrote them. Request
// reads body once and allocates little beyond the result; body is not modified.
func (t *Translator) Request(body []byte, prior [][]byte) (dialect.Chat, error) {
	if !jsonx.Valid(body) {
		return dialect.Chat{}, apierr.InvalidJSON()
	}
	doc := jsonx.View(body)
	if !doc.IsObject() {
		return dialect.Chat{}, apierr.InvalidJSON()
	}
	f := readFields(doc)
	if err := refuseUnsupported(&f); err != nil {
		return dialect.Chat{}, err
	}
	model := f.model
	if !present(model) {
		return dialect.Chat{}, apierr.MissingParam("model")
	}
	if !isString(model) {
		return dialect.Chat{}, invalidType("model", "a string")
	}
	stream := f.stream.Bool()

	out := make([]byte, 0, len(body)+128)
	out = append(out, `{"model":`...)
	out = append(out, model.Raw...)
	out = append(out, `,"messages":[`...)
	var err error
	if out, err = appendMessages(out, &f, prior); err != nil {
		return dialect.Chat{}, err
	}
	out = append(out, ']')
	if out, err = t.appendSampling(out, &f); err != nil {
		return dialect.Chat{}, err
	}
	if out, err = appendTools(out, &f); err != nil {
		return dialect.Chat{}, err
	}
	if out, err = appendTextFormat(out, f.text); err != nil {
		return dialect.Chat{}, err
	}
	if stream {
		out = append(out, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return dialect.Chat{Body: append(out, '}'), Stream: stream}, nil
}

// refuseUnsupported is the 400 for the request members Chat Completions cannot express.
func refuseUnsupported(f *fields) error {
	switch {
	case f.background.Bool():
		return unsupported("background", "background mode is not available for this model")
	case present(f.conversation):
		return unsupported("conversation", "conversations are not available for this model; send the input items themselves")
	case present(f.prompt):
		return unsupported("prompt", "stored prompts are not available for this model; send the prompt's text as instructions")
	}
	return nil
}

// appendSampling appends the limits and sampling members, each only when the client set it.
func (t *Translator) appendSampling(out []byte, f *fields) ([]byte, error) {
	if v := f.maxOutputTokens; present(v) {
		if v.Type != jsonx.Number {
			return nil, invalidType("max_output_tokens", "an integer")
		}
		out = appendMember(out, false, t.maxTokensField, v.Raw)
	}
	for _, m := range [...]struct {
		k string
		v jsonx.Result
	}{{"temperature", f.temperature}, {"top_p", f.topP}} {
		if present(m.v) {
			if m.v.Type != jsonx.Number {
				return nil, invalidType(m.k, "a number")
			}
			out = appendMember(out, false, m.k, m.v.Raw)
		}
	}
	if v := f.reasoning.Get("effort"); isString(v) {
		out = appendMember(out, false, "reasoning_effort", v.Raw)
	}
	if v := f.user; isString(v) {
		out = appendMember(out, false, "user", v.Raw)
	}
	return out, nil
}

// appendMessages appends the Chat messages, comma-separated.
func appendMessages(out []byte, f *fields, prior [][]byte) ([]byte, error) {
	w := messageWriter{out: out}
	switch in := f.instructions; {
	case isString(in):
		if in.Str != "" {
			w.begin("system")
			w.out = append(w.out, `,"content":`...)
			w.out = append(w.out, in.Raw...)
			w.end()
		}
	case present(in):
		return nil, invalidType("instructions", "a string")
	}
	for i, p := range prior {
		if !jsonx.Valid(p) || !jsonx.View(p).IsObject() {
			return nil, apierr.Internal("the stored conversation's message " + strconv.Itoa(i) + " is not a JSON object")
		}
		w.raw(p)
	}
	input := f.input
	switch {
	case isString(input):
		w.begin("user")
		w.out = append(w.out, `,"content":`...)
		w.out = append(w.out, input.Raw...)
		w.end()
	case input.IsArray():
		var err error
		i := 0
		input.ForEach(func(_, item jsonx.Result) bool {
			err = w.item(indexed("input", i), item)
			i++
			return err == nil
		})
		if err != nil {
			return nil, err
		}
	case present(input):
		return nil, invalidType("input", "a string or an array of input items")
	}
	w.end()
	if w.n == 0 {
		return nil, apierr.MissingParam("input")
	}
	return w.out, nil
}

// messageWriter appends Chat messages. The last assistant message stays open so that
// the function_call items after it become its tool_calls, as Chat Completions groups
// one turn's text and tool calls in one message.
type messageWriter struct {
	out []byte
	n   int // messages begun
	// open is true while a message's closing brace is pending; calls counts the
	// tool_calls of the open assistant message.
	open      bool
	assistant bool
	calls     int
}

func (w *messageWriter) begin(role string) {
	w.end()
	if w.n > 0 {
		w.out = append(w.out, ',')
	}
	w.n++
	w.out = append(w.out, `{"role":"`...)
	w.out = append(w.out, role...)
	w.out = append(w.out, '"')
	w.open, w.assistant, w.calls = true, role == "assistant", 0
}

func (w *messageWriter) end() {
	if !w.open {
		return
	}
	if w.calls > 0 {
		w.out = append(w.out, ']')
	}
	w.out = append(w.out, '}')
	w.open, w.assistant, w.calls = false, false, 0
}

func (w *messageWriter) raw(msg []byte) {
	w.end()
	if w.n > 0 {
		w.out = append(w.out, ',')
	}
	w.n++
	w.out = appendCompact(w.out, string(msg))
}

// item appends one input item; param names it in errors (input[i]).
func (w *messageWriter) item(param string, item jsonx.Result) error {
	if !item.IsObject() {
		return invalidType(param, "an input item object")
	}
	typ := item.Get("type")
	switch typ.Str {
	case "message":
		return w.message(param, item)
	case "":
		if !typ.Exists() && item.Get("role").Exists() {
			return w.message(param, item)
		}
		return apierr.MissingParam(param + ".type")
	case "function_call":
		return w.functionCall(param, item)
	case "function_call_output":
		return w.functionCallOutput(param, item)
	case "reasoning":
		return unsupported(param, "reasoning items cannot be sent to this model's provider; send the conversation without them")
	case "item_reference":
		return unsupported(param, "item references are not available for this model; send the referenced items themselves")
	}
	return unsupported(param+".type", "input items of type "+strconv.Quote(typ.Str)+" are not available for this model")
}

// message appends a message item: its role (developer becomes system, which every
// Chat Completions server knows) and content.
func (w *messageWriter) message(param string, item jsonx.Result) error {
	role := item.Get("role")
	switch role.Str {
	case "user", "assistant", "system":
		w.begin(role.Str)
	case "developer":
		w.begin("system")
	case "":
		return apierr.MissingParam(param + ".role")
	default:
		return apierr.BadRequest("invalid_value", param+".role",
			"unsupported role "+strconv.Quote(role.Str)+"; expected user, assistant, system or developer")
	}
	w.out = append(w.out, `,"content":`...)
	var err error
	w.out, err = appendContent(w.out, param+".content", item.Get("content"), role.Str == "user")
	if err != nil {
		return err
	}
	if role.Str != "assistant" {
		w.end()
	}
	return nil
}

// functionCall appends a function_call item as a tool call of the open assistant
// message, or of a new one.
func (w *messageWriter) functionCall(param string, item jsonx.Result) error {
	callID, name := item.Get("call_id"), item.Get("name")
	switch {
	case !isString(callID) || callID.Str == "":
		return apierr.MissingParam(param + ".call_id")
	case !isString(name) || name.Str == "":
		return apierr.MissingParam(param + ".name")
	}
	if !w.open || !w.assistant {
		w.begin("assistant")
		w.out = append(w.out, `,"content":null`...)
	}
	if w.calls == 0 {
		w.out = append(w.out, `,"tool_calls":[`...)
	} else {
		w.out = append(w.out, ',')
	}
	w.calls++
	w.out = append(w.out, `{"id":`...)
	w.out = append(w.out, callID.Raw...)
	w.out = append(w.out, `,"type":"function","function":{"name":`...)
	w.out = append(w.out, name.Raw...)
	w.out = append(w.out, `,"arguments":`...)
	switch args := item.Get("arguments"); {
	case isString(args):
		w.out = append(w.out, args.Raw...)
	case present(args):
		return invalidType(param+".arguments", "a string")
	default:
		w.out = append(w.out, `"{}"`...)
	}
	w.out = append(w.out, "}}"...)
	return nil
}

// functionCallOutput appends a function_call_output item as a tool message.
func (w *messageWriter) functionCallOutput(param string, item jsonx.Result) error {
	callID := item.Get("call_id")
	if !isString(callID) || callID.Str == "" {
		return apierr.MissingParam(param + ".call_id")
	}
	w.begin("tool")
	w.out = append(w.out, `,"tool_call_id":`...)
	w.out = append(w.out, callID.Raw...)
	w.out = append(w.out, `,"content":`...)
	var err error
	if w.out, err = appendContent(w.out, param+".output", item.Get("output"), false); err != nil {
		return err
	}
	w.end()
	return nil
}

func invalidType(param, want string) *apierr.Error {
	return apierr.BadRequest("invalid_type", param, "Invalid type for '"+param+"': expected "+want+".")
}

func unsupported(param, msg string) *apierr.Error {
	return apierr.BadRequest("unsupported_parameter", param, msg)
}
