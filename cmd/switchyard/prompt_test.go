package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const testPromptsDir = "../../policies/testdata/prompts"

// runPrompt calls promptCmd with no environment and returns its exit code and output.
func runPrompt(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := promptCmd(args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

// writeFile writes data to name in a temporary directory and returns its path.
func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// copyDir copies a directory tree into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

const wantRender = `{
  "model": "gpt-4o-mini",
  "messages": [
    {
      "role": "system",
      "content": "You are a support agent for Acme. Be formal.\nThe customer's orders: [\"A-1\"].\nVIP: false.\n"
    },
    { "role": "user", "content": "Ada asks: Where is my order?" },
    { "role": "user", "content": "It is late." }
  ],
  "max_tokens": 400,
  "temperature": 0.3
}
`

func TestPromptRenderCommand(t *testing.T) {
	vars := writeFile(t, "vars.json", `{"customer":"Ada","question":"Where is my order?","tone":"formal","order_ids":["A-1"]}`)
	msgs := writeFile(t, "msgs.json", `[{"role":"user","content":"It is late."}]`)
	tests := []struct {
		name                 string
		env                  map[string]string
		args                 []string
		wantCode             int
		wantOut, wantErrPart string
	}{
		{"an explicit version with variables and client messages", nil,
			[]string{"render", "support-reply@2", "--prompts", testPromptsDir, "--vars", vars, "--messages", msgs}, 0, wantRender, "# support-reply@2 (version requested)"},
		{"the prompts directory from the environment and a label", map[string]string{"SWITCHYARD_PROMPTS": testPromptsDir},
			[]string{"render", "support-reply@production", "--vars", vars, "--messages", msgs}, 0, wantRender, "# support-reply@2 (label production (pins.yaml:4))"},
		{"pins apply to the feature given", nil,
			[]string{"render", "support-reply", "--prompts", testPromptsDir, "--vars", vars, "--feature", "checkout"}, 0, "", "# support-reply@1 (pin pins.yaml:9: support-reply@1)"},
		{"an unpublished version is pointed out", nil,
			[]string{"render", "support-reply@3", "--prompts", testPromptsDir, "--vars", vars}, 0, "", "# support-reply@3 (version requested), not published"},
		{"a missing variable is named", nil,
			[]string{"render", "support-reply@2", "--prompts", testPromptsDir}, 1, "", `support-reply@2: prompt variable "customer" is required`},
		{"an unknown version", nil,
			[]string{"render", "support-reply@7", "--prompts", testPromptsDir}, 1, "", `prompt "support-reply@7": unknown version`},
		{"no prompts directory", nil,
			[]string{"render", "support-reply@2"}, 2, "", "no prompts directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runPrompt(t, tt.env, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			if tt.wantOut != "" && out != tt.wantOut {
				t.Fatalf("stdout:\n%s\nwant:\n%s", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErrPart) {
				t.Fatalf("stderr %q, want it to contain %q", errOut, tt.wantErrPart)
			}
		})
	}
}

const wantTemplateDiff = `--- support-reply@1 (sha256:a8bb49940bcd)
+++ support-reply@2 (sha256:efe1619a5d5a)
@@ -1,12 +1,17 @@
 model: gpt-4o-mini
 params:
-  max_tokens: 300
-  temperature: 0.2
+  max_tokens: 400
+  temperature: 0.3
 variables:
   customer: string, required
+  order_ids: array
   question: string, required
+  tone: string, default "friendly"
+  vip: boolean, default false
 messages:
   1. system:
-     You are a support agent for Acme. Answer briefly.
+     You are a support agent for Acme. Be {{tone}}.
+     The customer's orders: {{order_ids | default "none"}}.
+     VIP: {{vip}}.
   2. user:
      {{customer}} asks: {{question}}
`

const wantRenderedDiff = `--- support-reply@production (sha256:efe1619a5d5a)
+++ support-reply@canary (sha256:888fd5cfebc9, not published)
@@ -1,17 +1,17 @@
-model: gpt-4o-mini
+model: gpt-4o
 params:
-  max_tokens: 400
+  max_tokens: 500
+  response_format: {"type":"text"}
   temperature: 0.3
 variables:
   customer: string, required
+  max_words: integer, default 120
   order_ids: array
   question: string, required
   tone: string, default "friendly"
-  vip: boolean, default false
 messages:
   1. system:
-     You are a support agent for Acme. Be friendly.
+     You are a support agent for Acme. Be friendly; use at most 120 words.
      The customer's orders: none.
-     VIP: false.
   2. user:
      Ada asks: Hi
`

func TestPromptDiffCommand(t *testing.T) {
	vars := writeFile(t, "vars.json", `{"customer":"Ada","question":"Hi"}`)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"two versions as templates", []string{"diff", "support-reply@1", "support-reply@2", "--prompts", testPromptsDir}, 0, wantTemplateDiff, ""},
		{"two labels rendered with variables", []string{"diff", "--prompts", testPromptsDir, "--vars", vars, "support-reply@production", "support-reply@canary"}, 0,
			strings.Replace(strings.Replace(wantRenderedDiff, "support-reply@production", "support-reply@2", 1), "support-reply@canary", "support-reply@3", 1), ""},
		{"a version with itself", []string{"diff", "summarize@1.0.0", "summarize@1.0.0", "--prompts", testPromptsDir}, 0, "", ""},
		{"a reference without a version", []string{"diff", "support-reply", "support-reply@2", "--prompts", testPromptsDir}, 2, "", "name a version or a label"},
		{"one reference", []string{"diff", "support-reply@2", "--prompts", testPromptsDir}, 2, "", "usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runPrompt(t, nil, tt.args...)
			if code != tt.wantCode || out != tt.wantOut || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, tt.wantCode, out, tt.wantOut, errOut)
			}
		})
	}
}

func TestPromptLockAndCheckCommands(t *testing.T) {
	dir := copyDir(t, testPromptsDir)

	code, out, errOut := runPrompt(t, nil, "check", "--prompts", dir)
	if code != 0 || !strings.Contains(out, "ok: prompts ") || !strings.Contains(out, "2 prompts, 4 versions (1 unpublished)") ||
		!strings.Contains(errOut, "warning: "+filepath.Join(dir, "support-reply", "3.yaml")+":2: prompt support-reply@3 is not published") {
		t.Fatalf("check: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	code, out, errOut = runPrompt(t, nil, "lock", "--prompts", dir)
	if code != 0 || !strings.HasPrefix(out, "published support-reply@3 sha256:888fd5cfebc9") {
		t.Fatalf("lock: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, _ = runPrompt(t, nil, "lock", "--prompts", dir)
	if code != 0 || out != "prompts.lock is up to date\n" {
		t.Fatalf("second lock: exit %d, stdout %q", code, out)
	}

	// Editing the now-published version is refused by lock and check alike, with file:line.
	path := filepath.Join(dir, "support-reply", "3.yaml")
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, bytes.Replace(data, []byte("max_tokens: 500"), []byte("max_tokens: 800"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"lock", "check"} {
		code, _, errOut = runPrompt(t, nil, sub, "--prompts", dir)
		want := path + ":2: prompt support-reply@3 changed since it was published"
		if code != 1 || !strings.Contains(errOut, want) {
			t.Fatalf("%s after an edit: exit %d, stderr %q; want 1 and %q", sub, code, errOut, want)
		}
	}
}

func TestPromptCommandUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"publish"}} {
		if code, _, errOut := runPrompt(t, nil, args...); code != 2 || !strings.Contains(errOut, "usage:") {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func TestPromptUnifiedDiffHunks(t *testing.T) {
	lines := func(n int, change map[int]string) []string {
		var out []string
		for i := 1; i <= n; i++ {
			if s, ok := change[i]; ok {
				if s != "" {
					out = append(out, s)
				}
				continue
			}
			out = append(out, "l"+strconv.Itoa(i))
		}
		return out
	}
	tests := []struct {
		name string
		a, b []string
		want string
	}{
		{"far-apart changes make two hunks", lines(20, nil), lines(20, map[int]string{2: "x", 18: ""}),
			"--- a\n+++ b\n@@ -1,5 +1,5 @@\n l1\n-l2\n+x\n l3\n l4\n l5\n@@ -15,6 +15,5 @@\n l15\n l16\n l17\n-l18\n l19\n l20\n"},
		{"near changes share a hunk", lines(10, nil), lines(10, map[int]string{3: "x", 8: "y"}),
			"--- a\n+++ b\n@@ -1,10 +1,10 @@\n l1\n l2\n-l3\n+x\n l4\n l5\n l6\n l7\n-l8\n+y\n l9\n l10\n"},
		{"lines added to an empty side", nil, []string{"a", "b"}, "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"equal sides", lines(3, nil), lines(3, nil), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unifiedDiff(tt.a, tt.b, "a", "b", 3); got != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
