// Package yamlx decodes YAML strictly with file:line errors. Unlike yaml.v3's
// KnownFields, the unknown-key check here also covers types with their own
// UnmarshalYAML (which the policy types use to remember their line numbers).
package yamlx

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem located in a file (Line 0 when unknown).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
	}
	return e.File + ": " + e.Msg
}

// Errors is every problem found in one decode or validation.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Add appends an error at file:line.
func (es *Errors) Add(file string, line int, format string, a ...any) {
	*es = append(*es, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, a...)})
}

// Err returns es as an error, or nil when empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// Decode parses data (named file in errors) into v strictly: unknown keys, type
// mismatches and syntax errors come back as Errors with lines. An empty document
// leaves v unchanged.
func Decode(file string, data []byte, v any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Errors{fromYAML(file, err.Error())}
	}
	if len(root.Content) == 0 {
		return nil
	}
	var errs Errors
	checkKnown(file, root.Content[0], reflect.TypeOf(v), &errs)
	if len(errs) > 0 {
		return errs
	}
	if err := root.Content[0].Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				errs = append(errs, fromYAML(file, m))
			}
			return errs
		}
		var le *Error
		if errors.As(err, &le) {
			return Errors{le}
		}
		return Errors{fromYAML(file, err.Error())}
	}
	return nil
}

func fromYAML(file, msg string) *Error {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: n, Msg: m[2]}
	}
	return &Error{File: file, Msg: msg}
}

// checkKnown walks node alongside type t and reports mapping keys that t has no field for.
func checkKnown(file string, n *yaml.Node, t reflect.Type, errs *Errors) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // a type error the decoder reports, or a custom scalar form
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			f, ok := fields[k.Value]
			if !ok {
				errs.Add(file, k.Line, "unknown key %q", k.Value)
				continue
			}
			checkKnown(file, n.Content[i+1], f, errs)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				checkKnown(file, c, t.Elem(), errs)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 1; i < len(n.Content); i += 2 {
				checkKnown(file, n.Content[i], t.Elem(), errs)
			}
		}
	}
}

// yamlFields maps yaml key names to field types, following inline structs.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}
