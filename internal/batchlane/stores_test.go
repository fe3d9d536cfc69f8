package batchlane_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard/switchyard/internal/batchlane"
)

// testRedis returns a client of the shared test Redis and a key prefix of this test's
// own (its keys are removed afterwards), skipping when SWITCHYARD_TEST_REDIS is unset
// (scripts/test-services.sh sets it).
func testRedis(t *testing.T) (redis.UniversalClient, string) {
	t.Helper()
	addr := os.Getenv("SWITCHYARD_TEST_REDIS")
	if addr == "" {
		t.Skip("SWITCHYARD_TEST_REDIS is not set")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	prefix := fmt.Sprintf("switchyard-test:{%s:%d}:", t.Name(), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

// ownerStores are the OwnerStore implementations, each made fresh per test; a store
// made twice from one test's Redis is two replicas' view of one table.
var ownerStores = []struct {
	name string
	make func(t *testing.T) (replica1, replica2 batchlane.OwnerStore)
}{
	{"memory", func(*testing.T) (batchlane.OwnerStore, batchlane.OwnerStore) {
		s := batchlane.NewMemoryOwners(100, nil)
		return s, s
	}},
	{"redis", func(t *testing.T) (batchlane.OwnerStore, batchlane.OwnerStore) {
		rdb, prefix := testRedis(t)
		rdb2, _ := testRedis(t)
		return batchlane.NewRedisOwners(rdb, prefix), batchlane.NewRedisOwners(rdb2, prefix)
	}},
}

func TestOwnerStoresKeepTheFirstOwnerAndReleaseOnlyToIt(t *testing.T) {
	for _, s := range ownerStores {
		t.Run(s.name, func(t *testing.T) {
			a, b := s.make(t)
			ctx := context.Background()
			if err := a.Claim(ctx, "key:alice", time.Hour, "file-1", "file-2"); err != nil {
				t.Fatal(err)
			}
			if err := b.Claim(ctx, "key:bob", time.Hour, "file-2", "file-3"); err != nil {
				t.Fatal(err)
			}
			got, err := b.Owners(ctx, []string{"file-1", "file-2", "file-3", "file-9"})
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"key:alice", "key:alice", "key:bob", ""}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("owners %q, want %q", got, want)
			}
			if err := b.Release(ctx, "file-1", "key:bob"); err != nil {
				t.Fatal(err)
			}
			if err := a.Release(ctx, "file-2", "key:alice"); err != nil {
				t.Fatal(err)
			}
			got, _ = a.Owners(ctx, []string{"file-1", "file-2"})
			if want := []string{"key:alice", ""}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after releases: %q, want %q (only the owner releases)", got, want)
			}
		})
	}
}

func TestOwnerStoresForgetPastTheTTL(t *testing.T) {
	var now atomic.Int64
	mem := batchlane.NewMemoryOwners(100, func() time.Time { return time.Unix(0, now.Load()) })
	ctx := context.Background()
	_ = mem.Claim(ctx, "key:alice", time.Minute, "file-1")
	now.Add(int64(2 * time.Minute))
	if got, _ := mem.Owners(ctx, []string{"file-1"}); got[0] != "" {
		t.Fatalf("memory: still owned by %q past the ttl", got[0])
	}

	rdb, prefix := testRedis(t)
	rs := batchlane.NewRedisOwners(rdb, prefix)
	_ = rs.Claim(ctx, "key:alice", 50*time.Millisecond, "file-1")
	time.Sleep(120 * time.Millisecond)
	if got, _ := rs.Owners(ctx, []string{"file-1"}); got[0] != "" {
		t.Fatalf("redis: still owned by %q past the ttl", got[0])
	}
	if err := rs.Claim(ctx, "key:bob", time.Minute, "file-1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := rs.Owners(ctx, []string{"file-1"}); got[0] != "key:bob" {
		t.Fatalf("redis: an expired id was not claimed afresh: %q", got[0])
	}
}

func TestOwnersOnASharedStoreAreTheSameTableOnTwoReplicas(t *testing.T) {
	for _, s := range ownerStores {
		t.Run(s.name, func(t *testing.T) {
			st1, st2 := s.make(t)
			cfg := batchlane.Config{Isolation: batchlane.IsolationTeam}
			one, two := batchlane.NewOwnersIn(cfg, st1), batchlane.NewOwnersIn(cfg, st2)
			if err := one.Learn(ctx, fileCreate, 200, createdFile("file-in"), alice); err != nil {
				t.Fatal(err)
			}
			if err := one.Learn(ctx, batchCreate, 200, createdBatch("batch_1", "file-in", "file-out"), alice); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"file-in", "batch_1", "file-out"} {
				if err := two.Authorize(ctx, fileGet(id), nil, bob); err != nil {
					t.Errorf("the other replica refused alice's teammate %s: %v", id, err)
				}
				if err := two.Authorize(ctx, fileGet(id), nil, carol); !errors.Is(err, batchlane.ErrNotOwned) {
					t.Errorf("the other replica let another team at %s: %v", id, err)
				}
			}
			list := []byte(`{"object":"list","data":[{"id":"batch_1"},{"id":"batch_x"}],"has_more":false}`)
			got, err := two.FilterList(ctx, list, bob)
			if err != nil || string(got) != `{"object":"list","data":[{"id":"batch_1"}],"has_more":false}` {
				t.Errorf("the other replica's list: %s, %v", got, err)
			}
		})
	}
}

// failingOwners is an OwnerStore whose server is down.
type failingOwners struct{}

var _ batchlane.OwnerStore = failingOwners{}

var errStoreDown = errors.New("store down")

func (failingOwners) Claim(context.Context, string, time.Duration, ...string) error {
	return errStoreDown
}
func (failingOwners) Owners(context.Context, []string) ([]string, error) { return nil, errStoreDown }
func (failingOwners) Release(context.Context, string, string) error      { return errStoreDown }

func TestOwnersFailClosedWhenTheStoreIsDown(t *testing.T) {
	o := batchlane.NewOwnersIn(batchlane.Config{}, failingOwners{})
	err := o.Authorize(ctx, batchGet("batch_1"), nil, alice)
	if err == nil || errors.Is(err, batchlane.ErrNotOwned) || !errors.Is(err, errStoreDown) {
		t.Fatalf("Authorize with the store down: %v, want the store's error", err)
	}
	if _, err := o.FilterList(ctx, []byte(`{"data":[{"id":"batch_1"}]}`), alice); !errors.Is(err, errStoreDown) {
		t.Fatalf("FilterList with the store down: %v", err)
	}
	if err := o.Learn(ctx, fileCreate, 200, createdFile("file-1"), alice); !errors.Is(err, errStoreDown) {
		t.Fatalf("Learn with the store down: %v", err)
	}
	if err := o.Authorize(ctx, fileCreate, nil, alice); err != nil {
		t.Fatalf("an upload needs no ownership check: %v", err)
	}
}

// jobStores are the JobStore implementations; see ownerStores.
var jobStores = []struct {
	name string
	make func(t *testing.T) (replica1, replica2 batchlane.JobStore)
}{
	{"memory", func(*testing.T) (batchlane.JobStore, batchlane.JobStore) {
		s := batchlane.NewMemoryJobs(nil)
		return s, s
	}},
	{"redis", func(t *testing.T) (batchlane.JobStore, batchlane.JobStore) {
		rdb, prefix := testRedis(t)
		rdb2, _ := testRedis(t)
		return batchlane.NewRedisJobs(rdb, prefix), batchlane.NewRedisJobs(rdb2, prefix)
	}},
}

func TestJobStoresReturnWhatWasPutUntilTheTTL(t *testing.T) {
	for _, s := range jobStores {
		t.Run(s.name, func(t *testing.T) {
			a, b := s.make(t)
			created := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
			st := batchlane.Status{JobID: "sybatch_a", State: batchlane.StateCompleted, Lane: batchlane.ModeProviderBatch,
				Provider: "openai", Model: "gpt-4o-mini", Key: "etl", Team: "data", BatchID: "batch_1", HTTPStatus: 200,
				Response: []byte(`{"id":"chatcmpl-1","choices":[]}`), PricePercent: 50, CreatedAt: created, FinishedAt: created.Add(time.Minute)}
			st.Usage.Reported, st.Usage.InputTokens, st.Usage.OutputTokens = true, 10, 5
			if err := a.Put(ctx, 150*time.Millisecond, st); err != nil {
				t.Fatal(err)
			}
			got, err := b.Get(ctx, "sybatch_a")
			if err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", st) || string(got.Response) != string(st.Response) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, st)
			}
			if _, err := b.Get(ctx, "sybatch_none"); !errors.Is(err, batchlane.ErrUnknownJob) {
				t.Fatalf("an unknown job: %v", err)
			}
			time.Sleep(300 * time.Millisecond)
			if _, err := b.Get(ctx, "sybatch_a"); !errors.Is(err, batchlane.ErrUnknownJob) {
				t.Fatalf("a job past its ttl: %v", err)
			}
		})
	}
}

func TestAJobSubmittedToOneCollectorIsFetchedThroughAnother(t *testing.T) {
	for _, s := range jobStores {
		t.Run(s.name, func(t *testing.T) {
			js1, js2 := s.make(t)
			fake := newFakeBatchAPI(t, 2)
			one, rec := startCollector(t, batchlane.Config{MaxWait: 20 * time.Millisecond}, fake, batchlane.Options{Jobs: js1})
			two, _ := startCollector(t, batchlane.Config{}, newFakeBatchAPI(t, 1), batchlane.Options{Jobs: js2})
			id := submit(t, one, deferChat("gpt-4o-mini", "Name three primes."))
			if st := result(t, two, id); st.State != batchlane.StateQueued || st.Key != "nightly" {
				t.Fatalf("the other collector sees %+v, want the queued job", st)
			}
			rec.wait(t, 1)
			st := result(t, two, id)
			if st.State != batchlane.StateCompleted || st.HTTPStatus != 200 || len(st.Response) == 0 || !st.Usage.Reported || st.BatchID == "" {
				t.Fatalf("the other collector sees %+v, want the completed job with its answer", st)
			}
			if _, err := two.Result(ctx, "sybatch_unknown"); !errors.Is(err, batchlane.ErrUnknownJob) {
				t.Fatalf("an unknown job: %v", err)
			}
		})
	}
}

// failingJobs is a JobStore whose server is down.
type failingJobs struct{}

var _ batchlane.JobStore = failingJobs{}

func (failingJobs) Put(context.Context, time.Duration, ...batchlane.Status) error {
	return errStoreDown
}
func (failingJobs) Get(context.Context, string) (batchlane.Status, error) {
	return batchlane.Status{}, errStoreDown
}

func TestAJobStoreThatIsDownDoesNotStopTheLane(t *testing.T) {
	fake := newFakeBatchAPI(t, 1)
	c, rec := startCollector(t, batchlane.Config{MaxWait: 10 * time.Millisecond}, fake, batchlane.Options{Jobs: failingJobs{}})
	id := submit(t, c, deferChat("gpt-4o-mini", "ping"))
	if done := rec.wait(t, 1); done[id].State != batchlane.StateCompleted {
		t.Fatalf("job %+v", done[id])
	}
	if st := result(t, c, id); st.State != batchlane.StateCompleted {
		t.Fatalf("the collector that ran the job lost it: %+v", st)
	}
	_, err := c.Result(ctx, "sybatch_elsewhere")
	if err == nil || errors.Is(err, batchlane.ErrUnknownJob) || !errors.Is(err, errStoreDown) {
		t.Fatalf("a job only the store could know, with the store down: %v, want the store's error", err)
	}
}
