package metering

import (
	"hash/maphash"
	"sync"
)

// countCache remembers token counts of recently counted texts. System prompts, prompt
// templates and conversation history are sent again with every request, and tiktoken-go
// costs about 3 µs per token, so a hit saves milliseconds for a long system prompt.
//
// It is sharded (64 mutex-guarded maps keyed by a 64-bit hash of encoding and text) so
// that no lock is shared by all requests; a full shard is emptied rather than tracked for
// recency, which bounds memory at about 16 bytes per entry. A hash collision would return
// another text's count; at 64 bits and these sizes the odds are negligible for an estimate.
type countCache struct {
	seed     maphash.Seed
	perShard int
	shards   [countShards]countShard
}

const (
	countShards = 64
	// minCachedBytes: shorter texts are counted each time (a few µs; mostly one token).
	minCachedBytes = 8
)

type countShard struct {
	mu sync.Mutex
	m  map[uint64]int32
}

func newCountCache(entries int) *countCache {
	c := &countCache{seed: maphash.MakeSeed(), perShard: max(entries/countShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]int32)
	}
	return c
}

func (c *countCache) key(encoding, text string) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(encoding)
	h.WriteByte(0)
	h.WriteString(text)
	return h.Sum64()
}

func (c *countCache) get(k uint64) (int, bool) {
	s := &c.shards[k%countShards]
	s.mu.Lock()
	n, ok := s.m[k]
	s.mu.Unlock()
	return int(n), ok
}

func (c *countCache) put(k uint64, n int) {
	s := &c.shards[k%countShards]
	s.mu.Lock()
	if len(s.m) >= c.perShard {
		clear(s.m)
	}
	s.m[k] = int32(min(n, 1<<31-1))
	s.mu.Unlock()
}
