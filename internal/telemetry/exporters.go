package telemetry

import (
	"context"
	"fmt"
	"log/slog"

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

func newSpanExporter(ctx context.Context, e *ExportConfig) (sdktrace.SpanExporter, error) {
	ep, err := resolve(e, "/v1/traces")
	if err != nil {
		return nil, err
	}
	if e.Exporter == ExporterOTLPGRPC {
		opts := []otlptracegrpc.Option{otlptracegrpc.WithTimeout(e.Timeout), otlptracegrpc.WithHeaders(e.Headers)}
		if ep.url != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(ep.url))
		} else {
			opts = append(opts, otlptracegrpc.WithEndpoint(ep.hostport))
		}
		if ep.insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		return otlptracegrpc.New(ctx, opts...)
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithTimeout(e.Timeout), otlptracehttp.WithHeaders(e.Headers)}
	if ep.url != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(ep.url))
	} else {
		opts = append(opts, otlptracehttp.WithEndpoint(ep.hostport))
	}
	if ep.insecure {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	return otlptracehttp.New(ctx, opts...)
}

func newMetricExporter(ctx context.Context, e *ExportConfig) (sdkmetric.Exporter, error) {
	ep, err := resolve(e, "/v1/metrics")
	if err != nil {
		return nil, err
	}
	if e.Exporter == ExporterOTLPGRPC {
		opts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithTimeout(e.Timeout), otlpmetricgrpc.WithHeaders(e.Headers)}
		if ep.url != "" {
			opts = append(opts, otlpmetricgrpc.WithEndpointURL(ep.url))
		} else {
			opts = append(opts, otlpmetricgrpc.WithEndpoint(ep.hostport))
		}
		if ep.insecure {
			opts = append(opts, otlpmetricgrpc.WithInsecure())
		}
		return otlpmetricgrpc.New(ctx, opts...)
	}
	opts := []otlpmetrichttp.Option{otlpmetrichttp.WithTimeout(e.Timeout), otlpmetrichttp.WithHeaders(e.Headers)}
	if ep.url != "" {
		opts = append(opts, otlpmetrichttp.WithEndpointURL(ep.url))
	} else {
		opts = append(opts, otlpmetrichttp.WithEndpoint(ep.hostport))
	}
	if ep.insecure {
		opts = append(opts, otlpmetrichttp.WithInsecure())
	}
	return otlpmetrichttp.New(ctx, opts...)
}

func newLogExporter(ctx context.Context, e *ExportConfig) (sdklog.Exporter, error) {
	ep, err := resolve(e, "/v1/logs")
	if err != nil {
		return nil, err
	}
	if e.Exporter == ExporterOTLPGRPC {
		opts := []otlploggrpc.Option{otlploggrpc.WithTimeout(e.Timeout), otlploggrpc.WithHeaders(e.Headers)}
		if ep.url != "" {
			opts = append(opts, otlploggrpc.WithEndpointURL(ep.url))
		} else {
			opts = append(opts, otlploggrpc.WithEndpoint(ep.hostport))
		}
		if ep.insecure {
			opts = append(opts, otlploggrpc.WithInsecure())
		}
		return otlploggrpc.New(ctx, opts...)
	}
	opts := []otlploghttp.Option{otlploghttp.WithTimeout(e.Timeout), otlploghttp.WithHeaders(e.Headers)}
	if ep.url != "" {
		opts = append(opts, otlploghttp.WithEndpointURL(ep.url))
	} else {
		opts = append(opts, otlploghttp.WithEndpoint(ep.hostport))
	}
	if ep.insecure {
		opts = append(opts, otlploghttp.WithInsecure())
	}
	return otlploghttp.New(ctx, opts...)
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
