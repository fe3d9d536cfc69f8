package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/yamlx"
	"github.com/switchyard/switchyard/metering"
)

// Error is one problem in a config file, located by file and line (0 when unknown).
type Error = yamlx.Error

// Errors is every problem found in one load.
type Errors = yamlx.Errors

// Load reads, strictly decodes, resolves and validates the config file at path.
// getenv reads secrets (os.Getenv when nil).
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, getenv)
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// Parse is Load for bytes already read; name is used in error messages.
func Parse(name string, data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c, root, err := decode(name, data)
	if err != nil {
		return nil, err
	}
	if errs := c.resolve(getenv, root); len(errs) > 0 {
		return nil, errs
	}
	c.getenv = getenv
	return c, nil
}

// Reread loads the config file c came from again, with the same secrets source: a
// running gateway takes what may change live (keys, rate limits, prices) from it. It is
// an error for a config that did not come from a file.
func (c *Config) Reread() (*Config, error) {
	if !c.FromFile() {
		return nil, errors.New("config: " + c.file + " is not a file")
	}
	return Load(c.file, c.getenv)
}

// FromFile reports whether c was loaded from a file that can be read again.
func (c *Config) FromFile() bool {
	if c.file == "" || c.getenv == nil {
		return false
	}
	st, err := os.Stat(c.file)
	return err == nil && st.Mode().IsRegular()
}

// decode strictly decodes data into a Config with its defaults applied, and returns the
// document's node tree, which locates later errors by line.
func decode(name string, data []byte) (*Config, *yaml.Node, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, yamlErrors(name, err)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	c.file = name
	c.Defaults()
	return &c, &root, nil
}

// yamlErrors turns yaml.v3's messages ("line 4: field x not found in type ...") into
// file:line errors.
func yamlErrors(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var out Errors
		for _, m := range te.Errors {
			out = append(out, lineError(name, m))
		}
		return out
	}
	return Errors{lineError(name, strings.TrimPrefix(err.Error(), "yaml: "))}
}

func lineError(name, msg string) *Error {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		text := m[2]
		if f := regexp.MustCompile(`field (\S+) not found in type \S+`).FindStringSubmatch(text); f != nil {
			text = "unknown key " + strconv.Quote(f[1])
		}
		return &Error{File: name, Line: n, Msg: text}
	}
	return &Error{File: name, Msg: msg}
}

// resolve reads secrets and validates references; root locates errors by line.
func (c *Config) resolve(getenv func(string) string, root *yaml.Node) Errors {
	var errs Errors
	add := func(line int, format string, a ...any) {
		errs = append(errs, &Error{File: c.file, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	if c.AdminKeyEnv != "" {
		if c.adminKey = getenv(c.AdminKeyEnv); c.adminKey == "" {
			add(lineOf(root, "admin_key_env"), "environment variable %s is empty", c.AdminKeyEnv)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add(lineOf(root, "tls"), "tls needs both cert_file and key_file")
	}
	if len(c.Providers) == 0 {
		add(0, "at least one provider is required")
	}
	providers := map[string]bool{}
	for i := range c.Providers {
		p := &c.Providers[i]
		line := lineOf(root, "providers", strconv.Itoa(i))
		if providers[p.Name] {
			add(line, "provider %q is defined twice", p.Name)
		}
		providers[p.Name] = true
		if err := p.Resolve(getenv); err != nil {
			add(line, "%v", err)
		}
	}
	errs = append(errs, c.resolveMocks(root)...)
	switch {
	case c.Policy != "" && len(c.Models) > 0:
		add(lineOf(root, "models"), "models belong in the policy file when policy is set")
	case c.Policy == "" && len(c.Models) == 0:
		add(0, "at least one model is required (or a policy file)")
	}
	if c.Policy != "" && !filepath.IsAbs(c.Policy) && c.file != "" {
		c.Policy = filepath.Join(filepath.Dir(c.file), c.Policy)
	}
	if c.Prompts != "" && !filepath.IsAbs(c.Prompts) && c.file != "" {
		c.Prompts = filepath.Join(filepath.Dir(c.file), c.Prompts)
	}
	names := map[string]bool{}
	for i, m := range c.Models {
		line := lineOf(root, "models", strconv.Itoa(i))
		if m.Name == "" {
			add(line, "model name is required")
		}
		if !providers[m.Provider] {
			add(line, "model %q refers to unknown provider %q", m.Name, m.Provider)
		}
		for _, n := range append([]string{m.Name}, m.Aliases...) {
			if names[n] {
				add(line, "model name or alias %q is used twice", n)
			}
			names[n] = true
		}
	}
	keyNames := map[string]bool{}
	for i := range c.Keys {
		k := &c.Keys[i]
		line := lineOf(root, "keys", strconv.Itoa(i))
		if k.Name == "" || keyNames[k.Name] {
			add(line, "key name %q is empty or used twice", k.Name)
		}
		keyNames[k.Name] = true
		switch {
		case (k.KeyEnv == "") == (k.SHA256 == ""):
			add(line, "key %q needs exactly one of key_env and sha256", k.Name)
		case k.KeyEnv != "":
			v := getenv(k.KeyEnv)
			if v == "" {
				add(line, "key %q: environment variable %s is empty", k.Name, k.KeyEnv)
			}
			sum := sha256.Sum256([]byte(v))
			k.SHA256 = hex.EncodeToString(sum[:])
		default:
			if b, err := hex.DecodeString(k.SHA256); err != nil || len(b) != sha256.Size {
				add(line, "key %q: sha256 must be 64 hex digits", k.Name)
			}
			k.SHA256 = strings.ToLower(k.SHA256)
		}
	}
	errs = append(errs, c.resolveLedger(getenv, root)...)
	if c.Cache.Enabled {
		if c.Cache.Store == "redis" && c.Cache.Redis.Addr == "" { // the shared redis section
			c.Cache.Redis.Addr, c.Cache.Redis.DB, c.Cache.Redis.PasswordEnv = c.Redis.Addr, c.Redis.DB, c.Redis.PasswordEnv
		}
		if c.Cache.Redis.PasswordEnv != "" {
			c.Cache.Redis.Password = getenv(c.Cache.Redis.PasswordEnv)
		}
		if err := c.Cache.WithDefaults().Validate(); err != nil {
			add(lineOf(root, "cache"), "%v", err)
		}
	}
	if err := c.Batching.Embeddings.Config.Validate(); err != nil {
		add(lineOf(root, "batching", "embeddings"), "%v", err)
	}
	if c.BatchLane.Enabled {
		if err := c.BatchLane.Config.Validate(); err != nil {
			add(lineOf(root, "batch_lane"), "%v", err)
		}
	}
	if err := c.Telemetry.Validate(); err != nil {
		add(lineOf(root, "telemetry"), "%v", err)
	}
	switch c.RateLimits.Store {
	case "memory":
	case "redis":
		if c.Redis.Addr == "" {
			add(lineOf(root, "rate_limits", "store"), "rate_limits.store redis needs redis.addr")
		}
	default:
		add(lineOf(root, "rate_limits", "store"), "rate_limits.store must be memory or redis")
	}
	if err := metering.ValidateLimits(c.RateLimits.Rules); err != nil {
		add(lineOf(root, "rate_limits", "rules"), "%v", err)
	}
	if c.Redis.PasswordEnv != "" {
		if c.Redis.password = getenv(c.Redis.PasswordEnv); c.Redis.password == "" {
			add(lineOf(root, "redis", "password_env"), "environment variable %s is empty", c.Redis.PasswordEnv)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add(lineOf(root, "log", "level"), "log level %q is not debug, info, warn or error", c.Log.Level)
	}
	return errs
}

// resolveLedger reads metering.ledger_env and checks the ledger URL's form. A relative
// sqlite path is left relative: it names a file in the process's working directory, as
// every other relative path the gateway opens at run time (prices.file).
func (c *Config) resolveLedger(getenv func(string) string, root *yaml.Node) Errors {
	var errs Errors
	if c.Metering.LedgerEnv != "" {
		if c.Metering.Ledger = getenv(c.Metering.LedgerEnv); c.Metering.Ledger == "" {
			errs = append(errs, &Error{File: c.file, Line: lineOf(root, "metering", "ledger_env"),
				Msg: fmt.Sprintf("environment variable %s is empty", c.Metering.LedgerEnv)})
		}
	}
	if c.Metering.Ledger != "none" && c.Metering.Ledger != "" {
		if _, err := metering.ParseLedgerURL(c.Metering.Ledger); err != nil {
			errs = append(errs, &Error{File: c.file, Line: lineOf(root, "metering", "ledger"), Msg: err.Error()})
		}
	}
	return errs
}

// lineOf finds the line of the node at path (mapping keys and sequence indexes) in the
// document, or the nearest ancestor that exists; 0 when the document is empty.
func lineOf(root *yaml.Node, path ...string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next = n.Content[i+1]
					line = n.Content[i].Line
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(p); err == nil && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// Embedded returns the embedded default: with OPENAI_API_KEY set, every model goes to
// OPENAI_BASE_URL (default https://api.openai.com/v1) unchanged; without it, the built-in
// mock provider answers every model. No gateway keys: authentication is off.
func Embedded(getenv func(string) string) *Config {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &Config{file: "(embedded default)"}
	if key := getenv("OPENAI_API_KEY"); key != "" {
		base := getenv("OPENAI_BASE_URL")
		if base == "" {
			base = "https://api.openai.com/v1"
		}
		p := provider.Config{Name: "openai", Kind: provider.KindOpenAI, BaseURL: base}
		c.Providers = []provider.Config{p}
	} else {
		c.Providers = []provider.Config{{Name: "mock", Kind: provider.KindMock}}
	}
	c.Models = []Model{{Name: "*", Provider: c.Providers[0].Name}}
	c.Defaults()
	for i := range c.Providers {
		_ = c.Providers[i].Resolve(getenv)
	}
	if key := getenv("OPENAI_API_KEY"); key != "" {
		c.Providers[0].SetKey(key)
	}
	return c
}
