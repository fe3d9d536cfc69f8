package policies

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// rollbackStores are the RollbackStore implementations, made fresh per test; forget
// drops every decision (a flushed or expired store).
var rollbackStores = []struct {
	name string
	make func(t *testing.T) (store RollbackStore, forget func())
}{
	{"memory", func(*testing.T) (RollbackStore, func()) {
		s := NewMemoryRollbackStore()
		return s, func() { s.mu.Lock(); clear(s.m); s.mu.Unlock() }
	}},
	{"redis", func(t *testing.T) (RollbackStore, func()) {
		addr := os.Getenv("SWITCHYARD_TEST_REDIS")
		if addr == "" {
			t.Skip("SWITCHYARD_TEST_REDIS is not set")
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		prefix := fmt.Sprintf("switchyard-test:{%s:%d}:", t.Name(), time.Now().UnixNano())
		forget := func() {
			ctx := context.Background()
			if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
				rdb.Del(ctx, keys...)
			}
		}
		t.Cleanup(func() { forget(); _ = rdb.Close() })
		return NewRedisRollbackStore(rdb, prefix, time.Hour), forget
	}},
}

// replica loads the test prompts directory the way a gateway replica does, sharing
// rollback decisions through store.
func replica(t *testing.T, dir string, store RollbackStore) (*RollbackShare, func() *Registry) {
	t.Helper()
	share := NewRollbackShare(store, RollbackShareOptions{Interval: time.Hour})
	var cur *Registry
	if _, err := NewSharedPromptReloader(dir, share, func(r *Registry) error { cur = r; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	return share, func() *Registry { return cur }
}

// helpCenterRollout is the split rollout of support-reply in the test pins.
func helpCenterRollout(t *testing.T, reg *Registry) *Rollback {
	t.Helper()
	rbs := reg.rollbacks()
	if len(rbs) != 1 || strings.Join(rbs[0].versions, ",") != "2,3" {
		t.Fatalf("want the one rollout of versions 2 and 3, got %d", len(rbs))
	}
	return rbs[0]
}

// canaryUser returns a user the help-center split sends to the canary (version 3).
func canaryUser(t *testing.T, reg *Registry) string {
	t.Helper()
	for i := range 1000 {
		u := fmt.Sprint("user-", i)
		v, _, err := reg.Resolve(Ref{ID: "support-reply"}, ResolveAttrs{Feature: "help-center", StickyKey: u})
		if err != nil {
			t.Fatal(err)
		}
		if v.Version == "3" {
			return u
		}
	}
	t.Fatal("no user of 1000 got the canary")
	return ""
}

func TestACanaryRolledBackOnOneReplicaIsRolledBackOnTheOthers(t *testing.T) {
	for _, s := range rollbackStores {
		t.Run(s.name, func(t *testing.T) {
			store, forget := s.make(t)
			dir := filepath.Join("testdata", "prompts")
			shareA, regA := replica(t, dir, store)
			shareB, regB := replica(t, dir, store)
			user := canaryUser(t, regB())
			attrs := ResolveAttrs{Feature: "help-center", StickyKey: user}

			rbA := helpCenterRollout(t, regA())
			feed(rbA, "2", 200, 0, 0)
			if !feed(rbA, "3", 50, 50, 0) {
				t.Fatal("replica A did not roll the failing canary back")
			}
			if err := shareB.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if back, _ := helpCenterRollout(t, regB()).RolledBack("3"); back {
				t.Fatal("replica B rolled back before A shared its decision")
			}
			if err := shareA.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := shareB.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			back, reason := helpCenterRollout(t, regB()).RolledBack("3")
			if !back || !strings.Contains(reason, "error rate") || !strings.Contains(reason, "another replica") {
				t.Fatalf("replica B: rolled back %v (%q)", back, reason)
			}
			if v, why, _ := regB().Resolve(Ref{ID: "support-reply"}, attrs); v.Version != "2" || !strings.Contains(why, "rolled back") {
				t.Fatalf("replica B serves the canary's user %s (%s), want the baseline", v.Ref, why)
			}

			_, regC := replica(t, dir, store) // a replica that starts later
			if v, _, _ := regC().Resolve(Ref{ID: "support-reply"}, attrs); v.Version != "2" {
				t.Fatalf("a replica started after the rollback serves %s, want the baseline", v.Ref)
			}

			forget() // the store loses the decision; the replicas holding it write it again
			if err := shareB.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := shareB.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			_, regD := replica(t, dir, store)
			if back, _ := helpCenterRollout(t, regD()).RolledBack("3"); !back {
				t.Fatal("a decision the store forgot was not written again")
			}
		})
	}
}

func TestARolloutWithOtherSettingsDoesNotTakeAnothersDecision(t *testing.T) {
	store := NewMemoryRollbackStore()
	dir := filepath.Join("testdata", "prompts")
	shareA, regA := replica(t, dir, store)
	feed(helpCenterRollout(t, regA()), "2", 200, 0, 0)
	feed(helpCenterRollout(t, regA()), "3", 50, 50, 0)
	if err := shareA.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	for _, f := range []string{"prompts.lock", "support-reply/1.yaml", "support-reply/2.yaml", "support-reply/3.yaml", "summarize/1.0.0.yaml", "pins.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "pins.yaml" {
			b = []byte(strings.Replace(string(b), "min_requests: 50", "min_requests: 60", 1))
		}
		_ = os.MkdirAll(filepath.Dir(filepath.Join(other, f)), 0o755)
		if err := os.WriteFile(filepath.Join(other, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, regB := replica(t, other, store)
	if back, _ := helpCenterRollout(t, regB()).RolledBack("3"); back {
		t.Fatal("a rollout with different rollback settings took the other's decision")
	}
}

// downStore is a RollbackStore whose server is down.
type downStore struct{}

func (downStore) Trip(context.Context, string, string, string) error { return errString("store down") }
func (downStore) Tripped(context.Context, []string) (map[string]map[string]string, error) {
	return nil, errString("store down")
}

func TestAStoreThatIsDownLeavesEachReplicaDecidingAlone(t *testing.T) {
	share, reg := replica(t, filepath.Join("testdata", "prompts"), downStore{})
	rb := helpCenterRollout(t, reg())
	feed(rb, "2", 200, 0, 0)
	if !feed(rb, "3", 50, 50, 0) {
		t.Fatal("the canary was not rolled back locally")
	}
	if err := share.Sync(context.Background()); err == nil {
		t.Fatal("Sync with the store down reported no error")
	}
	if back, _ := rb.RolledBack("3"); !back {
		t.Fatal("the local decision was lost")
	}
}
