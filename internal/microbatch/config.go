package microbatch

import (
	"errors"
	"fmt"
	"time"
)

// Config shapes a Batcher's windows. Every field documents its unit and default;
// defaults are applied in one place, WithDefaults. The zero Config is valid.
type Config struct {
	// MaxWait is how long a batch window stays open after its first item, waiting for
	// more: the most batching adds to a request's latency. A window closes earlier when it
	// is full (MaxItems or MaxTokens). Default 5ms.
	MaxWait time.Duration `yaml:"max_wait"`
	// MaxItems is the most items (Submit calls) one batch carries. Default 64.
	MaxItems int `yaml:"max_items"`
	// MaxTokens is the most tokens one batch carries, summed over its items' weights. An
	// item that would take a batch past it starts the next batch; an item heavier than
	// MaxTokens on its own goes alone, without waiting. Default 8000.
	MaxTokens int `yaml:"max_tokens"`
	// MaxQueue bounds the items held by the Batcher at once, waiting in a window or being
	// flushed, all keys together. A Submit past it fails at once with ErrQueueFull; the
	// caller should then send its request on its own. Default 4096.
	MaxQueue int `yaml:"max_queue"`
	// SplitConcurrency is how many single-item flushes run at once when a failed batch is
	// retried item by item (see Batcher). Default 8.
	SplitConcurrency int `yaml:"split_concurrency"`
}

// WithDefaults returns c with every zero field set to its default. It is the only place
// defaults live.
func (c Config) WithDefaults() Config {
	if c.MaxWait == 0 {
		c.MaxWait = 5 * time.Millisecond
	}
	if c.MaxItems == 0 {
		c.MaxItems = 64
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = 8000
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = 4096
	}
	if c.SplitConcurrency == 0 {
		c.SplitConcurrency = 8
	}
	return c
}

// Validate reports every error in c (after WithDefaults), joined.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if c.MaxWait < 0 || c.MaxWait > time.Second {
		bad("max_wait", "%v is outside (0, 1s]", c.MaxWait)
	}
	if c.MaxItems < 1 {
		bad("max_items", "%d is below 1", c.MaxItems)
	}
	if c.MaxTokens < 1 {
		bad("max_tokens", "%d is below 1", c.MaxTokens)
	}
	if c.MaxQueue < c.MaxItems {
		bad("max_queue", "%d is below max_items (%d)", c.MaxQueue, c.MaxItems)
	}
	if c.SplitConcurrency < 1 {
		bad("split_concurrency", "%d is below 1", c.SplitConcurrency)
	}
	return errors.Join(errs...)
}
