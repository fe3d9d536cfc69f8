// Package telemetry is the gateway's OpenTelemetry plumbing: traces, metrics and cost
// events named after the GenAI semantic conventions, W3C trace context on plain header
// functions, and a Prometheus text endpoint.
//
// Nothing here touches OpenTelemetry's globals: New builds its own TracerProvider,
// MeterProvider and (when log export is on) LoggerProvider and keeps them. A disabled
// or nil *Telemetry is valid; every call on it returns at once and allocates nothing,
// which BenchmarkRequest proves.
//
// Per request the gateway calls StartRequest, then Child / StartAttempt on the returned
// *RequestSpan while it works, and End once with the Result; End records the metrics
// too. See docs/telemetry.md.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// scopeName is the instrumentation scope of every span, metric and log record.
const scopeName = "github.com/switchyard/switchyard"

// Telemetry owns the OpenTelemetry providers of one gateway. Its methods are safe for
// concurrent use. The zero value and nil are disabled.
type Telemetry struct {
	on      bool
	content int // bytes of prompt/completion text kept; 0 = not recorded
	log     *slog.Logger

	tp     *sdktrace.TracerProvider // nil when traces are not exported
	tracer trace.Tracer             // nil when traces are not exported
	mp     *sdkmetric.MeterProvider
	inst   *instruments
	lp     *sdklog.LoggerProvider // nil when logs are not exported
	logger otellog.Logger         // nil when logs are not exported
	reg    *prometheus.Registry   // nil when Prometheus is off
	labels atomic.Pointer[Labels] // the known label values (SetLabels); nil: as given

	mu    sync.Mutex
	regs  []metric.Registration
	shut  bool
	close sync.Once
}

// New builds the providers cfg asks for. cfg is defaulted and validated here; with
// Enabled false New returns a disabled Telemetry and builds nothing. Exporters connect
// lazily, so an unreachable collector is not an error here: export failures are logged
// to log (at warn level) when they happen. ctx bounds setup only.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Telemetry, error) {
	cfg.Defaults()
	if !cfg.Enabled {
		return &Telemetry{}, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Telemetry{on: true, log: log}
	if cfg.RecordContent {
		t.content = cfg.ContentMaxBytes
	}
	res, err := newResource(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	if err := t.buildTraces(ctx, &cfg, res); err != nil {
		return nil, err
	}
	if err := t.buildMetrics(ctx, &cfg, res); err != nil {
		_ = t.Shutdown(ctx)
		return nil, err
	}
	if err := t.buildLogs(ctx, &cfg, res); err != nil {
		_ = t.Shutdown(ctx)
		return nil, err
	}
	return t, nil
}

func newResource(ctx context.Context, cfg *Config) (*resource.Resource, error) {
	attrs := make([]attribute.KeyValue, 0, len(cfg.ResourceAttributes)+1)
	for k, v := range cfg.ResourceAttributes {
		attrs = append(attrs, attribute.String(k, v))
	}
	attrs = append(attrs, attribute.String("service.name", cfg.ServiceName))
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...))
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	return res, nil
}

func (t *Telemetry) buildTraces(ctx context.Context, cfg *Config, res *resource.Resource) error {
	if cfg.Traces.Exporter == ExporterNone {
		return nil
	}
	exp, err := newSpanExporter(ctx, &cfg.Traces.ExportConfig)
	if err != nil {
		return err
	}
	t.tp = sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(*cfg.Traces.SamplingRatio))),
		sdktrace.WithBatcher(loggedSpanExporter{exp, t.log}),
	)
	t.tracer = t.tp.Tracer(scopeName)
	return nil
}

func (t *Telemetry) buildMetrics(ctx context.Context, cfg *Config, res *resource.Resource) error {
	opts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	if cfg.Metrics.Exporter != ExporterNone {
		exp, err := newMetricExporter(ctx, &cfg.Metrics.ExportConfig)
		if err != nil {
			return err
		}
		opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(
			loggedMetricExporter{exp, t.log},
			sdkmetric.WithInterval(cfg.Metrics.Interval), sdkmetric.WithTimeout(cfg.Metrics.Timeout))))
	}
	if cfg.Prometheus.Enabled {
		reg, reader, err := newPrometheus()
		if err != nil {
			return err
		}
		t.reg = reg
		opts = append(opts, sdkmetric.WithReader(reader))
	}
	t.mp = sdkmetric.NewMeterProvider(opts...)
	inst, err := newInstruments(t.mp.Meter(scopeName))
	if err != nil {
		return err
	}
	t.inst = inst
	return nil
}

func (t *Telemetry) buildLogs(ctx context.Context, cfg *Config, res *resource.Resource) error {
	if cfg.Logs.Exporter == ExporterNone {
		return nil
	}
	exp, err := newLogExporter(ctx, &cfg.Logs.ExportConfig)
	if err != nil {
		return err
	}
	t.lp = sdklog.NewLoggerProvider(
		sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(loggedLogExporter{exp, t.log},
			sdklog.WithExportTimeout(cfg.Logs.Timeout))),
	)
	t.logger = t.lp.Logger(scopeName)
	return nil
}

// Enabled reports whether telemetry is on. Callers may use it to skip work that only
// feeds telemetry.
func (t *Telemetry) Enabled() bool { return t != nil && t.on }

// TracerProvider returns the gateway's tracer provider (a no-op one when traces are not
// exported), for libraries that take one explicitly.
func (t *Telemetry) TracerProvider() trace.TracerProvider {
	if t == nil || t.tp == nil {
		return noopTracerProvider
	}
	return t.tp
}

// MeterProvider returns the gateway's meter provider (a no-op one when disabled), for
// libraries that take one explicitly.
func (t *Telemetry) MeterProvider() metric.MeterProvider {
	if t == nil || t.mp == nil {
		return noopMeterProvider
	}
	return t.mp
}

// ForceFlush exports every finished span, metric point and log record now. Tests use
// it; the gateway needs only Shutdown.
func (t *Telemetry) ForceFlush(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	var errs []error
	if t.tp != nil {
		errs = append(errs, t.tp.ForceFlush(ctx))
	}
	if t.mp != nil {
		errs = append(errs, t.mp.ForceFlush(ctx))
	}
	if t.lp != nil {
		errs = append(errs, t.lp.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

// Shutdown unregisters the gauge callbacks, flushes everything still queued and stops
// the exporters, waiting at most until ctx ends. Spans ended after Shutdown are dropped.
// Calling it again does nothing.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	var errs []error
	t.close.Do(func() {
		t.mu.Lock()
		t.shut = true
		for _, r := range t.regs {
			errs = append(errs, r.Unregister())
		}
		t.regs = nil
		t.mu.Unlock()
		if t.tp != nil {
			errs = append(errs, t.tp.Shutdown(ctx))
		}
		if t.mp != nil {
			errs = append(errs, t.mp.Shutdown(ctx))
		}
		if t.lp != nil {
			errs = append(errs, t.lp.Shutdown(ctx))
		}
	})
	return errors.Join(errs...)
}
