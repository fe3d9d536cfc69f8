package responses

import (
	"strconv"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// appendContent appends a message's (or a function_call_output's) content as Chat
// Completions content: a string stays the same string; one text part becomes its text;
// several parts become Chat content parts for a user (param is how errors name the
// value) and one string of the texts joined by newlines for every other role, the shape
// every Chat Completions server reads. Missing content is an empty string.
func appendContent(out []byte, param string, content jsonx.Result, user bool) ([]byte, error) {
	switch {
	case isString(content):
		return append(out, content.Raw...), nil
	case !present(content):
		return append(out, `""`...), nil
	case !content.IsArray():
		return nil, invalidType(param, "a string or an array of content parts")
	}
	parts := content.Array()
	switch {
	case len(parts) == 0:
		return append(out, `""`...), nil
	case len(parts) == 1:
		if text, ok := partText(parts[0]); ok {
			return append(out, text.Raw...), nil
		}
	}
	if user {
		return appendParts(out, param, parts)
	}
	out = append(out, '"')
	for j, p := range parts {
		text, ok := partText(p)
		if !ok {
			return nil, unsupportedPart(indexed(param, j), p)
		}
		if j > 0 {
			out = append(out, `\n`...)
		}
		out = jsonx.AppendEscaped(out, text.Str)
	}
	return append(out, '"'), nil
}

// partText returns the text of a text-bearing part (input_text, output_text, refusal).
func partText(p jsonx.Result) (jsonx.Result, bool) {
	var text jsonx.Result
	switch p.Get("type").Str {
	case "input_text", "output_text", "text":
		text = p.Get("text")
	case "refusal":
		text = p.Get("refusal")
	default:
		return text, false
	}
	return text, isString(text)
}

// appendParts appends a user's content parts as Chat content parts: text, image_url
// and file.
func appendParts(out []byte, param string, parts []jsonx.Result) ([]byte, error) {
	out = append(out, '[')
	for j, p := range parts {
		pp := indexed(param, j)
		if j > 0 {
			out = append(out, ',')
		}
		if text, ok := partText(p); ok {
			out = append(out, `{"type":"text","text":`...)
			out = append(out, text.Raw...)
			out = append(out, '}')
			continue
		}
		switch p.Get("type").Str {
		case "input_image":
			url := p.Get("image_url")
			if !isString(url) || url.Str == "" {
				if present(p.Get("file_id")) {
					return nil, unsupported(pp+".file_id", "images given by file_id are not available for this model; send image_url")
				}
				return nil, apierr.MissingParam(pp + ".image_url")
			}
			out = append(out, `{"type":"image_url","image_url":{"url":`...)
			out = append(out, url.Raw...)
			if d := p.Get("detail"); isString(d) {
				out = append(out, `,"detail":`...)
				out = append(out, d.Raw...)
			}
			out = append(out, "}}"...)
		case "input_file":
			if present(p.Get("file_url")) {
				return nil, unsupported(pp+".file_url", "files given by file_url are not available for this model; send file_data")
			}
			out = append(out, `{"type":"file","file":{`...)
			first := true
			for _, k := range [...]string{"file_data", "file_id", "filename"} {
				if v := p.Get(k); isString(v) {
					out = appendMember(out, first, k, v.Raw)
					first = false
				}
			}
			if first {
				return nil, apierr.MissingParam(pp + ".file_data")
			}
			out = append(out, "}}"...)
		default:
			return nil, unsupportedPart(pp, p)
		}
	}
	return append(out, ']'), nil
}

func unsupportedPart(param string, p jsonx.Result) *apierr.Error {
	typ := p.Get("type")
	switch typ.Str {
	case "":
		return apierr.MissingParam(param + ".type")
	case "input_text", "output_text", "text":
		return invalidType(param+".text", "a string")
	case "refusal":
		return invalidType(param+".refusal", "a string")
	}
	return apierr.BadRequest("invalid_value", param+".type",
		"content parts of type "+strconv.Quote(typ.String())+" are not available here")
}
