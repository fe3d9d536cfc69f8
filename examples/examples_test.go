// Package examples_test keeps the example configurations, policies and prompt
// directories, and the full configurations and policies shown in the README and docs/,
// loadable: each must pass the same strict load that `switchyard serve --config` does, and
// every example configuration must build a gateway. Secrets are dummy values; nothing is
// served.
package examples_test

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/gateway"
	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/policies"
)

// dummyEnv stands in for the environment: every variable a config names is set.
func dummyEnv(name string) string { return "dummy-" + strings.ToLower(name) }

func TestEveryExampleConfigLoads(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no example configurations found")
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			cfg, err := config.Load(f, dummyEnv)
			if err != nil {
				t.Fatalf("does not load:\n%v", err)
			}
			if len(cfg.Providers) == 0 {
				t.Errorf("loads with no providers")
			}
			if cfg.Prompts != "" {
				reg, err := policies.LoadPrompts(cfg.Prompts)
				if err != nil {
					t.Fatalf("its prompts %s do not load:\n%v", cfg.Prompts, err)
				}
				if w := reg.Warnings(); len(w) > 0 {
					t.Errorf("its prompts %s load with warnings (lock them with switchyard prompt lock):\n%v",
						cfg.Prompts, w)
				}
			}
			if cfg.Policy == "" {
				return
			}
			names := map[string]bool{}
			for _, p := range cfg.Providers {
				names[p.Name] = true
			}
			if _, err := policies.Load(cfg.Policy, policies.Options{Providers: names}); err != nil {
				t.Fatalf("its policy %s does not load:\n%v", cfg.Policy, err)
			}
		})
	}
}

// TestEveryExampleConfigBuildsAGateway goes one step further than loading: the gateway is
// built from each example, which checks what only the composition root checks (prices,
// the cache, telemetry, rate limit rules against their store, the policy against the
// providers, the prompt registry). The ledger goes to a temporary directory; nothing
// listens and nothing is sent.
func TestEveryExampleConfigBuildsAGateway(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			cfg, err := config.Load(f, dummyEnv)
			if err != nil {
				t.Fatalf("does not load:\n%v", err)
			}
			if cfg.Metering.Ledger != "none" {
				cfg.Metering.Ledger = "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
			}
			g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatalf("does not build a gateway:\n%v", err)
			}
			g.Close()
		})
	}
}

func TestEveryConfigShownInTheDocsLoads(t *testing.T) {
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, "../README.md")
	found := 0
	for _, doc := range docs {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range yamlBlocks(data) {
			var check func() error
			switch {
			case bytes.Contains(b.text, []byte("\nproviders:")):
				check = func() error { _, err := config.Parse(doc, b.text, dummyEnv); return err }
			case bytes.Contains(b.text, []byte("\nroutes:")):
				check = func() error {
					_, err := policies.Compile([]policies.Source{{Name: doc, Data: b.text}}, policies.Options{})
					return err
				}
			default:
				continue // a fragment, not a whole configuration or policy
			}
			found++
			t.Run(doc+":"+strconv.Itoa(b.line), func(t *testing.T) {
				if err := check(); err != nil {
					t.Fatalf("does not load:\n%v", err)
				}
			})
		}
	}
	if found == 0 {
		t.Fatal("no configurations found in the docs")
	}
}

type block struct {
	line int // line of the opening fence
	// text is the block's content after line empty lines, so that the line numbers in
	// load errors are the document's own.
	text []byte
}

// yamlBlocks returns the contents of the ```yaml fenced blocks in a Markdown document.
func yamlBlocks(md []byte) []block {
	var out []block
	var cur *block
	sc := bufio.NewScanner(bytes.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```yaml":
			cur = &block{line: n, text: bytes.Repeat([]byte("\n"), n)}
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text = append(append(cur.text, line...), '\n')
		}
	}
	return out
}
