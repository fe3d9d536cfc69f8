package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
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

// MaxPolicyBytes bounds the policy, in bytes: a policy file, or all the files of a
// policy directory together, may hold at most 4 MiB (4,194,304 bytes). The size is checked
// before anything is parsed (a larger file is not even read), so an oversized file cannot
// keep the reloader, and SIGHUP behind it, busy parsing; it is rejected with a
// *TooLargeError and the last good snapshot keeps serving. Real policies are a few KiB.
const MaxPolicyBytes = 4 << 20

// TooLargeError is the error for a policy whose files are larger than MaxPolicyBytes.
type TooLargeError struct {
	// File is the file that went over the limit; Size its size in bytes, or for a
	// directory, the total size of the files up to and including it.
	File string
	Size int64
	// Limit is the limit in bytes (MaxPolicyBytes).
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s:1: the policy is %d bytes, over the limit of %d bytes (%d MiB); nothing was parsed",
		e.File, e.Size, e.Limit, e.Limit>>20)
}

// Read returns the sources at path: the file itself, or every *.yaml and *.yml file in
// the directory (not recursive), in lexical order. Sources larger than MaxPolicyBytes in
// all are a *TooLargeError, found before they are read in full.
func Read(path string) ([]Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		data, err := readCapped(path, 0)
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
	var total int64
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || (!strings.HasSuffix(n, ".yaml") && !strings.HasSuffix(n, ".yml")) {
			continue
		}
		data, err := readCapped(filepath.Join(path, n), total)
		if err != nil {
			return nil, err
		}
		total += int64(len(data))
		out = append(out, Source{Name: filepath.Join(path, n), Data: data})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no .yaml or .yml policy files", path)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// readCapped reads the file at path when it fits in what MaxPolicyBytes leaves after
// used bytes: the size is checked before reading, and the read stops past the limit
// (for a file that grows meanwhile, or reports no size).
func readCapped(path string, used int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	left := MaxPolicyBytes - used
	if st, err := f.Stat(); err == nil && st.Size() > left {
		return nil, &TooLargeError{File: path, Size: used + st.Size(), Limit: MaxPolicyBytes}
	}
	data, err := io.ReadAll(io.LimitReader(f, left+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > left {
		return nil, &TooLargeError{File: path, Size: used + int64(len(data)), Limit: MaxPolicyBytes}
	}
	return data, nil
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
		empty, shape := checkShape(src.Name, src.Data)
		if empty {
			errs.Add(src.Name, 0, "the policy file is empty (a policy needs at least one route; the last one, without match, is the default)")
			continue
		}
		if len(shape) > 0 {
			errs = append(errs, shape...)
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

// MaxMappingKeys bounds the keys of any one YAML mapping in a policy file (4096; the
// models section is the one that grows). The YAML decoder checks each key of a mapping
// against the ones before it, so its time grows with the square of a mapping's size: a
// 1 MiB file of 24,000 models took 3 s to decode, a 4 MiB one 45 s. With this bound a file
// within MaxPolicyBytes decodes in well under a second. It is checked on the parsed node
// tree, before decoding, with the mapping's file:line.
const MaxMappingKeys = 4096

// checkShape parses data (named name in errors) into a node tree once and reports
// whether it holds no YAML value (nothing, only comments, or a lone null) and the
// mappings that have more than MaxMappingKeys keys. A syntax error is left for Decode
// to report with its line.
func checkShape(name string, data []byte) (empty bool, errs yamlx.Errors) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return false, nil
	}
	if len(root.Content) == 0 {
		return true, nil
	}
	n := root.Content[0]
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return true, nil
	}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode && len(n.Content)/2 > MaxMappingKeys {
			errs.Add(name, n.Line, "a mapping with %d keys, over the limit of %d", len(n.Content)/2, MaxMappingKeys)
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return false, errs
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

// AttributionValues returns every feature and every team the snapshot's routes match
// on, sorted and without duplicates: with the gateway keys' own, they are the values a
// metric label for feature or team may take (any other is folded into one "other"
// value, so client-chosen attribution cannot create series without bound).
func (s *Snapshot) AttributionValues() (features, teams []string) {
	fs, ts := map[string]bool{}, map[string]bool{}
	for _, r := range s.Routes {
		for v := range r.match.feature {
			fs[v] = true
		}
		for v := range r.match.team {
			ts[v] = true
		}
	}
	return sortedKeys(fs), sortedKeys(ts)
}
