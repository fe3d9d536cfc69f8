package metering

import (
	"context"
	_ "embed" // the Lua scripts
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed redisscripts/reserve.lua
	reserveLua string
	//go:embed redisscripts/settle.lua
	settleLua string
)

// RedisStoreConfig configures a RedisStore. The Redis connection itself (address,
// password, pool, dial timeout) is the caller's redis client.
type RedisStoreConfig struct {
	// Prefix starts every key the limiter writes. Default "{switchyard:limits}:". The
	// braces are a Redis Cluster hash tag: they put every limiter key in one slot, which
	// the atomic scripts need (a request's counters are updated together). On a single
	// Redis or Valkey server they are just characters.
	Prefix string `yaml:"prefix"`
	// Timeout bounds each reserve or settle call to Redis, retries included; a call that
	// runs out fails and the rule's on_redis_error policy decides. Default 100ms.
	Timeout time.Duration `yaml:"timeout"`
	// Cooldown is how long calls fail at once, without trying Redis, after one failed to
	// reach it; one call per cooldown then probes. So an outage costs one Timeout per
	// Cooldown, not one per request. Default 1s.
	Cooldown time.Duration `yaml:"cooldown"`
}

// Defaults fills the zero fields with their defaults.
func (c *RedisStoreConfig) Defaults() {
	if c.Prefix == "" {
		c.Prefix = "{switchyard:limits}:"
	}
	if c.Timeout <= 0 {
		c.Timeout = 100 * time.Millisecond
	}
	if c.Cooldown <= 0 {
		c.Cooldown = time.Second
	}
}

// RedisStore keeps limit counters in Redis (6.0 or later, or Valkey), shared by every
// replica. Reserve and settle are each one Lua script, so a request's check-and-charge
// across all its counters is atomic however many replicas run. Counter keys are per
// window and expire after it; idempotency records expire after the Limiter's
// IdempotencyTTL. Safe for concurrent use; the client reconnects by itself after Redis
// comes back.
type RedisStore struct {
	rdb             redis.Scripter
	prefix          string
	timeout         time.Duration
	gate            redisGate
	reserveS, settS *redis.Script
	usageS          *redis.Script // reads counters for Limiter.Usage
}

var _ LimitStore = (*RedisStore)(nil)

// counterSlack keeps a counter key this long past its window's end, so a replica whose
// clock lags a little still finds it.
const counterSlack = time.Minute

// NewRedisStore returns a store over rdb (a *redis.Client, *redis.ClusterClient or
// *redis.Ring), with cfg's defaults applied. The client must have ContextTimeoutEnabled
// set: without it go-redis ignores the context deadline on socket reads, and a Redis that
// hangs would hold every request for the client's ReadTimeout instead of cfg.Timeout.
func NewRedisStore(rdb redis.Scripter, cfg RedisStoreConfig) (*RedisStore, error) {
	if !contextTimeouts(rdb) {
		return nil, errors.New("metering: the limits Redis client needs ContextTimeoutEnabled: true, " +
			"or a Redis that hangs would hold requests past the limits timeout")
	}
	cfg.Defaults()
	return &RedisStore{
		rdb: rdb, prefix: cfg.Prefix, timeout: cfg.Timeout, gate: redisGate{cooldown: cfg.Cooldown},
		reserveS: redis.NewScript(reserveLua), settS: redis.NewScript(settleLua), usageS: redis.NewScript(usageLua),
	}, nil
}

// contextTimeouts reports whether rdb honours context deadlines; true for client types
// it does not know.
func contextTimeouts(rdb redis.Scripter) bool {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}

// counterKey is prefix + "c:" + kind + ":" + window start + ":" + scope + ":" + value.
// The value comes last so that no value, whatever it contains, can collide with another
// counter's key.
func (s *RedisStore) counterKey(op *counterOp, w window) string {
	var b strings.Builder
	b.Grow(len(s.prefix) + 40 + len(op.value))
	b.WriteString(s.prefix)
	b.WriteString("c:")
	b.WriteString(op.kind.String())
	b.WriteByte(':')
	b.WriteString(strconv.FormatInt(w.start, 10))
	b.WriteByte(':')
	b.WriteString(string(scopes[op.scope]))
	b.WriteByte(':')
	b.WriteString(op.value)
	return b.String()
}

func (s *RedisStore) recordKey(id string) string { return s.prefix + "r:" + id }

// ttlMillis is the TTL of a counter key for w, seen at now.
func ttlMillis(w window, now time.Time) string {
	ms := time.Unix(w.end, 0).Add(counterSlack).Sub(now).Milliseconds()
	return strconv.FormatInt(max(ms, 1000), 10)
}

// run runs script with the timeout, through the gate.
func (s *RedisStore) run(ctx context.Context, script *redis.Script, keys []string, args []any) *redis.Cmd {
	if err := s.gate.enter(); err != nil {
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(err)
		return cmd
	}
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := script.Run(tctx, s.rdb, keys, args...)
	s.gate.done(ctx, cmd.Err())
	return cmd
}

func (s *RedisStore) reserve(ctx context.Context, b reserveBatch) (reserveResult, error) {
	n := len(b.ops)
	keys := make([]string, 1+n)
	args := make([]any, 2+4*n)
	keys[0] = s.recordKey(b.requestID)
	args[0] = strconv.FormatInt(max(b.ttl.Milliseconds(), 1), 10)
	args[1] = strconv.FormatInt(b.at.UnixMilli(), 10)
	for i := range b.ops {
		op := &b.ops[i]
		keys[1+i] = s.counterKey(op, op.win)
		a := 2 + 4*i
		args[a] = strconv.FormatInt(op.amount, 10)
		args[a+1] = strconv.FormatInt(max(op.max-op.amount, -1), 10)
		args[a+2] = string(modeNames[op.mode])
		args[a+3] = ttlMillis(op.win, b.at)
	}
	reply, err := s.run(ctx, s.reserveS, keys, args).Slice()
	if err != nil {
		return reserveResult{}, fmt.Errorf("redis reserve: %w", err)
	}
	return parseReserveReply(reply, b.ops)
}

// parseReserveReply reads reserve.lua's reply into ops and the result.
func parseReserveReply(reply []any, ops []counterOp) (reserveResult, error) {
	n := len(ops)
	bad := func(why string) (reserveResult, error) {
		return reserveResult{}, fmt.Errorf("redis reserve: unexpected reply %v: %s", reply, why)
	}
	if len(reply) == 0 {
		return bad("empty")
	}
	status, _ := reply[0].(int64)
	switch {
	case status == 0 && len(reply) == 1+2*n:
		for i := range ops {
			u, err1 := replyInt(reply[1+i])
			c, err2 := replyInt(reply[1+n+i])
			if err := errors.Join(err1, err2); err != nil {
				return bad(err.Error())
			}
			ops[i].used, ops[i].charged = u, c
		}
		return reserveResult{outcome: outcomeAdmitted}, nil
	case status == 1 && len(reply) == 3:
		i, _ := reply[1].(int64)
		u, err := replyInt(reply[2])
		if err != nil || i < 1 || int(i) > n {
			return bad("denied counter out of range")
		}
		ops[i-1].used = u
		return reserveResult{outcome: outcomeDenied, denied: int(i - 1)}, nil
	case status == 2 && len(reply) == 2:
		rec, _ := reply[1].(string)
		return parseRecord(rec, ops)
	}
	return bad("unknown shape")
}

// parseRecord answers a Reserve of an id Redis already holds, from its record: "s" once
// settled, else "r:<reservation Unix ms>:<charged_1>,...,<charged_n>".
func parseRecord(rec string, ops []counterOp) (reserveResult, error) {
	if rec == "s" {
		return reserveResult{outcome: outcomeSettled}, nil
	}
	rest, ok := strings.CutPrefix(rec, "r:")
	ms, list, ok2 := strings.Cut(rest, ":")
	at, err := strconv.ParseInt(ms, 10, 64)
	if !ok || !ok2 || err != nil {
		return reserveResult{}, fmt.Errorf("redis reserve: bad idempotency record %q", rec)
	}
	parts := strings.Split(list, ",")
	for i := range ops {
		ops[i].charged = notCharged
		if len(parts) == len(ops) { // else the rules changed in between: settle nothing
			if c, err := strconv.ParseInt(parts[i], 10, 64); err == nil {
				ops[i].charged = c
			}
		}
	}
	return reserveResult{outcome: outcomeDuplicate, origAt: time.UnixMilli(at)}, nil
}

func replyInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("not an integer: %v", v)
}

func (s *RedisStore) settle(ctx context.Context, b settleBatch) error {
	n := len(b.ops)
	keys := make([]string, 1+2*n)
	args := make([]any, 1+3*n)
	keys[0] = s.recordKey(b.requestID)
	args[0] = strconv.FormatInt(max(b.ttl.Milliseconds(), 1), 10)
	for i := range b.ops {
		op := &b.ops[i]
		cur := b.cur[op.kind]
		keys[1+i] = s.counterKey(op, op.win)
		keys[1+n+i] = keys[1+i] // equal keys: the correction stays in the reservation's window
		if cur.start > op.win.start {
			keys[1+n+i] = s.counterKey(op, cur)
		}
		a := 1 + 3*i
		args[a] = strconv.FormatInt(op.charged, 10)
		args[a+1] = strconv.FormatInt(b.actual[op.kind], 10)
		args[a+2] = ttlMillis(cur, b.now)
	}
	if err := s.run(ctx, s.settS, keys, args).Err(); err != nil {
		return fmt.Errorf("redis settle: %w", err)
	}
	return nil
}
