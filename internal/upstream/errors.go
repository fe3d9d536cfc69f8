package upstream

import (
	"errors"

	"github.com/valyala/fasthttp"
)

// Error is a failure to get an answer from the upstream, classified for the retry loop
// and the client's status.
type Error struct {
	Kind Kind
	Err  error
}

// Kind classifies an upstream failure.
type Kind uint8

// Kinds of upstream failure.
const (
	// KindConnect: the connection could not be opened; nothing was sent, always safe to retry.
	KindConnect Kind = iota + 1
	// KindTimeout: a deadline passed (first byte, idle or whole request).
	KindTimeout
	// KindBroken: the connection failed after the request was written: the upstream may
	// have received it, so a retry may bill twice.
	KindBroken
	// KindAborted: the gateway aborted the call itself (client gone, shutdown).
	KindAborted
	// KindPoolExhausted: every connection to the host stayed busy for MaxConnWait; nothing
	// was sent, and the upstream is not at fault.
	KindPoolExhausted
)

func (e *Error) Error() string {
	switch e.Kind {
	case KindConnect:
		return "upstream connect: " + e.Err.Error()
	case KindTimeout:
		return "upstream timeout: " + e.Err.Error()
	case KindAborted:
		return "upstream call aborted: " + e.Err.Error()
	case KindPoolExhausted:
		return "upstream pool exhausted: " + e.Err.Error()
	}
	return "upstream connection: " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrAborted is the cause recorded when the gateway closes a call on purpose.
var ErrAborted = errors.New("aborted by the gateway")

// classify turns an I/O error of a call whose request was (at least partly) written
// into an *Error.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ue *Error
	if errors.As(err, &ue) {
		return ue
	}
	if errors.Is(err, fasthttp.ErrTimeout) || isTimeout(err) {
		return &Error{Kind: KindTimeout, Err: err}
	}
	return &Error{Kind: KindBroken, Err: err}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
