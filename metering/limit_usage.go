package metering

import (
	"context"
	"fmt"
	"hash/maphash"
	"time"
)

// LimitUsage is one limit of one rule as it stands for one scope value: what the current
// window holds, the cap, and when the window resets.
type LimitUsage struct {
	// Scope and Match name the rule ("team", "*"); Value is the scope value counted (a
	// rule naming a value counts that value; a "*" rule one counter per value).
	Scope Scope
	Match string
	Value string
	// Mode is the rule's mode; OnRedisError its failure policy.
	Mode         Mode
	OnRedisError FailurePolicy
	// Limit is which limit; Max the cap and Used what the current window holds, in
	// requests, tokens or Money (picodollars) for the spend limits. Used includes the
	// estimates of requests still in flight.
	Limit     LimitKind
	Max, Used int64
	// Resets is when the current window ends (a UTC minute, day or month boundary).
	Resets time.Time
}

// Remaining is Max − Used, never below zero.
func (u *LimitUsage) Remaining() int64 { return max(u.Max-u.Used, 0) }

// Usage reports every configured limit at now: a rule naming a value for that value, a
// "*" rule for each of values[scope] that no rule names (the gateway passes the values it
// knows from its keys; "*" counters for other values are not listed, as the Redis store
// cannot enumerate them cheaply). Rules are in configuration order, limits in kind
// order. It reads the store once; it never writes.
func (l *Limiter) Usage(ctx context.Context, now time.Time, values map[Scope][]string) ([]LimitUsage, error) {
	rs := l.rules.Load()
	w := l.windowsAt(now)
	var out []LimitUsage
	var ops []counterOp
	for _, c := range rs.cfgs {
		si := c.Scope.index()
		vals := []string{c.Match}
		if c.Match == "*" {
			vals = nil
			for _, v := range values[c.Scope] {
				if _, named := rs.exact[si][v]; !named && v != "" {
					vals = append(vals, v)
				}
			}
		}
		r := rs.match(si, c.Match) // "*" is never a named value: this is the rule itself
		for _, v := range vals {
			for k := range LimitKind(numKinds) {
				if r.max[k] <= 0 {
					continue
				}
				ops = append(ops, counterOp{scope: uint8(si), kind: k, value: v, win: w[k], max: r.max[k]})
				out = append(out, LimitUsage{Scope: c.Scope, Match: c.Match, Value: v, Mode: c.Mode,
					OnRedisError: c.OnRedisError, Limit: k, Max: r.max[k], Resets: time.Unix(w[k].end, 0).UTC()})
			}
		}
	}
	if len(ops) == 0 {
		return out, nil
	}
	if err := l.store.usage(ctx, ops); err != nil {
		return nil, fmt.Errorf("metering: limits usage: %w", err)
	}
	for i := range ops {
		out[i].Used = ops[i].used
	}
	return out, nil
}

// usage fills each op's used from its counter in op.win, creating nothing.
func (s *MemoryStore) usage(_ context.Context, ops []counterOp) error {
	for i := range ops {
		op := &ops[i]
		k := entityKey{op.scope, op.value}
		sh := &s.entities[(maphash.String(s.seed, k.value)+uint64(k.scope))&(memShards-1)]
		sh.mu.RLock()
		e := sh.m[k]
		sh.mu.RUnlock()
		if e == nil {
			continue
		}
		e.mu.Lock()
		op.used = e.c[op.kind].value(op.win)
		e.mu.Unlock()
	}
	return nil
}

// usageLua reads counters: one value per key, "0" for a missing one.
const usageLua = `local out = {}
for i, k in ipairs(KEYS) do out[i] = redis.call('GET', k) or '0' end
return out`

// usage reads every op's counter in one script call, through the gate.
func (s *RedisStore) usage(ctx context.Context, ops []counterOp) error {
	keys := make([]string, len(ops))
	for i := range ops {
		keys[i] = s.counterKey(&ops[i], ops[i].win)
	}
	reply, err := s.run(ctx, s.usageS, keys, nil).Slice()
	if err != nil {
		return fmt.Errorf("redis usage: %w", err)
	}
	if len(reply) != len(ops) {
		return fmt.Errorf("redis usage: %d values for %d counters", len(reply), len(ops))
	}
	for i := range ops {
		v, err := replyInt(reply[i])
		if err != nil {
			return fmt.Errorf("redis usage: %w", err)
		}
		ops[i].used = v
	}
	return nil
}

// RateWindow is what one kind of rate limit leaves: the cap, what remains of it in the
// current window and the time until that window resets. A zero Limit means no hard limit
// of the kind applies.
type RateWindow struct {
	Limit, Remaining int64
	Reset            time.Duration
}

// RateHeadroom is what the tightest hard requests-per-minute and tokens-per-minute limits
// leave after a request, the values of OpenAI's x-ratelimit-* headers.
type RateHeadroom struct {
	Requests, Tokens RateWindow
}

// Headroom returns what the hard RPM and TPM limits the reservation charged leave after
// it (its own estimate included), the tightest when several scopes apply. It is empty
// when no hard rate limit applied, and when the store failed (usage unknown).
func (r *Reservation) Headroom() RateHeadroom {
	var h RateHeadroom
	if r.StoreErr != nil {
		return h
	}
	for i := range r.ops {
		op := &r.ops[i]
		var w *RateWindow
		switch {
		case op.mode != codeHard:
			continue
		case op.kind == LimitRPM:
			w = &h.Requests
		case op.kind == LimitTPM:
			w = &h.Tokens
		default:
			continue
		}
		left := max(op.max-op.used-max(op.charged, 0), 0)
		if w.Limit == 0 || left < w.Remaining {
			*w = RateWindow{Limit: op.max, Remaining: left, Reset: max(time.Unix(op.win.end, 0).Sub(r.at), 0)}
		}
	}
	return h
}
