// Package archtest keeps the package arrows of DESIGN.md honest: it reads the import
// graph with `go list -deps` and fails when a package imports what it must not.
package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/switchyard/switchyard"

type pkg struct {
	ImportPath string
	Deps       []string
}

// deps returns, for every package of the module (tests excluded), all it depends on.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	m := map[string][]string{}
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		m[p.ImportPath] = p.Deps
	}
	// The graph must be real for the checks below to mean anything.
	if !has(m[module+"/gateway"], "github.com/valyala/fasthttp") || !has(m[module+"/gateway"], module+"/router") {
		t.Fatalf("go list gave no dependency graph: %v", m[module+"/gateway"])
	}
	return m
}

func has(list []string, path string) bool {
	for _, d := range list {
		if d == path || strings.HasPrefix(d, path+"/") {
			return true
		}
	}
	return false
}

func TestSiblingsNeverImportEachOtherNorTheGateway(t *testing.T) {
	all := deps(t)
	siblings := []string{"router", "cache", "metering", "policies"}
	for _, from := range siblings {
		for path, ds := range all {
			if path != module+"/"+from && !strings.HasPrefix(path, module+"/"+from+"/") {
				continue
			}
			for _, to := range append(siblings, "gateway", "cmd") {
				if to != from && has(ds, module+"/"+to) {
					t.Errorf("%s imports %s/%s", path, module, to)
				}
			}
		}
	}
}

func TestFasthttpStaysAtTheEdges(t *testing.T) {
	allowed := []string{"gateway", "cmd", "bench", "internal/upstream", "internal/mock", "internal/testutil", "internal/archtest"}
	for path, ds := range deps(t) {
		if !has(ds, "github.com/valyala/fasthttp") {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
		ok := false
		for _, a := range allowed {
			if rel == a || strings.HasPrefix(rel, a+"/") {
				ok = true
			}
		}
		// The internal packages may depend on fasthttp only through these edges.
		if !ok {
			for _, a := range []string{"internal/upstream", "internal/mock"} {
				if has(ds, module+"/"+a) {
					ok = true
				}
			}
		}
		if !ok {
			t.Errorf("%s depends on fasthttp", path)
		}
	}
}

// TestInternalPlumbingDoesNotReachUp: internal packages sit below the components. Only
// internal/config, which composes the components' configs, may name them; the test
// helpers may start a gateway.
func TestInternalPlumbingDoesNotReachUp(t *testing.T) {
	upper := []string{"gateway", "cmd", "router", "cache", "metering", "policies"}
	for path, ds := range deps(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
		switch {
		case !strings.HasPrefix(rel, "internal/"), rel == "internal/testutil", rel == "internal/archtest":
			continue
		case rel == "internal/config":
			upper = []string{"gateway", "cmd"}
		}
		for _, u := range upper {
			if has(ds, module+"/"+u) {
				t.Errorf("%s depends on %s", path, u)
			}
		}
		upper = []string{"gateway", "cmd", "router", "cache", "metering", "policies"}
	}
}
