package cache

import (
	"context"
	"errors"
)

// Store holds entries by key name. Implementations are safe for concurrent use.
type Store interface {
	// Get returns the live entry stored under key, or (nil, nil) when there is none or it
	// expired. An error means the store could not answer; callers treat it as a miss.
	Get(ctx context.Context, key string) (*Entry, error)
	// Set stores e under e.Key until e.Expires, replacing any entry there. The store
	// keeps e; the caller must not modify it afterwards.
	Set(ctx context.Context, e *Entry) error
	// Purge removes every entry whose scope matches filter (empty fields match anything)
	// and returns how many it removed.
	Purge(ctx context.Context, filter Scope) (int, error)
}

// ErrTooLarge is returned by Set for an entry above the store's size limit.
var ErrTooLarge = errors.New("cache: entry too large to store")
