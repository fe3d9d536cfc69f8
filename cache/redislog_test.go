package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard/switchyard/internal/provider"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestALogLimitLetsABurstThroughPerIntervalAndCountsTheRest(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLogLimit(func() time.Time { return now })
	for _, tc := range []struct {
		name       string
		advance    time.Duration
		calls      int
		ok         int
		suppressed int64 // carried by the first line let through
	}{
		{"The first window lets the burst through.", 0, 1000, RedisLogBurst, 0},
		{"Within the window nothing more goes through.", RedisLogInterval - time.Millisecond, 10, 0, 0},
		{"The next window's first line counts what was held back.", time.Millisecond, 3, 3, 1000 - RedisLogBurst + 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = now.Add(tc.advance)
			ok, first := 0, int64(-1)
			for range tc.calls {
				if allowed, n := l.allow(); allowed {
					if ok == 0 {
						first = n
					}
					ok++
				}
			}
			if ok != tc.ok || (ok > 0 && first != tc.suppressed) {
				t.Errorf("%d of %d lines through (first carrying %d held back), want %d (carrying %d)",
					ok, tc.calls, first, tc.ok, tc.suppressed)
			}
		})
	}
}

// TestARedisOutageLogsAHandfulOfJSONLines points a cache (and a bare go-redis client,
// which skips the cache's breaker and so fails every command) at a port nothing listens
// on, with go-redis's process-wide logger set as the gateway sets it. Thousands of
// failing lookups and commands log at most a burst per logger, every line JSON.
func TestARedisOutageLogsAHandfulOfJSONLines(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	redis.SetLogger(NewRedisLogger(log))
	t.Cleanup(func() { redis.SetLogger(NewRedisLogger(nil)) })

	addr := closedAddr(t)
	cfg := Config{Enabled: true, Store: "redis", Defaults: Rules{Semantic: SemanticOn},
		Redis: RedisConfig{Addr: addr, Cooldown: 20 * time.Millisecond}}
	c, err := New(cfg, Deps{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw := NewRedisClient(cfg.WithDefaults().Redis)
	defer raw.Close()

	const lookups, commands = 5000, 2000
	start := time.Now()
	ctx := context.Background()
	failed := 0 // Store errors that are not ErrNotStored: the gateway logs those at warn
	for i := range lookups {
		body := chatBody("", fmt.Sprintf("question %d", i))
		h, err := c.Lookup(ctx, LookupRequest{Op: provider.OpChat, Scope: testScope, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Store(ctx, h, Response{Status: 200, Body: answerBody("an answer")}); !errors.Is(err, ErrNotStored) {
			failed++
		}
		if i%100 == 0 {
			time.Sleep(5 * time.Millisecond) // let the breaker's cooldown pass: probes fail again
		}
	}
	for range commands {
		if err := raw.Get(ctx, "k").Err(); err == nil {
			t.Fatal("a command to a closed port succeeded")
		}
	}
	elapsed := time.Since(start)
	if failed > lookups/20 {
		t.Errorf("%d of %d stores failed as errors rather than ErrNotStored while Redis was known to be down", failed, lookups)
	}
	if st := c.Stats(); st.StoreErrors == 0 {
		t.Fatalf("no store errors counted: %+v", st)
	}

	text := strings.TrimSpace(logs.String())
	lines := strings.Split(text, "\n")
	windows := int(elapsed/RedisLogInterval) + 1
	// Two loggers write here: the store's and go-redis's; each at most a burst per window.
	if most := 2 * RedisLogBurst * windows; len(lines) > most {
		t.Errorf("%d log lines for %d lookups and %d commands in %v, want at most %d", len(lines), lookups, commands, elapsed, most)
	}
	goRedis := 0
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("a log line is not JSON: %q", l)
			continue
		}
		if rec["source"] == "go-redis" {
			goRedis++
			if rec["level"] != "WARN" || !strings.HasPrefix(rec["msg"].(string), "redis: ") {
				t.Errorf("go-redis line %q, want a WARN whose message starts with redis:", l)
			}
		}
	}
	if goRedis == 0 {
		t.Errorf("no go-redis line came through the adapter:\n%s", text)
	}
	t.Logf("%d lookups and stores and %d commands against a closed port in %v: %d log lines (%d from go-redis); %d stores were failures, the others skipped",
		lookups, commands, elapsed.Round(time.Millisecond), len(lines), goRedis, failed)
}
