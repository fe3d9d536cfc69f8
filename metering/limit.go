package metering

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Limiter enforces LimitConfig rules per key, team and feature: requests and tokens per
// minute, spend per UTC day and month. It reserves a request's estimate before the
// upstream call (Reserve) and corrects the counters to the actual usage afterwards
// (Settle); both are idempotent per request id. Safe for concurrent use; Reload swaps
// the rules atomically. The hot path takes no lock shared by all requests: the store
// locks (or scripts) only the counters one request touches.
type Limiter struct {
	rules atomic.Pointer[limitRules]
	store LimitStore
	ttl   time.Duration
	clock func() time.Time
	log   *slog.Logger
	win   atomic.Pointer[windowCache]
	// storeLog rate-limits the store-failure warnings: an outage fails every request, and
	// one line per request would flood the log.
	storeLog *rateLog
}

// storeLogEvery is the most often a store failure is logged; the next line says how many
// were held back ("suppressed").
const storeLogEvery = 10 * time.Second

// LimiterOptions tunes a Limiter. They are wiring, not file configuration: the gateway
// derives IdempotencyTTL from its whole-request timeout.
type LimiterOptions struct {
	// IdempotencyTTL is how long a request id's reservation is remembered; a Reserve or
	// Settle repeated within it counts nothing twice. It must exceed the longest request
	// (the gateway's whole-request timeout) so that Settle finds its reservation. Default 15m.
	IdempotencyTTL time.Duration
	// Clock is the time source for Settle and for a ReserveRequest without Now.
	// Default time.Now.
	Clock func() time.Time
	// Logger gets one line per soft or shadow breach and per store failure. Default none:
	// the caller sees every outcome (Breaches, StoreErr, errors) and may log and count it.
	Logger *slog.Logger
}

// ErrNoRequestID is returned by Reserve for a request without a RequestID.
var ErrNoRequestID = errors.New("metering: reserve needs a request id")

// ErrLimitsUnavailable is wrapped by the error Reserve returns when the store failed and
// a hard rule that applies to the request is fail_closed. The gateway answers 503.
var ErrLimitsUnavailable = errors.New("metering: limits store unavailable")

// NewLimiter compiles rules (defaults applied to a copy, then validated) over store.
func NewLimiter(rules []LimitConfig, store LimitStore, opts LimiterOptions) (*Limiter, error) {
	if store == nil {
		return nil, errors.New("metering: NewLimiter needs a store")
	}
	l := &Limiter{store: store, ttl: opts.IdempotencyTTL, clock: opts.Clock, log: opts.Logger, storeLog: newRateLog(storeLogEvery)}
	if l.ttl <= 0 {
		l.ttl = 15 * time.Minute
	}
	if l.clock == nil {
		l.clock = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if err := l.Reload(rules); err != nil {
		return nil, err
	}
	return l, nil
}

// Reload validates rules and, only if they are all valid, makes them the ones in force.
// Counters are keyed by scope value and limit, not by rule, so usage carries over.
func (l *Limiter) Reload(rules []LimitConfig) error {
	rs, err := compileLimits(rules)
	if err != nil {
		return err
	}
	l.rules.Store(rs)
	return nil
}

// ReserveRequest is what Reserve needs to know about a request before it goes upstream.
type ReserveRequest struct {
	// RequestID identifies the request; a Reserve or Settle repeated with it counts
	// nothing twice. Required.
	RequestID string
	// Key, Team and Feature are the request's scope values. An empty one matches no rule.
	Key, Team, Feature string
	// EstimatedTokens is the tokens the request is expected to use (prompt plus expected
	// completion). Charged against TPM limits until Settle corrects it.
	EstimatedTokens int64
	// EstimatedCost is the expected cost, charged against spend limits until Settle.
	EstimatedCost Money
	// Now is the request's time, which picks the windows. Zero means the Limiter's clock.
	Now time.Time
}

// Reservation is an admitted request's hold on its counters, to be passed to Settle.
// The zero Reservation (no rule applied) settles to nothing.
type Reservation struct {
	// RequestID is the request's id.
	RequestID string
	// Breaches are the soft and shadow limits this request went over; nil when none.
	Breaches []Breach
	// StoreErr is non-nil when the store failed and every hard rule that applies is
	// fail_open: the request was admitted unchecked, and Settle charges its actual usage.
	StoreErr error
	// Duplicate is true when the request id had already been reserved: nothing new was
	// counted, and Settle settles the original reservation.
	Duplicate bool

	at  time.Time
	ops []counterOp
}

// Breach is one limit a request went over: a soft or shadow breach on a Reservation, or
// the hard one inside a *LimitError.
type Breach struct {
	// Scope and Value name the counter's owner, e.g. team "research".
	Scope Scope
	Value string
	// Limit is which limit was reached.
	Limit LimitKind
	// Mode is the rule's mode: hard in a LimitError, soft or shadow on a Reservation.
	Mode Mode
	// Max is the limit; Used is what the window held before this request; Requested is
	// what this request asked for (1 for RPM, tokens for TPM, Money for spend).
	Max, Used, Requested int64
	// RetryAfter is the time until the window resets.
	RetryAfter time.Duration
}

// Reserve checks every limit that applies to req and charges its estimate to all of them,
// or to none. A hard limit that would be exceeded denies with a *LimitError; soft and
// shadow breaches admit and are listed on the Reservation. When the store fails, a
// fail_closed hard rule denies with an error wrapping ErrLimitsUnavailable, otherwise the
// request is admitted with StoreErr set. A repeated Reserve with the same RequestID
// returns the original reservation (Duplicate) without counting again.
func (l *Limiter) Reserve(ctx context.Context, req ReserveRequest) (Reservation, error) {
	if req.RequestID == "" {
		return Reservation{}, ErrNoRequestID
	}
	rs := l.rules.Load()
	n := rs.count(&req)
	if n == 0 {
		return Reservation{RequestID: req.RequestID}, nil
	}
	at := req.Now
	if at.IsZero() {
		at = l.clock()
	}
	w := l.windowsAt(at)
	ops := rs.ops(make([]counterOp, 0, n), &req, &w)
	r, err := l.store.reserve(ctx, reserveBatch{requestID: req.RequestID, at: at, ttl: l.ttl, ops: ops})
	if err != nil {
		return l.storeFailed(ctx, req.RequestID, at, ops, err)
	}
	switch r.outcome {
	case outcomeDenied:
		return Reservation{}, l.deny(ctx, req.RequestID, &ops[r.denied], at)
	case outcomeSettled:
		return Reservation{RequestID: req.RequestID, Duplicate: true, at: r.origAt}, nil
	case outcomeDuplicate:
		w := windowsAt(r.origAt)
		for i := range ops {
			ops[i].win = w[ops[i].kind]
		}
		return Reservation{RequestID: req.RequestID, Duplicate: true, at: r.origAt, ops: ops}, nil
	}
	res := Reservation{RequestID: req.RequestID, at: at, ops: ops}
	for i := range ops {
		if op := &ops[i]; op.mode != codeHard && op.used > op.max-op.amount {
			res.Breaches = append(res.Breaches, breachOf(op, at))
		}
	}
	l.logBreaches(ctx, &res)
	return res, nil
}

// Settle corrects the reservation's counters from its estimate to the actual usage: the
// request still counts once against RPM, and TPM and spend move by actual minus
// estimate, in the reservation's window while it is current (see settleTarget). A
// second Settle of the same request id does nothing. Settle runs to completion even if
// ctx is cancelled (a client that went away still used what it used), bounded by the
// store's own timeout.
func (l *Limiter) Settle(ctx context.Context, res Reservation, actualTokens int64, actualCost Money) error {
	if len(res.ops) == 0 {
		return nil
	}
	cost := max(int64(actualCost), 0)
	now := l.clock()
	b := settleBatch{
		requestID: res.RequestID, now: now, ttl: l.ttl, ops: res.ops, cur: l.windowsAt(now),
		actual: [numKinds]int64{1, max(actualTokens, 0), cost, cost},
	}
	if err := l.store.settle(context.WithoutCancel(ctx), b); err != nil {
		l.warnStore(ctx, "limits: settle failed; counters keep the estimate", res.RequestID, err)
		return fmt.Errorf("metering: settle %s: %w", res.RequestID, err)
	}
	return nil
}

// storeFailed applies the failure policy to a Reserve whose store call failed.
func (l *Limiter) storeFailed(ctx context.Context, id string, at time.Time, ops []counterOp, err error) (Reservation, error) {
	if ctx.Err() != nil { // the caller gave up: there is nobody to admit
		return Reservation{}, fmt.Errorf("metering: reserve %s: %w", id, err)
	}
	for i := range ops {
		if op := &ops[i]; op.mode == codeHard && op.failClosed {
			l.warnStore(ctx, "limits: store failed; denying (fail_closed)", id, err)
			return Reservation{}, fmt.Errorf("%w: %s %q %s limit is fail_closed: %w",
				ErrLimitsUnavailable, scopes[op.scope], op.value, op.kind, err)
		}
	}
	for i := range ops {
		ops[i].charged = 0 // nothing charged: Settle charges the whole actual usage
	}
	l.warnStore(ctx, "limits: store failed; admitting (fail_open)", id, err)
	return Reservation{RequestID: id, StoreErr: err, at: at, ops: ops}, nil
}

// warnStore logs a store failure at most once per storeLogEvery (for all its messages
// together), with the number of lines held back since the last one. A held-back line
// costs an atomic add and allocates nothing.
func (l *Limiter) warnStore(ctx context.Context, msg, id string, err error) {
	if !l.log.Enabled(ctx, slog.LevelWarn) {
		return
	}
	suppressed, ok := l.storeLog.allow()
	if !ok {
		return
	}
	l.log.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("request_id", id), slog.String("error", err.Error()),
		slog.Int64("suppressed", suppressed))
}

// deny builds the *LimitError for the op that denied.
func (l *Limiter) deny(ctx context.Context, id string, op *counterOp, at time.Time) error {
	e := &LimitError{Breach: breachOf(op, at)}
	if l.log.Enabled(ctx, slog.LevelDebug) {
		l.log.LogAttrs(ctx, slog.LevelDebug, "limits: denied", slog.String("request_id", id),
			slog.String("reason", e.Error()))
	}
	return e
}

func breachOf(op *counterOp, at time.Time) Breach {
	return Breach{
		Scope: scopes[op.scope], Value: op.value, Limit: op.kind, Mode: modeNames[op.mode],
		Max: op.max, Used: op.used, Requested: op.amount, RetryAfter: op.win.until(at),
	}
}

// windowsAt is windowsAt(t) through a one-minute cache: every instant of a minute has
// the same windows (days and months start on a minute), and computing the calendar ones
// costs more than the rest of a Reserve.
func (l *Limiter) windowsAt(t time.Time) windows {
	sec := t.Unix()
	minute := sec - mod(sec, 60)
	if c := l.win.Load(); c != nil && c.minute == minute {
		return c.w
	}
	c := &windowCache{minute: minute, w: windowsAt(t)}
	l.win.Store(c)
	return c.w
}

// windowCache holds the windows of one minute.
type windowCache struct {
	minute int64
	w      windows
}

// logBreaches logs a reservation's soft and shadow breaches. Counting them is the
// caller's: they are on the Reservation.
func (l *Limiter) logBreaches(ctx context.Context, res *Reservation) {
	if len(res.Breaches) == 0 || !l.log.Enabled(ctx, slog.LevelWarn) {
		return
	}
	for i := range res.Breaches {
		br := &res.Breaches[i]
		l.log.LogAttrs(ctx, slog.LevelWarn, "limits: "+string(br.Mode)+" limit breached",
			slog.String("request_id", res.RequestID), slog.String("scope", string(br.Scope)),
			slog.String("value", br.Value), slog.String("limit", br.Limit.String()),
			slog.Int64("max", br.Max), slog.Int64("used", br.Used), slog.Int64("requested", br.Requested),
			slog.Duration("retry_after", br.RetryAfter))
	}
}
