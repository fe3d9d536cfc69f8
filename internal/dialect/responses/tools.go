package responses

import (
	"strconv"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// appendTools appends tools, tool_choice and parallel_tool_calls. Responses' flat
// function tool {type,name,description,parameters,strict} becomes Chat's
// {type,function:{name,description,parameters,strict}}; any other tool type is a
// built-in tool Chat Completions cannot run, a 400 naming it. tool_choice and
// parallel_tool_calls are sent only with tools: OpenAI refuses them otherwise.
func appendTools(out []byte, f *fields) ([]byte, error) {
	tools := f.tools
	if !present(tools) {
		return out, nil
	}
	if !tools.IsArray() {
		return nil, invalidType("tools", "an array")
	}
	n, mark := 0, len(out)
	out = append(out, `,"tools":[`...)
	var err error
	tools.ForEach(func(_, tool jsonx.Result) bool {
		out, err = appendTool(out, indexed("tools", n), tool, n == 0)
		n++
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return out[:mark], nil
	}
	out = append(out, ']')
	if out, err = appendToolChoice(out, f.toolChoice); err != nil {
		return nil, err
	}
	if v := f.parallel; v.IsBool() {
		out = appendMember(out, false, "parallel_tool_calls", v.Raw)
	}
	return out, nil
}

func appendTool(out []byte, param string, tool jsonx.Result, first bool) ([]byte, error) {
	if !tool.IsObject() {
		return nil, invalidType(param, "a tool object")
	}
	switch typ := tool.Get("type"); typ.Str {
	case "function":
	case "":
		return nil, apierr.MissingParam(param + ".type")
	default:
		return nil, apierr.BadRequest("unsupported_value", param+".type",
			"the built-in tool "+strconv.Quote(typ.Str)+" is not available for this model: its provider runs function tools only")
	}
	name := tool.Get("name")
	if !isString(name) || name.Str == "" {
		return nil, apierr.MissingParam(param + ".name")
	}
	if !first {
		out = append(out, ',')
	}
	out = append(out, `{"type":"function","function":{"name":`...)
	out = append(out, name.Raw...)
	for _, k := range [...]string{"description", "parameters", "strict"} {
		if v := tool.Get(k); present(v) {
			out = appendMember(out, false, k, v.Raw)
		}
	}
	return append(out, "}}"...), nil
}

// appendToolChoice maps "none", "auto", "required" as they are and {type:function,name}
// to Chat's {type:function,function:{name}}; forcing a built-in tool or an allowed-tools
// subset has no Chat Completions form.
func appendToolChoice(out []byte, tc jsonx.Result) ([]byte, error) {
	switch {
	case !present(tc):
		return out, nil
	case isString(tc):
		switch tc.Str {
		case "none", "auto", "required":
			return appendMember(out, false, "tool_choice", tc.Raw), nil
		}
		return nil, apierr.BadRequest("invalid_value", "tool_choice",
			"tool_choice must be none, auto, required or a function choice, got "+strconv.Quote(tc.Str))
	case !tc.IsObject():
		return nil, invalidType("tool_choice", "a string or an object")
	}
	typ := tc.Get("type")
	if typ.Str != "function" {
		return nil, apierr.BadRequest("unsupported_value", "tool_choice.type",
			"tool_choice of type "+strconv.Quote(typ.String())+" is not available for this model")
	}
	name := tc.Get("name")
	if !isString(name) || name.Str == "" {
		return nil, apierr.MissingParam("tool_choice.name")
	}
	out = append(out, `,"tool_choice":{"type":"function","function":{"name":`...)
	out = append(out, name.Raw...)
	return append(out, "}}"...), nil
}

// appendTextFormat maps text.format to response_format: json_schema's flat
// {type,name,schema,description,strict} becomes Chat's nested json_schema object,
// json_object stays, text (the default) is sent as nothing.
func appendTextFormat(out []byte, text jsonx.Result) ([]byte, error) {
	f := text.Get("format")
	if !present(f) {
		return out, nil
	}
	if !f.IsObject() {
		return nil, invalidType("text.format", "an object")
	}
	switch typ := f.Get("type"); typ.Str {
	case "text":
		return out, nil
	case "json_object":
		return append(out, `,"response_format":{"type":"json_object"}`...), nil
	case "json_schema":
	case "":
		return nil, apierr.MissingParam("text.format.type")
	default:
		return nil, apierr.BadRequest("invalid_value", "text.format.type",
			"text.format.type must be text, json_object or json_schema, got "+strconv.Quote(typ.Str))
	}
	name := f.Get("name")
	if !isString(name) || name.Str == "" {
		return nil, apierr.MissingParam("text.format.name")
	}
	if !f.Get("schema").IsObject() {
		return nil, apierr.MissingParam("text.format.schema")
	}
	out = append(out, `,"response_format":{"type":"json_schema","json_schema":{"name":`...)
	out = append(out, name.Raw...)
	for _, k := range [...]string{"description", "schema", "strict"} {
		if v := f.Get(k); present(v) {
			out = appendMember(out, false, k, v.Raw)
		}
	}
	return append(out, "}}"...), nil
}
