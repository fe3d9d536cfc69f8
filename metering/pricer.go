package metering

import (
	"sync/atomic"
	"time"
)

// Pricer prices cost events against the current catalogue. It is safe for concurrent
// use; SetCatalog swaps prices atomically (a reloaded price file) without locking readers.
type Pricer struct {
	cat atomic.Pointer[Catalog]
}

// NewPricer returns a pricer using cat.
func NewPricer(cat *Catalog) *Pricer {
	p := &Pricer{}
	p.cat.Store(cat)
	return p
}

// Catalog returns the catalogue in use.
func (p *Pricer) Catalog() *Catalog { return p.cat.Load() }

// SetCatalog replaces the catalogue for events priced from now on.
func (p *Pricer) SetCatalog(cat *Catalog) { p.cat.Store(cat) }

// Cost returns what tokens cost at model's price in force at time at, and false when the
// model has no price then (or, absurdly, the cost overflows $9.2M).
//
// cost = uncached input × input + cached input × cached_input + cache writes × cache_write
// + output × output, where uncached input = Input − CachedInput − CacheWrite, all in
// integer picodollars. Reasoning tokens are part of Output and priced with it. When the
// price has a long-context tier and Input exceeds its threshold, the tier's rates price
// the whole request.
func (p *Pricer) Cost(model string, at time.Time, t Tokens) (Money, bool) {
	price, ok := p.cat.Load().Lookup(model, at)
	if !ok {
		return 0, false
	}
	return price.Cost(t)
}

// Cost returns what t costs at price, and false on overflow.
func (price Price) Cost(t Tokens) (Money, bool) {
	in, cached, write, out := price.Input, price.CachedInput, price.CacheWrite, price.Output
	if price.LongContextAbove > 0 && t.Input > price.LongContextAbove {
		in, cached, write, out = price.LongInput, price.LongCachedInput, price.LongCacheWrite, price.LongOutput
	}
	var total Money
	ok := true
	for _, c := range [...]struct {
		n int64
		r Rate
	}{{t.uncachedInput(), in}, {t.CachedInput, cached}, {t.CacheWrite, write}, {t.Output, out}} {
		m, fits := costOf(c.n, c.r)
		total, ok = addMoneyOK(total, m, ok && fits)
	}
	if !ok {
		return 0, false
	}
	return total, true
}

func addMoneyOK(a, b Money, ok bool) (Money, bool) {
	s, fits := addMoney(a, b)
	return s, ok && fits
}

// Price fills ev's PriceVersion, Cost, Counterfactual, Savings, SavingsSource and
// Unpriced from its tokens, models, cache outcome, Fallback flag and time. It allocates
// nothing.
//
//   - Cost: the served model's price for the tokens; zero when the response came from
//     the gateway cache or a coalesced call (the provider was not paid for it).
//   - Counterfactual: the requested model's price for the same tokens, as if there were
//     no gateway cache and no rerouting. The provider's own prompt caching is kept: it is
//     the provider's discount, not a Switchyard saving. For a fallback it is Cost: what
//     a failed first choice would have cost is not money anyone kept.
//   - Savings: Counterfactual − Cost.
//   - SavingsSource: the cache outcome's source (exact_cache, semantic_cache,
//     coalescing) when served from the gateway; else fallback when ev.Fallback; else
//     routing when another model than the requested one served; else none. A caller
//     that discounts Cost afterwards (the batch lane) sets its own source.
//   - Unpriced: a model needed for Cost or Counterfactual has no price at ev.Time. The
//     event then claims no savings (Savings 0), Cost is 0 when the served model is
//     unpriced, and Counterfactual falls back to Cost when the requested one is.
//
// An empty ServedModel means the requested model served; an empty RequestedModel means
// the served one was asked for.
func (p *Pricer) Price(ev *Event) {
	cat := p.cat.Load()
	ev.PriceVersion = cat.Version()
	requested, served := ev.RequestedModel, ev.ServedModel
	if requested == "" {
		requested = served
	}
	if served == "" {
		served = requested
	}
	counter, counterOK := p.costWith(cat, requested, ev.Time, ev.Tokens)
	cost, costOK := Money(0), true
	if !ev.Cache.ServedFromCache() {
		cost, costOK = p.costWith(cat, served, ev.Time, ev.Tokens)
	}
	if !counterOK {
		counter = cost
	}
	ev.SavingsSource = savingsSource(ev.Cache, ev.Fallback, requested != served)
	if ev.SavingsSource == SavingsFallback {
		counter, counterOK = cost, costOK
	}
	ev.Cost, ev.Counterfactual, ev.Unpriced = cost, counter, !costOK || !counterOK
	ev.Savings = 0
	if !ev.Unpriced {
		ev.Savings = counter - cost
	}
}

// savingsSource classifies an event's savings: served from the gateway (by outcome),
// else a fallback, else another model by policy, else none.
func savingsSource(c CacheOutcome, fallback, rerouted bool) SavingsSource {
	switch {
	case c == CacheHit:
		return SavingsExactCache
	case c == CacheSemantic:
		return SavingsSemanticCache
	case c == CacheCoalesced:
		return SavingsCoalescing
	case fallback:
		return SavingsFallback
	case rerouted:
		return SavingsRouting
	}
	return SavingsNone
}

func (p *Pricer) costWith(cat *Catalog, model string, at time.Time, t Tokens) (Money, bool) {
	price, ok := cat.Lookup(model, at)
	if !ok {
		return 0, false
	}
	return price.Cost(t)
}
