package metering

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// limitReplicas builds n Limiters, each with its own Redis client and store, sharing one Redis
// and one key prefix: n gateway limitReplicas.
func limitReplicas(t *testing.T, n int, rules ...LimitConfig) ([]*Limiter, redisPeeker) {
	t.Helper()
	var ls []*Limiter
	var p redisPeeker
	prefix := ""
	for i := range n {
		rdb := limitTestRedis(t)
		if i == 0 {
			prefix = limitTestPrefix(t, rdb)
		}
		s := mustRedisStore(t, rdb, RedisStoreConfig{Prefix: prefix, Timeout: 5 * time.Second})
		l, _ := mustLimiter(t, s, rules...)
		ls = append(ls, l)
		p = redisPeeker{rdb, s}
	}
	return ls, p
}

func TestLimitRedisTwoReplicasEnforceOneHardRPM(t *testing.T) {
	const perReplica, attempts, rpm = 16, 40, 500
	ls, p := limitReplicas(t, 2, LimitConfig{Scope: ScopeKey, RPM: rpm})
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for ri, l := range ls {
		for g := range perReplica {
			wg.Go(func() {
				for i := range attempts {
					_, err := l.Reserve(context.Background(), limitReq(fmt.Sprintf("r%d-g%d-%d", ri, g, i), 1, 0))
					var le *LimitError
					switch {
					case err == nil:
						admitted.Add(1)
					case !errors.As(err, &le):
						t.Error(err)
					}
				}
			})
		}
	}
	wg.Wait()
	if got := admitted.Load(); got != rpm {
		t.Errorf("two limitReplicas admitted %d requests under one %d rpm limit, want exactly %d", got, rpm, rpm)
	}
	if got := p.peek(t, ScopeKey, "k1", LimitRPM, limitT0); got != rpm {
		t.Errorf("counter = %d, want %d", got, rpm)
	}
}

// TestLimitRedisTwoReplicasKeepOneBudgetWithinTheBound checks the bound docs/limits.md
// states: spend exceeds a budget by at most the under-estimates of the reservations in
// flight at the last admission, here at most (goroutines) × (largest under-estimate).
// Every estimate is low, the worst case for overshoot.
func TestLimitRedisTwoReplicasKeepOneBudgetWithinTheBound(t *testing.T) {
	const perReplica, attempts = 8, 60
	budget, est := Dollar, Dollar/100 // a $1 daily budget, requests estimated at 1 cent
	ls, p := limitReplicas(t, 2, LimitConfig{Scope: ScopeTeam, DailySpend: "1"})
	var spent, inFlight, maxInFlight, denied atomic.Int64
	var wg sync.WaitGroup
	for ri, l := range ls {
		for g := range perReplica {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(ri), uint64(g)))
				for i := range attempts {
					res, err := l.Reserve(context.Background(), limitReq(fmt.Sprintf("r%d-g%d-%d", ri, g, i), 0, est))
					var le *LimitError
					if errors.As(err, &le) {
						denied.Add(1)
						continue
					} else if err != nil {
						t.Error(err)
						return
					}
					n := inFlight.Add(1)
					for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
					}
					time.Sleep(time.Duration(rng.IntN(1000)) * time.Microsecond) // the upstream call
					actual := est + Money(rng.Int64N(int64(est)+1))              // every estimate low, by up to 100%
					if err := l.Settle(context.Background(), res, 0, actual); err != nil {
						t.Error(err)
					}
					inFlight.Add(-1)
					spent.Add(int64(actual))
				}
			})
		}
	}
	wg.Wait()
	bound := Money(2*perReplica) * est // in-flight reservations × the largest under-estimate
	total := Money(spent.Load())
	t.Logf("spent %s of a %s budget (overshoot %s, bound %s); %d denials; at most %d reservations in flight",
		total, budget, total-budget, bound, denied.Load(), maxInFlight.Load())
	if got := Money(p.peek(t, ScopeTeam, "t1", LimitDailySpend, limitT0)); got != total {
		t.Errorf("the shared counter holds %s, but the settled requests spent %s", got, total)
	}
	if total > budget+bound {
		t.Errorf("spent %s: over the %s budget by more than the bound %s", total, budget, bound)
	}
	if denied.Load() == 0 || total < budget/2 {
		t.Errorf("the budget was never reached (spent %s, %d denials): the test proves nothing", total, denied.Load())
	}
}

func TestLimitRedisKeysExpire(t *testing.T) {
	rdb := limitTestRedis(t)
	s := mustRedisStore(t, rdb, RedisStoreConfig{Prefix: limitTestPrefix(t, rdb)})
	l, _ := mustLimiter(t, s, LimitConfig{Scope: ScopeKey, RPM: 10, DailySpend: "5"})
	ctx := context.Background()
	res, err := l.Reserve(ctx, limitReq("ttl", 0, Dollar))
	if err != nil {
		t.Fatal(err)
	}
	ttl := func(key string) time.Duration {
		d, err := rdb.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	op := func(k LimitKind) *counterOp { return &counterOp{scope: uint8(ScopeKey.index()), kind: k, value: "k1"} }
	w := windowsAt(limitT0)
	checks := []struct {
		name     string
		key      string
		min, max time.Duration
	}{
		{"a minute counter lives to its window's end plus slack", s.counterKey(op(LimitRPM), w[LimitRPM]), 100 * time.Second, 110 * time.Second},
		{"a day counter lives to midnight plus slack", s.counterKey(op(LimitDailySpend), w[LimitDailySpend]), 12*time.Hour - time.Minute, 12*time.Hour + 50*time.Second},
		{"a reservation record lives for the idempotency TTL", s.recordKey("ttl"), 14 * time.Minute, 15 * time.Minute},
	}
	for _, c := range checks {
		if d := ttl(c.key); d < c.min || d > c.max {
			t.Errorf("%s: PTTL %s = %v, want %v to %v", c.name, c.key, d, c.min, c.max)
		}
	}
	if err := l.Settle(ctx, res, 0, Dollar/2); err != nil {
		t.Fatal(err)
	}
	if v := rdb.Get(ctx, s.recordKey("ttl")).Val(); v != "s" {
		t.Errorf("record after settle = %q, want the settled marker", v)
	}
	if d := ttl(s.recordKey("ttl")); d < 14*time.Minute {
		t.Errorf("settled marker PTTL = %v, want the idempotency TTL", d)
	}
}

func TestNewRedisStoreRequiresContextTimeouts(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	if _, err := NewRedisStore(rdb, RedisStoreConfig{}); err == nil {
		t.Fatal("NewRedisStore accepted a client that ignores context deadlines")
	}
}

// hungRedisAddr listens on a loopback port, accepts connections, reads what it is sent and
// never answers: a Redis that hangs.
func hungRedisAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = io.Copy(io.Discard, c)
			})
		}
	}()
	return ln.Addr().String()
}

func TestLimitRedisThatHangsIsBoundedByTheTimeout(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: hungRedisAddr(t), ContextTimeoutEnabled: true})
	defer rdb.Close()
	const timeout = 500 * time.Millisecond
	s := mustRedisStore(t, rdb, RedisStoreConfig{Timeout: timeout, Cooldown: time.Minute})
	tests := []struct {
		name   string
		policy FailurePolicy
		within time.Duration
	}{
		{"fail_open admits once the timeout passes", FailOpen, 2 * timeout},
		{"fail_closed denies without waiting while the store cools down", FailClosed, timeout * 9 / 10},
		{"fail_open admits without waiting while the store cools down", FailOpen, timeout * 9 / 10},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := mustLimiter(t, s, LimitConfig{Scope: ScopeKey, RPM: 10, OnRedisError: tc.policy})
			start := time.Now()
			res, err := l.Reserve(context.Background(), limitReq(fmt.Sprint("hung", i), 1, 0))
			if d := time.Since(start); d > tc.within {
				t.Errorf("Reserve took %v against a hung Redis, want at most %v", d, tc.within)
			}
			if tc.policy == FailOpen && (err != nil || res.StoreErr == nil) {
				t.Errorf("fail_open: %+v, %v; want admitted with StoreErr", res, err)
			}
			if tc.policy == FailClosed && !errors.Is(err, ErrLimitsUnavailable) {
				t.Errorf("fail_closed: err = %v, want ErrLimitsUnavailable", err)
			}
		})
	}
}

// privateRedisServer is a redis-server this test starts and stops on a fixed loopback port.
type privateRedisServer struct {
	t    *testing.T
	bin  string
	port int
	cmd  *exec.Cmd
}

func startPrivateRedisServer(t *testing.T) *privateRedisServer {
	limitTestRedis(t) // the Redis tests run only when SWITCHYARD_TEST_REDIS is set
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed: no private Redis to stop and restart")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &privateRedisServer{t: t, bin: bin, port: port}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *privateRedisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *privateRedisServer) start() {
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	probe := redis.NewClient(&redis.Options{Addr: r.addr(), ContextTimeoutEnabled: true})
	defer probe.Close()
	r.waitUp(probe)
}

// waitUp waits until rdb gets an answer from the server, for at most 10 seconds.
func (r *privateRedisServer) waitUp(rdb *redis.Client) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("private redis-server on %s did not answer: %v", r.addr(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *privateRedisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func TestLimitRedisOutageFollowsThePolicyAndRecovers(t *testing.T) {
	srv := startPrivateRedisServer(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), ContextTimeoutEnabled: true})
	defer rdb.Close()
	const timeout, cooldown = 300 * time.Millisecond, 200 * time.Millisecond
	s := mustRedisStore(t, rdb, RedisStoreConfig{Timeout: timeout, Cooldown: cooldown})
	open, _ := mustLimiter(t, s, LimitConfig{Scope: ScopeKey, RPM: 100, OnRedisError: FailOpen})
	closed, _ := mustLimiter(t, s, LimitConfig{Scope: ScopeTeam, RPM: 100, OnRedisError: FailClosed})
	ctx := context.Background()
	reserve := func(l *Limiter, id string) (Reservation, time.Duration, error) {
		start := time.Now()
		res, err := l.Reserve(ctx, limitReq(id, 1, 0))
		return res, time.Since(start), err
	}
	for _, l := range []*Limiter{open, closed} {
		if _, _, err := reserve(l, fmt.Sprintf("before-%p", l)); err != nil {
			t.Fatalf("with Redis up: %v", err)
		}
	}

	srv.stop()
	down, d, err := reserve(open, "down-open")
	if err != nil || down.StoreErr == nil || d > timeout+time.Second {
		t.Errorf("fail_open with Redis down: %+v, %v after %v; want admitted with StoreErr within the timeout", down, err, d)
	}
	t.Logf("first Reserve with Redis down (fail_open) took %v: %v", d, down.StoreErr)
	_, d, err = reserve(closed, "down-closed")
	if !errors.Is(err, ErrLimitsUnavailable) || d >= timeout {
		t.Errorf("fail_closed with Redis down: %v after %v; want ErrLimitsUnavailable without waiting (cooling down)", err, d)
	}
	t.Logf("next Reserve with Redis down (fail_closed) took %v: %v", d, err)
	if err := open.Settle(ctx, down, 0, 0); err == nil {
		t.Error("Settle with Redis down reported success")
	}

	srv.start() // same port, empty, no scripts loaded
	deadline := time.Now().Add(10 * time.Second)
	for _, l := range []*Limiter{open, closed} {
		for i := 0; ; i++ { // recovered once a probe after the cooldown gets through
			res, _, err := reserve(l, fmt.Sprintf("after-%p-%d", l, i))
			if err == nil && res.StoreErr == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no recovery 10s after Redis came back: %+v, %v", res, err)
			}
			time.Sleep(cooldown / 4)
		}
	}
	if err := open.Settle(ctx, down, 0, 0); err != nil {
		t.Fatalf("settling the fail-open reservation after recovery: %v", err)
	}
	p := redisPeeker{rdb, s}
	if got := p.peek(t, ScopeKey, "k1", LimitRPM, limitT0); got != 2 {
		t.Errorf("rpm after recovery = %d, want 2 (one new request, one charged at settle)", got)
	}
}
