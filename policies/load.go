package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/internal/yamlx"
)

// Source is one policy file's name and content.
type Source struct {
	Name string
	Data []byte
}

// Read returns the sources at path: the file itself, or every *.yaml and *.yml file in
// the directory (not recursive), in lexical order.
func Read(path string) ([]Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return []Source{{Name: path, Data: data}}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []Source
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || (!strings.HasSuffix(n, ".yaml") && !strings.HasSuffix(n, ".yml")) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(path, n))
		if err != nil {
			return nil, err
		}
		out = append(out, Source{Name: filepath.Join(path, n), Data: data})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no .yaml or .yml policy files", path)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Version is the content hash of sources: the snapshot's version id.
func Version(srcs []Source) string {
	h := sha256.New()
	for _, s := range srcs {
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(s.Name), len(s.Data))
		h.Write(s.Data)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Parse decodes and merges sources into one File. Models defined twice, or health and
// retry sections given in more than one file, are errors.
func Parse(srcs []Source) (*File, error) {
	merged := &File{Models: map[string]*Model{}}
	var errs yamlx.Errors
	healthFrom, retryFrom := "", ""
	for _, src := range srcs {
		if isEmptyYAML(src.Data) {
			errs.Add(src.Name, 0, "the policy file is empty (a policy needs at least one route; the last one, without match, is the default)")
			continue
		}
		var f File
		if err := yamlx.Decode(src.Name, src.Data, &f); err != nil {
			if es, ok := err.(yamlx.Errors); ok {
				errs = append(errs, es...)
				continue
			}
			return nil, err
		}
		stamp(&f, src.Name)
		for name, m := range f.Models {
			if prev, dup := merged.Models[name]; dup {
				errs.Add(src.Name, m.Line, "model %q is already defined at %s:%d", name, prev.File, prev.Line)
				continue
			}
			merged.Models[name] = m
		}
		merged.Routes = append(merged.Routes, f.Routes...)
		if f.Health != nil {
			if healthFrom != "" {
				errs.Add(src.Name, 0, "health is already set in %s", healthFrom)
			}
			merged.Health, healthFrom = f.Health, src.Name
		}
		if f.Retry != nil {
			if retryFrom != "" {
				errs.Add(src.Name, 0, "retry is already set in %s", retryFrom)
			}
			merged.Retry, retryFrom = f.Retry, src.Name
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return merged, nil
}

// isEmptyYAML reports whether data holds no YAML value: nothing, only comments, or a
// lone null.
func isEmptyYAML(data []byte) bool {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return false // a syntax error: Decode reports it with its line
	}
	if len(root.Content) == 0 {
		return true
	}
	n := root.Content[0]
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// stamp records the source file on every element that carries a line.
func stamp(f *File, name string) {
	for _, m := range f.Models {
		if m == nil {
			continue
		}
		m.File = name
		for _, d := range m.Deployments {
			if d != nil {
				d.File = name
			}
		}
	}
	for _, r := range f.Routes {
		if r == nil {
			continue
		}
		r.File = name
		for _, t := range r.Targets {
			if t != nil {
				t.File = name
			}
		}
		for _, t := range r.Tiers {
			if t != nil {
				t.File = name
			}
		}
		for _, fb := range r.Fallback {
			if fb != nil {
				fb.File = name
			}
		}
	}
}
