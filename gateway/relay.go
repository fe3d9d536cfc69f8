package gateway

import (
	"io"
	"sync"
	"time"
)

// relay carries one streamed answer to the exchange's own client. The stream's pump runs
// in its own goroutine and hands translated events over a small channel; Read runs on
// the server's connection goroutine, which writes and flushes each event as soon as it
// arrives. The client leaving cancels the exchange's context, which aborts the upstream
// call at once. Close ends both and releases the exchange.
type relay struct {
	s      *upstreamStream
	events chan *[]byte
	quit   chan struct{}
	done   chan struct{} // closed when the pump has returned
	err    error         // the pump's result, valid after done

	cur      *[]byte // buffer being drained
	pending  []byte
	finished bool
	closing  sync.Once

	// ping, when set, appends a keep-alive event sent after pingEvery of silence
	// (Anthropic's ping, for a translated Messages stream: timeouts.ping); pinger is its
	// timer.
	ping      func([]byte) []byte
	pingEvery time.Duration
	pinger    *time.Timer
}

// newRelay starts pumping s for its exchange's client.
func newRelay(s *upstreamStream) *relay {
	r := &relay{s: s, events: make(chan *[]byte, 8), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = s.pump(r)
	}()
	return r
}

var _ eventSink = (*relay)(nil)

func (r *relay) send(b *[]byte) bool {
	select {
	case r.events <- b:
		return true
	case <-r.quit:
		eventBufs.Put(b)
		return false
	}
}

// Read hands the server the next translated bytes, waiting for them while the client is
// still connected. After a failure it returns one SSE error event, then EOF: the client
// never sees a clean-looking end of a broken stream.
func (r *relay) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		r.release()
		if r.finished {
			return 0, io.EOF
		}
		var pinged <-chan time.Time
		if r.ping != nil && !r.s.answered.Load() {
			if r.pinger == nil {
				r.pinger = time.NewTimer(r.pingEvery)
			} else {
				r.pinger.Reset(r.pingEvery)
			}
			pinged = r.pinger.C
		}
		select {
		case <-pinged:
			if r.s.answered.Load() {
				continue // the answer is complete while the pump drains: no ping after it
			}
			bp := eventBufs.Get().(*[]byte)
			*bp = r.ping((*bp)[:0])
			r.cur, r.pending = bp, *bp
		case b := <-r.events:
			r.cur, r.pending = b, *b
		case <-r.done:
			select { // events sent before the pump returned come first
			case b := <-r.events:
				r.cur, r.pending = b, *b
				continue
			default:
			}
			r.finished = true
			if r.err != nil {
				code, ev := r.s.errorEvent(r.err)
				r.s.ex.rec.errCode = code
				if ev != nil {
					r.cur, r.pending = ev, *ev
				}
			}
		case <-r.s.ex.ctx.Done():
			r.s.st.Abort()
			return 0, errClientGone
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

func (r *relay) release() {
	if r.cur != nil {
		eventBufs.Put(r.cur)
		r.cur = nil
	}
}

// Close is called by the server once the response is written or the client is gone. It
// stops the pump, aborting the upstream call unless it completed, finishes the stream and
// releases the exchange.
func (r *relay) Close() error {
	r.closing.Do(func() {
		close(r.quit)
		select {
		case <-r.done:
		default:
			r.s.st.Abort() // the pump may be blocked on the upstream
		}
		<-r.done
		for drained := false; !drained; {
			select {
			case b := <-r.events:
				eventBufs.Put(b)
			default:
				drained = true
			}
		}
		r.release()
		if r.pinger != nil {
			r.pinger.Stop()
		}
		ex := r.s.ex
		// The server closes a stream it did not write to its end only when the client is gone.
		gone := ex.clientGone() || !r.finished
		if r.err != nil && ex.rec.errCode == "" && !gone {
			code, ev := r.s.errorEvent(r.err)
			if ev != nil {
				eventBufs.Put(ev)
			}
			ex.rec.errCode = code
		}
		r.s.finish(gone)
		ex.release()
	})
	return nil
}
