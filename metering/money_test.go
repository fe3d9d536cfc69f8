package metering

import (
	"math"
	"testing"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Rate
		wantErr bool
	}{
		{"a whole dollar price is a million picodollars per token", "1", 1_000_000, false},
		{"two decimals parse exactly", "2.50", 2_500_000, false},
		{"six decimals parse exactly", "0.000125", 125, false},
		{"a fraction of a cent parses exactly", "0.075", 75_000, false},
		{"zero is a valid (free) price", "0", 0, false},
		{"a leading dollar sign is accepted", "$0.15", 150_000, false},
		{"seven decimals are rejected as not whole picodollars", "0.0000001", 0, true},
		{"a negative price is rejected", "-1", 0, true},
		{"an exponent is rejected", "1e-6", 0, true},
		{"an empty string is rejected", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseRate(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseRate(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestMoneyFormatting(t *testing.T) {
	tests := []struct {
		name string
		in   Money
		want string
	}{
		{"zero shows two decimals", 0, "0.00"},
		{"a dollar and a half keeps two decimals", Dollar + Dollar/2, "1.50"},
		{"a sub-cent amount keeps its digits", 1_250_000_000, "0.00125"},
		{"one picodollar shows all twelve decimals", 1, "0.000000000001"},
		{"negative amounts have a leading minus", -Dollar / 4, "-0.25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("Money(%d).String() = %q, want %q", tt.in, got, tt.want)
			}
			back, err := ParseUSD(tt.want)
			if err != nil || back != tt.in {
				t.Errorf("ParseUSD(%q) = %d, %v; want %d", tt.want, back, err, tt.in)
			}
		})
	}
}

func TestAmountDivRoundsHalfAwayFromZero(t *testing.T) {
	tests := []struct {
		name   string
		num    Money
		den    int64
		wantPc string
	}{
		{"an exact division has no rounding", 10, 5, "2"},
		{"a remainder below half rounds down", 10, 3, "3"},
		{"exactly half rounds up", 5, 2, "3"},
		{"negative half rounds away from zero", -5, 2, "-3"},
		{"division by zero requests yields zero", 7, 0, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AmountOf(tt.num).Div(tt.den).Picodollars(); got != tt.wantPc {
				t.Errorf("%d / %d = %s, want %s", tt.num, tt.den, got, tt.wantPc)
			}
		})
	}
}

func TestAmountSumsBeyondInt64WithoutOverflow(t *testing.T) {
	var a Amount
	for range 3 {
		a = a.Add(AmountOf(math.MaxInt64))
	}
	if got, want := a.Picodollars(), "27670116110564327421"; got != want {
		t.Fatalf("3 × MaxInt64 = %s, want %s", got, want)
	}
	if got := amountFromParts(9_223_372_036_854, 775_807); got.Cmp(AmountOf(math.MaxInt64)) != 0 {
		t.Fatalf("amountFromParts recombines to %s, want MaxInt64", got.Picodollars())
	}
}

func TestCostIsExactIntegerArithmetic(t *testing.T) {
	// 0.1 + 0.2 style float error cannot happen: $0.10/1M × 3 tokens is exactly
	// 300,000 picodollars, and a million tokens at $2.50/1M is exactly $2.50.
	rate, _ := ParseRate("0.10")
	if got, ok := costOf(3, rate); !ok || got != 300_000 {
		t.Fatalf("3 tokens at $0.10/1M = %d, want 300000", got)
	}
	rate, _ = ParseRate("2.50")
	if got, _ := costOf(1_000_000, rate); got != 5*Dollar/2 {
		t.Fatalf("1M tokens at $2.50/1M = %s, want 2.50", got)
	}
	if _, ok := costOf(math.MaxInt64/2, rate); ok {
		t.Fatal("an overflowing product must be reported")
	}
}
