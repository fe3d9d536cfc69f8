package cache

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedis returns the shared test Redis address, skipping when SWITCHYARD_TEST_REDIS is
// unset (scripts/test-services.sh sets it).
func testRedis(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("SWITCHYARD_TEST_REDIS")
	if addr == "" {
		t.Skip("SWITCHYARD_TEST_REDIS is not set")
	}
	return addr
}

// uniquePrefix gives each test its own keys and stream, and removes them afterwards.
func uniquePrefix(t *testing.T, addr string) string {
	t.Helper()
	prefix := fmt.Sprintf("switchyard-test:%s:%d:", t.Name(), time.Now().UnixNano())
	t.Cleanup(func() {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return prefix
}

func redisConfig(addr, prefix string) Config {
	return Config{
		Enabled: true, Store: "redis",
		Redis:    RedisConfig{Addr: addr, KeyPrefix: prefix, Cooldown: 100 * time.Millisecond},
		Defaults: Rules{Semantic: SemanticOn},
	}
}

// eventually retries f until it holds or the deadline passes: replicas converge through
// the stream asynchronously, by design.
func eventually(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReplicasSharingRedisServeEachOthersEntries(t *testing.T) {
	addr := testRedis(t)
	prefix := uniquePrefix(t, addr)
	a := newCache(t, redisConfig(addr, prefix), Deps{})
	b := newCache(t, redisConfig(addr, prefix), Deps{})
	scope := Scope{Tenant: "t1", Feature: "f", Model: "gpt-4o-mini"}

	storeAnswer(t, a, scope, "What is the capital of France?", "Paris")

	if h := ask(b, scope, "What is the capital of France?"); h.Outcome != Exact {
		t.Fatalf("replica B: exact lookup %v (%s)", h.Outcome, h.Reason)
	}
	eventually(t, 5*time.Second, "replica B semantic hit on A's entry", func() bool {
		return ask(b, scope, "what's the capital of france").Outcome == Semantic
	})
	if h := ask(b, Scope{Tenant: "t2", Feature: "f", Model: "gpt-4o-mini"}, "What is the capital of France?"); h.Served() {
		t.Fatal("another tenant served from the shared store")
	}

	// A replica started later rebuilds its index from Redis.
	c := newCache(t, redisConfig(addr, prefix), Deps{})
	eventually(t, 5*time.Second, "a new replica's semantic hit", func() bool {
		return ask(c, scope, "What's the capital of France").Outcome == Semantic
	})

	// A purge through one replica reaches the others.
	if n, err := b.Purge(context.Background(), Scope{Tenant: "t1"}); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	eventually(t, 5*time.Second, "purge seen by replica A", func() bool {
		return !ask(a, scope, "what's the capital of france").Served() && !ask(a, scope, "What is the capital of France?").Served()
	})
}

// privateRedis runs a redis-server of its own on a free port, returning its address and
// functions to stop and restart it.
func privateRedis(t *testing.T) (addr string, stop, start func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (scripts/test-services.sh installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr = "127.0.0.1:" + strconv.Itoa(port)
	var cmd *exec.Cmd
	start = func() {
		cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		defer rdb.Close()
		eventually(t, 5*time.Second, "private redis-server up", func() bool {
			return rdb.Ping(context.Background()).Err() == nil
		})
	}
	stop = func() {
		if cmd != nil && cmd.Process != nil {
			cmd.Process.Kill()
			cmd.Wait()
			cmd = nil
		}
	}
	start()
	t.Cleanup(stop)
	return addr, stop, start
}

func TestRedisDownMeansQuickMissesAndRecovery(t *testing.T) {
	testRedis(t)
	addr, stop, start := privateRedis(t)
	c := newCache(t, redisConfig(addr, "sy:"), Deps{})
	scope := Scope{Tenant: "t"}
	storeAnswer(t, c, scope, "What is the capital of France?", "Paris")
	if !ask(c, scope, "What is the capital of France?").Served() {
		t.Fatal("no hit while Redis is up")
	}

	stop()
	for i := range 20 {
		begin := time.Now()
		h := ask(c, scope, "What is the capital of France?")
		if took := time.Since(begin); took > 250*time.Millisecond {
			t.Fatalf("lookup %d with Redis down took %v", i, took)
		}
		if h.Served() {
			t.Fatal("served while Redis is down")
		}
		hit, _ := c.Lookup(context.Background(), LookupRequest{Op: 1, Scope: scope, Body: chatBody("", "Another question?")})
		begin = time.Now()
		if err := c.Store(context.Background(), hit, Response{Status: 200, Body: answerBody("x")}); err == nil {
			t.Fatal("store succeeded with Redis down")
		}
		if took := time.Since(begin); took > 250*time.Millisecond {
			t.Fatalf("store with Redis down took %v", took)
		}
	}
	if st := c.Stats(); st.StoreErrors == 0 || st.RedisHealthy {
		t.Fatalf("stats while down: %+v", st)
	}

	start() // an empty Redis: the old entry is gone, new ones work again
	eventually(t, 5*time.Second, "cache recovers after Redis returns", func() bool {
		h := ask(c, scope, "What is the capital of Spain?")
		if h.Served() {
			return false
		}
		if err := c.Store(context.Background(), h, Response{Status: 200, Body: answerBody("Madrid")}); err != nil {
			return false
		}
		return ask(c, scope, "What is the capital of Spain?").Outcome == Exact
	})
	eventually(t, 5*time.Second, "semantic hits after Redis returns", func() bool {
		return ask(c, scope, "what's the capital of spain").Outcome == Semantic
	})
	if !c.Stats().RedisHealthy {
		t.Fatal("breaker still open after recovery")
	}
}
