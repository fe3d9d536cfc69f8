package cache

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchyard/switchyard/internal/jsonx"
)

// vectorRecord is one change to the shared vector index: a vector added for an entry, or
// a purge of a scope filter.
type vectorRecord struct {
	purge     bool
	partition string
	scope     Scope
	key       string
	text      string
	expires   int64 // Unix nanoseconds
	vec       []float32
}

// vecSync keeps every replica's vector index in step through a Redis stream: a replica
// that stores a semantic entry appends its vector (XADD, trimmed to about maxLen), and
// every replica tails the stream from its start, so a new replica rebuilds its index from
// Redis and then follows new entries; a purge is a record too. Records whose entry has
// expired are skipped. Its goroutine is owned by the Cache and stops with it; on Redis
// errors it backs off (up to 2s) and resumes from the last record it applied.
type vecSync struct {
	rdb     redis.UniversalClient
	stream  string
	maxLen  int64
	timeout time.Duration
	log     *slog.Logger
	apply   func(vectorRecord)
	now     func() time.Time
	synced  atomic.Bool // caught up with the stream at least once
	applied atomic.Int64
}

// publish appends rec to the stream under the request-path timeout.
func (s *vecSync) publish(ctx context.Context, rec vectorRecord) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	scope, _ := jsonx.Marshal(rec.scope)
	values := []any{"o", "add", "s", scope}
	if rec.purge {
		values[1] = "purge"
	} else {
		values = append(values, "p", rec.partition, "k", rec.key, "t", rec.text,
			"x", strconv.FormatInt(rec.expires, 10), "v", vecBytes(rec.vec))
	}
	return s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.stream, MaxLen: s.maxLen, Approx: true, Values: values}).Err()
}

// run tails the stream until ctx ends.
func (s *vecSync) run(ctx context.Context) {
	last := "0-0"
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{s.stream, last}, Count: 512, Block: time.Second}).Result()
		if errors.Is(err, redis.Nil) { // nothing new within Block
			s.synced.Store(true)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Debug("cache: vector stream read failed", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		n := 0
		for _, st := range res {
			for _, msg := range st.Messages {
				last = msg.ID
				n++
				if rec, ok := decodeRecord(msg.Values); ok && (rec.purge || rec.expires > s.now().UnixNano()) {
					s.apply(rec)
					s.applied.Add(1)
				}
			}
		}
		if n < 512 {
			s.synced.Store(true)
		}
	}
}

func decodeRecord(v map[string]any) (vectorRecord, bool) {
	str := func(k string) string { s, _ := v[k].(string); return s }
	var rec vectorRecord
	if err := jsonx.Unmarshal([]byte(str("s")), &rec.scope); err != nil {
		return rec, false
	}
	switch str("o") {
	case "purge":
		rec.purge = true
		return rec, true
	case "add":
	default:
		return rec, false
	}
	rec.partition, rec.key, rec.text = str("p"), str("k"), str("t")
	x, err := strconv.ParseInt(str("x"), 10, 64)
	if err != nil {
		return rec, false
	}
	rec.expires = x
	raw := str("v")
	if len(raw) == 0 || len(raw)%4 != 0 {
		return rec, false
	}
	rec.vec = make([]float32, len(raw)/4)
	for i := range rec.vec {
		j := 4 * i
		rec.vec[i] = math.Float32frombits(uint32(raw[j]) | uint32(raw[j+1])<<8 | uint32(raw[j+2])<<16 | uint32(raw[j+3])<<24)
	}
	return rec, true
}

// vecBytes encodes v as little-endian float32s.
func vecBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}
