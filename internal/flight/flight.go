package flight

import (
	"context"
	"sync"
)

// Chunk sizes of a flight's event arena: the first chunk is small (most flights carry one
// short answer), each next one twice the last, up to maxChunk; a larger event gets a
// chunk of its own size.
const (
	minChunk = 512
	maxChunk = 32 << 10
)

// Flight is one producer's output, shared by its subscribers: an optional header, an
// append-only log of events, and a finish. The producer (the start function given to
// Group.Join) calls Header, Append and Finish from one goroutine or several; all methods
// are safe for concurrent use.
type Flight struct {
	g      *Group
	key    string
	sh     *shard
	ctx    context.Context
	cancel context.CancelFunc
	prev   *Flight // the shard's running list, guarded by sh.mu
	next   *Flight

	mu      sync.Mutex
	wake    chan struct{} // closed on every change; nil while nobody waits
	meta    any
	hasMeta bool
	events  [][]byte // events[i] is event number base+i
	base    int      // events below base were read by every subscriber and dropped
	size    int      // bytes appended in total
	chunk   []byte   // the arena's current chunk; events are capped views into chunks
	trimmed int      // size at the last trim
	full    bool     // the log passed MaxLogBytes: no new followers
	done    bool
	err     error
	subs    []*Subscriber // subscribers that have not left
}

// Header records the answer's metadata (status, headers: whatever the subscribers need
// before the first event) and wakes subscribers waiting in Meta. Only the first call
// counts; a call after Finish is ignored. meta is shared by every subscriber and must
// not be modified afterwards.
func (f *Flight) Header(meta any) {
	f.mu.Lock()
	if !f.hasMeta && !f.done {
		f.meta, f.hasMeta = meta, true
		f.broadcast()
	}
	f.mu.Unlock()
}

// Append logs a copy of b as the next event and wakes waiting subscribers; the caller
// may reuse b at once. It never blocks on subscribers. Calls after Finish, or once every
// subscriber has left, are ignored. An empty b is a valid event.
func (f *Flight) Append(b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done || len(f.subs) == 0 {
		return
	}
	n := len(b)
	if cap(f.chunk)-len(f.chunk) < n {
		size := min(max(2*cap(f.chunk), minChunk), maxChunk)
		f.chunk = make([]byte, 0, max(size, n))
	}
	at := len(f.chunk)
	f.chunk = append(f.chunk, b...)
	f.events = append(f.events, f.chunk[at:at+n:at+n])
	f.size += n
	switch {
	case !f.full && f.size > f.g.maxLog:
		f.full = true
		f.trim()
	case f.full && f.size-f.trimmed >= max(f.g.maxLog/4, 16<<10):
		f.trim()
	}
	f.broadcast()
}

// Finish ends the flight: nil means the answer is complete, anything else is the error
// every subscriber gets after the events logged so far. Only the first call counts. The
// flight's context is cancelled and its key freed for a new flight.
func (f *Flight) Finish(err error) {
	f.mu.Lock()
	if f.done {
		f.mu.Unlock()
		return
	}
	f.done, f.err = true, err
	f.broadcast()
	f.mu.Unlock()
	f.cancel()
	f.unlist(true)
	f.g.live.Add(-1)
}

// joinable reports whether a new follower may subscribe; refused is true when only the
// byte bound stands in the way. f.mu is held.
func (f *Flight) joinable() (ok, refused bool) {
	if f.done || len(f.subs) == 0 { // finished or abandoned: its context is cancelled
		return false, false
	}
	return !f.full, f.full
}

// subscribe adds a subscriber reading from the first event. f.mu is held, or f is not
// shared yet.
func (f *Flight) subscribe() *Subscriber {
	s := &Subscriber{f: f, idx: len(f.subs)}
	f.subs = append(f.subs, s)
	return s
}

// broadcast wakes every waiting subscriber. f.mu is held.
func (f *Flight) broadcast() {
	if f.wake != nil {
		close(f.wake)
		f.wake = nil
	}
}

// waitChan returns the channel the next change closes. f.mu is held.
func (f *Flight) waitChan() <-chan struct{} {
	if f.wake == nil {
		f.wake = make(chan struct{})
	}
	return f.wake
}

// trim drops the events every subscriber has read. Only a full flight trims: one that
// still takes followers must keep its whole log for them. f.mu is held.
func (f *Flight) trim() {
	low := f.base + len(f.events)
	for _, s := range f.subs {
		low = min(low, s.next)
	}
	k := low - f.base
	clear(f.events[:k]) // let the chunks go once no subscriber holds a view
	f.events = f.events[k:]
	f.base = low
	f.trimmed = f.size
}
