package metering

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// limitT0 is a fixed instant 10 seconds into a minute, used by the window tests.
var limitT0 = time.Date(2030, time.January, 15, 12, 0, 10, 0, time.UTC)

// limitClock is a settable clock for Limiter.Settle.
type limitClock struct {
	mu sync.Mutex
	t  time.Time
}

func newLimitClock(t time.Time) *limitClock { return &limitClock{t: t} }

func (c *limitClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *limitClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// limitPeeker reads a counter straight from a store, for assertions.
type limitPeeker interface {
	peek(t testing.TB, scope Scope, value string, kind LimitKind, at time.Time) int64
}

// limitStoreCase builds a fresh, empty store of one kind for a test.
type limitStoreCase struct {
	name string
	new  func(t *testing.T) (LimitStore, limitPeeker)
}

// limitStores are the stores every behaviour test runs against. The Redis one skips when
// SWITCHYARD_TEST_REDIS is unset.
var limitStores = []limitStoreCase{
	{"memory", func(*testing.T) (LimitStore, limitPeeker) {
		s := NewMemoryStore()
		return s, s
	}},
	{"redis", func(t *testing.T) (LimitStore, limitPeeker) {
		rdb := limitTestRedis(t)
		s := mustRedisStore(t, rdb, RedisStoreConfig{Prefix: limitTestPrefix(t, rdb), Timeout: 2 * time.Second})
		return s, redisPeeker{rdb, s}
	}},
}

// forEachLimitStore runs f as a subtest per store.
func forEachLimitStore(t *testing.T, f func(t *testing.T, store LimitStore, p limitPeeker)) {
	for _, sc := range limitStores {
		t.Run(sc.name, func(t *testing.T) {
			s, p := sc.new(t)
			f(t, s, p)
		})
	}
}

func (s *MemoryStore) peek(t testing.TB, scope Scope, value string, kind LimitKind, at time.Time) int64 {
	e := s.entity(entityKey{uint8(scope.index()), value}, at.Unix())
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.c[kind].value(windowsAt(at)[kind])
}

type redisPeeker struct {
	rdb *redis.Client
	s   *RedisStore
}

func (p redisPeeker) peek(t testing.TB, scope Scope, value string, kind LimitKind, at time.Time) int64 {
	t.Helper()
	op := counterOp{scope: uint8(scope.index()), kind: kind, value: value}
	v, err := p.rdb.Get(context.Background(), p.s.counterKey(&op, windowsAt(at)[kind])).Int64()
	if err == redis.Nil {
		return 0
	}
	if err != nil {
		t.Fatalf("peek: %v", err)
	}
	return v
}

// limitTestRedis connects to the Redis at SWITCHYARD_TEST_REDIS, skipping the test when the
// variable is unset and failing it when the server does not answer.
func limitTestRedis(t testing.TB) *redis.Client {
	t.Helper()
	addr := os.Getenv("SWITCHYARD_TEST_REDIS")
	if addr == "" {
		t.Skip("SWITCHYARD_TEST_REDIS is not set")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("SWITCHYARD_TEST_REDIS=%s: %v", addr, err)
	}
	return rdb
}

func mustRedisStore(t testing.TB, rdb redis.Scripter, cfg RedisStoreConfig) *RedisStore {
	t.Helper()
	s, err := NewRedisStore(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// limitTestPrefix returns a key prefix unique to this test run and deletes its keys at cleanup.
func limitTestPrefix(t testing.TB, rdb *redis.Client) string {
	var r [6]byte
	_, _ = rand.Read(r[:])
	name := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			return c
		}
		return '_'
	}, t.Name())
	prefix := "sytest:" + name + ":" + hex.EncodeToString(r[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return prefix
}

// mustLimiter builds a Limiter over store with a fake clock at limitT0.
func mustLimiter(t testing.TB, store LimitStore, rules ...LimitConfig) (*Limiter, *limitClock) {
	t.Helper()
	clk := newLimitClock(limitT0)
	l, err := NewLimiter(rules, store, LimiterOptions{Clock: clk.Now})
	if err != nil {
		t.Fatalf("NewLimiter: %v", err)
	}
	return l, clk
}

// limitReq is a ReserveRequest for key k1, team t1, feature f1 at limitT0.
func limitReq(id string, tokens int64, cost Money) ReserveRequest {
	return ReserveRequest{RequestID: id, Key: "k1", Team: "t1", Feature: "f1",
		EstimatedTokens: tokens, EstimatedCost: cost, Now: limitT0}
}
