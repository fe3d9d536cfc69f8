package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for TTL tests.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func testEntry(key string, bodyBytes int, expires time.Time) *Entry {
	return &Entry{Key: key, Body: make([]byte, bodyBytes), Expires: expires, Scope: testScope}
}

func TestMemoryStoreStaysWithinItsByteBoundUnderChurn(t *testing.T) {
	const maxBytes = 4 << 20
	clock := newFakeClock()
	s := NewMemoryStore(MemoryConfig{MaxBytes: maxBytes, Shards: 8, MaxEntryBytes: 64 << 10}, clock.Now)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range 20000 {
				key := fmt.Sprintf("k%d", r.IntN(50000))
				if r.IntN(3) == 0 {
					s.Get(context.Background(), key)
					continue
				}
				if err := s.Set(context.Background(), testEntry(key, 100+r.IntN(8000), clock.Now().Add(time.Hour))); err != nil {
					t.Error(err)
				}
				if i%1000 == 0 {
					if _, b := s.Stats(); b > maxBytes {
						t.Errorf("held %d bytes, bound %d", b, maxBytes)
					}
				}
			}
		}()
	}
	wg.Wait()
	n, b := s.Stats()
	if b > maxBytes || b < maxBytes*8/10 {
		t.Fatalf("held %d bytes in %d entries; want close to but not above %d", b, n, maxBytes)
	}
}

func TestMemoryStoreRejectsEntriesAboveTheLimit(t *testing.T) {
	s := NewMemoryStore(MemoryConfig{MaxBytes: 1 << 20, Shards: 1, MaxEntryBytes: 1000}, nil)
	if err := s.Set(context.Background(), testEntry("big", 5000, time.Now().Add(time.Hour))); err != ErrTooLarge {
		t.Fatalf("err = %v", err)
	}
}

func TestMemoryStoreExpiresEntriesAtTheirTTL(t *testing.T) {
	clock := newFakeClock()
	s := NewMemoryStore(MemoryConfig{MaxBytes: 1 << 20, Shards: 1}, clock.Now)
	ctx := context.Background()
	s.Set(ctx, testEntry("short", 10, clock.Now().Add(time.Minute)))
	s.Set(ctx, testEntry("long", 10, clock.Now().Add(time.Hour)))
	if e, _ := s.Get(ctx, "short"); e == nil {
		t.Fatal("fresh entry missing")
	}
	clock.Advance(time.Minute)
	if e, _ := s.Get(ctx, "short"); e != nil {
		t.Fatal("entry served at its expiry")
	}
	if e, _ := s.Get(ctx, "long"); e == nil {
		t.Fatal("unexpired entry missing")
	}
	clock.Advance(time.Hour)
	if n := s.Sweep(); n != 1 {
		t.Fatalf("swept %d, want 1", n)
	}
	if n, _ := s.Stats(); n != 0 {
		t.Fatalf("%d entries left after sweep", n)
	}
}

func TestMemoryStoreKeepsReadEntriesThroughAScan(t *testing.T) {
	clock := newFakeClock()
	ctx := context.Background()
	s := NewMemoryStore(MemoryConfig{MaxBytes: 1 << 20, Shards: 1}, clock.Now)
	exp := clock.Now().Add(time.Hour)
	for i := range 50 { // hot set, read twice
		s.Set(ctx, testEntry(fmt.Sprintf("hot%d", i), 1000, exp))
	}
	for range 2 {
		for i := range 50 {
			s.Get(ctx, fmt.Sprintf("hot%d", i))
		}
	}
	for i := range 5000 { // a scan of one-hit wonders, 5x the capacity
		s.Set(ctx, testEntry(fmt.Sprintf("scan%d", i), 1000, exp))
		if i%100 == 0 {
			for j := range 50 {
				s.Get(ctx, fmt.Sprintf("hot%d", j))
			}
		}
	}
	kept := 0
	for i := range 50 {
		if e, _ := s.Get(ctx, fmt.Sprintf("hot%d", i)); e != nil {
			kept++
		}
	}
	if kept < 45 {
		t.Fatalf("only %d of 50 hot entries survived the scan", kept)
	}
}

func TestMemoryStorePurgesByScope(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(MemoryConfig{MaxBytes: 1 << 20, Shards: 4}, nil)
	exp := time.Now().Add(time.Hour)
	a := testEntry("a", 10, exp)
	b := testEntry("b", 10, exp)
	b.Scope.Tenant = "team-b"
	s.Set(ctx, a)
	s.Set(ctx, b)
	if n, _ := s.Purge(ctx, Scope{Tenant: "team-b"}); n != 1 {
		t.Fatalf("purged %d", n)
	}
	if e, _ := s.Get(ctx, "a"); e == nil {
		t.Fatal("other tenant's entry purged")
	}
}
