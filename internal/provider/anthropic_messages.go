package provider

import (
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// The OpenAI chat request, as far as the Anthropic translation reads it. Fields that take
// several shapes (content, stop, tool_choice) stay raw and are read by shape.
type (
	chatRequest struct {
		Model               string           `json:"model"`
		Messages            []chatMessage    `json:"messages"`
		MaxTokens           *int             `json:"max_tokens"`
		MaxCompletionTokens *int             `json:"max_completion_tokens"`
		Temperature         *float64         `json:"temperature"`
		TopP                *float64         `json:"top_p"`
		N                   *int             `json:"n"`
		Stop                jsonx.RawMessage `json:"stop"`
		User                string           `json:"user"`
		Tools               []chatTool       `json:"tools"`
		ToolChoice          jsonx.RawMessage `json:"tool_choice"`
		ParallelToolCalls   *bool            `json:"parallel_tool_calls"`
	}
	chatMessage struct {
		Role       string           `json:"role"`
		Content    jsonx.RawMessage `json:"content"` // null, a string or an array of parts
		ToolCalls  []chatToolCall   `json:"tool_calls"`
		ToolCallID string           `json:"tool_call_id"`
	}
	chatPart struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		Refusal  string `json:"refusal"`
		ImageURL *struct {
			URL string `json:"url"`
		} `json:"image_url"`
		// CacheControl is Anthropic's prompt-cache marker, passed through when a client
		// that knows it is talking to Claude sets it on a part.
		CacheControl jsonx.RawMessage `json:"cache_control"`
	}
	chatToolCall struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	chatTool struct {
		Type     string `json:"type"`
		Function struct {
			Name        string           `json:"name"`
			Description string           `json:"description"`
			Parameters  jsonx.RawMessage `json:"parameters"`
		} `json:"function"`
		CacheControl jsonx.RawMessage `json:"cache_control"`
	}
)

// The Anthropic Messages API request.
type (
	anthropicRequest struct {
		Model         string               `json:"model"`
		System        anthropicContent     `json:"system,omitempty"`
		Messages      []anthropicMessage   `json:"messages"`
		MaxTokens     int                  `json:"max_tokens"`
		Metadata      *anthropicMetadata   `json:"metadata,omitempty"`
		StopSequences []string             `json:"stop_sequences,omitempty"`
		Stream        bool                 `json:"stream,omitempty"`
		Temperature   *float64             `json:"temperature,omitempty"`
		TopP          *float64             `json:"top_p,omitempty"`
		Tools         []anthropicTool      `json:"tools,omitempty"`
		ToolChoice    *anthropicToolChoice `json:"tool_choice,omitempty"`
	}
	anthropicMetadata struct {
		UserID string `json:"user_id"`
	}
	anthropicMessage struct {
		Role    string           `json:"role"`
		Content anthropicContent `json:"content"`
	}
	// anthropicBlock is one content block: text, image, tool_use or tool_result.
	anthropicBlock struct {
		Type         string                `json:"type"`
		Text         string                `json:"text,omitempty"`
		Source       *anthropicImageSource `json:"source,omitempty"`
		ID           string                `json:"id,omitempty"`
		Name         string                `json:"name,omitempty"`
		Input        jsonx.RawMessage      `json:"input,omitempty"`
		ToolUseID    string                `json:"tool_use_id,omitempty"`
		Content      anthropicContent      `json:"content,omitempty"`
		CacheControl jsonx.RawMessage      `json:"cache_control,omitempty"`
	}
	anthropicImageSource struct {
		Type      string `json:"type"` // base64 or url
		MediaType string `json:"media_type,omitempty"`
		Data      string `json:"data,omitempty"`
		URL       string `json:"url,omitempty"`
	}
	anthropicTool struct {
		Name         string           `json:"name"`
		Description  string           `json:"description,omitempty"`
		InputSchema  jsonx.RawMessage `json:"input_schema"`
		CacheControl jsonx.RawMessage `json:"cache_control,omitempty"`
	}
	anthropicToolChoice struct {
		Type                   string `json:"type"` // none, auto, any or tool
		Name                   string `json:"name,omitempty"`
		DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
	}
)

// anthropicContent is a list of content blocks. It encodes as a plain string when it is
// a single text block without a cache marker (the common case, and the shape Anthropic's
// own examples use), as an empty string when it has no blocks, else as the block array.
type anthropicContent []anthropicBlock

func (c anthropicContent) MarshalJSON() ([]byte, error) {
	switch {
	case len(c) == 0:
		return []byte(`""`), nil
	case len(c) == 1 && c[0].Type == "text" && c[0].CacheControl == nil:
		return jsonx.Quote(nil, c[0].Text), nil
	}
	return jsonx.Marshal([]anthropicBlock(c))
}

// anthropicMessages splits OpenAI messages into Anthropic's top-level system prompt and
// its user/assistant turns. System and developer messages are hoisted, in order, wherever
// they appear; tool results become tool_result blocks of a user turn; consecutive turns
// of the same role are merged, since Anthropic requires roles to alternate.
func anthropicMessages(msgs []chatMessage) (system anthropicContent, turns []anthropicMessage, err error) {
	if len(msgs) == 0 {
		return nil, nil, apierr.BadRequest("invalid_value", "messages", "messages must contain at least one message")
	}
	for i := range msgs {
		m := &msgs[i]
		param := "messages[" + strconv.Itoa(i) + "]"
		var blocks anthropicContent
		role := m.Role
		switch m.Role {
		case "system", "developer":
			if blocks, err = contentBlocks(m.Content, param+".content", false); err != nil {
				return nil, nil, err
			}
			system = append(system, blocks...)
			continue
		case "user":
			blocks, err = contentBlocks(m.Content, param+".content", true)
		case "assistant":
			blocks, err = assistantBlocks(m, param)
		case "tool":
			role = "user"
			blocks, err = toolResultBlocks(m, param)
		case "":
			return nil, nil, apierr.MissingParam(param + ".role")
		default:
			return nil, nil, apierr.BadRequest("invalid_value", param+".role",
				"unsupported role "+strconv.Quote(m.Role)+"; expected system, developer, user, assistant or tool")
		}
		if err != nil {
			return nil, nil, err
		}
		if n := len(turns); n > 0 && turns[n-1].Role == role {
			turns[n-1].Content = append(turns[n-1].Content, blocks...)
		} else {
			turns = append(turns, anthropicMessage{Role: role, Content: blocks})
		}
	}
	if len(turns) == 0 {
		return nil, nil, apierr.BadRequest("invalid_value", "messages", "messages must contain at least one user or assistant message")
	}
	return system, turns, nil
}

// assistantBlocks converts an assistant message: its text, then one tool_use block per
// tool call, whose JSON-string arguments become the block's input object.
func assistantBlocks(m *chatMessage, param string) (anthropicContent, error) {
	blocks, err := contentBlocks(m.Content, param+".content", false)
	if err != nil {
		return nil, err
	}
	for j, tc := range m.ToolCalls {
		p := param + ".tool_calls[" + strconv.Itoa(j) + "]"
		switch {
		case tc.Type != "" && tc.Type != "function":
			return nil, apierr.BadRequest("invalid_value", p+".type", "only function tool calls are supported")
		case tc.ID == "":
			return nil, apierr.MissingParam(p + ".id")
		case tc.Function.Name == "":
			return nil, apierr.MissingParam(p + ".function.name")
		}
		input, err := toolInput(tc.Function.Arguments, p+".function.arguments")
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, anthropicBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
	}
	return blocks, nil
}

// toolInput parses a tool call's arguments, a JSON object encoded as a string. Empty
// arguments mean no arguments, as some OpenAI clients send them.
func toolInput(args, param string) (jsonx.RawMessage, error) {
	if strings.TrimSpace(args) == "" {
		return jsonx.RawMessage("{}"), nil
	}
	if !jsonx.Valid([]byte(args)) || !jsonx.Parse(args).IsObject() {
		return nil, apierr.BadRequest("invalid_value", param, "tool call arguments must be a JSON object encoded as a string")
	}
	return jsonx.RawMessage(args), nil
}

// toolResultBlocks converts a tool message into one tool_result block.
func toolResultBlocks(m *chatMessage, param string) (anthropicContent, error) {
	if m.ToolCallID == "" {
		return nil, apierr.MissingParam(param + ".tool_call_id")
	}
	content, err := contentBlocks(m.Content, param+".content", true)
	if err != nil {
		return nil, err
	}
	return anthropicContent{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: content}}, nil
}

// contentBlocks converts OpenAI content (null, a string or an array of parts) to blocks.
// Empty text is dropped, since Anthropic rejects empty text blocks. Images are accepted
// only where images may appear (images true).
func contentBlocks(raw jsonx.RawMessage, param string, images bool) (anthropicContent, error) {
	if isNull(raw) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := jsonx.Unmarshal(raw, &s); err != nil {
			return nil, apierr.BadRequest("invalid_type", param, "content must be a string or an array of content parts")
		}
		if s == "" {
			return nil, nil
		}
		return anthropicContent{{Type: "text", Text: s}}, nil
	}
	var parts []chatPart
	if raw[0] != '[' || jsonx.Unmarshal(raw, &parts) != nil {
		return nil, apierr.BadRequest("invalid_type", param, "content must be a string or an array of content parts")
	}
	blocks := make(anthropicContent, 0, len(parts))
	for j := range parts {
		b, err := partBlock(&parts[j], param+"["+strconv.Itoa(j)+"]", images)
		if err != nil {
			return nil, err
		}
		if b.Type == "text" && b.Text == "" {
			continue
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// partBlock converts one content part.
func partBlock(p *chatPart, param string, images bool) (anthropicBlock, error) {
	switch {
	case p.Type == "text":
		return anthropicBlock{Type: "text", Text: p.Text, CacheControl: p.CacheControl}, nil
	case p.Type == "refusal":
		return anthropicBlock{Type: "text", Text: p.Refusal}, nil
	case p.Type == "image_url" && images:
		if p.ImageURL == nil || p.ImageURL.URL == "" {
			return anthropicBlock{}, apierr.MissingParam(param + ".image_url.url")
		}
		src, err := imageSource(p.ImageURL.URL, param+".image_url.url")
		if err != nil {
			return anthropicBlock{}, err
		}
		return anthropicBlock{Type: "image", Source: src, CacheControl: p.CacheControl}, nil
	}
	return anthropicBlock{}, apierr.BadRequest("invalid_value", param+".type",
		"content part type "+strconv.Quote(p.Type)+" is not supported here")
}

// imageSource maps an image URL: a base64 data URL becomes a base64 source, an http(s)
// URL a url source that Anthropic fetches itself.
func imageSource(u, param string) (*anthropicImageSource, error) {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &anthropicImageSource{Type: "url", URL: u}, nil
	}
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return nil, apierr.BadRequest("invalid_value", param, "image URL must be an http(s) URL or a base64 data URL")
	}
	meta, data, ok := strings.Cut(rest, ",")
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isBase64 || mediaType == "" || data == "" {
		return nil, apierr.BadRequest("invalid_value", param, "data URL must look like data:image/png;base64,...")
	}
	return &anthropicImageSource{Type: "base64", MediaType: mediaType, Data: data}, nil
}
