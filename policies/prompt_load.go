package policies

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/internal/yamlx"
	"gopkg.in/yaml.v3"
)

// File names with a meaning in a prompts directory (at its top level). Every other
// *.yaml or *.yml file, at any depth, is one prompt version.
const (
	PinsFileName = "pins.yaml"
	LockFileName = "prompts.lock"
)

// LoadPrompts reads and compiles a prompts directory. Every problem is reported, each
// with its file and line (a yamlx.Errors); warnings are on the registry.
func LoadPrompts(dir string) (*Registry, error) {
	srcs, err := ReadPrompts(dir)
	if err != nil {
		return nil, err
	}
	return CompilePrompts(dir, srcs)
}

// ReadPrompts returns the sources of a prompts directory: every *.yaml and *.yml file
// below dir (hidden files and directories skipped) and prompts.lock, by path. Compare
// PromptsVersion of two reads to see whether anything changed.
func ReadPrompts(dir string) ([]Source, error) {
	var out []Source
	var total int64 // bytes read so far, against MaxPolicyBytes
	root := dir
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		root = dir + string(filepath.Separator) // a trailing separator makes WalkDir follow it
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if path != root && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") && path != filepath.Join(dir, LockFileName) {
			return nil
		}
		data, err := readCapped(path, total) // a prompt directory is bounded like a policy
		if err != nil {
			return err
		}
		total += int64(len(data))
		out = append(out, Source{Name: path, Data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Source) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// PromptsVersion is the content hash of a prompts directory's sources (paths relative
// to dir): the registry's version id.
func PromptsVersion(dir string, srcs []Source) string {
	h := sha256.New()
	for _, s := range srcs {
		rel, err := filepath.Rel(dir, s.Name)
		if err != nil {
			rel = s.Name
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(s.Data))
		h.Write(s.Data)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// CompilePrompts parses, validates and compiles the sources of the prompts directory dir.
func CompilePrompts(dir string, srcs []Source) (*Registry, error) {
	r := &Registry{version: PromptsVersion(dir, srcs), dir: dir, prompts: map[string]*promptEntry{}}
	var errs yamlx.Errors
	var pins *PinsFile
	pinsName := ""
	for _, src := range srcs {
		switch rel, _ := filepath.Rel(dir, src.Name); rel {
		case LockFileName:
			r.lock = parseLock(src, &errs)
		case PinsFileName, "pins.yml":
			pins, pinsName = &PinsFile{}, src.Name
			decodeInto(src, pins, &errs)
			stampPins(pins, src.Name)
		default:
			if v := parsePromptFile(src, &errs, &r.warnings); v != nil {
				r.add(v, &errs)
			}
		}
	}
	if len(r.prompts) == 0 && len(errs) == 0 {
		errs.Add(dir, 0, "no prompt files (*.yaml, one version each)")
	}
	r.order(&errs)
	r.checkLock(&errs)
	if pins != nil && len(errs) == 0 {
		compilePins(pins, pinsName, r.prompts, &errs, &r.warnings)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return r, nil
}

// decodeInto decodes a source strictly into v, adding problems to errs.
func decodeInto(src Source, v any, errs *yamlx.Errors) bool {
	if err := yamlx.Decode(src.Name, src.Data, v); err != nil {
		var es yamlx.Errors
		if errors.As(err, &es) {
			*errs = append(*errs, es...)
		} else {
			errs.Add(src.Name, 0, "%v", err)
		}
		return false
	}
	return true
}

// parsePromptFile decodes and compiles one prompt version file.
func parsePromptFile(src Source, errs, warns *yamlx.Errors) *PromptVersion {
	if n := countDocuments(src.Data); n != 1 {
		if n == 0 {
			errs.Add(src.Name, 0, "empty prompt file")
		} else {
			errs.Add(src.Name, 0, "one prompt version per file: found %d YAML documents", n)
		}
		return nil
	}
	var f PromptFile
	if !decodeInto(src, &f, errs) {
		return nil
	}
	f.File = src.Name
	return compileVersion(&f, errs, warns)
}

// countDocuments counts the YAML documents in data (1 when it cannot tell: the strict
// decode then reports the syntax error).
func countDocuments(data []byte) int {
	if len(bytes.TrimSpace(data)) == 0 {
		return 0
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if err == io.EOF {
			return n
		}
		if err != nil {
			return 1
		}
		if len(node.Content) > 0 {
			n++
		}
	}
}

// add files a compiled version under its prompt.
func (r *Registry) add(v *PromptVersion, errs *yamlx.Errors) {
	e := r.prompts[v.ID]
	if e == nil {
		e = &promptEntry{id: v.ID, versions: map[string]*PromptVersion{}, labels: map[string]labelled{}}
		r.prompts[v.ID] = e
		r.ids = append(r.ids, v.ID)
	}
	if prev := e.versions[v.Version]; prev != nil {
		errs.Add(v.File, v.Line, "prompt %s is already defined at %s:%d", v.Ref, prev.File, prev.Line)
		return
	}
	e.versions[v.Version] = v
	e.sorted = append(e.sorted, v)
}

// order sorts each prompt's versions and rejects two that order the same (3 and 3.0).
func (r *Registry) order(errs *yamlx.Errors) {
	slices.Sort(r.ids)
	for _, id := range r.ids {
		e := r.prompts[id]
		slices.SortStableFunc(e.sorted, func(a, b *PromptVersion) int { return a.key.compare(b.key) })
		for i := 1; i < len(e.sorted); i++ {
			a, b := e.sorted[i-1], e.sorted[i]
			if a.key.compare(b.key) == 0 {
				errs.Add(b.File, b.Line, "prompt %s is the same version as %s (%s:%d): versions must differ in number or pre-release", b.Ref, a.Ref, a.File, a.Line)
			}
		}
	}
}

// stampPins records pins.yaml's name on every pin.
func stampPins(pf *PinsFile, name string) {
	for _, p := range pf.Pins {
		if p != nil {
			p.File = name
		}
	}
}
