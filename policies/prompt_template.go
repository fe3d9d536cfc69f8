package policies

import (
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// A prompt template is literal text with tags in double braces. The whole language is:
//
//	{{name}}                   the variable's value
//	{{name | default "text"}}  the value, or text when the variable is absent
//	{{"text"}}                 text as is: {{"{{"}} writes two opening braces
//
// Spaces inside the braces are optional. A string literal is in double quotes; \" and \\
// are its only escapes. There are no functions, conditions, loops, includes or file
// access, and a value is inserted as text once: braces inside a value stay literal.

// segment is one piece of a compiled template. Text is already escaped for use inside a
// JSON string. A literal has v < 0; a variable reference has v >= 0 (an index into the
// version's variables) and, with hasDef, the escaped inline default.
type segment struct {
	text   []byte
	v      int
	def    []byte
	hasDef bool
}

// templateError is a template problem at a byte offset of the content.
type templateError struct {
	off int
	msg string
}

func (e *templateError) Error() string { return e.msg }

// parseTemplate compiles content. index maps a variable name to its index; an undeclared
// name is an error. It returns the segments and the names used.
func parseTemplate(content string, index func(string) (int, bool)) ([]segment, []string, error) {
	var segs []segment
	var used []string
	var lit []byte
	rest, off := content, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			lit = jsonx.AppendEscaped(lit, rest)
			break
		}
		lit = jsonx.AppendEscaped(lit, rest[:i])
		end, err := tagEnd(rest, i+2)
		if err != nil {
			return nil, nil, &templateError{off: off + i, msg: err.Error()}
		}
		expr := strings.TrimSpace(rest[i+2 : end])
		tag, err := parseTag(expr)
		if err != nil {
			return nil, nil, &templateError{off: off + i, msg: fmt.Sprintf("{{%s}}: %v", expr, err)}
		}
		if tag.name == "" {
			lit = jsonx.AppendEscaped(lit, tag.def)
		} else {
			n, ok := index(tag.name)
			if !ok {
				return nil, nil, &templateError{off: off + i, msg: fmt.Sprintf("{{%s}}: variable %q is not declared under variables", expr, tag.name)}
			}
			if len(lit) > 0 {
				segs = append(segs, segment{text: lit, v: -1})
				lit = nil
			}
			seg := segment{v: n, hasDef: tag.hasDef}
			if tag.hasDef {
				seg.def = jsonx.AppendEscaped(nil, tag.def)
			}
			segs = append(segs, seg)
			used = append(used, tag.name)
		}
		off += end + 2
		rest = rest[end+2:]
	}
	if len(lit) > 0 {
		segs = append(segs, segment{text: lit, v: -1})
	}
	return segs, used, nil
}

// tagEnd returns the index of the "}}" closing the tag whose expression starts at i,
// skipping braces inside string literals.
func tagEnd(s string, i int) (int, error) {
	for i < len(s) {
		switch {
		case s[i] == '"':
			j, err := stringEnd(s, i)
			if err != nil {
				return 0, err
			}
			i = j + 1
		case strings.HasPrefix(s[i:], "}}"):
			return i, nil
		default:
			i++
		}
	}
	return 0, fmt.Errorf("{{ is never closed with }} (write {{\"{{\"}} for literal braces)")
}

// stringEnd returns the index of the quote closing the string literal that opens at i.
func stringEnd(s string, i int) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j, nil
		}
	}
	return 0, fmt.Errorf("unterminated string literal")
}

// tag is a parsed expression: a variable (name set) with an optional default, or a
// literal (name empty, def the text).
type tag struct {
	name   string
	def    string
	hasDef bool
}

const tagSyntax = `only {{name}}, {{name | default "text"}} and {{"text"}} are supported`

func parseTag(expr string) (tag, error) {
	if strings.HasPrefix(expr, `"`) {
		s, rest, err := parseLiteral(expr)
		if err != nil {
			return tag{}, err
		}
		if rest != "" {
			return tag{}, fmt.Errorf("unexpected %q after the string; %s", rest, tagSyntax)
		}
		return tag{def: s}, nil
	}
	n := 0
	for n < len(expr) && isIdentByte(expr[n], n == 0) {
		n++
	}
	if n == 0 {
		return tag{}, fmt.Errorf("not a variable name; %s", tagSyntax)
	}
	t := tag{name: expr[:n]}
	rest := strings.TrimSpace(expr[n:])
	if rest == "" {
		return t, nil
	}
	rest, ok := strings.CutPrefix(rest, "|")
	if !ok {
		return tag{}, fmt.Errorf("unexpected %q; %s", rest, tagSyntax)
	}
	rest = strings.TrimSpace(rest)
	rest, ok = strings.CutPrefix(rest, "default")
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return tag{}, fmt.Errorf("the only filter is default \"text\"")
	}
	s, after, err := parseLiteral(strings.TrimSpace(rest))
	if err != nil {
		return tag{}, err
	}
	if after != "" {
		return tag{}, fmt.Errorf("unexpected %q after the default; %s", after, tagSyntax)
	}
	t.def, t.hasDef = s, true
	return t, nil
}

// parseLiteral reads a double-quoted string at the start of s and returns its value and
// what follows it, trimmed.
func parseLiteral(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", fmt.Errorf("a default must be a string in double quotes")
	}
	end, err := stringEnd(s, 0)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	for i := 1; i < end; i++ {
		c := s[i]
		if c == '\\' {
			i++
			if s[i] != '"' && s[i] != '\\' {
				return "", "", fmt.Errorf(`unknown escape \%c in a string (only \" and \\)`, s[i])
			}
			c = s[i]
		}
		b.WriteByte(c)
	}
	return b.String(), strings.TrimSpace(s[end+1:]), nil
}

// isIdentByte reports whether c may appear in a variable name (first: at its start).
func isIdentByte(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// validVarName reports whether name is a variable name: a letter or underscore, then
// letters, digits or underscores.
func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isIdentByte(name[i], i == 0) {
			return false
		}
	}
	return true
}
