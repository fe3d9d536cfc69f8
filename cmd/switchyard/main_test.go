package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests build the real binary once and run it as a subprocess, so exit codes,
// signals and the listening socket are the ones an operator sees.

const testVersion = "v0.0.0-test+abc123"

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds cmd/switchyard (without -race, to keep it quick) with testVersion
// stamped in, once per test run.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go") //nolint:staticcheck // the toolchain running the test, else PATH's go below
		if _, err := os.Stat(goTool); err != nil {
			if goTool, err = exec.LookPath("go"); err != nil {
				binErr = err
				return
			}
		}
		if binDir, binErr = os.MkdirTemp("", "switchyard-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "switchyard")
		cmd := exec.Command(goTool, "build", "-o", binPath,
			"-ldflags", "-X github.com/switchyard/switchyard/gateway.Version="+testVersion, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// runBinary runs the binary to completion with args and returns its exit code and output.
func runBinary(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no OPENAI_API_KEY or SWITCHYARD_* from the host
	cmd.Dir = t.TempDir()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

func TestVersionPrintsTheStampedVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		code, stdout, stderr := runBinary(t, arg)
		if code != 0 || stdout != "switchyard "+testVersion+"\n" || stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0 and %q", arg, code, stdout, stderr, "switchyard "+testVersion+"\n")
		}
	}
}

func TestCommandLineMistakesExitWithUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"an unknown command exits 2", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"no command exits 2", nil, "usage:"},
		{"an unknown serve flag exits 2", []string{"serve", "--no-such-flag"}, "no-such-flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runBinary(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.wantStderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

func TestABadConfigFileFailsWithFileAndLine(t *testing.T) {
	tests := []struct {
		name, yaml string
		line       int
		want       string
	}{
		{"an unknown top-level key", "listen: 127.0.0.1:0\nproviders:\n  - {name: m, kind: mock}\nmodels:\n  - {name: \"*\", provider: m}\nlisten_port: 8080\n",
			6, `unknown key "listen_port"`},
		{"an unknown key inside a provider", "providers:\n  - name: m\n    kind: mock\n    api_kye_env: X\nmodels:\n  - {name: \"*\", provider: m}\n",
			4, `unknown key "api_kye_env"`},
		{"a model naming an undefined provider", "providers:\n  - {name: m, kind: mock}\nmodels:\n  - {name: a, provider: m}\n  - {name: b, provider: nope}\n",
			5, `unknown provider "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "switchyard.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runBinary(t, "serve", "--config", path)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			loc := fmt.Sprintf("%s:%d:", path, tt.line)
			if !strings.Contains(stderr, loc) || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q, want %q and %q", stderr, loc, tt.want)
			}
		})
	}
}

// serving matches the gateway's startup log line and captures its address.
var serving = regexp.MustCompile(`"msg":"serving","address":"([^"]+)"`)
