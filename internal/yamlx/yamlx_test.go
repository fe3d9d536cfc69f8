package yamlx

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type inner struct {
	Line int    `yaml:"-"`
	Name string `yaml:"name"`
}

func (i *inner) UnmarshalYAML(n *yaml.Node) error {
	type plain inner
	if err := n.Decode((*plain)(i)); err != nil {
		return err
	}
	i.Line = n.Line
	return nil
}

type outer struct {
	Items []inner          `yaml:"items"`
	Tags  map[string]inner `yaml:"tags"`
	Count int              `yaml:"count"`
}

func TestDecodeReportsProblemsWithLines(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"an unknown top-level key", "count: 1\nbogus: 2\n", "f.yaml:2: unknown key \"bogus\""},
		{"an unknown key inside a type with its own unmarshaller", "items:\n  - name: a\n    nmae: b\n", "f.yaml:3: unknown key \"nmae\""},
		{"an unknown key inside a map value", "tags:\n  x:\n    name: a\n    extra: 1\n", "f.yaml:4: unknown key \"extra\""},
		{"a type mismatch", "count: lots\n", "f.yaml:1:"},
		{"a syntax error", "items: [\n", "f.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o outer
			err := Decode("f.yaml", []byte(tt.doc), &o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDecodeKeepsLinesOfElements(t *testing.T) {
	var o outer
	if err := Decode("f.yaml", []byte("count: 1\nitems:\n  - name: a\n  - name: b\n"), &o); err != nil {
		t.Fatal(err)
	}
	if len(o.Items) != 2 || o.Items[0].Line != 3 || o.Items[1].Line != 4 {
		t.Fatalf("items = %+v", o.Items)
	}
}
