// Package otlptest is an in-process OTLP receiver for tests: real servers on loopback
// ports that accept OTLP/HTTP protobuf exports on /v1/traces, /v1/metrics and /v1/logs
// (Endpoint, URL) and OTLP/gRPC exports (GRPCEndpoint), and keep what arrived for
// assertions. Point a real OTLP exporter at it.
package otlptest

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// maxBody bounds one export request's body.
const maxBody = 32 << 20

// Receiver stores every span, metric and log record exported to it. Safe for concurrent
// use. Close it when done.
type Receiver struct {
	srv     *http.Server
	ln      net.Listener
	gsrv    *grpc.Server
	gln     net.Listener
	discard bool // sink: read and count, do not decode or keep

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever something arrives
	traces  []*tracepb.ResourceSpans
	metrics []*metricspb.ResourceMetrics
	logs    []*logspb.ResourceLogs
	errs    []error
	posts   int
}

// Start listens on 127.0.0.1:0 and serves until Close.
func Start() (*Receiver, error) { return start(false) }

// StartSink is Start for benchmarks: the receiver reads each export's body and counts
// it (Posts) without decoding or keeping it, so a benchmark measures the exporting side.
func StartSink() (*Receiver, error) { return start(true) }

func start(discard bool) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{ln: ln, discard: discard, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.handle(func() proto.Message { return &coltrace.ExportTraceServiceRequest{} },
		&coltrace.ExportTraceServiceResponse{}))
	mux.HandleFunc("POST /v1/metrics", r.handle(func() proto.Message { return &colmetrics.ExportMetricsServiceRequest{} },
		&colmetrics.ExportMetricsServiceResponse{}))
	mux.HandleFunc("POST /v1/logs", r.handle(func() proto.Message { return &collogs.ExportLogsServiceRequest{} },
		&collogs.ExportLogsServiceResponse{}))
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	if r.gln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		_ = r.Close()
		return nil, err
	}
	r.gsrv = grpc.NewServer()
	coltrace.RegisterTraceServiceServer(r.gsrv, grpcTraces{r: r})
	colmetrics.RegisterMetricsServiceServer(r.gsrv, grpcMetrics{r: r})
	collogs.RegisterLogsServiceServer(r.gsrv, grpcLogs{r: r})
	go func() { _ = r.gsrv.Serve(r.gln) }()
	return r, nil
}

type grpcTraces struct {
	coltrace.UnimplementedTraceServiceServer
	r *Receiver
}

func (g grpcTraces) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	g.r.store(req)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

type grpcMetrics struct {
	colmetrics.UnimplementedMetricsServiceServer
	r *Receiver
}

func (g grpcMetrics) Export(_ context.Context, req *colmetrics.ExportMetricsServiceRequest) (*colmetrics.ExportMetricsServiceResponse, error) {
	g.r.store(req)
	return &colmetrics.ExportMetricsServiceResponse{}, nil
}

type grpcLogs struct {
	collogs.UnimplementedLogsServiceServer
	r *Receiver
}

func (g grpcLogs) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	g.r.store(req)
	return &collogs.ExportLogsServiceResponse{}, nil
}

// Endpoint is the OTLP/HTTP server's host:port (for an exporter with insecure set).
func (r *Receiver) Endpoint() string { return r.ln.Addr().String() }

// GRPCEndpoint is the OTLP/gRPC server's host:port (plain text).
func (r *Receiver) GRPCEndpoint() string { return r.gln.Addr().String() }

// URL is the OTLP/HTTP server's base URL, http://host:port.
func (r *Receiver) URL() string { return "http://" + r.ln.Addr().String() }

// Close stops the servers.
func (r *Receiver) Close() error {
	if r.gsrv != nil {
		r.gsrv.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.srv.Shutdown(ctx)
}

func (r *Receiver) handle(newReq func() proto.Message, resp proto.Message) http.HandlerFunc {
	out, _ := proto.Marshal(resp)
	return func(w http.ResponseWriter, req *http.Request) {
		if r.discard {
			_, _ = io.Copy(io.Discard, req.Body)
			r.mu.Lock()
			r.posts++
			r.mu.Unlock()
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write(out)
			return
		}
		msg := newReq()
		if err := decode(req, msg); err != nil {
			r.fail(err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.store(msg)
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}
}

func decode(req *http.Request, msg proto.Message) error {
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		return fmt.Errorf("otlptest: content type %q, want application/x-protobuf", ct)
	}
	var body io.Reader = http.MaxBytesReader(nil, req.Body, maxBody)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return err
		}
		defer zr.Close()
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	return proto.Unmarshal(b, msg)
}

func (r *Receiver) store(msg proto.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	switch m := msg.(type) {
	case *coltrace.ExportTraceServiceRequest:
		r.traces = append(r.traces, m.ResourceSpans...)
	case *colmetrics.ExportMetricsServiceRequest:
		r.metrics = append(r.metrics, m.ResourceMetrics...)
	case *collogs.ExportLogsServiceRequest:
		r.logs = append(r.logs, m.ResourceLogs...)
	}
	r.notify()
}

func (r *Receiver) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
	r.notify()
}

// notify wakes every waiter; r.mu is held.
func (r *Receiver) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Posts returns the number of export requests received.
func (r *Receiver) Posts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts
}

// Errors returns the requests the receiver could not decode.
func (r *Receiver) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// ResourceSpans returns the span batches as received, resources included.
func (r *Receiver) ResourceSpans() []*tracepb.ResourceSpans {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.ResourceSpans(nil), r.traces...)
}

// Spans returns every span received, in arrival order.
func (r *Receiver) Spans() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*tracepb.Span
	for _, rs := range r.traces {
		for _, ss := range rs.ScopeSpans {
			out = append(out, ss.Spans...)
		}
	}
	return out
}

// FindSpan returns the first span received with the given name, or nil.
func (r *Receiver) FindSpan(name string) *tracepb.Span {
	for _, s := range r.Spans() {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// WaitForSpans waits until at least n spans have arrived and returns them all, or
// returns an error naming how many arrived when timeout passes.
func (r *Receiver) WaitForSpans(n int, timeout time.Duration) ([]*tracepb.Span, error) {
	var spans []*tracepb.Span
	err := r.waitFor(timeout, func() bool { spans = r.Spans(); return len(spans) >= n })
	if err != nil {
		return spans, fmt.Errorf("otlptest: %d spans after %v, want %d", len(spans), timeout, n)
	}
	return spans, nil
}

// Metrics returns every metric received, in arrival order (a metric exported twice
// appears twice).
func (r *Receiver) Metrics() []*metricspb.Metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*metricspb.Metric
	for _, rm := range r.metrics {
		for _, sm := range rm.ScopeMetrics {
			out = append(out, sm.Metrics...)
		}
	}
	return out
}

// FindMetric returns the last metric received with the given name, or nil.
func (r *Receiver) FindMetric(name string) *metricspb.Metric {
	ms := r.Metrics()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Name == name {
			return ms[i]
		}
	}
	return nil
}

// WaitForMetric waits until a metric with the given name has arrived and returns it.
func (r *Receiver) WaitForMetric(name string, timeout time.Duration) (*metricspb.Metric, error) {
	var m *metricspb.Metric
	err := r.waitFor(timeout, func() bool { m = r.FindMetric(name); return m != nil })
	if err != nil {
		return nil, fmt.Errorf("otlptest: no metric %s after %v", name, timeout)
	}
	return m, nil
}

// LogRecords returns every log record received, in arrival order.
func (r *Receiver) LogRecords() []*logspb.LogRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*logspb.LogRecord
	for _, rl := range r.logs {
		for _, sl := range rl.ScopeLogs {
			out = append(out, sl.LogRecords...)
		}
	}
	return out
}

// WaitForLogs waits until at least n log records have arrived and returns them all.
func (r *Receiver) WaitForLogs(n int, timeout time.Duration) ([]*logspb.LogRecord, error) {
	var recs []*logspb.LogRecord
	err := r.waitFor(timeout, func() bool { recs = r.LogRecords(); return len(recs) >= n })
	if err != nil {
		return recs, fmt.Errorf("otlptest: %d log records after %v, want %d", len(recs), timeout, n)
	}
	return recs, nil
}

// waitFor re-checks done each time something arrives, until it holds or timeout passes.
func (r *Receiver) waitFor(timeout time.Duration, done func() bool) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		if done() {
			return nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("timeout")
		}
	}
}

// Attr returns the value of the attribute key in kvs, or nil.
func Attr(kvs []*commonpb.KeyValue, key string) *commonpb.AnyValue {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

// Attrs flattens kvs to a map of Go values (string, int64, float64, bool, []any) for
// comparisons in tests.
func Attrs(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = Value(kv.Value)
	}
	return m
}

// Value converts an OTLP value to a Go value (nil for an absent one).
func Value(v *commonpb.AnyValue) any {
	if v == nil {
		return nil
	}
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_ArrayValue:
		out := make([]any, 0, len(x.ArrayValue.Values))
		for _, e := range x.ArrayValue.Values {
			out = append(out, Value(e))
		}
		return out
	case *commonpb.AnyValue_BytesValue:
		return x.BytesValue
	}
	return nil
}
