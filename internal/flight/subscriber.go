package flight

import (
	"context"
	"errors"
	"io"
)

// ErrLeft is returned by a Subscriber's methods after its Leave.
var ErrLeft = errors.New("flight: subscriber left")

// Subscriber reads one flight at its own cursor. Next and Meta are meant for one
// goroutine at a time; Leave may be called from any goroutine, and wakes a Next or Meta
// waiting on this subscriber.
type Subscriber struct {
	f    *Flight
	next int // number of the next event to return
	idx  int // position in f.subs; -1 after Leave
}

// Meta waits for the flight's header and returns it. If the flight finishes without a
// header it returns nil and the finish error (nil after a clean finish). It returns
// ctx.Err() when ctx is done first, and ErrLeft after Leave.
func (s *Subscriber) Meta(ctx context.Context) (any, error) {
	f := s.f
	f.mu.Lock()
	for {
		switch {
		case s.idx < 0:
			f.mu.Unlock()
			return nil, ErrLeft
		case f.hasMeta:
			m := f.meta
			f.mu.Unlock()
			return m, nil
		case f.done:
			err := f.err
			f.mu.Unlock()
			return nil, err
		}
		if err := s.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// Next returns the next event: first those logged before this subscriber joined, then
// live ones as the producer appends them. After the last event it returns io.EOF if the
// flight finished cleanly, or the finish error as given. It returns ctx.Err() when ctx is
// done while waiting, and ErrLeft after Leave.
//
// The returned bytes are shared with every other subscriber: read-only, and valid for as
// long as the caller keeps them (they are never reused).
func (s *Subscriber) Next(ctx context.Context) ([]byte, error) {
	f := s.f
	f.mu.Lock()
	for {
		if s.idx < 0 {
			f.mu.Unlock()
			return nil, ErrLeft
		}
		if i := s.next - f.base; i < len(f.events) {
			ev := f.events[i]
			s.next++
			f.mu.Unlock()
			return ev, nil
		}
		if f.done {
			err := f.err
			f.mu.Unlock()
			if err == nil {
				err = io.EOF
			}
			return nil, err
		}
		if err := s.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// wait releases f.mu, waits for the flight's next change or ctx, and on a change takes
// f.mu again. On ctx's end it returns ctx.Err() with f.mu released.
func (s *Subscriber) wait(ctx context.Context) error {
	f := s.f
	w := f.waitChan()
	f.mu.Unlock()
	select {
	case <-w:
		f.mu.Lock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Leave unsubscribes. When the last subscriber leaves an unfinished flight, the
// producer's context is cancelled and the key is freed: a Join arriving afterwards starts
// a new flight. Leave is idempotent and safe to call at any time, finished flight or not.
func (s *Subscriber) Leave() {
	f := s.f
	f.mu.Lock()
	if s.idx < 0 {
		f.mu.Unlock()
		return
	}
	last := len(f.subs) - 1
	moved := f.subs[last]
	f.subs[s.idx], moved.idx = moved, s.idx
	f.subs[last] = nil
	f.subs = f.subs[:last]
	s.idx = -1
	abandoned := len(f.subs) == 0 && !f.done
	f.broadcast()
	f.mu.Unlock()
	if abandoned {
		f.cancel()
		f.unlist(false)
	}
}
