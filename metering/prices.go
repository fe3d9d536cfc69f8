package metering

import (
	"bytes"
	_ "embed" // the default price file
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed prices/default.yaml
var defaultPrices []byte

// PriceConfig configures the price catalogue. The gateway configuration embeds it; every
// field is optional and the zero value is the embedded default catalogue.
type PriceConfig struct {
	// File is a price file in the format of the embedded default (metering/prices/default.yaml).
	// Each model it names replaces that model's default prices entirely. Default none.
	File string `yaml:"file"`
	// SkipDefaults drops the embedded default catalogue, so only File and Overrides price
	// anything and every other model is unpriced. Default false.
	SkipDefaults bool `yaml:"skip_defaults"`
	// Overrides replace the prices of the models they name, after File. Default none.
	Overrides []ModelPrice `yaml:"overrides"`
}

// ModelPrice is one model's dated price list, as written in a price file or an override.
type ModelPrice struct {
	// Model is the canonical model id. Dated ids resolve to it (see Catalog.Lookup). Required.
	Model string `yaml:"model"`
	// Provider names the vendor ("openai", "anthropic"); documentation only.
	Provider string `yaml:"provider"`
	// Aliases are other exact ids priced like Model.
	Aliases []string `yaml:"aliases"`
	// Prices are the dated prices, in increasing From order; each is in force from its
	// From until the next one's. At least one is required.
	Prices []DatedPrice `yaml:"prices"`
}

// DatedPrice is a model's price from a date on. Rates are US dollars per million tokens.
type DatedPrice struct {
	// From is the first day (00:00 UTC, YYYY-MM-DD) the price is in force. Required.
	From Date `yaml:"from"`
	// Input is the rate for uncached input tokens. Required.
	Input *Rate `yaml:"input"`
	// CachedInput is the rate for input tokens read from the provider's prompt cache.
	// Default: Input (no discount).
	CachedInput *Rate `yaml:"cached_input"`
	// CacheWrite is the rate for input tokens written to the provider's prompt cache.
	// Default: Input.
	CacheWrite *Rate `yaml:"cache_write"`
	// Output is the rate for output tokens, reasoning tokens included. Required.
	Output *Rate `yaml:"output"`
	// LongContext, when set, prices the whole request at its rates once the request's
	// input tokens (cached ones included) exceed its threshold. Default none.
	LongContext *LongContextPrice `yaml:"long_context"`
	// Source says where the price comes from; documentation only.
	Source string `yaml:"source"`
}

// LongContextPrice holds the rates of a long-context tier (Gemini 2.5 Pro, Claude Sonnet 4
// with 1M context). Rates default like DatedPrice's.
type LongContextPrice struct {
	// AboveInputTokens is the threshold: a request with more input tokens than this is
	// priced at the tier's rates. Required, > 0.
	AboveInputTokens int64 `yaml:"above_input_tokens"`
	Input            *Rate `yaml:"input"`
	CachedInput      *Rate `yaml:"cached_input"`
	CacheWrite       *Rate `yaml:"cache_write"`
	Output           *Rate `yaml:"output"`
}

// Date is a calendar day in UTC, written YYYY-MM-DD.
type Date struct {
	time.Time
	line int
}

// UnmarshalYAML parses a YYYY-MM-DD scalar.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	t, err := time.Parse(time.DateOnly, n.Value)
	if err != nil {
		return fmt.Errorf("line %d: date %q is not YYYY-MM-DD", n.Line, n.Value)
	}
	d.Time, d.line = t, n.Line
	return nil
}

// MarshalYAML writes the date as YYYY-MM-DD.
func (d Date) MarshalYAML() (any, error) { return d.Format(time.DateOnly), nil }

// UnmarshalYAML parses a rate written in dollars per million tokens. The scalar's text is
// parsed as a decimal, never through a float, so "0.075" is exactly 75,000 picodollars.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a price must be a number of dollars per million tokens", n.Line)
	}
	v, err := ParseRate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*r = v
	return nil
}

// MarshalYAML writes the rate as dollars per million tokens.
func (r Rate) MarshalYAML() (any, error) { return r.PerMillion(), nil }

// ParsePrices reads a price file (YAML with a top-level `models` list). Unknown keys are
// errors; name is used in error messages.
func ParsePrices(name string, data []byte) ([]ModelPrice, error) {
	var doc struct {
		Models []ModelPrice `yaml:"models"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := validatePrices(doc.Models); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return doc.Models, nil
}

// DefaultPrices returns the embedded default price list.
func DefaultPrices() []ModelPrice {
	m, err := ParsePrices("metering/prices/default.yaml", defaultPrices)
	if err != nil {
		panic("metering: the embedded default price file is invalid: " + err.Error()) // caught by tests
	}
	return m
}

// LoadCatalog builds the catalogue cfg describes: the embedded defaults (unless
// SkipDefaults), then File, then Overrides, a later layer replacing whole models.
func LoadCatalog(cfg PriceConfig) (*Catalog, error) {
	var layers [][]ModelPrice
	if !cfg.SkipDefaults {
		layers = append(layers, DefaultPrices())
	}
	if cfg.File != "" {
		data, err := os.ReadFile(cfg.File)
		if err != nil {
			return nil, fmt.Errorf("price file: %w", err)
		}
		m, err := ParsePrices(cfg.File, data)
		if err != nil {
			return nil, err
		}
		layers = append(layers, m)
	}
	if len(cfg.Overrides) > 0 {
		if err := validatePrices(cfg.Overrides); err != nil {
			return nil, fmt.Errorf("price overrides: %w", err)
		}
		layers = append(layers, cfg.Overrides)
	}
	return NewCatalog(mergeLayers(layers...))
}

// mergeLayers returns the union of the layers, a model in a later layer replacing the
// same model (by canonical id) of an earlier one.
func mergeLayers(layers ...[]ModelPrice) []ModelPrice {
	idx := map[string]int{}
	var out []ModelPrice
	for _, layer := range layers {
		for _, m := range layer {
			if i, ok := idx[m.Model]; ok {
				out[i] = m
				continue
			}
			idx[m.Model] = len(out)
			out = append(out, m)
		}
	}
	return out
}

// validatePrices checks required fields and date order. Errors name the model and, where
// known, the line.
func validatePrices(models []ModelPrice) error {
	var errs []error
	seen := map[string]string{}
	for _, m := range models {
		if m.Model == "" {
			errs = append(errs, errors.New("a model entry has no model id"))
			continue
		}
		for _, name := range append([]string{m.Model}, m.Aliases...) {
			if other, dup := seen[name]; dup {
				errs = append(errs, fmt.Errorf("model %s: id %q is also used by %s", m.Model, name, other))
			}
			seen[name] = m.Model
		}
		if len(m.Prices) == 0 {
			errs = append(errs, fmt.Errorf("model %s: no prices", m.Model))
		}
		for i, p := range m.Prices {
			where := fmt.Sprintf("model %s, price %d", m.Model, i+1)
			if p.From.line > 0 {
				where = fmt.Sprintf("line %d: %s", p.From.line, where)
			}
			switch {
			case p.From.IsZero():
				errs = append(errs, fmt.Errorf("%s: from (YYYY-MM-DD) is required", where))
			case i > 0 && !p.From.After(m.Prices[i-1].From.Time):
				errs = append(errs, fmt.Errorf("%s: from %s is not after the previous price's", where, p.From.Format(time.DateOnly)))
			}
			if p.Input == nil || p.Output == nil {
				errs = append(errs, fmt.Errorf("%s: input and output are required (write 0 for free)", where))
			}
			if lc := p.LongContext; lc != nil && (lc.AboveInputTokens <= 0 || lc.Input == nil || lc.Output == nil) {
				errs = append(errs, fmt.Errorf("%s: long_context needs above_input_tokens > 0, input and output", where))
			}
		}
	}
	return errors.Join(errs...)
}

// Price is one model's resolved rates at one time. Rates are picodollars per token.
type Price struct {
	// Model is the canonical id the lookup resolved to.
	Model                                  string
	Input, CachedInput, CacheWrite, Output Rate
	// LongContextAbove is the long-context threshold in input tokens; 0 means none.
	LongContextAbove                                       int64
	LongInput, LongCachedInput, LongCacheWrite, LongOutput Rate
}

// resolvePrice turns a dated price into its rates with defaults applied.
func resolvePrice(model string, p DatedPrice) Price {
	out := Price{Model: model, Input: *p.Input, Output: *p.Output}
	out.CachedInput, out.CacheWrite = orRate(p.CachedInput, out.Input), orRate(p.CacheWrite, out.Input)
	if lc := p.LongContext; lc != nil {
		out.LongContextAbove = lc.AboveInputTokens
		out.LongInput, out.LongOutput = *lc.Input, *lc.Output
		out.LongCachedInput, out.LongCacheWrite = orRate(lc.CachedInput, out.LongInput), orRate(lc.CacheWrite, out.LongInput)
	}
	return out
}

func orRate(r *Rate, def Rate) Rate {
	if r == nil {
		return def
	}
	return *r
}

// sortedModels returns the models sorted by id, for hashing and listing.
func sortedModels(models []ModelPrice) []ModelPrice {
	out := append([]ModelPrice(nil), models...)
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// canonicalText renders the prices that affect cost, in a stable order, for the version
// hash. Sources, providers and comments do not change the version.
func canonicalText(models []ModelPrice) []byte {
	var b strings.Builder
	for _, m := range sortedModels(models) {
		aliases := append([]string(nil), m.Aliases...)
		sort.Strings(aliases)
		fmt.Fprintf(&b, "model %s aliases %s\n", m.Model, strings.Join(aliases, ","))
		for _, dp := range m.Prices {
			p := resolvePrice(m.Model, dp)
			fmt.Fprintf(&b, " from %s %d %d %d %d long %d %d %d %d %d\n", dp.From.Format(time.DateOnly),
				p.Input, p.CachedInput, p.CacheWrite, p.Output,
				p.LongContextAbove, p.LongInput, p.LongCachedInput, p.LongCacheWrite, p.LongOutput)
		}
	}
	return []byte(b.String())
}
