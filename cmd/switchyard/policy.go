package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/switchyard/switchyard/gateway"
	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/yamlx"
	"github.com/switchyard/switchyard/policies"
)

// policyCmd runs `switchyard policy check|explain`.
func policyCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "check":
		return policyCheck(args[1:], getenv, stdout, stderr)
	case "explain":
		return policyExplain(args[1:], getenv, stdout, stderr)
	}
	fmt.Fprintf(stderr, "switchyard policy: unknown subcommand %q\n%s", args[0], usage)
	return 2
}

// policyCheck validates a policy file or directory; with --config it also checks that
// every provider it names exists. Problems are printed one per line as file:line: message.
func policyCheck(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "gateway config whose providers the policy may name (and whose prompts are checked)")
	promptsDir := fs.String("prompts", "", "prompt registry directory to check as well")
	if err := fs.Parse(reorder(args)); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: switchyard policy check [--config FILE] [--prompts DIR] FILE|DIR")
		return 2
	}
	opts := policies.Options{}
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath, lenientEnv(getenv))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		opts.Providers = map[string]bool{}
		for _, p := range cfg.Providers {
			opts.Providers[p.Name] = true
		}
		if *promptsDir == "" {
			*promptsDir = cfg.Prompts
		}
	}
	snap, err := policies.Load(fs.Arg(0), opts)
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	if *promptsDir != "" {
		reg, err := policies.LoadPrompts(*promptsDir)
		if err != nil {
			printErrors(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "ok: prompts %s, %d prompts\n", reg.Version(), len(reg.IDs()))
		for _, w := range reg.Warnings() {
			fmt.Fprintln(stderr, "warning:", w)
		}
	}
	models := 0
	for n, m := range snap.Models {
		if n == m.Name {
			models++
		}
	}
	fmt.Fprintf(stdout, "ok: policy %s, %d files, %d models, %d routes\n", snap.Version, len(snap.Sources), models, len(snap.Routes))
	return 0
}

// printErrors prints file:line problems one per line.
func printErrors(w io.Writer, err error) {
	var es yamlx.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Fprintln(w, e)
		}
		return
	}
	fmt.Fprintln(w, err)
}

// lenientEnv lets a config load for checking without its secrets in the environment.
func lenientEnv(getenv func(string) string) func(string) string {
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return "unset-for-check"
	}
}

type headerFlags map[string]string

func (h headerFlags) String() string { return "" }
func (h headerFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("header %q is not K:V", v)
	}
	h[strings.TrimSpace(k)] = strings.TrimSpace(val)
	return nil
}

// policyExplain routes one request body with the full configuration and prints the
// matched route, the candidates and the chosen deployment, sending nothing upstream.
func policyExplain(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "gateway config (required)")
	reqPath := fs.String("request", "", "request body JSON file, - for stdin (required)")
	key := fs.String("key", "", "gateway key name to attribute the request to")
	headers := headerFlags{}
	fs.Var(headers, "header", "request header K:V (repeatable)")
	if err := fs.Parse(args); err != nil || *cfgPath == "" || *reqPath == "" {
		fmt.Fprintln(stderr, "usage: switchyard policy explain --config FILE --request body.json [--header K:V]... [--key NAME]")
		return 2
	}
	cfg, err := config.Load(*cfgPath, lenientEnv(getenv))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	cfg.Metering.Ledger = "none" // explaining records nothing
	var body []byte
	if *reqPath == "-" {
		body, err = io.ReadAll(os.Stdin)
	} else {
		body, err = os.ReadFile(*reqPath)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer g.Close()
	ex, err := g.Explain(body, headers, *key)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	printExplanation(stdout, ex)
	return 0
}

func printExplanation(w io.Writer, ex *gateway.Explanation) {
	fmt.Fprintf(w, "policy    %s\nroute     %s (strategy %s)\nprincipal key=%s team=%s feature=%s\nprompt    ~%d tokens\n",
		ex.PolicyVersion, ex.Route, ex.Strategy, ex.Principal.Key, ex.Principal.Team, ex.Principal.Feature, ex.PromptTokens)
	if ex.Tier != "" {
		fmt.Fprintf(w, "tier      %s (score %.2f)\n", ex.Tier, ex.Score)
	}
	fmt.Fprintln(w, "candidates:")
	for _, c := range ex.Candidates {
		mark := " "
		if c.Deployment == ex.Chosen.Deployment && c.Model == ex.Chosen.Model {
			mark = "*"
		}
		fmt.Fprintf(w, "  %s %-20s %-28s weight %-6g available %v\n", mark, c.Model, c.Deployment, c.Weight, c.Available)
	}
	fmt.Fprintf(w, "chosen    %s via %s (upstream model %q)\nreason    %s\n", ex.Chosen.Model, ex.Chosen.Deployment, ex.Chosen.UpstreamModel, ex.Reason)
	if len(ex.Fallbacks) > 0 {
		fmt.Fprintf(w, "fallbacks %s\n", strings.Join(ex.Fallbacks, ", "))
	}
	b, _ := jsonx.Marshal(ex)
	fmt.Fprintf(w, "json      %s\n", b)
}

// reorder moves flags before positional arguments so "check FILE --config X" works.
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}
