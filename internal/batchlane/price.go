package batchlane

// AtBatchPrice returns a list-price amount scaled to percent of it, the share the
// provider charges for batch work (Config.PricePercent, 1–100), rounded to the nearest
// unit with halves away from zero. M is any int64 money type, such as metering.Money
// (picodollars), so the gateway prices a batch result with the catalogue's list rates and
// then scales the cost:
//
//	cost, ok := pricer.Cost(model, at, metering.TokensOf(line.Usage))
//	cost = batchlane.AtBatchPrice(cost, cfg.PricePercent)
//
// The catalogue has no batch rates of its own (metering/prices/default.yaml lists
// standard-tier prices), hence this factor; it applies to every token class alike, as
// OpenAI's and Anthropic's 50% batch discounts do. It cannot overflow for percent ≤ 100.
func AtBatchPrice[M ~int64](list M, percent int) M {
	p := int64(percent)
	q, r := int64(list)/100, int64(list)%100
	rem := r * p // |r| < 100, so this is small
	out := q*p + rem/100
	switch frac := rem % 100; {
	case frac >= 50:
		out++
	case frac <= -50:
		out--
	}
	return M(out)
}
