package metering

import (
	"context"
	"time"
)

// LimitStore keeps the limiter's counters and its per-request idempotency records.
// MemoryStore serves one process; RedisStore is shared by replicas.
//
// The methods are unexported on purpose: a store must run the whole admission step
// atomically (check every hard limit, then charge every counter or none, then record the
// request id), and settle the same way. The two stores here do, and are tested to; the
// interface is sealed so a third cannot get that subtly wrong.
type LimitStore interface {
	reserve(ctx context.Context, b reserveBatch) (reserveResult, error)
	settle(ctx context.Context, b settleBatch) error
	// usage fills each op's used from its counter in op.win (0 when there is none),
	// writing nothing.
	usage(ctx context.Context, ops []counterOp) error
}

// counterOp is one counter a request touches: a (scope, value, kind) in one window.
// The Limiter fills the first fields; the store fills used and charged. Once the store
// has returned, an op is never written again, so a store may keep a reservation's ops
// (the memory store does) and read them later.
type counterOp struct {
	scope      uint8 // index into scopes
	kind       LimitKind
	mode       modeCode
	failClosed bool
	value      string
	win        window // the window charged
	max        int64
	amount     int64 // what the request adds: 1 request, its estimated tokens or cost

	used    int64 // the counter before this request (admitted, or the denying counter)
	charged int64 // what the reservation holds on this counter; notCharged for none
}

// notCharged marks a counter a reservation did not charge (a shadow limit that would
// have denied).
const notCharged = -1

// reserveOutcome is what a store did with a reserveBatch.
type reserveOutcome uint8

const (
	outcomeAdmitted  reserveOutcome = iota // every counter checked and charged
	outcomeDenied                          // a hard limit denied; nothing charged
	outcomeDuplicate                       // the request id was already reserved
	outcomeSettled                         // the request id was already settled
)

// reserveBatch is one Reserve call's input.
type reserveBatch struct {
	requestID string
	at        time.Time
	ttl       time.Duration // how long the request id's record lives
	ops       []counterOp
}

// reserveResult is a store's answer to a reserveBatch. For outcomeDuplicate the store
// has set each op's charged from the original reservation (notCharged for all when the
// rules changed in between).
type reserveResult struct {
	outcome reserveOutcome
	denied  int       // outcomeDenied: index of the denying op
	origAt  time.Time // outcomeDuplicate: when the original reservation was made
}

// settleBatch is one Settle call's input.
type settleBatch struct {
	requestID string
	now       time.Time
	ttl       time.Duration
	ops       []counterOp     // the Reservation's: windows charged and charged amounts
	cur       windows         // the windows at settlement
	actual    [numKinds]int64 // per kind: 1 request, actual tokens, actual cost twice
}

// settleTarget says which window a correction of delta for a counter charged in orig
// goes to, given the current window cur: orig while it is still current (or the clock
// went back); once it has closed, an increase goes to the current window (spend is never
// lost from a running budget) and a decrease is dropped (the closed window no longer
// matters). redisscripts/settle.lua applies the same rule.
func settleTarget(orig, cur window, delta int64) (window, bool) {
	switch {
	case delta == 0:
		return window{}, false
	case cur.start <= orig.start:
		return orig, true
	case delta > 0:
		return cur, true
	}
	return window{}, false
}
