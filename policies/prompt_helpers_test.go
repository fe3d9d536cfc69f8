package policies

import (
	"os"
	"path/filepath"
	"testing"
)

const testPrompts = "testdata/prompts"

// writePrompts writes files (path relative to the directory -> content) into a new
// temporary prompts directory and returns it.
func writePrompts(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// copyPrompts copies the testdata prompts into a new temporary directory.
func copyPrompts(t testing.TB) string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(testPrompts, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(testPrompts, path)
		files[rel] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return writePrompts(t, files)
}

// loadTestPrompts loads the testdata prompts, which must load.
func loadTestPrompts(t testing.TB) *Registry {
	t.Helper()
	r, err := LoadPrompts(testPrompts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// mustVersion returns id@version from r.
func mustVersion(t testing.TB, r *Registry, id, version string) *PromptVersion {
	t.Helper()
	v := r.Lookup(id, version)
	if v == nil {
		t.Fatalf("%s@%s is not loaded", id, version)
	}
	return v
}

// oneVersion compiles a directory holding a single prompt file (p.yaml) and returns it.
func oneVersion(t testing.TB, doc string) *PromptVersion {
	t.Helper()
	r, err := LoadPrompts(writePrompts(t, map[string]string{"p.yaml": doc}))
	if err != nil {
		t.Fatal(err)
	}
	ids := r.IDs()
	return r.Versions(ids[0])[0]
}
