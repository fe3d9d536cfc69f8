package telemetry

import (
	"errors"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
)

// ErrPrometheusOff is WriteMetrics' error when Prometheus is not enabled; the gateway
// answers GET /metrics with 404 then.
var ErrPrometheusOff = errors.New("telemetry: prometheus metrics are not enabled")

// metricsFormat is the Prometheus text exposition format, names escaped to underscores.
var metricsFormat = expfmt.NewFormat(expfmt.TypeTextPlain).WithEscapingScheme(model.UnderscoreEscaping)

// newPrometheus builds a private registry and the OpenTelemetry reader that feeds it.
// Names are translated the Prometheus way: dots to underscores, unit and _total
// suffixes (gen_ai.client.operation.duration becomes gen_ai_client_operation_duration_seconds).
// The registry also serves the Go runtime's metrics (go_goroutines, go_memstats_*, go_gc_*)
// and the process's (process_cpu_seconds_total, process_resident_memory_bytes,
// process_open_fds, …; the process ones on Linux and Windows only), collected at each scrape.
func newPrometheus() (*prometheus.Registry, *otelprom.Exporter, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, nil, fmt.Errorf("telemetry: prometheus: go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, nil, fmt.Errorf("telemetry: prometheus: process collector: %w", err)
	}
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: prometheus: %w", err)
	}
	return reg, exp, nil
}

// WriteMetrics writes every metric in the Prometheus text format to w, collecting them
// now (gauge callbacks run), and returns the Content-Type to answer with. It is the body
// of the gateway's GET /metrics; it returns ErrPrometheusOff when Prometheus is not
// enabled. Safe for concurrent use.
func (t *Telemetry) WriteMetrics(w io.Writer) (contentType string, err error) {
	if !t.Enabled() || t.reg == nil {
		return "", ErrPrometheusOff
	}
	families, err := t.reg.Gather()
	if err != nil && len(families) == 0 {
		return "", fmt.Errorf("telemetry: gather: %w", err)
	}
	if err != nil {
		t.log.Warn("telemetry: gathering metrics was incomplete", "err", err)
	}
	enc := expfmt.NewEncoder(w, metricsFormat)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return string(metricsFormat), fmt.Errorf("telemetry: encode metrics: %w", err)
		}
	}
	return string(metricsFormat), nil
}
