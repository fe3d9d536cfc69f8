package policies

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseNamesTheEmptyPolicyFile(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"an empty file", ""},
		{"a file of comments only", "# routes come later\n\n"},
		{"a file holding a lone null", "~\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is an error that names it", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "routing.yaml")
			if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			srcs, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(srcs)
			if err == nil {
				t.Fatal("an empty policy file parsed")
			}
			if !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), "empty") {
				t.Fatalf("error %q does not name %s and say it is empty", err, path)
			}
		})
	}
}
