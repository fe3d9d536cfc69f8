package gateway

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/metering"
)

// meter turns finished requests into priced cost events and hands them to the ledger.
// Every request that reached a provider gets exactly one event, streams included
// (recorded when the stream ends, however it ends). Safe for concurrent use.
type meter struct {
	tok    *metering.Tokenizer
	pricer *metering.Pricer
	ledger metering.Ledger    // nil when the ledger is "none"
	store  *metering.SQLStore // the ledger's store, for /admin/spend; nil with none
	log    *slog.Logger
}

func newMeter(ctx context.Context, cfg config.Metering, log *slog.Logger) (*meter, error) {
	tok, err := metering.NewTokenizer()
	if err != nil {
		return nil, err
	}
	cat, err := metering.LoadCatalog(cfg.Prices)
	if err != nil {
		return nil, err
	}
	m := &meter{tok: tok, pricer: metering.NewPricer(cat), log: log}
	if cfg.Ledger == "none" {
		return m, nil
	}
	store, err := metering.OpenStore(ctx, cfg.Ledger)
	if err != nil {
		return nil, err
	}
	m.store = store
	m.ledger = metering.NewWriter(store, cfg.Writer, log)
	return m, nil
}

// close flushes every accepted event, then closes the store.
func (m *meter) close(ctx context.Context) error {
	if m.ledger == nil {
		return nil
	}
	err := m.ledger.Close(ctx)
	return errors.Join(err, m.store.Close())
}

// usageState is what metering needs to know about a request's answer beyond its record.
type usageState struct {
	complete     bool  // the upstream answered in full
	promptTokens int64 // the prompt estimate, 0 when not computed
	text         *metering.StreamText
}

// event builds, prices and records the cost event for a finished request. The savings
// source follows from the record: the cache outcome (exact, semantic, coalesced), else a
// fallback taken (rec.tr.falls), else the policy's choice of another model (routing).
func (m *meter) event(rec *record, rid string, start time.Time, latency, ttft time.Duration, us usageState, body []byte) *metering.Event {
	if rec.provider == "" {
		return nil // rejected before routing: nothing was asked of a provider
	}
	prompt := us.promptTokens
	if prompt == 0 {
		prompt = rec.promptTokens
	}
	var tokens metering.Tokens
	source := metering.UsageMeasured
	switch {
	case rec.status >= 400 && !rec.usage.Reported:
		// an error answer: nothing billed that we know of, so no tokens
	case us.complete && rec.usage.Reported:
		tokens = metering.TokensOf(rec.usage)
	default:
		if prompt == 0 && body != nil {
			prompt = m.estimate(rec, body)
		}
		var output int64
		if us.text != nil {
			output = us.text.Tokens(m.tok, rec.upstream)
		}
		tokens, source = metering.ResolveUsage(rec.usage, us.complete, prompt, output)
	}
	ev := &metering.Event{
		RequestID: rid, Time: start, Key: rec.principal.Key, Team: rec.principal.Team, Feature: rec.principal.Feature,
		User: rec.user, Route: rec.route, PolicyVersion: rec.policy,
		PromptID: rec.promptID, PromptVersion: rec.promptVersion,
		RequestedModel: rec.priceRequested, ServedModel: rec.priceServed, Provider: rec.provider,
		Cache: rec.cache, Tokens: tokens, UsageSource: source,
		// A fallback (another deployment after a failure: a 429, an outage) claims no
		// routing savings, cheaper or dearer; only the policy's own choice does.
		Fallback:  rec.tr.falls > 0,
		LatencyMS: latency.Milliseconds(), TTFTMS: ttft.Milliseconds(),
		Status: rec.status, ErrorCode: rec.errCode, Stream: rec.stream, Dialect: rec.dialect,
	}
	m.pricer.Price(ev)
	rec.cost, rec.savings, rec.unpriced = ev.Cost, ev.Savings, ev.Unpriced
	rec.tokens, rec.outputTokens = tokens.Input+tokens.Output, tokens.Output
	rec.measured = source == metering.UsageMeasured && rec.status < 300
	if m.ledger != nil {
		// A dropped event is counted and logged (rate-limited) by the writer itself.
		if err := m.ledger.Append(ev); err != nil && !errors.Is(err, metering.ErrEventDropped) {
			m.log.Error("cost event not recorded", "request_id", rid, "error", err.Error())
		}
	}
	return ev
}

func (m *meter) estimate(rec *record, body []byte) int64 {
	model := rec.upstream
	if model == "" {
		model = rec.model
	}
	switch rec.op {
	case provider.OpChat:
		return int64(m.tok.EstimateChat(model, body))
	case provider.OpCompletion:
		return int64(m.tok.EstimateCompletion(model, body))
	case provider.OpEmbedding:
		return int64(m.tok.EstimateEmbedding(model, body))
	}
	return 0
}

// priceModel names the model the price catalogue knows: the policy's logical name when
// the catalogue prices it, else the provider's model id.
func (m *meter) priceModel(logical, upstream string, at time.Time) string {
	if _, ok := m.pricer.Catalog().Lookup(logical, at); ok || upstream == "" {
		return logical
	}
	return upstream
}

var streamTextPool = sync.Pool{New: func() any { return new(metering.StreamText) }}

// appendDeltaText adds the answer text of one OpenAI chunk's data (content and tool-call
// argument deltas) to st, for counting if the stream ends without usage.
func appendDeltaText(st *metering.StreamText, data []byte) {
	if len(data) == 0 || data[0] != '{' {
		return
	}
	d := jsonx.View(data).Get("choices.0.delta")
	if c := d.Get("content"); c.Type == jsonx.String {
		st.AppendString(c.Str)
	}
	if tc := d.Get("tool_calls.0.function.arguments"); tc.Type == jsonx.String {
		st.AppendString(tc.Str)
	}
}
