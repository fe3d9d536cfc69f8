package gateway

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/switchyard/switchyard/metering"
)

// keyring is the gateway keys in force (nil: authentication off).
func (g *Gateway) keyring() *keyring { return g.keys.Load() }

// ReloadConfig reads the configuration file again and applies what can change while the
// gateway runs: the gateway keys, the rate limit and budget rules, and the prices. The
// file is validated as at start (file:line errors); a file that does not load changes
// nothing, and the last good settings keep serving. Other changes need a restart and are
// reported as a warning. Safe to call from any goroutine.
func (g *Gateway) ReloadConfig() error {
	if !g.cfg.FromFile() {
		return nil
	}
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	next, err := g.cfg.Reread()
	if err != nil {
		return err
	}
	cat, err := metering.LoadCatalog(next.Metering.Prices)
	if err != nil {
		return fmt.Errorf("%s: metering.prices: %w", next.File(), err)
	}
	if g.limits != nil {
		if err := g.limits.l.Reload(next.RateLimits.Rules); err != nil {
			return fmt.Errorf("%s: rate_limits: %w", next.File(), err)
		}
	} else if len(next.RateLimits.Rules) > 0 {
		g.log.Warn("rate limit rules added to a gateway that started without any: they apply after a restart", "config", next.File())
	}
	g.meter.pricer.SetCatalog(cat)
	g.keys.Store(newKeyring(next.Keys))
	if pl := g.plan.Load(); pl != nil {
		g.setMetricLabelsFor(pl.snap, next.Keys)
	}
	g.log.Info("configuration reloaded: keys, rate limits and prices", "config", next.File(), "keys", len(next.Keys),
		"rate_limit_rules", len(next.RateLimits.Rules))
	return nil
}

// watchConfig reloads the configuration when its file changes (checked every interval),
// until ctx ends.
func (g *Gateway) watchConfig(ctx context.Context, interval time.Duration) {
	defer func() {
		if v := recover(); v != nil {
			g.log.Error("panic watching the configuration", "panic", fmt.Sprint(v))
		}
	}()
	last := fileStamp(g.cfg.File())
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := fileStamp(g.cfg.File())
		if st == last {
			continue
		}
		last = st
		if err := g.ReloadConfig(); err != nil {
			if msg := err.Error(); msg != lastErr {
				lastErr = msg
				g.log.Error("configuration reload rejected; the last good keys, limits and prices keep serving", "error", msg)
			}
			continue
		}
		lastErr = ""
	}
}

// stamp is what tells a changed file: its size and modification time.
type stamp struct {
	size int64
	mod  time.Time
}

func fileStamp(path string) stamp {
	st, err := os.Stat(path)
	if err != nil {
		return stamp{}
	}
	return stamp{st.Size(), st.ModTime()}
}
