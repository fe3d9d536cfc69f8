package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TestTraceparentParsingAgreesWithOpenTelemetrysPropagator checks the hand-written
// parser against the SDK's W3C propagator on valid and malformed headers.
func TestTraceparentParsingAgreesWithOpenTelemetrysPropagator(t *testing.T) {
	const tid, sid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, tc := range []struct {
		name  string
		value string
		valid bool
	}{
		{"sampled", "00-" + tid + "-" + sid + "-01", true},
		{"not sampled", "00-" + tid + "-" + sid + "-00", true},
		{"the random flag is kept", "00-" + tid + "-" + sid + "-03", true},
		{"reserved flags in version 00", "00-" + tid + "-" + sid + "-ff", false},
		{"unknown flags of a future version are dropped", "01-" + tid + "-" + sid + "-ff", true},
		{"a future version with more fields", "cc-" + tid + "-" + sid + "-01-what-the-future-holds", true},
		{"a future version of exact length", "01-" + tid + "-" + sid + "-01", true},
		{"version ff", "ff-" + tid + "-" + sid + "-01", false},
		{"version 00 with trailing data", "00-" + tid + "-" + sid + "-01-x", false},
		{"future version with junk after flags", "01-" + tid + "-" + sid + "-01x", false},
		{"upper-case hex", "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + sid + "-01", false},
		{"zero trace id", "00-00000000000000000000000000000000-" + sid + "-01", false},
		{"zero span id", "00-" + tid + "-0000000000000000-01", false},
		{"short", "00-" + tid + "-" + sid, false},
		{"bad separator", "00_" + tid + "-" + sid + "-01", false},
		{"non-hex flags", "00-" + tid + "-" + sid + "-0g", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseTraceparent(tc.value)
			if ok != tc.valid {
				t.Fatalf("parseTraceparent(%q) ok = %v, want %v", tc.value, ok, tc.valid)
			}
			carrier := propagation.MapCarrier{"traceparent": tc.value}
			want := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
			if want.IsValid() != ok {
				t.Fatalf("the OpenTelemetry propagator says valid = %v, the parser %v", want.IsValid(), ok)
			}
			if ok && !got.Equal(want) {
				t.Errorf("parsed %v, the propagator %v", got, want)
			}
			if ok {
				if f, w := formatTraceparent(got), formatTraceparent(want); f != w || f[3:52] != tc.value[3:52] {
					t.Errorf("formatted %q, want %q with the ids of %q", f, w, tc.value)
				}
			}
		})
	}
}

func TestInjectWritesWhatTheOpenTelemetryPropagatorReads(t *testing.T) {
	sc, _ := parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ts, _ := trace.ParseTraceState("a=1,b=2")
	ctx := trace.ContextWithSpanContext(context.Background(), sc.WithTraceState(ts))
	carrier := propagation.MapCarrier{}
	Inject(ctx, carrier.Set)
	back := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
	if back.TraceID() != sc.TraceID() || back.SpanID() != sc.SpanID() || !back.IsSampled() || back.TraceState().String() != "a=1,b=2" {
		t.Errorf("round trip gave %v (state %q), want %v", back, back.TraceState(), sc)
	}
}

func TestInjectWithoutASpanWritesNothing(t *testing.T) {
	Inject(context.Background(), func(k, v string) { t.Errorf("wrote %s: %s", k, v) })
	AttemptSpan{}.Inject(func(k, v string) { t.Errorf("wrote %s: %s", k, v) })
}

func TestExtractIgnoresAMalformedTraceparent(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, nil)
	ctx := tel.Extract(context.Background(), func(k string) string {
		if k == HeaderTraceparent {
			return "00-zz-yy-01"
		}
		return "junk"
	})
	if trace.SpanContextFromContext(ctx).IsValid() {
		t.Error("a malformed traceparent produced a span context")
	}
}
