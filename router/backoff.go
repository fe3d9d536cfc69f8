package router

import "time"

// BackoffConfig shapes the wait before retrying the same deployment. Zero fields take
// the defaults in brackets.
type BackoffConfig struct {
	// Base is the first wait [50ms]; each retry doubles it.
	Base time.Duration `yaml:"base"`
	// Max caps one wait, Retry-After included [2s]; a longer Retry-After makes the router
	// move to another deployment instead of waiting.
	Max time.Duration `yaml:"max"`
}

// WithDefaults returns c with zero fields set.
func (c BackoffConfig) WithDefaults() BackoffConfig {
	if c.Base <= 0 {
		c.Base = 50 * time.Millisecond
	}
	if c.Max <= 0 {
		c.Max = 2 * time.Second
	}
	return c
}

// Wait returns how long to wait before retry number n (from 1), with full jitter from
// rnd in [0,1), honouring the upstream's Retry-After when it is set. ok is false when
// Retry-After exceeds Max: waiting would cost more than falling back.
func (c BackoffConfig) Wait(n int, retryAfter time.Duration, rnd float64) (d time.Duration, ok bool) {
	if retryAfter > 0 {
		if retryAfter > c.Max {
			return 0, false
		}
		return retryAfter, true
	}
	d = c.Base << min(n-1, 16)
	if d > c.Max || d <= 0 {
		d = c.Max
	}
	return time.Duration(float64(d) * (0.5 + rnd/2)), true
}
