package telemetry

import (
	"context"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDefaultsFillEveryField(t *testing.T) {
	var c Config
	c.Defaults()
	if c.ServiceName != "switchyard" || c.Traces.Exporter != ExporterOTLPHTTP || c.Traces.Endpoint != "localhost:4318" ||
		c.Metrics.Exporter != ExporterOTLPHTTP || c.Logs.Exporter != ExporterNone || c.Logs.Endpoint != "" ||
		*c.Traces.SamplingRatio != 1 || c.Metrics.Interval != time.Minute || c.Traces.Timeout != 10*time.Second ||
		c.ContentMaxBytes != 1024 || c.RecordContent || c.Prometheus.Enabled || c.Enabled {
		t.Errorf("defaults: %+v", c)
	}
	g := Config{Traces: TracesConfig{ExportConfig: ExportConfig{Exporter: ExporterOTLPGRPC}}}
	g.Defaults()
	if g.Traces.Endpoint != "localhost:4317" {
		t.Errorf("grpc default endpoint %q, want localhost:4317", g.Traces.Endpoint)
	}
}

func TestConfigLoadsFromYAML(t *testing.T) {
	const doc = `
enabled: true
service_name: gw
resource_attributes: {deployment.environment.name: prod}
traces: {exporter: otlp-grpc, endpoint: "collector:4317", insecure: true, sampling_ratio: 0, headers: {x-key: k}}
metrics: {exporter: none, interval: 15s}
logs: {exporter: otlp-http, endpoint: "https://otel.example.com"}
prometheus: {enabled: true}
record_content: true
content_max_bytes: 256
`
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Traces.Exporter != ExporterOTLPGRPC || !c.Traces.Insecure || *c.Traces.SamplingRatio != 0 ||
		c.Traces.Headers["x-key"] != "k" || c.Metrics.Interval != 15*time.Second || c.ContentMaxBytes != 256 ||
		c.Logs.Endpoint != "https://otel.example.com" || !c.Prometheus.Enabled || c.ResourceAttributes["deployment.environment.name"] != "prod" {
		t.Errorf("loaded %+v", c)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "record_content") {
		t.Errorf("warnings %v, want one about record_content", w)
	}
}

func TestValidateRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"an unknown exporter", func(c *Config) { c.Traces.Exporter = "jaeger" }, "telemetry.traces.exporter"},
		{"a sampling ratio above 1", func(c *Config) { c.Traces.SamplingRatio = ratio(1.5) }, "sampling_ratio"},
		{"a negative sampling ratio", func(c *Config) { c.Traces.SamplingRatio = ratio(-0.1) }, "sampling_ratio"},
		{"an endpoint that is neither host:port nor URL", func(c *Config) { c.Metrics.Endpoint = "collector" }, "telemetry.metrics.endpoint"},
		{"an endpoint URL with another scheme", func(c *Config) { c.Logs.Exporter, c.Logs.Endpoint = ExporterOTLPHTTP, "ftp://x:1" }, "telemetry.logs.endpoint"},
		{"a negative interval", func(c *Config) { c.Metrics.Interval = -time.Second }, "interval"},
		{"a negative content limit", func(c *Config) { c.ContentMaxBytes = -1 }, "content_max_bytes"},
		{"a negative timeout", func(c *Config) { c.Traces.Timeout = -time.Second }, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Enabled: true}
			c.Defaults()
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.want)
			}
			if _, err := New(context.Background(), c, nil); err == nil {
				t.Error("New accepted the config")
			}
		})
	}
}

func TestADisabledConfigIsValidWhateverItHolds(t *testing.T) {
	c := Config{Traces: TracesConfig{ExportConfig: ExportConfig{Exporter: "bogus"}}}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Errorf("disabled config: %v", err)
	}
}

func TestWarningsNameAConfigThatExportsNothing(t *testing.T) {
	c := Config{Enabled: true}
	c.Traces.Exporter, c.Metrics.Exporter = ExporterNone, ExporterNone
	c.Defaults()
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "nothing leaves") {
		t.Errorf("warnings %v", w)
	}
}

func TestEndpointsResolvePerSignal(t *testing.T) {
	for _, tc := range []struct {
		e    ExportConfig
		path string
		want endpoint
	}{
		{ExportConfig{Exporter: ExporterOTLPHTTP, Endpoint: "c:4318"}, "/v1/traces", endpoint{hostport: "c:4318"}},
		{ExportConfig{Exporter: ExporterOTLPHTTP, Endpoint: "c:4318", Insecure: true}, "/v1/traces", endpoint{hostport: "c:4318", insecure: true}},
		{ExportConfig{Exporter: ExporterOTLPHTTP, Endpoint: "http://c:4318"}, "/v1/logs", endpoint{url: "http://c:4318/v1/logs", insecure: true}},
		{ExportConfig{Exporter: ExporterOTLPHTTP, Endpoint: "https://c/otlp/v1/traces"}, "/v1/traces", endpoint{url: "https://c/otlp/v1/traces"}},
		{ExportConfig{Exporter: ExporterOTLPGRPC, Endpoint: "https://c:4317"}, "/v1/traces", endpoint{url: "https://c:4317"}},
	} {
		got, err := resolve(&tc.e, tc.path)
		if err != nil || got != tc.want {
			t.Errorf("resolve(%+v) = %+v, %v; want %+v", tc.e, got, err, tc.want)
		}
	}
}

func TestHelpersNameProvidersAndServers(t *testing.T) {
	for kind, want := range map[string]string{"openai": "openai", "": "openai", "azure": "azure.ai.openai", "anthropic": "anthropic", "vllm": "vllm"} {
		if got := ProviderName(kind); got != want {
			t.Errorf("ProviderName(%q) = %q, want %q", kind, got, want)
		}
	}
	for url, want := range map[string]struct {
		host string
		port int
	}{
		"https://api.openai.com/v1": {"api.openai.com", 443},
		"http://localhost:11434/v1": {"localhost", 11434},
		"http://10.0.0.1/v1":        {"10.0.0.1", 80},
	} {
		if h, p := ServerAddress(url); h != want.host || p != want.port {
			t.Errorf("ServerAddress(%q) = %q %d, want %v", url, h, p, want)
		}
	}
}

func TestNewBuildsGRPCExportersWithoutAConnection(t *testing.T) {
	c := Config{Enabled: true}
	c.Traces.Exporter, c.Traces.Endpoint, c.Traces.Insecure = ExporterOTLPGRPC, "127.0.0.1:1", true
	c.Metrics.Exporter, c.Metrics.Endpoint = ExporterOTLPGRPC, "http://127.0.0.1:1"
	c.Logs.Exporter, c.Logs.Endpoint, c.Logs.Insecure = ExporterOTLPGRPC, "127.0.0.1:1", true
	// Shutdown's final metric export fails (nothing listens); the timeout bounds it.
	c.Traces.Timeout, c.Metrics.Timeout, c.Logs.Timeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	tel, err := New(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !tel.Enabled() || tel.tracer == nil || tel.logger == nil {
		t.Fatalf("telemetry %+v", tel)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown with an unreachable collector: %v", err)
	}
	if err := tel.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

func TestEverySignalArrivesOverOTLPgRPC(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, func(c *Config) {
		for _, e := range []*ExportConfig{&c.Traces.ExportConfig, &c.Metrics.ExportConfig, &c.Logs.ExportConfig} {
			e.Exporter, e.Endpoint, e.Insecure = ExporterOTLPGRPC, rcv.GRPCEndpoint(), true
		}
		c.Metrics.Interval = time.Hour
	})
	ctx, req := tel.StartRequest(context.Background(), RequestInfo{Operation: OpChat})
	tel.EmitCostEvent(ctx, costEvent())
	req.End(chatResult())
	flush(t, tel)
	if _, err := rcv.WaitForSpans(1, wait); err != nil {
		t.Error(err)
	}
	if _, err := rcv.WaitForMetric(MetricRequests, wait); err != nil {
		t.Error(err)
	}
	if _, err := rcv.WaitForLogs(1, wait); err != nil {
		t.Error(err)
	}
}
