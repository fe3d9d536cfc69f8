package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	policy, _ := filepath.Abs(filepath.Join("..", "..", "policies", "testdata", "routing.yaml"))
	gatewayCfg, _ := filepath.Abs(filepath.Join("..", "..", "policies", "testdata", "gateway.yaml"))
	prompts := copyDir(t, filepath.Join("..", "..", "policies", "testdata", "prompts"))
	edited := copyDir(t, filepath.Join("..", "..", "policies", "testdata", "prompts"))
	v1 := filepath.Join(edited, "support-reply", "1.yaml")
	b, err := os.ReadFile(v1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(v1, []byte(strings.Replace(string(b), "support agent", "sales agent", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := writeFile(t, "bad.yaml", "models:\n  m:\n    deployments: [{provider: p}]\nroutes:\n  - name: d\n    targets: [{model: ghost}]\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"a valid policy passes", []string{"policy", "check", policy}, 0, "ok: policy", ""},
		{"a valid policy passes with its config's providers", []string{"policy", "check", "--config", gatewayCfg, policy}, 0, "6 routes", ""},
		{"a broken policy fails with file and line", []string{"policy", "check", bad}, 1, "", "bad.yaml:6: route \"d\": unknown model \"ghost\""},
		{"published prompts that are unchanged pass", []string{"policy", "check", "--prompts", prompts, policy}, 0, "ok: prompts", ""},
		{"an edited published prompt version fails with file and line", []string{"policy", "check", "--prompts", edited, policy}, 1, "", filepath.Join("support-reply", "1.yaml") + ":"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runBinary(t, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
			}
		})
	}
}
