package policies

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestReloaderAppliesValidChangesAndKeepsTheLastGoodOnErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	good := base + "routes:\n  - name: d\n    targets: [{model: mini}]\n"
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[Snapshot]
	r, err := NewReloader(path, Options{}, func(s *Snapshot) error { current.Store(s); return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	v1 := current.Load().Version
	if err := r.Reload(); err != nil || r.Status().Reloads != 1 {
		t.Fatalf("an unchanged file reloaded: %v %+v", err, r.Status())
	}

	bad := base + "routes:\n  - name: d\n    targets: [{model: ghost}]\n"
	_ = os.WriteFile(path, []byte(bad), 0o644)
	err = r.Reload()
	if err == nil || !strings.Contains(err.Error(), "p.yaml:9: route \"d\": unknown model \"ghost\"") {
		t.Fatalf("err = %v", err)
	}
	st := r.Status()
	if current.Load().Version != v1 || st.Version != v1 || st.Rejected != 1 || !strings.Contains(st.LastError, "p.yaml:9") {
		t.Fatalf("status %+v", st)
	}

	better := base + "routes:\n  - name: d2\n    targets: [{model: big}]\n"
	_ = os.WriteFile(path, []byte(better), 0o644)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if current.Load().Routes[0].Name != "d2" || r.Status().Version == v1 || r.Status().Reloads != 2 {
		t.Fatalf("status %+v", r.Status())
	}
}

func TestReloaderRejectsWhatApplyRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	_ = os.WriteFile(path, []byte(base+"routes:\n  - name: d\n    targets: [{model: mini}]\n"), 0o644)
	_, err := NewReloader(path, Options{}, func(*Snapshot) error { return os.ErrInvalid }, nil)
	if err == nil {
		t.Fatal("a refused first load was accepted")
	}
}
