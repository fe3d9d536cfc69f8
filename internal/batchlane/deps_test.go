package batchlane

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBatchLaneImportsNoUpperPackageNorFasthttp keeps the design's arrows honest: the
// batch lane is plumbing under the gateway, prices through a factor rather than the
// metering package, and leaves the HTTP library to the gateway (it supplies the Doer).
func TestBatchLaneImportsNoUpperPackageNorFasthttp(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	forbidden := []string{
		"github.com/switchyard/switchyard/gateway", "github.com/switchyard/switchyard/router",
		"github.com/switchyard/switchyard/cache", "github.com/switchyard/switchyard/metering",
		"github.com/switchyard/switchyard/policies", "github.com/valyala/fasthttp",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("batchlane depends on %s", dep)
			}
		}
	}
}
