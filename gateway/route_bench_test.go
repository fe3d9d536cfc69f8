package gateway

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/config"
)

// fiftyRoutes writes a 50-route policy: 49 routes matching on feature, team and headers,
// and the default.
func fiftyRoutes(b *testing.B) *Gateway {
	b.Helper()
	var p strings.Builder
	p.WriteString("models:\n")
	for i := range 10 {
		fmt.Fprintf(&p, "  m%d:\n    tier: %d\n    input_price: %d\n    deployments: [{provider: up, model: x%d}, {provider: up, model: y%d}]\n", i, i%3+1, i+1, i, i)
	}
	p.WriteString("routes:\n")
	for i := range 49 {
		fmt.Fprintf(&p, "  - name: r%d\n    match: {feature: [f%d], team: [t%d, other], headers: {x-env: e%d}}\n    strategy: weighted\n    targets: [{model: m%d, weight: 70}, {model: m%d, weight: 30}]\n", i, i, i, i, i%10, (i+1)%10)
	}
	p.WriteString("  - name: default\n    strategy: weighted\n    sticky: user\n    targets: [{model: m1, weight: 50}, {model: m2, weight: 50}]\n")
	dir := b.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, []byte(p.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Parse("b.yaml", []byte("policy: "+path+"\nproviders:\n  - name: up\n    base_url: http://127.0.0.1:9/v1\n"), nil)
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkRouteDecision measures matching a request against a 50-route policy (it falls
// through all 49 conditional routes to the default) and choosing a deployment.
func BenchmarkRouteDecision(b *testing.B) {
	g := fiftyRoutes(b)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetContentType("application/json")
	ctx.Request.Header.Set("X-Env", "prod")
	ctx.Request.SetBody([]byte(`{"model":"m1","user":"alice","messages":[{"role":"user","content":"Hello, how are you today?"}]}`))
	var rec record
	pr, f, err := parseRequest(&ctx, 1, &rec, 128)
	if err != nil {
		b.Fatal(err)
	}
	rec.principal = Principal{Key: "k", Team: "growth", Feature: "search"}
	pl := g.plan.Load()
	b.ReportAllocs()
	for b.Loop() {
		sel, err := g.route(&ctx, pl, &pr, &f, &rec)
		if err != nil || sel.dec.Route != "default" {
			b.Fatal(err, sel.dec.Route)
		}
	}
}
