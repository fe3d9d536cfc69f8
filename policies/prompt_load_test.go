package policies

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/yamlx"
)

const okPrompt = `id: p
version: 1
variables:
  name: {type: string, required: true}
messages:
  - role: user
    content: "Hello {{name}}"
`

func TestPromptLoadRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"an unknown key is reported at its line",
			map[string]string{"p.yaml": okPrompt + "labels: [production]\n"}, "p.yaml:8: unknown key \"labels\""},
		{"an unknown key inside a variable",
			map[string]string{"p.yaml": "id: p\nversion: 1\nvariables:\n  name: {type: string, requird: true}\nmessages:\n  - {role: user, content: hi}\n"}, "p.yaml:4: unknown key \"requird\""},
		{"a missing version",
			map[string]string{"p.yaml": "id: p\nmessages:\n  - {role: user, content: hi}\n"}, "p.yaml:1: prompt version \"\" must be an integer"},
		{"a version that looks like a label",
			map[string]string{"p.yaml": "id: p\nversion: production\nmessages:\n  - {role: user, content: hi}\n"}, "p.yaml:2: prompt version \"production\""},
		{"a bad id",
			map[string]string{"p.yaml": "id: support reply\nversion: 1\nmessages:\n  - {role: user, content: hi}\n"}, "p.yaml:1: prompt id \"support reply\""},
		{"an undeclared variable in a template, at its line in a block",
			map[string]string{"p.yaml": "id: p\nversion: 1\nmessages:\n  - role: system\n    content: |\n      line one\n      hello {{who}}\n"}, "p.yaml:7: message 1: {{who}}: variable \"who\" is not declared"},
		{"an unclosed tag",
			map[string]string{"p.yaml": "id: p\nversion: 1\nmessages:\n  - {role: user, content: \"hi {{name\"}\n"}, "p.yaml:4: message 1: {{ is never closed"},
		{"a filter other than default",
			map[string]string{"p.yaml": "id: p\nversion: 1\nvariables: {x: {}}\nmessages:\n  - {role: user, content: \"{{x | upper}}\"}\n"}, "the only filter is default"},
		{"code in a tag",
			map[string]string{"p.yaml": "id: p\nversion: 1\nmessages:\n  - {role: user, content: \"{{ .Env.HOME }}\"}\n"}, "not a variable name"},
		{"an unknown role",
			map[string]string{"p.yaml": "id: p\nversion: 1\nmessages:\n  - {role: tool, content: hi}\n"}, "p.yaml:4: message 1: role \"tool\""},
		{"no messages",
			map[string]string{"p.yaml": "id: p\nversion: 1\n"}, "p.yaml:1: prompt p@1 has no messages"},
		{"a default of the wrong type",
			map[string]string{"p.yaml": "id: p\nversion: 1\nvariables:\n  n: {type: integer, default: many}\nmessages:\n  - {role: user, content: \"{{n}}\"}\n"}, "p.yaml:4: variable \"n\": default must be an integer, not a string"},
		{"a required variable with a default",
			map[string]string{"p.yaml": "id: p\nversion: 1\nvariables:\n  n: {required: true, default: x}\nmessages:\n  - {role: user, content: \"{{n}}\"}\n"}, "is required and has a default"},
		{"an unknown variable type",
			map[string]string{"p.yaml": "id: p\nversion: 1\nvariables:\n  n: {type: date}\nmessages:\n  - {role: user, content: \"{{n}}\"}\n"}, "unknown type \"date\""},
		{"params that set the model",
			map[string]string{"p.yaml": "id: p\nversion: 1\nparams:\n  model: gpt-4o\nmessages:\n  - {role: user, content: hi}\n"}, "p.yaml:3: params may not set \"model\""},
		{"two files with the same version",
			map[string]string{"a.yaml": okPrompt, "b.yaml": okPrompt}, "b.yaml:2: prompt p@1 is already defined at"},
		{"two versions that order the same",
			map[string]string{"a.yaml": okPrompt, "b.yaml": strings.Replace(okPrompt, "version: 1", "version: 1.0.0", 1)}, "b.yaml:2: prompt p@1.0.0 is the same version as p@1"},
		{"two documents in one file",
			map[string]string{"p.yaml": okPrompt + "---\n" + okPrompt}, "one prompt version per file"},
		{"an empty directory",
			map[string]string{"README.md": "no prompts"}, "no prompt files"},
		{"a malformed lock entry",
			map[string]string{"p.yaml": okPrompt, LockFileName: "p@1: md5:abc\n"}, "prompts.lock:1: lock entry p@1: \"md5:abc\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadPrompts(writePrompts(t, tt.files))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
			var es yamlx.Errors
			if !errors.As(err, &es) {
				t.Fatalf("err is %T, want yamlx.Errors", err)
			}
		})
	}
}

func TestPromptLoadRejectsBadPins(t *testing.T) {
	tests := []struct {
		name, pins, want string
	}{
		{"a pin for an unknown prompt", "pins:\n  - prompt: nope\n    version: 1\n", "pins.yaml:2: pin: unknown prompt \"nope\""},
		{"a pin to an unknown version", "pins:\n  - prompt: p\n    version: 9\n", "pins.yaml:3: prompt \"p\" has no version \"9\""},
		{"a pin to an unknown label", "pins:\n  - prompt: p\n    label: canary\n", "pins.yaml:2: prompt \"p\" has no label \"canary\""},
		{"a pin with both a version and a split", "pins:\n  - prompt: p\n    version: 1\n    split: [{version: 1, weight: 1}, {version: 2, weight: 1}]\n", "needs exactly one of version, label and split"},
		{"a split with one arm", "pins:\n  - prompt: p\n    split: [{version: 1, weight: 1}]\n", "a split needs at least two arms"},
		{"a split arm without a weight", "pins:\n  - prompt: p\n    split:\n      - {version: 1, weight: 1}\n      - {version: 2}\n", "pins.yaml:5: split arm needs a weight above 0"},
		{"a split naming a version twice", "labels: {p: {production: 1}}\npins:\n  - prompt: p\n    split:\n      - {version: 1, weight: 1}\n      - {label: production, weight: 1}\n", "pins.yaml:6: split names version p@1 twice"},
		{"an unknown sticky", "pins:\n  - prompt: p\n    sticky: device\n    split: [{version: 1, weight: 1}, {version: 2, weight: 1}]\n", "sticky \"device\" must be user or session"},
		{"a rollback on a fixed pin", "pins:\n  - prompt: p\n    version: 1\n    rollback: {metric: error_rate, margin: 0.1}\n", "sticky and rollback apply to a split only"},
		{"a rollback without a margin", "pins:\n  - prompt: p\n    split: [{version: 1, weight: 1}, {version: 2, weight: 1}]\n    rollback:\n      metric: error_rate\n", "pins.yaml:5: pin for \"p\": rollback needs a margin"},
		{"a rollback on an unknown metric", "pins:\n  - prompt: p\n    split: [{version: 1, weight: 1}, {version: 2, weight: 1}]\n    rollback: {metric: latency, margin: 1}\n", "rollback metric \"latency\""},
		{"a pin after a catch-all pin", "pins:\n  - prompt: p\n    version: 1\n  - prompt: p\n    match: {feature: [x]}\n    version: 2\n", "pins.yaml:4: pin for \"p\" is unreachable: the pin at pins.yaml:2 matches every request"},
		{"two pins with the same match", "pins:\n  - prompt: p\n    match: {team: [a]}\n    version: 1\n  - prompt: p\n    match: {team: [a]}\n    version: 2\n", "pins.yaml:5: pin for \"p\" is unreachable: the pin at pins.yaml:2 has the same match"},
		{"setting the built-in latest label", "labels:\n  p:\n    latest: 1\n", "pins.yaml:3: labels: \"latest\" is built in"},
		{"a label to an unknown version", "labels:\n  p:\n    production: 7\n", "pins.yaml:3: labels: p production: unknown version \"7\""},
		{"a label with capitals", "labels:\n  p:\n    Prod: 1\n", "label \"Prod\" must be lower-case"},
		{"an unknown key in a pin", "pins:\n  - prompt: p\n    versoin: 1\n", "pins.yaml:3: unknown key \"versoin\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writePrompts(t, map[string]string{"p1.yaml": okPrompt, "p2.yaml": strings.Replace(okPrompt, "version: 1", "version: 2", 1), PinsFileName: tt.pins})
			_, err := LoadPrompts(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPromptLockRejectsAnEditedPublishedVersion(t *testing.T) {
	dir := copyPrompts(t)
	path := filepath.Join(dir, "support-reply", "2.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, to string
		wantErr        bool
	}{
		{"a changed message", "Be {{tone}}.", "Be {{tone}} and brief.", true},
		{"a changed param", "temperature: 0.3", "temperature: 0.4", true},
		{"a changed variable default", "default: friendly", "default: warm", true},
		{"a changed description only", "Adds tone", "Adds the tone", false},
		{"comments and flow style only", "params:\n  temperature: 0.3\n  max_tokens: 400\n", "# tuned\nparams: {max_tokens: 400, temperature: 0.3}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := strings.Replace(string(data), tt.from, tt.to, 1)
			if edited == string(data) {
				t.Fatalf("%q is not in the file", tt.from)
			}
			if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(path, data, 0o644)
			_, err := LoadPrompts(dir)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			want := path + ":2: prompt support-reply@2 changed since it was published"
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "publish a new version") {
				t.Fatalf("err = %v\nwant it to contain %q", err, want)
			}
		})
	}
}

func TestPromptLockRecordsNewVersionsOnly(t *testing.T) {
	dir := copyPrompts(t)
	before, err := LoadPrompts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v := before.Lookup("support-reply", "3"); v.Published {
		t.Fatal("support-reply@3 should start unpublished")
	}
	if w := before.Warnings().Error(); !strings.Contains(w, "3.yaml:2: prompt support-reply@3 is not published") {
		t.Fatalf("warnings = %q", w)
	}
	added, err := WritePromptLock(dir)
	if err != nil || len(added) != 1 || added[0] != "support-reply@3" {
		t.Fatalf("added %v, err %v; want [support-reply@3]", added, err)
	}
	after, err := LoadPrompts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Lookup("support-reply", "3").Published || len(after.Warnings()) != 0 {
		t.Fatalf("after lock: published %v, warnings %v", after.Lookup("support-reply", "3").Published, after.Warnings())
	}
	if after.Version() == before.Version() {
		t.Fatal("the registry version did not change with the lock")
	}
	if added, err := WritePromptLock(dir); err != nil || added != nil {
		t.Fatalf("second lock added %v, err %v; want nothing", added, err)
	}
	// A deleted published version keeps its line, so its number cannot be reused.
	if err := os.Remove(filepath.Join(dir, "support-reply", "1.yaml")); err != nil {
		t.Fatal(err)
	}
	lock, _ := os.ReadFile(filepath.Join(dir, LockFileName))
	if !strings.Contains(string(lock), "support-reply@1: sha256:") {
		t.Fatalf("lock lost a line:\n%s", lock)
	}
}

func TestPromptLoadWarnsAboutUnusedVariables(t *testing.T) {
	r, err := LoadPrompts(writePrompts(t, map[string]string{"p.yaml": "id: p\nversion: 1\nvariables:\n  spare: {}\nmessages:\n  - {role: user, content: hi}\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Warnings().Error(); !strings.Contains(w, "p.yaml:4: prompt p@1: variable \"spare\" is declared but no message uses it") {
		t.Fatalf("warnings = %q", w)
	}
}

func TestPromptReadSkipsHiddenAndOtherFiles(t *testing.T) {
	dir := writePrompts(t, map[string]string{"a/p.yaml": okPrompt, ".git/x.yaml": "junk: [", "notes.txt": "x", "a/.draft.yaml": "junk: ["})
	srcs, err := ReadPrompts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 || !strings.HasSuffix(srcs[0].Name, filepath.Join("a", "p.yaml")) {
		t.Fatalf("sources = %v", srcs)
	}
}

func TestPromptReadFollowsASymlinkedDirectory(t *testing.T) {
	link := filepath.Join(t.TempDir(), "prompts")
	if err := os.Symlink(writePrompts(t, map[string]string{"p.yaml": okPrompt}), link); err != nil {
		t.Skip(err)
	}
	r, err := LoadPrompts(link)
	if err != nil || r.Lookup("p", "1") == nil {
		t.Fatalf("err %v", err)
	}
	if f := r.Lookup("p", "1").File; f != filepath.Join(link, "p.yaml") {
		t.Fatalf("file %q, want it under the link", f)
	}
}
