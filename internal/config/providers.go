package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/provider"
)

// Providers are the upstream APIs of a config file. Besides provider.Config's keys, an
// entry of kind mock may have a mock section: the built-in mock's behaviour (latency,
// chunk pacing, failures; see mock.Settings), read with Config.Mock.
type Providers []provider.Config

// UnmarshalYAML decodes the list as strictly as the rest of the file: a key that
// provider.Config does not know is an error at its line. The mock sections are left for
// Parse, which decodes them into Config.mocks.
func (p *Providers) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		var plain []provider.Config
		if err := n.Decode(&plain); err != nil {
			return err
		}
		*p = plain
		return nil
	}
	var msgs []string
	out := make(Providers, 0, len(n.Content))
	for _, item := range n.Content {
		entry := *item
		if item.Kind == yaml.MappingNode {
			entry.Content = nil
			for i := 0; i+1 < len(item.Content); i += 2 {
				if item.Content[i].Value == "mock" {
					continue
				}
				entry.Content = append(entry.Content, item.Content[i], item.Content[i+1])
			}
			unknownKeys(&entry, reflect.TypeOf(provider.Config{}), &msgs)
		}
		var pc provider.Config
		if err := entry.Decode(&pc); err != nil {
			if te, ok := err.(*yaml.TypeError); ok {
				msgs = append(msgs, te.Errors...)
				continue
			}
			return err
		}
		out = append(out, pc)
	}
	if len(msgs) > 0 {
		return &yaml.TypeError{Errors: msgs}
	}
	*p = out
	return nil
}

// unknownKeys appends, for every mapping key under n that type t has no yaml field for,
// yaml.v3's own message ("line N: field K not found in type T"), so lineError reads it
// like the decoder's. It descends into struct, pointer and slice fields.
func unknownKeys(n *yaml.Node, t reflect.Type, msgs *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			unknownKeys(c, t.Elem(), msgs)
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				*msgs = append(*msgs, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, k.Value, t.String()))
				continue
			}
			unknownKeys(n.Content[i+1], ft, msgs)
		}
	}
}

// yamlFields maps the yaml keys of struct type t (inline structs flattened) to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
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

// resolveMocks decodes each provider's mock section strictly and validates it. A mock
// section on a provider of another kind is an error: it would silently do nothing.
func (c *Config) resolveMocks(root *yaml.Node) Errors {
	var errs Errors
	for i := range c.Providers {
		n := nodeAt(root, "providers", strconv.Itoa(i), "mock")
		if n == nil {
			continue
		}
		p := &c.Providers[i]
		line := lineOf(root, "providers", strconv.Itoa(i), "mock")
		if p.Kind != provider.KindMock {
			errs = append(errs, &Error{File: c.file, Line: line, Msg: fmt.Sprintf("provider %q: a mock section needs kind: mock", p.Name)})
			continue
		}
		var msgs []string
		unknownKeys(n, reflect.TypeOf(mock.Settings{}), &msgs)
		var s mock.Settings
		if len(msgs) == 0 {
			if err := n.Decode(&s); err != nil {
				if te, ok := err.(*yaml.TypeError); ok {
					msgs = te.Errors
				} else {
					msgs = []string{err.Error()}
				}
			}
		}
		for _, m := range msgs {
			errs = append(errs, lineError(c.file, m))
		}
		if len(msgs) > 0 {
			continue
		}
		if err := s.Validate(); err != nil {
			errs = append(errs, &Error{File: c.file, Line: line, Msg: fmt.Sprintf("provider %q: %v", p.Name, err)})
			continue
		}
		if c.mocks == nil {
			c.mocks = map[string]mock.Config{}
		}
		c.mocks[p.Name] = s.Config()
	}
	return errs
}

// Mock returns the behaviour of the built-in mock serving the provider named name: its
// mock section, or the zero Config (answer at once, never fail) when it has none.
func (c *Config) Mock(name string) mock.Config { return c.mocks[name] }

// nodeAt returns the node at path (mapping keys and sequence indexes), nil when absent.
func nodeAt(root *yaml.Node, path ...string) *yaml.Node {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next = n.Content[i+1]
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(p); err == nil && i < len(n.Content) {
				next = n.Content[i]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}
