package policies

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// PromptFile is one prompt version: one YAML file in the prompts directory. A published
// version (one recorded in prompts.lock) is immutable; a change is a new file with a new
// version. Labels and rollouts are not part of the file: they live in pins.yaml.
type PromptFile struct {
	// ID names the prompt ("support-reply"): letters, digits, '.', '_' and '-', starting
	// with a letter or digit. Required.
	ID string `yaml:"id"`
	// Version is an integer (3) or a semver-like string (1.2.0, 2.0.0-rc.1). Required;
	// unique per ID. It starts with a digit, which tells it apart from a label.
	Version PromptVersionText `yaml:"version"`
	// Description is for people; it is not part of the content hash.
	Description string `yaml:"description"`
	// Model is the default model. Optional: the client's model wins when it sends one.
	Model string `yaml:"model"`
	// Params are default request parameters (temperature, max_tokens, response_format…),
	// copied into the request as JSON unless the client sets the same key. They may not
	// set model, messages, prompt, stream or stream_options.
	Params map[string]any `yaml:"params"`
	// Variables declare what the templates may use, by name.
	Variables map[string]*PromptVar `yaml:"variables"`
	// Messages are rendered in order, before the messages the client sends. At least one.
	Messages []*PromptMessage `yaml:"messages"`

	// File and the lines of the top-level keys, for messages.
	File  string         `yaml:"-"`
	Line  int            `yaml:"-"`
	lines map[string]int `yaml:"-"`
}

// PromptVar declares one template variable.
type PromptVar struct {
	// Type is string, number, integer, boolean, array or object. Default string.
	Type string `yaml:"type"`
	// Required variables must be given by the request (a 400 names the missing one).
	// Default false; a required variable may not have a default.
	Required bool `yaml:"required"`
	// Default is used when the request does not give the variable; it must have the type.
	// Without one, an optional variable that is not given renders as the template's inline
	// default, else as nothing.
	Default any `yaml:"default"`
	// Description is for people; it is not part of the content hash.
	Description string `yaml:"description"`

	Line int `yaml:"-"`
}

// PromptMessage is one message template.
type PromptMessage struct {
	// Role is system, developer, user or assistant. Required.
	Role string `yaml:"role"`
	// Content is the template text: literal text with {{name}},
	// {{name | default "text"}} and {{"literal"}} tags (see docs/prompts.md). Required.
	Content string `yaml:"content"`

	Line int `yaml:"-"`
	// contentLine is where the content text starts; contentBlock says it is a literal
	// block scalar (|), whose text lines map one to one onto file lines.
	contentLine  int
	contentBlock bool
}

// PromptVersionText is a version (or, in pins.yaml, a version or label) written as a YAML
// scalar, kept as its source text so that 1.10 does not become the number 1.1.
type PromptVersionText struct {
	Value string
	Line  int
}

// UnmarshalYAML keeps the scalar's text and line.
func (v *PromptVersionText) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a version must be a number or a string", n.Line)
	}
	v.Value, v.Line = n.Value, n.Line
	return nil
}

// UnmarshalYAML remembers the line of every top-level key.
func (f *PromptFile) UnmarshalYAML(n *yaml.Node) error {
	type plain PromptFile
	if err := n.Decode((*plain)(f)); err != nil {
		return err
	}
	f.Line = n.Line
	f.lines = map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		f.lines[n.Content[i].Value] = n.Content[i].Line
	}
	return nil
}

// lineOf returns the line of a top-level key, or the document's first line.
func (f *PromptFile) lineOf(key string) int {
	if l, ok := f.lines[key]; ok {
		return l
	}
	return f.Line
}

func (v *PromptVar) UnmarshalYAML(n *yaml.Node) error {
	type plain PromptVar
	v.Line = n.Line
	return n.Decode((*plain)(v))
}

func (m *PromptMessage) UnmarshalYAML(n *yaml.Node) error {
	type plain PromptMessage
	if err := n.Decode((*plain)(m)); err != nil {
		return err
	}
	m.Line, m.contentLine = n.Line, n.Line
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "content" {
			c := n.Content[i+1]
			m.contentLine, m.contentBlock = c.Line, c.Style&yaml.LiteralStyle != 0
		}
	}
	return nil
}
