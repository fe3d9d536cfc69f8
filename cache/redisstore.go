package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// ErrUnavailable is returned by the Redis store while it is known to be down (its
// breaker is open): the call did not reach Redis. It matches ErrNotStored too
// (errors.Is): an answer not stored because Redis is known to be down is an expected
// outcome, logged once when Redis went down, not a new failure to log per request.
var ErrUnavailable error = unavailableError{}

type unavailableError struct{}

func (unavailableError) Error() string        { return "cache: redis unavailable" }
func (unavailableError) Is(target error) bool { return target == ErrNotStored }

// NewRedisClient returns a go-redis client tuned for the cache's fail-open use: short dial,
// read and write timeouts, no retries (a miss is cheaper than a slow hit), contexts
// honoured. go-redis reconnects by itself; the store's breaker avoids hammering a Redis
// that is down.
func NewRedisClient(cfg RedisConfig) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                     cfg.Addr,
		Username:                 cfg.Username,
		Password:                 cfg.Password,
		DB:                       cfg.DB,
		DialTimeout:              cfg.DialTimeout,
		DialerRetries:            1,
		ReadTimeout:              cfg.Timeout,
		WriteTimeout:             cfg.Timeout,
		PoolTimeout:              cfg.Timeout,
		MaxRetries:               -1,
		ContextTimeoutEnabled:    true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// RedisStore is the shared Store: one Redis string per entry (encodeEntry), expiring with
// the entry's TTL. Every error or timeout is returned (the cache counts it and treats it
// as a miss) and opens a breaker, so while Redis is down calls fail at once with
// ErrUnavailable; one call per Cooldown probes it, and the first success closes it.
type RedisStore struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	brk     *breaker
	log     *slog.Logger
	logs    *logLimit // bounds the down/back lines of a flapping Redis
	errs    atomic.Int64
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a store over rdb with cfg's prefix, timeout and cooldown (after
// WithDefaults). log receives one line when Redis goes down and one when it is back, at
// most RedisLogBurst of them per RedisLogInterval however Redis flaps; failing calls in
// between are counted (Errors), not logged.
func NewRedisStore(rdb redis.UniversalClient, cfg RedisConfig, log *slog.Logger) *RedisStore {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisStore{
		rdb: rdb, prefix: cfg.KeyPrefix, timeout: cfg.Timeout, log: log, logs: newLogLimit(nil),
		brk: &breaker{cooldown: cfg.Cooldown, now: time.Now},
	}
}

func (s *RedisStore) entryKey(key string) string { return s.prefix + "e:" + key }

// Errors returns how many Redis calls failed so far.
func (s *RedisStore) Errors() int64 { return s.errs.Load() }

// Healthy reports whether the last Redis call succeeded (the breaker is closed).
func (s *RedisStore) Healthy() bool { return !s.brk.open() }

// do runs one call under the breaker with the request-path timeout.
func (s *RedisStore) do(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	if !s.brk.allow() {
		return ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.result(op, fn(ctx))
}

// result records a call's outcome for the breaker and the error count.
func (s *RedisStore) result(op string, err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		if s.brk.ok() {
			s.logs.log(s.log, slog.LevelInfo, "cache: redis is back")
		}
		return err
	}
	s.errs.Add(1)
	if s.brk.fail() {
		s.logs.log(s.log, slog.LevelWarn, "cache: redis failing, cache reads are misses until it recovers", "op", op, "err", err.Error())
	}
	return fmt.Errorf("cache: redis %s: %w", op, err)
}

// Get returns the entry under key, (nil, nil) when absent.
func (s *RedisStore) Get(ctx context.Context, key string) (*Entry, error) {
	var b []byte
	err := s.do(ctx, "get", func(ctx context.Context) error {
		var err error
		b, err = s.rdb.Get(ctx, s.entryKey(key)).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e, err := decodeEntry(b)
	if err != nil {
		return nil, err
	}
	if !e.Expires.After(time.Now()) {
		return nil, nil
	}
	return e, nil
}

// Set stores e with a Redis TTL matching e.Expires.
func (s *RedisStore) Set(ctx context.Context, e *Entry) error {
	ttl := time.Until(e.Expires)
	if ttl <= 0 {
		return nil
	}
	b, err := encodeEntry(e)
	if err != nil {
		return err
	}
	return s.do(ctx, "set", func(ctx context.Context) error {
		return s.rdb.Set(ctx, s.entryKey(e.Key), b, ttl).Err()
	})
}

// Purge deletes every entry of the scope filter with SCAN and UNLINK. It is an admin
// operation: it runs under ctx alone, not the request-path timeout.
func (s *RedisStore) Purge(ctx context.Context, filter Scope) (int, error) {
	if !s.brk.allow() {
		return 0, ErrUnavailable
	}
	pattern := s.entryKey(scopePattern(filter))
	n := 0
	var cursor uint64
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return n, s.result("scan", err)
		}
		if len(keys) > 0 {
			removed, err := s.rdb.Unlink(ctx, keys...).Result()
			if err != nil {
				return n, s.result("unlink", err)
			}
			n += int(removed)
		}
		if cursor = next; cursor == 0 {
			return n, s.result("scan", nil)
		}
	}
}
