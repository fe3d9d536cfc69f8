package batchlane_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// ctx is the context of the ownership calls in these tests.
var ctx = context.Background()

// must returns b, failing on err in the caller's test through a panic.
func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

var (
	fileCreate  = batchlane.Target{Resource: batchlane.ResourceFile, Action: batchlane.ActionCreate}
	batchCreate = batchlane.Target{Resource: batchlane.ResourceBatch, Action: batchlane.ActionCreate}
	batchList   = batchlane.Target{Resource: batchlane.ResourceBatch, Action: batchlane.ActionList}
	alice       = batchlane.Caller{Key: "alice", Team: "data"}
	bob         = batchlane.Caller{Key: "bob", Team: "data"}
	carol       = batchlane.Caller{Key: "carol", Team: "web"}
)

func batchGet(id string) batchlane.Target {
	return batchlane.Target{Resource: batchlane.ResourceBatch, Action: batchlane.ActionRetrieve, ID: id}
}

func fileGet(id string) batchlane.Target {
	return batchlane.Target{Resource: batchlane.ResourceFile, Action: batchlane.ActionContent, ID: id}
}

// createdFile is a provider's answer to an upload.
func createdFile(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"file","purpose":"batch"}`, id)
}

// createdBatch is a provider's batch object.
func createdBatch(id, in, out string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"batch","input_file_id":%q,"output_file_id":%q,"error_file_id":null}`, id, in, out)
}

func TestOwnersKeepEachCallersFilesAndBatchesToThemselves(t *testing.T) {
	tests := []struct {
		isolation     string
		bobSeesAlices bool
		carolSees     bool
	}{
		{batchlane.IsolationKey, false, false},
		{batchlane.IsolationTeam, true, false},
		{batchlane.IsolationNone, true, true},
	}
	for _, tt := range tests {
		t.Run("isolation "+tt.isolation, func(t *testing.T) {
			o := batchlane.NewOwners(batchlane.Config{Isolation: tt.isolation}, nil)
			o.Learn(ctx, fileCreate, 200, createdFile("file-in"), alice)
			o.Learn(ctx, batchCreate, 200, createdBatch("batch_1", "file-in", ""), alice)
			// A retrieve after completion names the output file: it is alice's too.
			o.Learn(ctx, batchGet("batch_1"), 200, createdBatch("batch_1", "file-in", "file-out"), alice)
			for _, c := range []struct {
				who  batchlane.Caller
				want bool
			}{{alice, true}, {bob, tt.bobSeesAlices}, {carol, tt.carolSees}} {
				for _, target := range []batchlane.Target{batchGet("batch_1"), fileGet("file-in"), fileGet("file-out")} {
					err := o.Authorize(ctx, target, nil, c.who)
					if (err == nil) != c.want {
						t.Errorf("%s on %s: %v, want allowed=%v", c.who.Key, target.ID, err, c.want)
					}
				}
				err := o.Authorize(ctx, batchCreate, []byte(`{"input_file_id":"file-in"}`), c.who)
				if (err == nil) != c.want || (err != nil && !errors.Is(err, batchlane.ErrNotOwned)) {
					t.Errorf("%s making a batch of alice's file: %v", c.who.Key, err)
				}
			}
			for _, target := range []batchlane.Target{fileCreate, batchList} {
				if err := o.Authorize(ctx, target, nil, carol); err != nil {
					t.Errorf("uploads and lists are for everyone: %v", err)
				}
			}
		})
	}
}

func TestOwnershipIsFirstComeAndIgnoresFailedAnswers(t *testing.T) {
	o := batchlane.NewOwners(batchlane.Config{}, nil)
	o.Learn(ctx, fileCreate, 200, createdFile("file-1"), alice)
	o.Learn(ctx, fileCreate, 200, createdFile("file-1"), bob) // a replayed answer cannot transfer it
	o.Learn(ctx, fileCreate, 400, createdFile("file-2"), bob)
	o.Learn(ctx, fileCreate, 200, createdFile("../etc"), bob)
	if !o.Owns(ctx, "file-1", alice) || o.Owns(ctx, "file-1", bob) || o.Owns(ctx, "file-2", bob) || o.Owns(ctx, "../etc", bob) {
		t.Error("ownership moved, or came from a failed answer or a bad id")
	}
}

func TestOwnersForgetTheOldestPastMaxOwnersAndEveryonePastOwnerTTL(t *testing.T) {
	var now atomic.Int64
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	o := batchlane.NewOwners(batchlane.Config{MaxOwners: 3, OwnerTTL: time.Hour}, clock)
	for i := range 5 {
		o.Learn(ctx, fileCreate, 200, createdFile(fmt.Sprint("file-", i)), alice)
	}
	for i, want := range []bool{false, false, true, true, true} {
		if got := o.Owns(ctx, fmt.Sprint("file-", i), alice); got != want {
			t.Errorf("file-%d owned: %v, want %v", i, got, want)
		}
	}
	now.Add(int64(2 * time.Hour))
	if o.Owns(ctx, "file-4", alice) {
		t.Error("ownership outlived owner_ttl")
	}
	o.Learn(ctx, fileCreate, 200, createdFile("file-4"), bob) // forgotten ids can be learnt afresh
	if !o.Owns(ctx, "file-4", bob) {
		t.Error("an expired id was not learnt again")
	}
}

func TestFilterListLeavesOnlyTheCallersObjectsAndEveryOtherByte(t *testing.T) {
	o := batchlane.NewOwners(batchlane.Config{}, nil)
	o.Learn(ctx, batchCreate, 200, createdBatch("batch_a", "file-a", ""), alice)
	o.Learn(ctx, batchCreate, 200, createdBatch("batch_b", "file-b", ""), bob)
	list := []byte(`{"object":"list","data":[{"id":"batch_b","status":"completed","output_file_id":"file-bo"},` +
		`{"id":"batch_a","status":"completed","output_file_id":"file-ao"}],"first_id":"batch_b","last_id":"batch_a","has_more":true}`)
	o.Learn(ctx, batchList, 200, list, alice)
	got, _ := o.FilterList(ctx, list, alice)
	want := `{"object":"list","data":[{"id":"batch_a","status":"completed","output_file_id":"file-ao"}],"first_id":"batch_b","last_id":"batch_a","has_more":true}`
	if string(got) != want {
		t.Errorf("filtered:\n%s\nwant\n%s", got, want)
	}
	if !o.Owns(ctx, "file-ao", alice) || o.Owns(ctx, "file-bo", alice) || o.Owns(ctx, "file-bo", bob) {
		t.Error("a list taught the wrong output files")
	}
	if n := len(jsonx.Get(must(o.FilterList(ctx, list, carol)), "data").Array()); n != 0 {
		t.Errorf("carol sees %d batches", n)
	}
	if got, _ := o.FilterList(ctx, []byte(`{"error":{}}`), alice); string(got) != `{"error":{}}` {
		t.Errorf("a body without data changed: %s", got)
	}
}
