package telemetry

import (
	"context"
	"encoding/hex"

	"go.opentelemetry.io/otel/trace"
)

// W3C trace context header names (lower case; header lookups are case-insensitive).
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// Extract returns ctx carrying the caller's span context read from the W3C traceparent
// and tracestate headers, so the request span continues the caller's trace. get returns
// a header's value ("" when absent); it is not retained. An absent or malformed
// traceparent leaves ctx as it is (a new trace starts), as does a disabled Telemetry, which
// does not even call get.
//
// The headers are parsed here rather than through the OpenTelemetry propagator so that
// get does not escape: a closure over the server's request costs no allocation.
func (t *Telemetry) Extract(ctx context.Context, get func(key string) string) context.Context {
	if !t.Enabled() || t.tracer == nil {
		return ctx
	}
	sc, ok := parseTraceparent(get(HeaderTraceparent))
	if !ok {
		return ctx
	}
	if v := get(HeaderTracestate); v != "" {
		if ts, err := trace.ParseTraceState(v); err == nil {
			sc = sc.WithTraceState(ts)
		}
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// Inject writes the span context in ctx as traceparent (and tracestate, when there is
// one) through set, so an upstream continues the trace. Without a valid span context
// in ctx it writes nothing. set is not retained.
func Inject(ctx context.Context, set func(key, value string)) {
	injectSpanContext(trace.SpanContextFromContext(ctx), set)
}

func injectSpanContext(sc trace.SpanContext, set func(key, value string)) {
	if !sc.IsValid() {
		return
	}
	set(HeaderTraceparent, formatTraceparent(sc))
	if ts := sc.TraceState(); ts.Len() > 0 {
		set(HeaderTracestate, ts.String())
	}
}

// formatTraceparent renders version 00: "00-{trace id}-{span id}-{flags}".
func formatTraceparent(sc trace.SpanContext) string {
	var b [55]byte
	tid, sid := sc.TraceID(), sc.SpanID()
	b[0], b[1], b[2] = '0', '0', '-'
	hex.Encode(b[3:35], tid[:])
	b[35] = '-'
	hex.Encode(b[36:52], sid[:])
	b[52] = '-'
	f := byte(sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom))
	b[53], b[54] = '0', '0'+f
	return string(b[:])
}

// parseTraceparent reads a traceparent header per W3C Trace Context: versions other
// than 00 are read as 00 if their first 55 characters fit it; version ff, upper-case
// hex, all-zero ids and reserved flags in version 00 are invalid. Only the sampled and random flags are kept, as the
// OpenTelemetry propagator does.
func parseTraceparent(s string) (trace.SpanContext, bool) {
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return trace.SpanContext{}, false
	}
	var ver [1]byte
	if !decodeLowerHex(ver[:], s[0:2]) || ver[0] == 0xff {
		return trace.SpanContext{}, false
	}
	if (ver[0] == 0 && len(s) != 55) || (len(s) > 55 && s[55] != '-') {
		return trace.SpanContext{}, false
	}
	var tid trace.TraceID
	var sid trace.SpanID
	var flags [1]byte
	if !decodeLowerHex(tid[:], s[3:35]) || !decodeLowerHex(sid[:], s[36:52]) || !decodeLowerHex(flags[:], s[53:55]) {
		return trace.SpanContext{}, false
	}
	if ver[0] == 0 && flags[0] > 3 { // version 00 reserves the other flag bits
		return trace.SpanContext{}, false
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    tid,
		SpanID:     sid,
		TraceFlags: trace.TraceFlags(flags[0]) & (trace.FlagsSampled | trace.FlagsRandom),
		Remote:     true,
	})
	return sc, sc.IsValid()
}

// decodeLowerHex decodes src (exactly 2*len(dst) lower-case hex digits) into dst.
func decodeLowerHex(dst []byte, src string) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := lowerHex(src[2*i])
		lo, ok2 := lowerHex(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
