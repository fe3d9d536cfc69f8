package policies

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/switchyard/switchyard/internal/yamlx"
	"gopkg.in/yaml.v3"
)

// prompts.lock records the content hash of every published prompt version, one
// "id@version: sha256:<hex>" line each, sorted. `switchyard prompt lock` adds the versions
// that are not in it yet and never changes or drops a line: a version once published
// keeps its hash, even after its file is deleted, so its number cannot be reused for
// different content. Loading rejects a version whose content no longer matches its line.

var lockHashPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// lockEntry is one line of prompts.lock.
type lockEntry struct {
	Hash string
	Line int
}

func (l *lockEntry) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a lock entry must be a sha256:<hex> string", n.Line)
	}
	l.Hash, l.Line = n.Value, n.Line
	return nil
}

// parseLock decodes prompts.lock and checks its entries' form.
func parseLock(src Source, errs *yamlx.Errors) map[string]lockEntry {
	lock := map[string]lockEntry{}
	if !decodeInto(src, &lock, errs) {
		return nil
	}
	for _, ref := range sortedKeys(lock) {
		e := lock[ref]
		r, err := ParseRefHeader(ref)
		if err != nil || r.Version == "" {
			errs.Add(src.Name, e.Line, "lock entry %q must be id@version", ref)
		}
		if !lockHashPattern.MatchString(e.Hash) {
			errs.Add(src.Name, e.Line, "lock entry %s: %q is not a sha256:<64 hex digits> hash", ref, e.Hash)
		}
	}
	return lock
}

// checkLock compares every version with prompts.lock: a published version must keep its
// hash; a version not in the lock is allowed and reported as unpublished.
func (r *Registry) checkLock(errs *yamlx.Errors) {
	for _, id := range r.ids {
		for _, v := range r.prompts[id].sorted {
			e, ok := r.lock[v.Ref]
			switch {
			case !ok:
				r.warnings.Add(v.File, v.Line, "prompt %s is not published: run `switchyard prompt lock` to record it in %s", v.Ref, LockFileName)
			case e.Hash != v.Hash:
				errs.Add(v.File, v.Line, "prompt %s changed since it was published (%s records %s, the file now hashes to %s): publish a new version",
					v.Ref, LockFileName, shortHash(e.Hash), shortHash(v.Hash))
			default:
				v.Published = true
			}
		}
	}
}

func shortHash(h string) string {
	if len(h) > len("sha256:")+12 {
		return h[:len("sha256:")+12]
	}
	return h
}

// WritePromptLock loads the prompts directory and records every unpublished version in
// its prompts.lock (created when missing), keeping the existing lines. It fails, writing
// nothing, when the directory does not load, which includes a published version whose
// content changed. It returns the refs it added, sorted. The file is replaced atomically.
func WritePromptLock(dir string) ([]string, error) {
	r, err := LoadPrompts(dir)
	if err != nil {
		return nil, err
	}
	lines := map[string]string{}
	for ref, e := range r.lock {
		lines[ref] = e.Hash
	}
	var added []string
	for _, id := range r.ids {
		for _, v := range r.prompts[id].sorted {
			if !v.Published {
				lines[v.Ref] = v.Hash
				added = append(added, v.Ref)
			}
		}
	}
	if len(added) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	b.WriteString("# Content hashes of published prompt versions, written by `switchyard prompt lock`.\n" +
		"# A version listed here is immutable: a changed file under it fails to load. Publish a\n" +
		"# new version instead. Review changes to this file like code; do not edit it by hand.\n")
	for _, ref := range sortedKeys(lines) {
		fmt.Fprintf(&b, "%s: %s\n", ref, lines[ref])
	}
	if err := writeFileAtomic(filepath.Join(dir, LockFileName), b.Bytes()); err != nil {
		return nil, err
	}
	return added, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it over path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
