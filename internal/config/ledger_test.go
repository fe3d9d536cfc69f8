package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const minimal = `providers:
  - name: m
    kind: mock
models:
  - name: "*"
    provider: m
`

func TestARelativeSQLiteLedgerIsRelativeToTheWorkingDirectory(t *testing.T) {
	tests := []struct {
		name, metering, want string
	}{
		{"a relative path stays relative (the working directory)", "metering:\n  ledger: sqlite:data/ledger.db\n", "sqlite:data/ledger.db"},
		{"the default is in the working directory", "", "sqlite:switchyard-ledger.db"},
		{"an absolute path is kept", "metering:\n  ledger: sqlite:/var/lib/switchyard/ledger.db\n", "sqlite:/var/lib/switchyard/ledger.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("/etc/switchyard/config.yaml", []byte(minimal+tt.metering), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			if c.Metering.Ledger != tt.want {
				t.Fatalf("ledger %q, want %q", c.Metering.Ledger, tt.want)
			}
		})
	}
}

func TestLedgerIsTheOneServeWouldUse(t *testing.T) {
	write := func(t *testing.T, body string) string {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	env := func(k string) string {
		if k == "LEDGER_URL" {
			return "postgres://u:p@db/switchyard"
		}
		return ""
	}
	withKey := minimal + "keys:\n  - name: app\n    key_env: APP_KEY\n"
	tests := []struct {
		name, body, want, err string
		noFile                bool
	}{
		{name: "without a config file it is the embedded default's", noFile: true, want: DefaultLedger},
		{name: "a config without metering uses the default", body: minimal, want: DefaultLedger},
		{name: "metering.ledger is used as written", body: minimal + "metering:\n  ledger: sqlite:l.db\n", want: "sqlite:l.db"},
		{name: "metering.ledger_env wins", body: minimal + "metering:\n  ledger: sqlite:l.db\n  ledger_env: LEDGER_URL\n", want: "postgres://u:p@db/switchyard"},
		{name: "the secrets of other sections need not be set", body: withKey, want: DefaultLedger},
		{name: "an empty ledger_env is an error with its line", body: minimal + "metering:\n  ledger_env: NOPE\n", err: ":8: environment variable NOPE is empty"},
		{name: "an unknown key is an error with its line", body: minimal + "meterng:\n  ledger: x\n", err: `:7: unknown key "meterng"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if !tt.noFile {
				path = write(t, tt.body)
			}
			got, err := Ledger(path, env)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Ledger = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
