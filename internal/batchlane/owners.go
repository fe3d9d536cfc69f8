package batchlane

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// ErrNotOwned means the file or batch a passthrough request names was not created by
// the caller (or is no longer remembered): answer 404, as for an id that does not exist,
// so one tenant cannot even confirm another's ids.
var ErrNotOwned = errors.New("batchlane: no such file or batch for this caller")

// Caller identifies who makes a passthrough request: the gateway key's name and team.
type Caller struct{ Key, Team string }

// Owners remembers which caller created each provider file and batch that went through
// the passthrough, so that callers sharing one provider account see only their own
// (Config.Isolation). The gateway asks Authorize before forwarding a request, tells Learn
// about every successful answer, and passes list answers through FilterList.
//
// Ownership is first come: an id keeps the owner it was first recorded with. Ids the
// table does not know (created before a restart, by another replica, outside the gateway,
// or forgotten past MaxOwners or OwnerTTL) are refused: the table fails closed. It is
// in process memory, bounded by Config.MaxOwners entries. Safe for concurrent use.
type Owners struct {
	isolation string
	max       int
	ttl       time.Duration
	now       func() time.Time

	mu   sync.Mutex
	m    map[string]owned
	fifo []ownedRef // insertion order, oldest first; entries may be stale
	seq  uint64
}

type owned struct {
	owner string
	at    time.Time
	seq   uint64
}

type ownedRef struct {
	id  string
	seq uint64
}

// NewOwners returns an empty ownership table shaped by cfg (defaults applied here).
// now is the clock; nil means time.Now.
func NewOwners(cfg Config, now func() time.Time) *Owners {
	cfg = cfg.WithDefaults()
	if now == nil {
		now = time.Now
	}
	return &Owners{isolation: cfg.Isolation, max: cfg.MaxOwners, ttl: cfg.OwnerTTL, now: now, m: map[string]owned{}}
}

// ownerID is the table's name for c under the isolation in force.
func (o *Owners) ownerID(c Caller) string {
	if o.isolation == IsolationTeam {
		return "team:" + c.Team
	}
	return "key:" + c.Key
}

// Authorize reports whether c may send the passthrough request t with body. A request
// naming an id (retrieve, content, delete, cancel) needs c to own it; creating a batch
// needs c to own its input_file_id; uploads and lists are always allowed (lists are
// filtered afterwards). With Isolation none everything is allowed.
func (o *Owners) Authorize(t Target, body []byte, c Caller) error {
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
	if !o.Owns(id, c) {
		return ErrNotOwned
	}
	return nil
}

// Owns reports whether c owns the file or batch id.
func (o *Owners) Owns(id string, c Caller) bool {
	if o.isolation == IsolationNone {
		return true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.m[id]
	return ok && e.owner == o.ownerID(c) && o.now().Sub(e.at) <= o.ttl
}

// Learn records what a successful (2xx) upstream answer to t tells about ownership: an
// uploaded file or created batch is c's; the output and error files of c's batches are
// c's (learnt from create, retrieve, cancel and list answers); a deleted file is
// forgotten. Other answers are ignored.
func (o *Owners) Learn(t Target, status int, body []byte, c Caller) {
	if o.isolation == IsolationNone || status < 200 || status > 299 {
		return
	}
	owner := o.ownerID(c)
	switch {
	case t.Resource == ResourceFile && t.Action == ActionCreate:
		o.record(jsonx.Get(body, "id").String(), owner)
	case t.Resource == ResourceFile && t.Action == ActionDelete:
		o.mu.Lock()
		if e, ok := o.m[t.ID]; ok && e.owner == owner {
			delete(o.m, t.ID)
		}
		o.mu.Unlock()
	case t.Resource == ResourceBatch && t.Action == ActionList:
		jsonx.Get(body, "data").ForEach(func(_, b jsonx.Result) bool {
			if o.Owns(b.Get("id").String(), c) {
				o.learnBatch(b, owner, false)
			}
			return true
		})
	case t.Resource == ResourceBatch:
		o.learnBatch(jsonx.View(body), owner, t.Action == ActionCreate)
	}
}

// learnBatch records a batch object's files (and the batch itself when created) as owner's.
func (o *Owners) learnBatch(b jsonx.Result, owner string, created bool) {
	if created {
		o.record(b.Get("id").String(), owner)
	}
	o.record(b.Get("output_file_id").String(), owner)
	o.record(b.Get("error_file_id").String(), owner)
}

// record makes owner the owner of id unless someone already is, evicting what is past
// the TTL or over the size bound.
func (o *Owners) record(id, owner string) {
	if !validID(id) {
		return
	}
	id = strings.Clone(id) // never keep a view into the caller's (reused) body
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	if e, ok := o.m[id]; ok && now.Sub(e.at) <= o.ttl {
		return
	}
	o.seq++
	o.m[id] = owned{owner: owner, at: now, seq: o.seq}
	o.fifo = append(o.fifo, ownedRef{id, o.seq})
	o.evict(now)
}

// evict drops entries past the TTL or over the size bound, oldest first, and the stale
// references ahead of them. Called with o.mu held.
func (o *Owners) evict(now time.Time) {
	i := 0
	for ; i < len(o.fifo); i++ {
		r := o.fifo[i]
		e, ok := o.m[r.id]
		live := ok && e.seq == r.seq
		if live && len(o.m) <= o.max && now.Sub(e.at) <= o.ttl {
			break
		}
		if live {
			delete(o.m, r.id)
		}
	}
	o.fifo = o.fifo[i:] // append reallocates once the tail is full, freeing the head
}

// FilterList returns a files or batches list answer with only c's objects left in its
// data array; every other byte is kept, first_id, last_id and has_more included, so a
// page can come back short, or empty while has_more is true (the OpenAI SDKs stop
// paging at an empty page). With Isolation none, or when body has no data array, body
// is returned as is.
func (o *Owners) FilterList(body []byte, c Caller) []byte {
	data := jsonx.Get(body, "data")
	if o.isolation == IsolationNone || !data.IsArray() {
		return body
	}
	kept := make([]byte, 0, len(data.Raw))
	kept = append(kept, '[')
	data.ForEach(func(_, item jsonx.Result) bool {
		if o.Owns(item.Get("id").String(), c) {
			if len(kept) > 1 {
				kept = append(kept, ',')
			}
			kept = append(kept, item.Raw...)
		}
		return true
	})
	kept = append(kept, ']')
	return jsonx.Replace(body, data, kept)
}
