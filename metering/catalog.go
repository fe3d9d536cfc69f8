package metering

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Catalog is an immutable price catalogue: model ids to dated prices. It is safe for
// concurrent use; to change prices, build a new Catalog and swap it in.
type Catalog struct {
	version string
	byID    map[string]*catalogEntry // canonical ids and aliases
	models  []ModelPrice

	// resolved caches the outcome of name normalisation (nil for unknown names), so that a
	// dated id costs one map read after its first lookup. Bounded by maxResolved entries.
	resolved  sync.Map
	nResolved atomic.Int64
}

type catalogEntry struct {
	model  string
	from   []time.Time // ascending
	prices []Price
}

// maxResolved bounds the normalisation cache; past it, lookups normalise every time.
const maxResolved = 4096

// NewCatalog builds a catalogue from validated model prices (see ParsePrices).
func NewCatalog(models []ModelPrice) (*Catalog, error) {
	if err := validatePrices(models); err != nil {
		return nil, err
	}
	c := &Catalog{byID: make(map[string]*catalogEntry, len(models)*2), models: sortedModels(models)}
	for _, m := range models {
		e := &catalogEntry{model: m.Model}
		for _, dp := range m.Prices {
			e.from = append(e.from, dp.From.Time)
			e.prices = append(e.prices, resolvePrice(m.Model, dp))
		}
		c.byID[m.Model] = e
		for _, a := range m.Aliases {
			c.byID[a] = e
		}
	}
	sum := sha256.Sum256(canonicalText(models))
	c.version = hex.EncodeToString(sum[:6])
	return c, nil
}

// Version identifies the catalogue's prices: the first 12 hex digits of a SHA-256 over
// every model's rates and dates. Events record it so a cost can be traced to its prices.
func (c *Catalog) Version() string { return c.version }

// Models returns the catalogue's model prices sorted by id. The caller must not modify them.
func (c *Catalog) Models() []ModelPrice { return c.models }

// Lookup returns the price of model in force at time at, and false when the model has no
// price then (unknown model, or a time before its first price).
//
// model resolves to a catalogue entry by, in order: its exact id or alias; the same after
// lower-casing and dropping a vendor path ("openai/gpt-4o", "models/gemini-2.5-pro") or a
// Bedrock vendor prefix ("us.anthropic.claude-…"); then by stripping version suffixes one
// at a time — "-v1:0" (Bedrock), "@20240620" (Vertex), "-latest", "-2024-08-06",
// "-20250929", "-0613", "-001" — and trying again after each. An exact entry always wins,
// so a dated id priced differently from its family (gpt-4o-2024-05-13) is listed itself.
// There is no loose prefix matching: gpt-4o-audio-preview is unpriced rather than priced
// as gpt-4o, because a wrong price is worse than a flagged missing one.
//
// Cost: one map read for a known or previously seen id; a few small allocations the
// first time a new id is normalised.
func (c *Catalog) Lookup(model string, at time.Time) (Price, bool) {
	e := c.entry(model)
	if e == nil {
		return Price{}, false
	}
	i := len(e.from) - 1
	for i >= 0 && at.Before(e.from[i]) {
		i--
	}
	if i < 0 {
		return Price{}, false
	}
	return e.prices[i], true
}

// entry resolves a model id to its catalogue entry, or nil.
func (c *Catalog) entry(model string) *catalogEntry {
	if e, ok := c.byID[model]; ok {
		return e
	}
	if v, ok := c.resolved.Load(model); ok {
		return v.(*catalogEntry)
	}
	e := c.normalise(model)
	if c.nResolved.Load() < maxResolved {
		if _, loaded := c.resolved.LoadOrStore(model, e); !loaded {
			c.nResolved.Add(1)
		}
	}
	return e
}

// normalise tries the lookup rules after the exact match.
func (c *Catalog) normalise(model string) *catalogEntry {
	name := strings.ToLower(strings.TrimSpace(model))
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	// Bedrock: "anthropic.claude-…", "us.anthropic.claude-…": drop dotted segments
	// before the first '-' (model ids themselves have dots only after a '-').
	if dash := strings.IndexByte(name, '-'); dash > 0 {
		if dot := strings.LastIndexByte(name[:dash], '.'); dot >= 0 {
			name = name[dot+1:]
		}
	}
	for name != "" {
		if e, ok := c.byID[name]; ok {
			return e
		}
		stripped, ok := stripVersionSuffix(name)
		if !ok {
			return nil
		}
		name = stripped
	}
	return nil
}

// stripVersionSuffix removes one version suffix from name, reporting whether it did.
func stripVersionSuffix(name string) (string, bool) {
	// Bedrock "-v1:0", "-v2:0".
	if i := strings.LastIndex(name, "-v"); i > 0 && strings.Contains(name[i:], ":") && allDigitsOr(name[i+2:], ':') {
		return name[:i], true
	}
	// Vertex "@20240620", "@latest", "@001".
	if i := strings.LastIndexByte(name, '@'); i > 0 {
		return name[:i], true
	}
	if s, ok := strings.CutSuffix(name, "-latest"); ok {
		return s, true
	}
	// -YYYY-MM-DD
	if n := len(name); n > 11 && name[n-11] == '-' && name[n-6] == '-' && name[n-3] == '-' &&
		allDigitsOr(name[n-10:n-6], 0) && allDigitsOr(name[n-5:n-3], 0) && allDigitsOr(name[n-2:], 0) {
		return name[:n-11], true
	}
	// -YYYYMMDD, -MMDD / -YYMM, -NNN
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if tail := name[i+1:]; (len(tail) == 8 || len(tail) == 4 || len(tail) == 3) && allDigitsOr(tail, 0) {
			return name[:i], true
		}
	}
	return name, false
}

// allDigitsOr reports whether s is non-empty and has only digits or the byte also.
func allDigitsOr(s string, also byte) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (also == 0 || s[i] != also) {
			return false
		}
	}
	return true
}
