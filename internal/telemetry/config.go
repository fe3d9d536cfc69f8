package telemetry

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Exporter protocols.
const (
	ExporterOTLPHTTP = "otlp-http"
	ExporterOTLPGRPC = "otlp-grpc"
	ExporterNone     = "none"
)

// Config is the telemetry section of the gateway's configuration. Every field documents
// its unit and default; Defaults is the only place defaults live.
type Config struct {
	// Enabled turns telemetry on. Default false: no SDK is built, nothing is exported and
	// every call on the request path is a no-op that allocates nothing.
	Enabled bool `yaml:"enabled"`
	// ServiceName is the service.name resource attribute. Default "switchyard".
	ServiceName string `yaml:"service_name"`
	// ResourceAttributes are extra resource attributes on every span, metric point and log
	// record, e.g. deployment.environment.name: prod or service.version. Default none.
	ResourceAttributes map[string]string `yaml:"resource_attributes"`
	// Traces configures span export and sampling.
	Traces TracesConfig `yaml:"traces"`
	// Metrics configures OTLP metric export (push). Prometheus (pull) is separate.
	Metrics MetricsConfig `yaml:"metrics"`
	// Logs configures OTLP log export, used for cost events. Default exporter none: cost
	// events are then span events on the request span.
	Logs LogsConfig `yaml:"logs"`
	// Prometheus serves the metrics on GET /metrics in the Prometheus text format.
	Prometheus PrometheusConfig `yaml:"prometheus"`
	// RecordContent records prompt and completion text on request spans
	// (gen_ai.input.messages, gen_ai.output.messages). Default false: text never leaves the
	// gateway. Turn on only where the trace backend may hold user data.
	RecordContent bool `yaml:"record_content"`
	// ContentMaxBytes truncates each recorded text, in bytes (cut at a UTF-8 boundary).
	// Default 1024.
	ContentMaxBytes int `yaml:"content_max_bytes"`
}

// ExportConfig says where one signal is sent over OTLP.
type ExportConfig struct {
	// Exporter is otlp-http, otlp-grpc or none. Default otlp-http for traces and metrics,
	// none for logs.
	Exporter string `yaml:"exporter"`
	// Endpoint is the collector as host:port, or as a URL (http:// or https://; for
	// otlp-http a URL without a path gets the signal's default path, /v1/traces,
	// /v1/metrics or /v1/logs). Default localhost:4318 for otlp-http, localhost:4317 for
	// otlp-grpc.
	Endpoint string `yaml:"endpoint"`
	// Headers are sent with every export request (e.g. an API key for a hosted backend).
	// Default none.
	Headers map[string]string `yaml:"headers"`
	// Insecure sends without TLS when Endpoint is host:port. Default false (TLS). A URL's
	// scheme decides for itself.
	Insecure bool `yaml:"insecure"`
	// Timeout bounds one export request, retries included. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// TracesConfig configures spans.
type TracesConfig struct {
	ExportConfig `yaml:",inline"`
	// SamplingRatio is the share of new traces recorded, 0 to 1, applied by trace id. A
	// request that arrives with a traceparent follows the caller's sampling decision
	// (parent-based). Default 1 (every trace).
	SamplingRatio *float64 `yaml:"sampling_ratio"`
}

// MetricsConfig configures OTLP metric export.
type MetricsConfig struct {
	ExportConfig `yaml:",inline"`
	// Interval is the time between two OTLP metric exports. Default 60s.
	Interval time.Duration `yaml:"interval"`
}

// LogsConfig configures OTLP log export.
type LogsConfig struct {
	ExportConfig `yaml:",inline"`
}

// PrometheusConfig configures the pull endpoint.
type PrometheusConfig struct {
	// Enabled serves metrics for scraping (the gateway's GET /metrics). Default false.
	Enabled bool `yaml:"enabled"`
}

// Defaults fills every zero field with its default. It is the only place defaults live.
func (c *Config) Defaults() {
	if c.ServiceName == "" {
		c.ServiceName = "switchyard"
	}
	c.Traces.defaults(ExporterOTLPHTTP)
	c.Metrics.defaults(ExporterOTLPHTTP)
	c.Logs.defaults(ExporterNone)
	if c.Traces.SamplingRatio == nil {
		one := 1.0
		c.Traces.SamplingRatio = &one
	}
	if c.Metrics.Interval == 0 {
		c.Metrics.Interval = 60 * time.Second
	}
	if c.ContentMaxBytes == 0 {
		c.ContentMaxBytes = 1024
	}
}

func (e *ExportConfig) defaults(exporter string) {
	if e.Exporter == "" {
		e.Exporter = exporter
	}
	if e.Endpoint == "" {
		switch e.Exporter {
		case ExporterOTLPHTTP:
			e.Endpoint = "localhost:4318"
		case ExporterOTLPGRPC:
			e.Endpoint = "localhost:4317"
		}
	}
	if e.Timeout == 0 {
		e.Timeout = 10 * time.Second
	}
}

// Validate reports every error in c, after Defaults. A disabled config is always valid.
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if c.ServiceName == "" {
		errs = append(errs, errors.New("telemetry.service_name: must not be empty"))
	}
	errs = append(errs, c.Traces.validate("telemetry.traces")...)
	errs = append(errs, c.Metrics.validate("telemetry.metrics")...)
	errs = append(errs, c.Logs.validate("telemetry.logs")...)
	if r := c.Traces.SamplingRatio; r != nil && (*r < 0 || *r > 1 || *r != *r) {
		errs = append(errs, fmt.Errorf("telemetry.traces.sampling_ratio: %v is not between 0 and 1", *r))
	}
	if c.Metrics.Interval < 0 {
		errs = append(errs, fmt.Errorf("telemetry.metrics.interval: %v is negative", c.Metrics.Interval))
	}
	if c.ContentMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("telemetry.content_max_bytes: %d is negative", c.ContentMaxBytes))
	}
	for k := range c.ResourceAttributes {
		if k == "" {
			errs = append(errs, errors.New("telemetry.resource_attributes: empty key"))
		}
	}
	return errors.Join(errs...)
}

// Warnings reports settings that are valid but probably not meant, after Defaults.
func (c *Config) Warnings() []string {
	if !c.Enabled {
		return nil
	}
	var w []string
	if c.RecordContent {
		w = append(w, "telemetry.record_content is on: prompt and completion text is exported with traces")
	}
	if c.Traces.Exporter == ExporterNone && c.Metrics.Exporter == ExporterNone &&
		c.Logs.Exporter == ExporterNone && !c.Prometheus.Enabled {
		w = append(w, "telemetry is enabled but every exporter is none and prometheus is off: nothing leaves the gateway")
	}
	return w
}

func (e *ExportConfig) validate(field string) []error {
	var errs []error
	switch e.Exporter {
	case ExporterOTLPHTTP, ExporterOTLPGRPC:
	case ExporterNone:
		return nil
	default:
		return []error{fmt.Errorf("%s.exporter: %q is not otlp-http, otlp-grpc or none", field, e.Exporter)}
	}
	if _, _, err := parseEndpoint(e.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("%s.endpoint: %w", field, err))
	}
	if e.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: %v is negative", field, e.Timeout))
	}
	return errs
}

// parseEndpoint splits an endpoint into a URL (when given as one) or host:port.
func parseEndpoint(s string) (u *url.URL, hostport string, err error) {
	if s == "" {
		return nil, "", errors.New("is empty")
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return nil, "", err
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, "", fmt.Errorf("%q: scheme must be http or https", s)
		}
		if u.Host == "" {
			return nil, "", fmt.Errorf("%q: no host", s)
		}
		return u, "", nil
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return nil, "", fmt.Errorf("%q is neither host:port nor a URL", s)
	}
	return nil, s, nil
}
