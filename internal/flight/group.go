// Package flight coalesces identical in-flight requests: the first request for a key
// (the leader) starts one producer, and requests for the same key that arrive while it is
// live (followers) share its output instead of making calls of their own.
//
// The producer writes an optional header, then events, then a finish into a Flight. The
// flight logs every event, so a follower that joins late reads the events so far and
// then the live ones, each subscriber at its own cursor: a slow reader never blocks the
// producer or the other readers. The producer's context is cancelled when every
// subscriber has left, so the upstream call outlives the leader's client as long as a
// follower still wants the answer. A finished flight is forgotten at once: this is not a
// cache, a request arriving after the finish starts a new flight.
//
// Cost: a Join takes one shard lock and one flight lock; waiting is a channel receive,
// with no goroutine per subscriber. The only goroutine is the producer's, one per flight.
package flight

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// ErrClosed is the finish error of a flight joined after the Group was closed.
var ErrClosed = errors.New("flight: group closed")

// ErrAbandoned is the finish error of a flight whose start function returned without
// calling Finish.
var ErrAbandoned = errors.New("flight: producer returned without finishing")

// numShards is the number of independently locked parts of a Group's key map.
const numShards = 64

// Group coalesces flights by key. It is safe for concurrent use; the zero Group is not
// usable, call New. Close stops it.
type Group struct {
	maxLog int
	seed   maphash.Seed
	shards [numShards]shard
	closed atomic.Bool
	wg     sync.WaitGroup // running start functions

	flights   atomic.Uint64
	followers atomic.Uint64
	refused   atomic.Uint64
	live      atomic.Int64
}

// shard is one part of the key map. Flight contexts are not children of a Group-wide
// context: registering each with one parent would take that parent's lock twice per
// flight, a lock shared by every request. Each shard lists its unfinished flights
// instead, for Close to cancel.
type shard struct {
	mu      sync.Mutex
	m       map[string]*Flight // joinable flights by key
	running *Flight            // unfinished flights, linked by Flight.prev and Flight.next
	_       [40]byte           // keep shards on separate cache lines
}

// Stats are a Group's counters since New.
type Stats struct {
	// Flights is the number of flights started: one per leader.
	Flights uint64
	// Followers is the number of Joins that followed a live flight (upstream calls saved).
	Followers uint64
	// Refused is the number of Joins that found a live flight for their key whose log was
	// past Config.MaxLogBytes, and so started a flight of their own (also in Flights).
	Refused uint64
	// Live is the number of flights not finished yet.
	Live int64
}

// New returns a Group configured by cfg (defaults applied here).
func New(cfg Config) (*Group, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Group{maxLog: cfg.MaxLogBytes, seed: maphash.MakeSeed()}
	for i := range g.shards {
		g.shards[i].m = make(map[string]*Flight)
	}
	return g, nil
}

// Join subscribes the caller to the live flight for key, or starts one. The first caller
// for a key is the leader (leader is true): start is called once, in a goroutine the
// Group owns, with the flight to write into and a context that is cancelled when every
// subscriber has left, when the flight finishes, or when the Group is closed. Later
// callers for the same key, while that flight is live and its log within
// Config.MaxLogBytes, are followers (leader is false) and start is not called for them;
// a caller refused by the byte bound becomes the leader of a new flight for the key.
//
// Whoever gets a Subscriber must call its Leave when done with it, whatever happened.
// If start returns without calling Finish, the flight finishes with ErrAbandoned. After
// Close, Join returns a subscriber of a flight already finished with ErrClosed and does
// not call start.
func (g *Group) Join(key string, start func(ctx context.Context, f *Flight)) (sub *Subscriber, leader bool) {
	sh := &g.shards[maphash.String(g.seed, key)%numShards]
	sh.mu.Lock()
	if g.closed.Load() {
		sh.mu.Unlock()
		f := g.newFlight(key, sh)
		s := f.subscribe()
		f.Finish(ErrClosed)
		return s, true
	}
	if f := sh.m[key]; f != nil {
		f.mu.Lock()
		joinable, refused := f.joinable()
		var s *Subscriber
		if joinable {
			s = f.subscribe()
		}
		f.mu.Unlock()
		if joinable {
			sh.mu.Unlock()
			g.followers.Add(1)
			return s, false
		}
		if refused {
			g.refused.Add(1)
		}
	}
	f := g.newFlight(key, sh)
	s := f.subscribe() // before the flight is published, so it cannot look abandoned
	sh.m[key] = f      // replaces a finished, abandoned or full flight
	f.next = sh.running
	if f.next != nil {
		f.next.prev = f
	}
	sh.running = f
	g.wg.Add(1) // under the shard lock: Close waits for every start it let begin
	sh.mu.Unlock()
	g.flights.Add(1)
	go g.run(f, start)
	return s, true
}

func (g *Group) newFlight(key string, sh *shard) *Flight {
	f := &Flight{g: g, key: key, sh: sh}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	g.live.Add(1)
	return f
}

// run is the producer goroutine of one flight.
func (g *Group) run(f *Flight, start func(context.Context, *Flight)) {
	defer g.wg.Done()
	defer f.Finish(ErrAbandoned) // a no-op when start finished the flight
	start(f.ctx, f)
}

// unlist removes f from the key map unless a newer flight took its key, and once it has
// finished, from the shard's running list.
func (f *Flight) unlist(finished bool) {
	sh := f.sh
	sh.mu.Lock()
	if sh.m[f.key] == f {
		delete(sh.m, f.key)
	}
	if finished && (f.prev != nil || sh.running == f) {
		if f.prev != nil {
			f.prev.next = f.next
		} else {
			sh.running = f.next
		}
		if f.next != nil {
			f.next.prev = f.prev
		}
		f.prev, f.next = nil, nil
	}
	sh.mu.Unlock()
}

// Stats returns the Group's counters. It is safe to call at any time.
func (g *Group) Stats() Stats {
	return Stats{
		Flights:   g.flights.Load(),
		Followers: g.followers.Load(),
		Refused:   g.refused.Load(),
		Live:      g.live.Load(),
	}
}

// Close cancels the context of every live flight, makes later Joins fail with ErrClosed,
// and waits until every start function has returned. It is safe to call more than once.
func (g *Group) Close() {
	g.closed.Store(true)
	for i := range g.shards { // a Join that saw closed==false has listed its flight by now
		sh := &g.shards[i]
		sh.mu.Lock()
		for f := sh.running; f != nil; f = f.next {
			f.cancel()
		}
		sh.mu.Unlock()
	}
	g.wg.Wait()
}
