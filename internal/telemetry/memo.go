package telemetry

import (
	"sync"
	"sync/atomic"
)

// memoMax bounds the entries of one memo; past it, values are built on every call.
const memoMax = 4096

// memo caches values (pre-built metric attribute sets) by a comparable key. Reads are
// lock-free: the map is immutable and replaced whole (copy on write) when an entry is
// added, which happens once per distinct key. Safe for concurrent use.
type memo[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex // serialises writers
}

// get returns the value for k, building it with build(k) the first time. build must be
// a function value that does not capture (so the call does not allocate).
func (c *memo[K, V]) get(k K, build func(K) V) V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	v := build(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	n := 0
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
		n = len(*old)
	}
	if n >= memoMax {
		return v
	}
	next := make(map[K]V, n+1)
	if old != nil {
		for key, val := range *old {
			next[key] = val
		}
	}
	next[k] = v
	c.m.Store(&next)
	return v
}
