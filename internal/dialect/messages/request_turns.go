package messages

import (
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// Text blocks of one system prompt, assistant turn or tool result are joined into one
// string with textSeparator: many OpenAI-compatible servers accept only a string there.
// A user turn keeps its blocks as content parts instead.
const textSeparator = "\n\n"

// toolErrorPrefix starts the content of a tool message translated from a tool_result
// with is_error true: Chat Completions has no error flag, so the model reads it.
const toolErrorPrefix = "Error: "

// block is the members of one content block that the translation reads.
type block struct {
	typ, text, source, id, name, input, toolUseID, content, isError jsonx.Result
}

// readBlock reads a content block in one pass over its members.
func readBlock(v jsonx.Result) block {
	var bl block
	v.ForEach(func(k, v jsonx.Result) bool {
		switch k.Str {
		case "type":
			bl.typ = v
		case "text":
			bl.text = v
		case "source":
			bl.source = v
		case "id":
			bl.id = v
		case "name":
			bl.name = v
		case "input":
			bl.input = v
		case "tool_use_id":
			bl.toolUseID = v
		case "content":
			bl.content = v
		case "is_error":
			bl.isError = v
		}
		return true
	})
	return bl
}

// dropped reports whether a block type is one that only Anthropic understands and that
// the translation leaves out: thinking and redacted thinking (their signatures mean
// nothing to another model).
func dropped(typ string) bool { return typ == "thinking" || typ == "redacted_thinking" }

// system writes the system prompt, a string or an array of text blocks, as the first
// message; an empty one writes nothing.
func (b *builder) system(sys jsonx.Result) error {
	if absent(sys) {
		return nil
	}
	if sys.Type == jsonx.String {
		if sys.Str != "" {
			b.out = append(b.out, `{"role":"system","content":`...)
			b.out = append(b.out, sys.Raw...)
			b.out = append(b.out, '}')
		}
		return nil
	}
	if !sys.IsArray() {
		return invalid("system", "Input should be a valid string or a list of text blocks")
	}
	b.texts = b.texts[:0]
	var err error
	j := 0
	sys.ForEach(func(_, v jsonx.Result) bool {
		param := "system." + strconv.Itoa(j)
		j++
		bl := readBlock(v)
		if bl.typ.Str != "text" {
			err = invalid(param+".type", "system blocks must be text blocks")
			return false
		}
		err = b.addText(bl.text, param)
		return err == nil
	})
	if err != nil || len(b.texts) == 0 {
		return err
	}
	b.out = append(b.out, `{"role":"system","content":`...)
	b.out = appendTexts(b.out, "", b.texts)
	b.out = append(b.out, '}')
	return nil
}

// addText validates a text block's text and keeps it in b.texts when not empty.
func (b *builder) addText(text jsonx.Result, param string) error {
	if text.Type != jsonx.String {
		return invalid(param+".text", "Input should be a valid string")
	}
	if text.Str != "" {
		b.texts = append(b.texts, text)
	}
	return nil
}

// appendTexts appends prefix and texts as one JSON string: the client's literal when
// there is one text and no prefix, else the values joined by textSeparator.
func appendTexts(out []byte, prefix string, texts []jsonx.Result) []byte {
	if len(texts) == 1 && prefix == "" {
		return append(out, texts[0].Raw...)
	}
	out = append(out, '"')
	out = jsonx.AppendEscaped(out, prefix)
	for i, t := range texts {
		if i > 0 {
			out = jsonx.AppendEscaped(out, textSeparator)
		}
		out = jsonx.AppendEscaped(out, t.Str)
	}
	return append(out, '"')
}

// turns writes the messages array's turns. Anthropic has two roles; a user turn may
// become several Chat messages (its tool results first, as tool messages, then the rest).
func (b *builder) turns(msgs jsonx.Result) error {
	if absent(msgs) {
		return missing("messages")
	}
	if !msgs.IsArray() {
		return invalid("messages", "Input should be a valid list")
	}
	i := 0
	var err error
	msgs.ForEach(func(_, m jsonx.Result) bool {
		param := "messages." + strconv.Itoa(i)
		i++
		err = b.turn(m, param)
		return err == nil
	})
	if err == nil && i == 0 {
		err = invalid("messages", "at least one message is required")
	}
	return err
}

// turn writes one turn.
func (b *builder) turn(m jsonx.Result, param string) error {
	if !m.IsObject() {
		return invalid(param, "Input should be a valid dictionary")
	}
	var role, content jsonx.Result
	m.ForEach(func(k, v jsonx.Result) bool {
		switch k.Str {
		case "role":
			role = v
		case "content":
			content = v
		}
		return true
	})
	if absent(content) {
		return missing(param + ".content")
	}
	if content.Type != jsonx.String && !content.IsArray() {
		return invalid(param+".content", "Input should be a valid string or a list of content blocks")
	}
	switch role.Str {
	case "user":
		return b.user(content, param)
	case "assistant":
		return b.assistant(content, param)
	case "":
		return missing(param + ".role")
	}
	return invalid(param+".role", "Input should be 'user' or 'assistant'")
}

// user writes a user turn: each tool_result block as a tool message (Chat requires them
// right after the assistant's tool calls), then the text and image blocks, and the
// images of the tool results (a tool message carries only text), as one user message.
// A user message of one text part has that text as its content string.
func (b *builder) user(content jsonx.Result, param string) error {
	if content.Type == jsonx.String {
		b.out = append(comma(b.out), `{"role":"user","content":`...)
		b.out = append(b.out, content.Raw...)
		b.out = append(b.out, '}')
		return nil
	}
	b.parts = b.parts[:0]
	nparts := 0
	var single jsonx.Result // the only part's text, when it is a text part
	var err error
	j := 0
	content.ForEach(func(_, v jsonx.Result) bool {
		p := param + ".content." + strconv.Itoa(j)
		j++
		bl := readBlock(v)
		switch t := bl.typ.Str; {
		case t == "text":
			if bl.text.Type != jsonx.String {
				err = invalid(p+".text", "Input should be a valid string")
			} else if bl.text.Str != "" {
				single = bl.text
				nparts++
				b.parts = appendTextPart(comma0(b.parts), bl.text)
			}
		case t == "image":
			single = jsonx.Result{}
			nparts++
			b.parts, err = appendImagePart(comma0(b.parts), bl.source, p+".source")
		case t == "tool_result":
			var n int
			n, err = b.toolResult(bl, p)
			nparts += n
			if n > 0 {
				single = jsonx.Result{}
			}
		case dropped(t):
		default:
			err = unsupported(p+".type", "the content block type "+strconv.Quote(bl.typ.String()))
		}
		return err == nil
	})
	if err != nil || nparts == 0 {
		return err
	}
	b.out = append(comma(b.out), `{"role":"user","content":`...)
	if nparts == 1 && single.Type == jsonx.String {
		b.out = append(b.out, single.Raw...)
	} else {
		b.out = append(b.out, '[')
		b.out = append(b.out, b.parts...)
		b.out = append(b.out, ']')
	}
	b.out = append(b.out, '}')
	return nil
}

// comma0 is comma for the parts buffer, which has no opening bracket of its own.
func comma0(parts []byte) []byte {
	if len(parts) > 0 {
		return append(parts, ',')
	}
	return parts
}

func appendTextPart(out []byte, text jsonx.Result) []byte {
	out = append(out, `{"type":"text","text":`...)
	out = append(out, text.Raw...)
	return append(out, '}')
}

// appendImagePart writes an image block's source as an image_url part: a base64 source
// as a data URL, a url source as its URL. Other sources (a Files API file id) cannot be
// expressed.
func appendImagePart(out []byte, src jsonx.Result, param string) ([]byte, error) {
	if !src.IsObject() {
		return out, missing(param)
	}
	out = append(out, `{"type":"image_url","image_url":{"url":"`...)
	switch typ := src.Get("type"); typ.Str {
	case "base64":
		media, data := src.Get("media_type"), src.Get("data")
		if media.Type != jsonx.String || media.Str == "" {
			return out, missing(param + ".media_type")
		}
		if data.Type != jsonx.String || data.Str == "" {
			return out, missing(param + ".data")
		}
		out = append(out, "data:"...)
		out = jsonx.AppendEscaped(out, media.Str)
		out = append(out, ";base64,"...)
		out = jsonx.AppendEscaped(out, data.Str)
	case "url":
		u := src.Get("url")
		if u.Type != jsonx.String || u.Str == "" {
			return out, missing(param + ".url")
		}
		out = jsonx.AppendEscaped(out, u.Str)
	default:
		return out, unsupported(param+".type", "the image source type "+strconv.Quote(typ.String()))
	}
	return append(out, `"}}`...), nil
}

// toolResult writes a tool_result block as a tool message. Its content is a string or
// text and image blocks; the text is joined into the message, a true is_error puts
// toolErrorPrefix before it, and the images go to b.parts, for the user message that
// follows. It returns how many parts it added.
func (b *builder) toolResult(bl block, param string) (int, error) {
	if bl.toolUseID.Type != jsonx.String || bl.toolUseID.Str == "" {
		return 0, missing(param + ".tool_use_id")
	}
	isError := bl.isError.Bool()
	b.texts = b.texts[:0]
	images := 0
	switch c := bl.content; {
	case absent(c):
	case c.Type == jsonx.String:
		if c.Str != "" {
			b.texts = append(b.texts, c)
		}
	case c.IsArray():
		var err error
		j := 0
		c.ForEach(func(_, v jsonx.Result) bool {
			p := param + ".content." + strconv.Itoa(j)
			j++
			inner := readBlock(v)
			switch inner.typ.Str {
			case "text":
				err = b.addText(inner.text, p)
			case "image":
				images++
				b.parts, err = appendImagePart(comma0(b.parts), inner.source, p+".source")
			default:
				err = unsupported(p+".type", "the tool result block type "+strconv.Quote(inner.typ.String()))
			}
			return err == nil
		})
		if err != nil {
			return 0, err
		}
	default:
		return 0, invalid(param+".content", "Input should be a valid string or a list of content blocks")
	}
	b.out = append(comma(b.out), `{"role":"tool","tool_call_id":`...)
	b.out = append(b.out, bl.toolUseID.Raw...)
	b.out = append(b.out, `,"content":`...)
	switch {
	case isError:
		b.out = appendTexts(b.out, toolErrorPrefix, b.texts)
	case len(b.texts) == 0:
		b.out = append(b.out, `""`...)
	default:
		b.out = appendTexts(b.out, "", b.texts)
	}
	b.out = append(b.out, '}')
	return images, nil
}

// assistant writes an assistant turn: its text blocks joined as the content (null when
// there is none but tool calls), each tool_use block as a tool call with the block's id
// and its input object encoded as the arguments string. Thinking blocks are dropped; a
// turn left with nothing writes nothing. A last assistant turn (Anthropic's prefill)
// becomes a plain assistant message, which most Chat Completions servers answer after
// rather than continue.
func (b *builder) assistant(content jsonx.Result, param string) error {
	if content.Type == jsonx.String {
		b.out = append(comma(b.out), `{"role":"assistant","content":`...)
		b.out = append(b.out, content.Raw...)
		b.out = append(b.out, '}')
		return nil
	}
	b.texts, b.calls = b.texts[:0], b.calls[:0]
	var err error
	j := 0
	content.ForEach(func(_, v jsonx.Result) bool {
		p := param + ".content." + strconv.Itoa(j)
		j++
		bl := readBlock(v)
		switch t := bl.typ.Str; {
		case t == "text":
			err = b.addText(bl.text, p)
		case t == "tool_use":
			err = b.toolCall(bl, p)
		case dropped(t):
		default:
			err = unsupported(p+".type", "the content block type "+strconv.Quote(bl.typ.String())+" in an assistant turn")
		}
		return err == nil
	})
	if err != nil || (len(b.texts) == 0 && len(b.calls) == 0) {
		return err
	}
	b.out = append(comma(b.out), `{"role":"assistant","content":`...)
	if len(b.texts) == 0 {
		b.out = append(b.out, "null"...)
	} else {
		b.out = appendTexts(b.out, "", b.texts)
	}
	if len(b.calls) > 0 {
		b.out = append(b.out, `,"tool_calls":[`...)
		b.out = append(b.out, b.calls...)
		b.out = append(b.out, ']')
	}
	b.out = append(b.out, '}')
	return nil
}

// toolCall appends a tool_use block to b.calls as a Chat tool call.
func (b *builder) toolCall(bl block, param string) error {
	if bl.id.Type != jsonx.String || bl.id.Str == "" {
		return missing(param + ".id")
	}
	if bl.name.Type != jsonx.String || bl.name.Str == "" {
		return missing(param + ".name")
	}
	args := "{}"
	switch {
	case absent(bl.input):
	case !bl.input.IsObject():
		return invalid(param+".input", "Input should be a valid dictionary")
	default:
		args = strings.TrimSpace(bl.input.Raw)
	}
	b.calls = comma0(b.calls)
	b.calls = append(b.calls, `{"id":`...)
	b.calls = append(b.calls, bl.id.Raw...)
	b.calls = append(b.calls, `,"type":"function","function":{"name":`...)
	b.calls = append(b.calls, bl.name.Raw...)
	b.calls = append(b.calls, `,"arguments":`...)
	b.calls = jsonx.Quote(b.calls, args)
	b.calls = append(b.calls, "}}"...)
	return nil
}
