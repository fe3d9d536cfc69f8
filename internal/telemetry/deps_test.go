package telemetry

import (
	"os/exec"
	"strings"
	"testing"
)

// TestTelemetryImportsNoUpperPackageNorFasthttp keeps the design's arrows honest:
// telemetry is plumbing under the gateway and its siblings, and the HTTP server library
// stays in the gateway.
func TestTelemetryImportsNoUpperPackageNorFasthttp(t *testing.T) {
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
				t.Errorf("telemetry depends on %s", dep)
			}
		}
	}
}
