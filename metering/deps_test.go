package metering

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMeteringImportsNoSiblingOrHTTPPackages keeps the package arrows of the design
// honest: metering never depends on router, cache, policies or gateway, nor on fasthttp.
func TestMeteringImportsNoSiblingOrHTTPPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	forbidden := []string{
		"github.com/switchyard/switchyard/router", "github.com/switchyard/switchyard/cache",
		"github.com/switchyard/switchyard/policies", "github.com/switchyard/switchyard/gateway",
		"github.com/valyala/fasthttp",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("metering depends on %s", dep)
			}
		}
	}
}
