package policies

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// padded returns a valid policy of exactly size bytes: good, then a comment filling the rest.
func padded(t *testing.T, good string, size int) []byte {
	t.Helper()
	if size < len(good)+2 {
		t.Fatalf("size %d is smaller than the policy", size)
	}
	b := make([]byte, 0, size)
	b = append(b, good...)
	b = append(b, '#')
	b = append(b, bytes.Repeat([]byte("x"), size-len(b)-1)...)
	return append(b, '\n')
}

func TestReadCapsThePolicySize(t *testing.T) {
	good := base + "routes:\n  - name: d\n    targets: [{model: mini}]\n"
	for _, tc := range []struct {
		name  string
		files map[string]int // file name -> size; "" means the path is the file itself
		over  string         // the file named in the error; "" means no error
	}{
		{"A file at the limit is read.", map[string]int{"": MaxPolicyBytes}, ""},
		{"A file one byte over the limit is refused.", map[string]int{"": MaxPolicyBytes + 1}, "p.yaml"},
		{"A 20 MB file is refused.", map[string]int{"": 20 << 20}, "p.yaml"},
		{"A directory whose files fit together is read.", map[string]int{"a.yaml": 1 << 20, "b.yaml": 2 << 20}, ""},
		{"A directory whose files add up past the limit is refused at the file that crosses it.",
			map[string]int{"a.yaml": 3 << 20, "b.yaml": 3 << 20}, "b.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "p.yaml")
			for name, size := range tc.files {
				file := path
				if name != "" {
					path, file = dir, filepath.Join(dir, name)
				}
				if err := os.WriteFile(file, padded(t, good, size), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			srcs, err := Read(path)
			var tl *TooLargeError
			if tc.over == "" {
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if _, err := Compile(srcs, Options{}); err != nil && len(tc.files) == 1 {
					t.Fatalf("Compile: %v", err)
				}
				return
			}
			if !errors.As(err, &tl) {
				t.Fatalf("Read = %d sources, %v; want a *TooLargeError", len(srcs), err)
			}
			if filepath.Base(tl.File) != tc.over || tl.Limit != MaxPolicyBytes || tl.Size <= MaxPolicyBytes {
				t.Errorf("error %+v", tl)
			}
			if !strings.HasPrefix(err.Error(), tl.File+":1: the policy is ") || !strings.Contains(err.Error(), "over the limit of 4194304 bytes (4 MiB)") {
				t.Errorf("message %q", err)
			}
		})
	}
}

func TestReloaderKeepsTheLastGoodPolicyWhenTheFileGrowsPastTheLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	good := base + "routes:\n  - name: d\n    targets: [{model: mini}]\n"
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var current atomic.Pointer[Snapshot]
	r, err := NewReloader(path, Options{}, func(s *Snapshot) error { current.Store(s); return nil },
		slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	v1 := current.Load().Version
	if err := os.WriteFile(path, padded(t, good, 20<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 5 { // five polls of the same oversized file
		var tl *TooLargeError
		if err := r.Reload(); !errors.As(err, &tl) {
			t.Fatalf("poll %d: Reload = %v, want a *TooLargeError", i, err)
		}
	}
	st := r.Status()
	if current.Load().Version != v1 || st.Version != v1 || st.Rejected != 1 || !strings.Contains(st.LastError, "p.yaml:1: the policy is 20971520 bytes") {
		t.Fatalf("after an oversized file: status %+v", st)
	}
	if n := strings.Count(logs.String(), "policy rejected"); n != 1 {
		t.Errorf("%d rejection lines for five polls of one oversized file, want 1:\n%s", n, logs.String())
	}
	better := base + "routes:\n  - name: d2\n    targets: [{model: big}]\n"
	if err := os.WriteFile(path, []byte(better), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if current.Load().Routes[0].Name != "d2" || r.Status().Reloads != 2 {
		t.Fatalf("the policy did not reload once the file was fixed: %+v", r.Status())
	}
}

func TestParseRefusesAMappingOverTheKeyLimitBeforeDecoding(t *testing.T) {
	var b strings.Builder
	b.WriteString("# a catalogue too large to decode in reasonable time\nmodels:\n")
	for i := range MaxMappingKeys + 1 {
		fmt.Fprintf(&b, "  m%d:\n    deployments: [{provider: p}]\n", i)
	}
	b.WriteString("routes:\n  - name: d\n    targets: [{model: m0}]\n")
	_, err := Parse([]Source{{Name: "big.yaml", Data: []byte(b.String())}})
	want := "big.yaml:3: a mapping with 4097 keys, over the limit of 4096"
	if err == nil || err.Error() != want {
		t.Fatalf("Parse = %v, want %q", err, want)
	}
}

func TestAPromptDirectoryOverTheCapIsRefusedBeforeParsing(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, MaxPolicyBytes/2+1)
	for i := range big {
		big[i] = '#'
	}
	for _, name := range []string{"a.yaml", "b.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, name), big, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := ReadPrompts(dir)
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v, want a TooLargeError", err)
	}
}
