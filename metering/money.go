package metering

import (
	"errors"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// Money is an amount of US dollars counted in picodollars (1e-12 USD).
//
// The unit is chosen so that pricing is exact integer arithmetic: providers publish prices
// per million tokens with at most six decimals ($0.005/1M, $2.50/1M), and one dollar per
// million tokens is exactly 1,000,000 picodollars per token. A per-token Rate is therefore
// a whole number of picodollars, and cost = Σ tokens × rate has no rounding at all.
// An int64 holds ±$9.2 million, far above any single request; sums over a ledger use
// Amount, which cannot overflow.
type Money int64

// Money units.
const (
	Picodollar Money = 1
	Dollar     Money = 1_000_000_000_000
)

// picoDigits is the number of decimal digits below one dollar.
const picoDigits = 12

// String formats m as dollars with at least two and at most twelve decimals, without
// trailing zeros beyond the second: 1.5 -> "1.50", 0.00125 -> "0.00125".
func (m Money) String() string { return formatPico(big.NewInt(int64(m))) }

// ParseUSD parses a dollar amount such as "2.50" or "-0.000125" exactly. It accepts an
// optional leading sign and "$", and at most twelve decimals.
func ParseUSD(s string) (Money, error) {
	v, err := parseDecimal(s, picoDigits)
	return Money(v), err
}

// Rate is a price per token in picodollars: a price of $P per million tokens is the
// Rate P×1,000,000. In price files a Rate is written as dollars per million tokens
// ("2.50"), with at most six decimals so that it stays a whole number of picodollars.
type Rate int64

// rateDigits is the number of decimals allowed in a per-million-tokens price.
const rateDigits = 6

// ParseRate parses a price in dollars per million tokens ("2.50", "0.075") exactly.
func ParseRate(perMillion string) (Rate, error) {
	v, err := parseDecimal(perMillion, rateDigits)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, errors.New("price is negative")
	}
	return Rate(v), nil
}

// PerMillion formats r as dollars per million tokens, e.g. "2.50".
func (r Rate) PerMillion() string {
	// r picodollars per token is r×1e-6 dollars per million tokens.
	return formatDecimal(big.NewInt(int64(r)), rateDigits)
}

// costOf returns tokens × r, and false when the product does not fit in Money.
func costOf(tokens int64, r Rate) (Money, bool) {
	if tokens <= 0 || r <= 0 {
		return 0, true
	}
	hi, lo := bits.Mul64(uint64(tokens), uint64(r))
	if hi != 0 || lo > 1<<63-1 {
		return 0, false
	}
	return Money(lo), true
}

// addMoney returns a+b, and false on overflow.
func addMoney(a, b Money) (Money, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// Amount is an exact, unbounded amount of money in picodollars, used for sums over the
// ledger. Amounts are immutable values; the zero value is $0.
type Amount struct{ n *big.Int }

// AmountOf returns m as an Amount.
func AmountOf(m Money) Amount { return Amount{big.NewInt(int64(m))} }

// amountFromParts returns micro×1,000,000 + pico: the split the SQL sums use so that no
// database integer overflows (see export.go).
func amountFromParts(micro, pico int64) Amount {
	n := big.NewInt(micro)
	n.Mul(n, big.NewInt(1_000_000))
	return Amount{n.Add(n, big.NewInt(pico))}
}

func (a Amount) int() *big.Int {
	if a.n == nil {
		return new(big.Int)
	}
	return a.n
}

// Add returns a+b.
func (a Amount) Add(b Amount) Amount { return Amount{new(big.Int).Add(a.int(), b.int())} }

// Sub returns a-b.
func (a Amount) Sub(b Amount) Amount { return Amount{new(big.Int).Sub(a.int(), b.int())} }

// Mul returns a×k.
func (a Amount) Mul(k int64) Amount { return Amount{new(big.Int).Mul(a.int(), big.NewInt(k))} }

// Div returns a/d rounded to the nearest picodollar, halves away from zero; 0 when d <= 0.
func (a Amount) Div(d int64) Amount {
	if d <= 0 {
		return Amount{}
	}
	q, r := new(big.Int).QuoRem(a.int(), big.NewInt(d), new(big.Int))
	r.Abs(r).Mul(r, big.NewInt(2))
	if r.Cmp(big.NewInt(d)) >= 0 {
		if a.int().Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return Amount{q}
}

// Cmp compares a and b like big.Int.Cmp.
func (a Amount) Cmp(b Amount) int { return a.int().Cmp(b.int()) }

// Picodollars returns a as a decimal integer string of picodollars.
func (a Amount) Picodollars() string { return a.int().String() }

// String formats a as dollars like Money.String.
func (a Amount) String() string { return formatPico(a.int()) }

// MarshalJSON encodes a as a JSON string of dollars ("12.50"): a string, because JSON
// numbers are read as floats by most consumers and would lose the exactness.
func (a Amount) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, a.String()), nil }

// formatPico formats picodollars as dollars, keeping at least two decimals.
func formatPico(n *big.Int) string { return formatDecimal(n, picoDigits) }

// formatDecimal formats n×10^-digits with trailing zeros trimmed to at least two decimals.
func formatDecimal(n *big.Int, digits int) string {
	s := new(big.Int).Abs(n).String()
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	intPart, frac := s[:len(s)-digits], strings.TrimRight(s[len(s)-digits:], "0")
	for len(frac) < 2 {
		frac += "0"
	}
	if n.Sign() < 0 {
		return "-" + intPart + "." + frac
	}
	return intPart + "." + frac
}

// parseDecimal parses a decimal string into an integer scaled by 10^digits, rejecting
// more decimals than digits and values that overflow int64.
func parseDecimal(s string, digits int) (int64, error) {
	s = strings.TrimSpace(s)
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	s = strings.TrimPrefix(s, "$")
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return 0, errors.New("empty amount")
	}
	if len(frac) > digits {
		return 0, errors.New("amount " + strconv.Quote(s) + " has more than " + strconv.Itoa(digits) + " decimals")
	}
	all := intPart + frac + strings.Repeat("0", digits-len(frac))
	for i := 0; i < len(all); i++ {
		if all[i] < '0' || all[i] > '9' {
			return 0, errors.New("amount " + strconv.Quote(s) + " is not a decimal number")
		}
	}
	trimmed := strings.TrimLeft(all, "0")
	if trimmed == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(trimmed, 10, 64)
	if err != nil {
		return 0, errors.New("amount " + strconv.Quote(s) + " is out of range")
	}
	if neg {
		v = -v
	}
	return v, nil
}
