package messages

import (
	"bytes"
	"encoding/json" // json.Indent only, to keep the golden files readable
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// testMeta is the Meta of every translated answer in the tests.
func testMeta() dialect.Meta {
	return dialect.Meta{ID: "msg_01SwitchyardTest0001", Created: 1735689600, Model: "claude-sonnet-4-5", PromptTokens: 25}
}

// fixtures lists the inputs (not the goldens) in testdata/dir ending in ext.
func fixtures(t testing.TB, dir, ext string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var ins []string
	for _, p := range all {
		if !strings.HasSuffix(p, ".golden"+ext) {
			ins = append(ins, p)
		}
	}
	if len(ins) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	return ins
}

func goldenPath(in, ext string) string { return strings.TrimSuffix(in, ext) + ".golden" + ext }

func fixtureName(in, ext string) string { return strings.TrimSuffix(filepath.Base(in), ext) }

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func indentJSON(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("indenting %s: %v", b, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func parseJSON(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := jsonx.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}

// checkGoldenJSON compares got with the golden file as parsed JSON, or rewrites the
// golden file under -update.
func checkGoldenJSON(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		writeFile(t, path, indentJSON(t, got))
		return
	}
	want := readFile(t, path)
	if !reflect.DeepEqual(parseJSON(t, got), parseJSON(t, want)) {
		t.Errorf("%s does not match\n got: %s\nwant: %s", path, indentJSON(t, got), want)
	}
}

// checkGoldenBytes compares got with the golden file byte for byte, or rewrites it
// under -update.
func checkGoldenBytes(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		writeFile(t, path, got)
		return
	}
	if want := readFile(t, path); !bytes.Equal(got, want) {
		t.Errorf("%s does not match\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
