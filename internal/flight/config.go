package flight

import (
	"errors"
	"fmt"
)

// Config bounds a Group. Every field documents its unit and default; defaults are applied
// in one place, WithDefaults. The zero Config is valid.
type Config struct {
	// MaxLogBytes bounds the events a flight keeps so that followers joining late can be
	// given the events so far, in bytes (event bytes as appended). Once a flight has
	// logged more than this it takes no new followers: a request for the same key that
	// arrives later starts a flight of its own (counted in Stats.Refused), which later
	// requests can then follow. The flight's own subscribers are unaffected, and from
	// then on the flight drops events every subscriber has read. Default 1048576 (1 MiB).
	MaxLogBytes int `yaml:"max_log_bytes"`
}

// WithDefaults returns c with every zero field set to its default. It is the only place
// defaults live.
func (c Config) WithDefaults() Config {
	if c.MaxLogBytes == 0 {
		c.MaxLogBytes = 1 << 20
	}
	return c
}

// Validate reports every error in c (after WithDefaults), joined.
func (c Config) Validate() error {
	var errs []error
	if c.MaxLogBytes < 0 {
		errs = append(errs, fmt.Errorf("max_log_bytes: %d is negative", c.MaxLogBytes))
	}
	return errors.Join(errs...)
}
