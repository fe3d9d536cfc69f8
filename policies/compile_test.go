package policies

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const base = `models:
  mini:
    deployments: [{provider: openai}]
  big:
    aliases: [large]
    deployments: [{provider: openai}]
`

func compileString(t *testing.T, doc string, providers ...string) (*Snapshot, error) {
	t.Helper()
	opts := Options{}
	if len(providers) > 0 {
		opts.Providers = map[string]bool{}
		for _, p := range providers {
			opts.Providers[p] = true
		}
	}
	return Compile([]Source{{Name: "p.yaml", Data: []byte(doc)}}, opts)
}

func TestCompileRejectsBadPolicies(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"an unknown key is reported at its line", base + "routes:\n  - name: d\n    targets: [{model: mini}]\n    stratgy: weighted\n", "p.yaml:10: unknown key \"stratgy\""},
		{"a route to an unknown model", base + "routes:\n  - name: d\n    targets: [{model: nope}]\n", "p.yaml:9: route \"d\": unknown model \"nope\""},
		{"a deployment on an unknown provider", "models:\n  m:\n    deployments:\n      - provider: azure\nroutes:\n  - name: d\n    targets: [{model: m}]\n", "p.yaml:4: model \"m\": unknown provider \"azure\""},
		{"no default route", base + "routes:\n  - name: a\n    match: {feature: [x]}\n    targets: [{model: mini}]\n", "p.yaml:8: no default route"},
		{"a route after the default is unreachable", base + "routes:\n  - name: d\n    targets: [{model: mini}]\n  - name: late\n    match: {feature: [x]}\n    targets: [{model: mini}]\n", "p.yaml:10: route \"late\" is unreachable: route \"d\" (p.yaml:8) matches every request"},
		{"a route with the same match as an earlier one is unreachable", base + "routes:\n  - name: a\n    match: {feature: [x]}\n    targets: [{model: mini}]\n  - name: b\n    match: {feature: [x]}\n    targets: [{model: big}]\n  - name: d\n    targets: [{model: mini}]\n", "p.yaml:11: route \"b\" is unreachable: route \"a\" (p.yaml:8) has the same match"},
		{"negative weights", base + "routes:\n  - name: d\n    targets: [{model: mini, weight: -1}, {model: big, weight: 5}]\n", "weight must not be negative"},
		{"weights adding up to zero", base + "routes:\n  - name: d\n    targets: [{model: mini, weight: 0}, {model: big, weight: 0}]\n", "weights must add up to more than 0"},
		{"an unknown strategy", base + "routes:\n  - name: d\n    strategy: fastest\n    targets: [{model: mini}]\n", "unknown strategy \"fastest\""},
		{"a cycle in model fallbacks", "models:\n  a:\n    fallback: [b]\n    deployments: [{provider: p}]\n  b:\n    fallback: [a]\n    deployments: [{provider: p}]\nroutes:\n  - name: d\n    targets: [{model: a}]\n", "fallback chain has a cycle: a -> b -> a"},
		{"a fallback to an unknown model", base + "routes:\n  - name: d\n    targets: [{model: mini}]\n    fallback:\n      - on: [rate_limit]\n        to: [ghost]\n", "p.yaml:11: route \"d\": fallback to unknown model \"ghost\""},
		{"an unknown error class", base + "routes:\n  - name: d\n    targets: [{model: mini}]\n    fallback:\n      - on: [teapot]\n        to: [big]\n", "unknown error class \"teapot\""},
		{"complexity tiers out of order", base + "routes:\n  - name: d\n    strategy: complexity\n    targets: [{model: mini}, {model: big}]\n    tiers:\n      - {name: easy, below: 0.5, model: mini}\n      - {name: mid, below: 0.3, model: big}\n      - {name: hard, model: big}\n", "tier bounds must increase"},
		{"a complexity tier model outside the targets", base + "routes:\n  - name: d\n    strategy: complexity\n    targets: [{model: mini}]\n    tiers:\n      - {name: easy, below: 0.5, model: mini}\n      - {name: hard, model: big}\n", "tier model \"big\" is not one of the route's targets"},
		{"an alias that shadows a model", "models:\n  a:\n    deployments: [{provider: p}]\n  b:\n    aliases: [a]\n    deployments: [{provider: p}]\nroutes:\n  - name: d\n    targets: [{model: a}]\n", "alias \"a\" of model \"b\" is already"},
		{"a model without deployments", "models:\n  a: {tier: 2}\nroutes:\n  - name: d\n    targets: [{model: a}]\n", "p.yaml:2: model \"a\" has no deployments"},
		{"sticky on a non-weighted route", base + "routes:\n  - name: d\n    sticky: user\n    targets: [{model: mini}]\n", "sticky applies to the weighted strategy only"},
		{"$requested alongside other targets", base + "routes:\n  - name: d\n    targets: [{model: $requested}, {model: mini}]\n", "must be the only target"},
		{"a syntax error", base + "routes: [\n", "p.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileString(t, tt.doc, "openai", "p")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTheShippedExamplePolicyCompiles(t *testing.T) {
	snap, err := Load("testdata/routing.yaml", Options{Providers: map[string]bool{"openai": true, "azure": true, "anthropic": true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Routes) != 6 || snap.Models["gpt4o"].Name != "gpt-4o" || snap.Version == "" {
		t.Fatalf("routes %d, alias %v", len(snap.Routes), snap.Models["gpt4o"])
	}
}

func TestVersionIsAContentHash(t *testing.T) {
	a := Version([]Source{{Name: "x.yaml", Data: []byte("a: 1")}})
	b := Version([]Source{{Name: "x.yaml", Data: []byte("a: 2")}})
	c := Version([]Source{{Name: "/other/dir/x.yaml", Data: []byte("a: 1")}})
	if a == b || a != c {
		t.Fatalf("versions %s %s %s", a, b, c)
	}
}

func TestADirectoryMergesFilesAndRejectsDuplicateModels(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("10-models.yaml", base)
	write("20-routes.yml", "routes:\n  - name: d\n    targets: [{model: large}]\n")
	write("README.md", "not a policy")
	snap, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Sources) != 2 || snap.Routes[0].Targets[0].Model != "large" {
		t.Fatalf("sources %v", snap.Sources)
	}
	write("30-dup.yaml", "models:\n  mini:\n    deployments: [{provider: openai}]\n")
	_, err = Load(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "30-dup.yaml:3: model \"mini\" is already defined at") {
		t.Fatalf("err = %v", err)
	}
}
