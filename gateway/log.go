package gateway

import (
	"context"
	"log/slog"
	"time"
)

// logLine writes the one line per request: ids, route, status, latency, no prompt text.
func (g *Gateway) logLine(rid string, rec *record, status int, d, ttfb time.Duration, complete bool) {
	if !g.logReqs {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", rid),
		slog.String("op", rec.op.String()),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(d.Microseconds())/1000),
		slog.String("key", rec.principal.Key),
		slog.String("team", rec.principal.Team),
		slog.String("feature", rec.principal.Feature),
		slog.String("model", rec.model),
		slog.String("provider", rec.provider),
		slog.String("served_model", rec.served),
		slog.String("route", rec.route),
		slog.String("strategy", rec.strategy),
		slog.String("reason", rec.reason),
		slog.String("deployment", rec.deployment),
		slog.Int("attempts", rec.attempts),
		slog.Bool("stream", rec.stream),
		slog.Int64("input_tokens", rec.usage.InputTokens),
		slog.Int64("output_tokens", rec.usage.OutputTokens),
		slog.String("error", rec.errCode),
	}
	if rec.dialect != "" && rec.dialect != "chat" {
		attrs = append(attrs, slog.String("api", rec.dialect)) // responses or messages
	}
	if rec.tier != "" {
		attrs = append(attrs, slog.String("tier", rec.tier))
	}
	if rec.stream {
		attrs = append(attrs, slog.Float64("ttfb_ms", float64(ttfb.Microseconds())/1000), slog.Bool("complete", complete))
	}
	g.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}
