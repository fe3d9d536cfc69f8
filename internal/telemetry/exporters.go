package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

var (
	noopTracerProvider = tracenoop.NewTracerProvider()
	noopMeterProvider  = metricnoop.NewMeterProvider()
)

// endpoint is an ExportConfig resolved for one signal: either a full URL or host:port.
type endpoint struct {
	url      string // full URL, path included; "" when hostport is set
	hostport string
	insecure bool
}

// resolve turns e's endpoint into what the exporters take. For HTTP, a URL without a
// path gets the signal's default path.
func resolve(e *ExportConfig, defaultPath string) (endpoint, error) {
	u, hp, err := parseEndpoint(e.Endpoint)
	if err != nil {
		return endpoint{}, fmt.Errorf("telemetry: endpoint: %w", err)
	}
	if u == nil {
		return endpoint{hostport: hp, insecure: e.Insecure}, nil
	}
	if e.Exporter == ExporterOTLPHTTP && (u.Path == "" || u.Path == "/") {
		c := *u
		c.Path = defaultPath
		u = &c
	}
	return endpoint{url: u.String(), insecure: u.Scheme == "http"}, nil
}

// exporterOptions are one OTLP exporter package's option constructors; every package has
// the same five, so one function builds any of them from a resolved endpoint.
type exporterOptions[O any] struct {
	timeout  func(time.Duration) O
	headers  func(map[string]string) O
	url      func(string) O
	hostport func(string) O
	insecure func() O
}

func (x exporterOptions[O]) build(e *ExportConfig, ep endpoint) []O {
	opts := []O{x.timeout(e.Timeout), x.headers(e.Headers)}
	if ep.url != "" {
		opts = append(opts, x.url(ep.url))
	} else {
		opts = append(opts, x.hostport(ep.hostport))
	}
	if ep.insecure {
		opts = append(opts, x.insecure())
	}
	return opts
}

func newSpanExporter(ctx context.Context, e *ExportConfig) (sdktrace.SpanExporter, error) {
	ep, err := resolve(e, "/v1/traces")
	if err != nil {
		return nil, err
	}
	if e.Exporter == ExporterOTLPGRPC {
		return otlptracegrpc.New(ctx, exporterOptions[otlptracegrpc.Option]{otlptracegrpc.WithTimeout,
			otlptracegrpc.WithHeaders, otlptracegrpc.WithEndpointURL, otlptracegrpc.WithEndpoint,
			otlptracegrpc.WithInsecure}.build(e, ep)...)
	}
	return otlptracehttp.New(ctx, exporterOptions[otlptracehttp.Option]{otlptracehttp.WithTimeout,
		otlptracehttp.WithHeaders, otlptracehttp.WithEndpointURL, otlptracehttp.WithEndpoint,
		otlptracehttp.WithInsecure}.build(e, ep)...)
}

func newMetricExporter(ctx context.Context, e *ExportConfig) (sdkmetric.Exporter, error) {
	ep, err := resolve(e, "/v1/metrics")
	if err != nil {
		return nil, err
	}
	if e.Exporter == ExporterOTLPGRPC {
		return otlpmetricgrpc.New(ctx, exporterOptions[otlpmetricgrpc.Option]{otlpmetricgrpc.WithTimeout,
			otlpmetricgrpc.WithHeaders, otlpmetricgrpc.WithEndpointURL, otlpmetricgrpc.WithEndpoint,
			otlpmetricgrpc.WithInsecure}.build(e, ep)...)
	}
	return otlpmetrichttp.New(ctx, exporterOptions[otlpmetrichttp.Option]{otlpmetrichttp.WithTimeout,
		otlpmetrichttp.WithHeaders, otlpmetrichttp.WithEndpointURL, otlpmetrichttp.WithEndpoint,
		otlpmetrichttp.WithInsecure}.build(e, ep)...)
}

func newLogExporter(ctx context.Context, e *ExportConfig) (sdklog.Exporter, error) {
	ep, err := resolve(e, "/v1/logs")
	if err != nil {
		return nil, err
	}
	if e.Exporter == ExporterOTLPGRPC {
		return otlploggrpc.New(ctx, exporterOptions[otlploggrpc.Option]{otlploggrpc.WithTimeout,
			otlploggrpc.WithHeaders, otlploggrpc.WithEndpointURL, otlploggrpc.WithEndpoint,
			otlploggrpc.WithInsecure}.build(e, ep)...)
	}
	return otlploghttp.New(ctx, exporterOptions[otlploghttp.Option]{otlploghttp.WithTimeout,
		otlploghttp.WithHeaders, otlploghttp.WithEndpointURL, otlploghttp.WithEndpoint,
		otlploghttp.WithInsecure}.build(e, ep)...)
}

// The logged exporters report export failures to the gateway's logger instead of
// OpenTelemetry's global error handler, which this package never configures. They
// return nil so the SDK does not report the failure a second time.

type loggedSpanExporter struct {
	sdktrace.SpanExporter
	log *slog.Logger
}

func (e loggedSpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.SpanExporter.ExportSpans(ctx, spans); err != nil {
		e.log.Warn("telemetry: span export failed", "spans", len(spans), "err", err)
	}
	return nil
}

type loggedMetricExporter struct {
	sdkmetric.Exporter
	log *slog.Logger
}

func (e loggedMetricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if err := e.Exporter.Export(ctx, rm); err != nil {
		e.log.Warn("telemetry: metric export failed", "err", err)
	}
	return nil
}

type loggedLogExporter struct {
	sdklog.Exporter
	log *slog.Logger
}

func (e loggedLogExporter) Export(ctx context.Context, records []sdklog.Record) error {
	if err := e.Exporter.Export(ctx, records); err != nil {
		e.log.Warn("telemetry: log export failed", "records", len(records), "err", err)
	}
	return nil
}
