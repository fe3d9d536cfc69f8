package batchlane

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// ErrNotOwned means the file or batch a passthrough request names was not created by
// the caller (or is no longer remembered): answer 404, as for an id that does not exist,
// so one tenant cannot even confirm another's ids.
var ErrNotOwned = errors.New("batchlane: no such file or batch for this caller")

// Caller identifies who makes a passthrough request: the gateway key's name and the
// team configured on that key. Team must never come from the request (an attribution
// header or metadata): ownership would then be the client's to choose.
type Caller struct{ Key, Team string }

// Owners remembers which caller created each provider file and batch that went through
// the passthrough, so that callers sharing one provider account see only their own
// (Config.Isolation). The gateway asks Authorize before forwarding a request, tells Learn
// about every successful answer, and passes list answers through FilterList.
//
// Ownership is first come: an id keeps the owner it was first recorded with. Ids the
// table does not know (created outside the gateway, before a restart with the memory
// store, or forgotten past MaxOwners or OwnerTTL) are refused: the table fails closed,
// and so does a store that cannot be read (the error is then not ErrNotOwned: answer
// 503). The table is an OwnerStore: in process memory by default, in Redis to share it
// between replicas (Config.Store). Each call is at most one store round trip, bounded by
// Config.StoreTimeout. Safe for concurrent use.
type Owners struct {
	isolation string
	ttl       time.Duration
	timeout   time.Duration
	store     OwnerStore
}

// NewOwners returns an empty ownership table in process memory, shaped by cfg (defaults
// applied here). now is the clock; nil means time.Now.
func NewOwners(cfg Config, now func() time.Time) *Owners {
	cfg = cfg.WithDefaults()
	return NewOwnersIn(cfg, NewMemoryOwners(cfg.MaxOwners, now))
}

// NewOwnersIn returns Owners keeping the table in store, shaped by cfg (defaults
// applied here; bounding the table is the store's business).
func NewOwnersIn(cfg Config, store OwnerStore) *Owners {
	cfg = cfg.WithDefaults()
	return &Owners{isolation: cfg.Isolation, ttl: cfg.OwnerTTL, timeout: cfg.StoreTimeout, store: store}
}

// ownerID is the table's name for c under the isolation in force. A caller without a
// team is its key's own.
func (o *Owners) ownerID(c Caller) string {
	if o.isolation == IsolationTeam && c.Team != "" {
		return "team:" + c.Team
	}
	return "key:" + c.Key
}

// Authorize reports whether c may send the passthrough request t with body. A request
// naming an id (retrieve, content, delete, cancel) needs c to own it; creating a batch
// needs c to own its input_file_id; uploads and lists are always allowed (lists are
// filtered afterwards). With Isolation none everything is allowed. It returns
// ErrNotOwned, or the store's error when ownership cannot be checked.
func (o *Owners) Authorize(ctx context.Context, t Target, body []byte, c Caller) error {
	if o.isolation == IsolationNone {
		return nil
	}
	id := t.ID
	switch t.Action {
	case ActionList:
		return nil
	case ActionCreate:
		if t.Resource == ResourceFile {
			return nil
		}
		id = jsonx.Get(body, "input_file_id").String()
	}
	if !validID(id) {
		return ErrNotOwned
	}
	mine, err := o.owned(ctx, []string{id}, c)
	if err != nil {
		return err
	}
	if !mine[0] {
		return ErrNotOwned
	}
	return nil
}

// Owns reports whether c owns the file or batch id; false when the store cannot say.
func (o *Owners) Owns(ctx context.Context, id string, c Caller) bool {
	if o.isolation == IsolationNone {
		return true
	}
	mine, err := o.owned(ctx, []string{id}, c)
	return err == nil && mine[0]
}

// owned reports, for each id, whether c owns it: one store round trip.
func (o *Owners) owned(ctx context.Context, ids []string, c Caller) ([]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	owners, err := o.store.Owners(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("batchlane: reading the ownership table: %w", err)
	}
	me := o.ownerID(c)
	out := make([]bool, len(ids))
	for i, w := range owners {
		out[i] = w == me
	}
	return out, nil
}

// Learn records what a successful (2xx) upstream answer to t tells about ownership: an
// uploaded file or created batch is c's; the output and error files of c's batches are
// c's (learnt from create, retrieve, cancel and list answers); a deleted file is
// forgotten. Other answers are ignored. An error means the store missed the update: the
// ids concerned stay unreachable (fail closed); log it.
func (o *Owners) Learn(ctx context.Context, t Target, status int, body []byte, c Caller) error {
	if o.isolation == IsolationNone || status < 200 || status > 299 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	owner := o.ownerID(c)
	var ids []string
	switch {
	case t.Resource == ResourceFile && t.Action == ActionCreate:
		ids = append(ids, jsonx.Get(body, "id").String())
	case t.Resource == ResourceFile && t.Action == ActionDelete:
		if err := o.store.Release(ctx, t.ID, owner); err != nil {
			return fmt.Errorf("batchlane: forgetting a deleted file: %w", err)
		}
		return nil
	case t.Resource == ResourceBatch && t.Action == ActionList:
		var batches []jsonx.Result
		var bids []string
		jsonx.Get(body, "data").ForEach(func(_, b jsonx.Result) bool {
			batches, bids = append(batches, b), append(bids, b.Get("id").String())
			return true
		})
		if len(bids) == 0 {
			return nil
		}
		mine, err := o.owned(ctx, bids, c)
		if err != nil {
			return err
		}
		for i, b := range batches {
			if mine[i] {
				ids = appendBatchFiles(ids, b)
			}
		}
	case t.Resource == ResourceBatch:
		b := jsonx.View(body)
		if t.Action == ActionCreate {
			ids = append(ids, b.Get("id").String())
		}
		ids = appendBatchFiles(ids, b)
	}
	return o.claim(ctx, owner, ids)
}

// appendBatchFiles appends a batch object's output and error file ids.
func appendBatchFiles(ids []string, b jsonx.Result) []string {
	return append(ids, b.Get("output_file_id").String(), b.Get("error_file_id").String())
}

// claim records owner as the owner of the valid ids among ids.
func (o *Owners) claim(ctx context.Context, owner string, ids []string) error {
	valid := ids[:0]
	for _, id := range ids {
		if validID(id) {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return nil
	}
	if err := o.store.Claim(ctx, owner, o.ttl, valid...); err != nil {
		return fmt.Errorf("batchlane: recording ownership: %w", err)
	}
	return nil
}

// FilterList returns a files or batches list answer with only c's objects left in its
// data array; every other byte is kept, first_id, last_id and has_more included, so a
// page can come back short, or empty while has_more is true (the OpenAI SDKs stop
// paging at an empty page). With Isolation none, or when body has no data array, body
// is returned as is. It fails, showing nothing, when the store cannot be read.
func (o *Owners) FilterList(ctx context.Context, body []byte, c Caller) ([]byte, error) {
	data := jsonx.Get(body, "data")
	if o.isolation == IsolationNone || !data.IsArray() {
		return body, nil
	}
	var items []jsonx.Result
	var ids []string
	data.ForEach(func(_, item jsonx.Result) bool {
		items, ids = append(items, item), append(ids, item.Get("id").String())
		return true
	})
	mine := make([]bool, len(ids))
	if len(ids) > 0 {
		var err error
		if mine, err = o.owned(ctx, ids, c); err != nil {
			return nil, err
		}
	}
	kept := make([]byte, 0, len(data.Raw))
	kept = append(kept, '[')
	for i, item := range items {
		if mine[i] {
			if len(kept) > 1 {
				kept = append(kept, ',')
			}
			kept = append(kept, item.Raw...)
		}
	}
	kept = append(kept, ']')
	return jsonx.Replace(body, data, kept), nil
}
