// Package deploy_test keeps the deployment files in this directory honest without a
// cluster or a Docker daemon: the Compose file and the Kubernetes manifests are parsed and
// checked for what a deployment needs (the image, ports, probes, secrets, configs that the
// gateway's own loader accepts), the probe paths are asked of a real gateway, and the
// Dockerfile's health check is run against a listening server. `kubectl kustomize` is run
// too when kubectl is installed.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/internal/testutil"
	"github.com/switchyard/switchyard/policies"
)

// m is a decoded YAML mapping.
type m = map[string]any

func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case m:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path ...string) string { s, _ := get(v, path...).(string); return s }

func list(v any, path ...string) []any { l, _ := get(v, path...).([]any); return l }

// readDocs decodes every YAML document in file.
func readDocs(t *testing.T, file string) []m {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []m
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc m
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, doc)
	}
}

// envOf returns a getenv over a container's environment, secrets included as dummies.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// probePaths are the paths the gateway must answer 200 on for probes to make sense.
var probePaths = []string{"/healthz", "/readyz"}

func TestTheGatewayAnswersTheProbePaths(t *testing.T) {
	g := testutil.StartGateway(t, "providers:\n  - name: m\n    kind: mock\nmodels:\n  - name: \"*\"\n    provider: m\n", nil)
	for _, p := range probePaths {
		resp, err := g.HTTP.Get(g.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d, want 200", p, resp.StatusCode)
		}
	}
}

// checkGatewayConfig loads the config at path as serve would, with env, and its policy
// against its providers, and its prompts.
func checkGatewayConfig(t *testing.T, path string, env func(string) string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path, env)
	if err != nil {
		t.Fatalf("the gateway config does not load:\n%v", err)
	}
	names := map[string]bool{}
	for _, p := range cfg.Providers {
		names[p.Name] = true
	}
	if cfg.Policy != "" {
		if _, err := policies.Load(cfg.Policy, policies.Options{Providers: names}); err != nil {
			t.Fatalf("its policy does not load:\n%v", err)
		}
	}
	if cfg.Prompts != "" {
		reg, err := policies.LoadPrompts(cfg.Prompts)
		if err != nil {
			t.Fatalf("its prompts do not load:\n%v", err)
		}
		if w := reg.Warnings(); len(w) > 0 {
			t.Errorf("its prompts load with warnings: %v", w)
		}
	}
	if strings.HasPrefix(cfg.Metering.Ledger, "sqlite:") {
		t.Errorf("a replicated deployment keeps its ledger in a local SQLite file (%s); replicas need postgres", cfg.Metering.Ledger)
	}
	return cfg
}

func TestComposeRunsTwoReplicasBehindALoadBalancer(t *testing.T) {
	doc := readDocs(t, "compose.yaml")[0]
	services, _ := doc["services"].(m)
	for _, want := range []string{"lb", "redis", "postgres", "otel-collector", "prometheus", "grafana"} {
		if services[want] == nil {
			t.Errorf("compose.yaml has no %s service", want)
		}
	}
	var gateways []string
	for name, s := range services {
		if str(s, "build", "context") == ".." && str(s, "build", "dockerfile") == "Dockerfile" {
			gateways = append(gateways, name)
		}
	}
	slices.Sort(gateways)
	if len(gateways) < 2 {
		t.Fatalf("compose.yaml builds %d gateway replicas from the Dockerfile, want at least 2", len(gateways))
	}
	for _, name := range gateways {
		s := services[name]
		envMap, _ := get(s, "environment").(m)
		env := map[string]string{}
		for k, v := range envMap {
			env[k], _ = v.(string)
		}
		listen := env["SWITCHYARD_LISTEN"]
		if _, port, _ := net.SplitHostPort(listen); port != "8080" {
			t.Errorf("%s listens on %q; the load balancer and Prometheus expect port 8080", name, listen)
		}
		cfgPath := env["SWITCHYARD_CONFIG"]
		var mounted string
		for _, v := range list(s, "volumes") {
			src, rest, _ := strings.Cut(v.(string), ":")
			dst, mode, _ := strings.Cut(rest, ":")
			if strings.HasPrefix(cfgPath, dst+"/") {
				mounted = filepath.Join(src, strings.TrimPrefix(cfgPath, dst+"/"))
				if mode != "ro" {
					t.Errorf("%s mounts its config %s read-write; the example is a read-only mount", name, src)
				}
			}
		}
		if mounted == "" {
			t.Fatalf("%s: SWITCHYARD_CONFIG %q is not in a mounted directory", name, cfgPath)
		}
		t.Run(name+" config", func(t *testing.T) {
			cfg := checkGatewayConfig(t, mounted, envOf(env))
			if cfg.Redis.Addr == "" || services[strings.Split(cfg.Redis.Addr, ":")[0]] == nil {
				t.Errorf("redis.addr %q is not a compose service", cfg.Redis.Addr)
			}
			if cfg.RateLimits.Store != "redis" || !cfg.Cache.Enabled || cfg.Cache.Store != "redis" {
				t.Errorf("replicas must share limits and cache in Redis: rate_limits.store %q, cache %v/%q",
					cfg.RateLimits.Store, cfg.Cache.Enabled, cfg.Cache.Store)
			}
			if !strings.Contains(cfg.Metering.Ledger, "@postgres:") {
				t.Errorf("the ledger %q is not the compose postgres service", cfg.Metering.Ledger)
			}
		})
	}
	nginx, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gateways {
		if !bytes.Contains(nginx, []byte("server "+g+":8080")) {
			t.Errorf("nginx.conf does not balance over %s:8080", g)
		}
	}
	if !bytes.Contains(nginx, []byte("proxy_buffering off")) {
		t.Error("nginx.conf buffers responses: streams would arrive in one piece")
	}
	prom := readDocs(t, "prometheus.yml")[0]
	targets := list(prom, "scrape_configs", "0", "static_configs", "0", "targets")
	for _, g := range gateways {
		if !slices.Contains(targets, any(g+":8080")) {
			t.Errorf("prometheus.yml does not scrape %s:8080 (targets %v)", g, targets)
		}
	}
	if p := str(prom, "scrape_configs", "0", "metrics_path"); p != "/metrics" {
		t.Errorf("prometheus scrapes %q, want /metrics", p)
	}
	for _, v := range list(services["grafana"], "volumes") {
		src, _, _ := strings.Cut(v.(string), ":")
		if _, err := os.Stat(src); err != nil {
			t.Errorf("grafana mounts %s: %v", src, err)
		}
	}
	for _, v := range list(services["otel-collector"], "volumes") {
		src, _, _ := strings.Cut(v.(string), ":")
		if _, err := os.Stat(src); err != nil {
			t.Errorf("the collector mounts %s: %v", src, err)
		}
	}
}

// prometheusNames reads the metric names docs/telemetry.md documents (the Prometheus
// column of its metrics table).
func prometheusNames(t *testing.T) map[string]bool {
	data, err := os.ReadFile("../docs/telemetry.md")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	row := regexp.MustCompile("(?m)^\\| `[a-z_.]+` \\| `([a-zA-Z_]+)` \\|")
	for _, mm := range row.FindAllSubmatch(data, -1) {
		n := string(mm[1])
		names[n] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			names[n+suffix] = true
		}
	}
	if len(names) < 10 {
		t.Fatalf("found only %d metric names in docs/telemetry.md", len(names))
	}
	return names
}

func TestTheGrafanaDashboardQueriesDocumentedMetrics(t *testing.T) {
	data, err := os.ReadFile("grafana/dashboards/switchyard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatal("the dashboard has no uid or no panels")
	}
	known := prometheusNames(t)
	metric := regexp.MustCompile(`\b(switchyard_[a-zA-Z_]+|gen_ai_[a-z_]+)\b`)
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			for _, name := range metric.FindAllString(tg.Expr, -1) {
				if !known[name] && !strings.HasPrefix(name, "switchyard_route") && !labelName(name) {
					t.Errorf("panel %q queries %s, which docs/telemetry.md does not list", p.Title, name)
				}
			}
		}
	}
	prov := readDocs(t, "grafana/provisioning/dashboards/switchyard.yaml")[0]
	if str(prov, "providers", "0", "options", "path") != "/var/lib/grafana/dashboards" {
		t.Error("the dashboard provider does not read the directory compose.yaml mounts")
	}
}

// labelName reports whether a matched word is a label (switchyard_feature…), not a metric.
func labelName(s string) bool {
	switch s {
	case "switchyard_feature", "switchyard_team", "switchyard_cache_outcome", "switchyard_deployment", "switchyard_provider",
		"gen_ai_response_model", "gen_ai_request_model", "gen_ai_token_type", "gen_ai_provider_name", "gen_ai_operation_name":
		return true
	}
	return false
}

// kube reads every manifest under kubernetes/, keyed by kind.
func kube(t *testing.T) map[string]m {
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]m{}
	for _, f := range files {
		for _, d := range readDocs(t, f) {
			kind := str(d, "kind")
			if kind == "" || (str(d, "apiVersion") == "" && kind != "Kustomization") {
				t.Errorf("%s: a document without kind or apiVersion", f)
			}
			if kind == "Secret" && !strings.HasSuffix(f, ".example.yaml") {
				t.Errorf("%s: a Secret with values belongs in an .example.yaml, not in the applied manifests", f)
			}
			out[kind] = d
		}
	}
	return out
}

func TestKubernetesManifestsHaveTheEssentials(t *testing.T) {
	k := kube(t)
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Kustomization", "Secret"} {
		if k[kind] == nil {
			t.Fatalf("deploy/kubernetes has no %s", kind)
		}
	}
	dep := k["Deployment"]
	name := str(dep, "metadata", "name")
	labels, _ := get(dep, "spec", "template", "metadata", "labels").(m)
	selector, _ := get(dep, "spec", "selector", "matchLabels").(m)
	for key, v := range selector {
		if labels[key] != v {
			t.Errorf("the Deployment's selector %s=%v does not match its pods", key, v)
		}
	}
	c := get(dep, "spec", "template", "spec", "containers", "0")
	if img := str(c, "image"); !strings.HasPrefix(img, "switchyard:") && !strings.Contains(img, "/switchyard:") {
		t.Errorf("image %q is not the switchyard image", img)
	}
	secret := k["Secret"]
	data, _ := get(secret, "stringData").(m)
	env := map[string]string{}
	for _, e := range list(c, "env") {
		n := str(e, "name")
		env[n] = str(e, "value")
		if ref := str(e, "valueFrom", "secretKeyRef", "name"); ref != "" {
			key := str(e, "valueFrom", "secretKeyRef", "key")
			if ref != str(secret, "metadata", "name") || data[key] == nil {
				t.Errorf("the Deployment references secret %s key %s, which secret.example.yaml does not have", ref, key)
			}
			env[n], _ = data[key].(string) // the example's value stands in for the real one
		}
	}
	_, port, _ := net.SplitHostPort(env["SWITCHYARD_LISTEN"])
	var httpPort string
	for _, p := range list(c, "ports") {
		if str(p, "name") == "http" {
			httpPort = strconv.Itoa(get(p, "containerPort").(int))
		}
	}
	if port == "" || port != httpPort {
		t.Errorf("SWITCHYARD_LISTEN %q and the http containerPort %s disagree", env["SWITCHYARD_LISTEN"], httpPort)
	}
	probed := map[string]bool{}
	for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		path := str(c, probe, "httpGet", "path")
		if path == "" || str(c, probe, "httpGet", "port") != "http" {
			t.Errorf("%s is not an HTTP probe on the http port", probe)
		}
		probed[path] = true
	}
	if str(c, "readinessProbe", "httpGet", "path") != "/readyz" || str(c, "livenessProbe", "httpGet", "path") != "/healthz" {
		t.Error("readiness must probe /readyz and liveness /healthz")
	}
	for p := range probed {
		if !slices.Contains(probePaths, p) {
			t.Errorf("a probe asks for %s, which TestTheGatewayAnswersTheProbePaths does not check", p)
		}
	}
	svc := k["Service"]
	if str(svc, "spec", "ports", "0", "targetPort") != "http" {
		t.Error("the Service does not target the http port")
	}
	for key, v := range selector {
		if get(svc, "spec", "selector", key) != v || get(k["PodDisruptionBudget"], "spec", "selector", "matchLabels", key) != v {
			t.Errorf("the Service or the PodDisruptionBudget does not select the Deployment's pods (%s=%v)", key, v)
		}
	}
	if str(k["HorizontalPodAutoscaler"], "spec", "scaleTargetRef", "name") != name {
		t.Error("the HPA does not scale the Deployment")
	}
	t.Run("the ConfigMap's config loads as serve loads it", func(t *testing.T) {
		checkConfigMap(t, k["ConfigMap"], dep, env)
	})
}

// checkConfigMap writes the ConfigMap's items where the Deployment mounts them and loads
// the config from there, with the container's environment.
func checkConfigMap(t *testing.T, cm, dep m, env map[string]string) {
	c := get(dep, "spec", "template", "spec", "containers", "0")
	cfgPath := env["SWITCHYARD_CONFIG"]
	var mountPath, volume string
	for _, vm := range list(c, "volumeMounts") {
		if mp := str(vm, "mountPath"); strings.HasPrefix(cfgPath, mp+"/") {
			mountPath, volume = mp, str(vm, "name")
			if get(vm, "readOnly") != true {
				t.Errorf("the config is mounted read-write at %s", mp)
			}
		}
	}
	if mountPath == "" {
		t.Fatalf("SWITCHYARD_CONFIG %q is not under a volume mount", cfgPath)
	}
	root := t.TempDir()
	data, _ := get(cm, "data").(m)
	for _, v := range list(dep, "spec", "template", "spec", "volumes") {
		if str(v, "name") != volume {
			continue
		}
		if str(v, "configMap", "name") != str(cm, "metadata", "name") {
			t.Fatalf("volume %s is not the ConfigMap %s", volume, str(cm, "metadata", "name"))
		}
		items := list(v, "configMap", "items")
		if len(items) != len(data) {
			t.Errorf("the volume mounts %d of the ConfigMap's %d keys", len(items), len(data))
		}
		for _, it := range items {
			body, ok := data[str(it, "key")].(string)
			if !ok {
				t.Fatalf("the volume mounts key %s, which the ConfigMap does not have", str(it, "key"))
			}
			p := filepath.Join(root, str(it, "path"))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkGatewayConfig(t, filepath.Join(root, strings.TrimPrefix(cfgPath, mountPath+"/")), envOf(env))
}

func TestKubectlKustomizeRendersTheManifests(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	out, err := exec.Command(kubectl, "kustomize", "kubernetes").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, out)
	}
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler"} {
		if !bytes.Contains(out, []byte("\nkind: "+kind+"\n")) {
			t.Errorf("kubectl kustomize renders no %s", kind)
		}
	}
}

// healthCheck returns the shell command of the Dockerfile's HEALTHCHECK and the value its
// ENV gives SWITCHYARD_LISTEN.
func healthCheck(t *testing.T) (cmd, listen string) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, "HEALTHCHECK "); ok {
			if parts := regexp.MustCompile(`\s+CMD\s+`).Split(rest, 2); len(parts) == 2 {
				cmd = parts[1]
			}
		}
		if rest, ok := strings.CutPrefix(line, "ENV SWITCHYARD_LISTEN="); ok {
			listen = strings.TrimSpace(rest)
		}
		if strings.HasPrefix(line, "CMD ") && strings.Contains(line, "--listen") {
			t.Errorf("the Dockerfile's CMD sets --listen, which the health check cannot follow: %s", line)
		}
	}
	if cmd == "" || listen == "" {
		t.Fatalf("the Dockerfile has no HEALTHCHECK CMD (%q) or no ENV SWITCHYARD_LISTEN (%q)", cmd, listen)
	}
	return strings.TrimSpace(cmd), listen
}

func TestTheDockerHealthCheckFollowsTheListenAddress(t *testing.T) {
	cmd, listen := healthCheck(t)
	if _, port, _ := net.SplitHostPort(listen); port != "8080" {
		t.Errorf("the image listens on %q; EXPOSE, compose and the manifests say 8080", listen)
	}
	if _, err := exec.LookPath("wget"); err != nil {
		t.Skip("wget is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln) //nolint:errcheck // closed at cleanup
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, closedPort, _ := net.SplitHostPort(closed.Addr().String())
	closed.Close()
	tests := []struct {
		name, listen string
		healthy      bool
	}{
		{"a server on the listen address is healthy", "0.0.0.0:" + port, true},
		{"an IPv6 wildcard address works too", "[::]:" + port, true},
		{"nothing on the listen address is unhealthy", "0.0.0.0:" + closedPort, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := exec.Command("sh", "-c", cmd)
			c.Env = append(os.Environ(), "SWITCHYARD_LISTEN="+tt.listen)
			out, err := c.CombinedOutput()
			if (err == nil) != tt.healthy {
				t.Fatalf("health check with SWITCHYARD_LISTEN=%s: %v %s; want healthy %v", tt.listen, err, out, tt.healthy)
			}
		})
	}
}
