package batchlane

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard/switchyard/internal/jsonx"
)

var _ JobStore = (*RedisJobs)(nil)

// RedisJobs is a JobStore in Redis, shared by every replica using the same server and
// prefix: one hash per job (prefix + "job:" + id) with the status as JSON ("s") and the
// provider's answer as raw bytes ("r"), expiring with its ttl. Every call is one round
// trip (a MULTI for Put). Safe for concurrent use.
type RedisJobs struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisJobs returns the job store under prefix in rdb. rdb is shared, not owned:
// closing it is the caller's business.
func NewRedisJobs(rdb redis.UniversalClient, prefix string) *RedisJobs {
	return &RedisJobs{rdb: rdb, prefix: prefix + "job:"}
}

// Put implements JobStore.
func (s *RedisJobs) Put(ctx context.Context, ttl time.Duration, jobs ...Status) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, st := range jobs {
			resp := st.Response
			st.Response = nil
			b, err := jsonx.Marshal(st)
			if err != nil {
				return fmt.Errorf("job %s: %w", st.JobID, err)
			}
			k := s.prefix + st.JobID
			p.HSet(ctx, k, "s", b, "r", resp)
			p.PExpire(ctx, k, ttl)
		}
		return nil
	})
	return err
}

// Get implements JobStore.
func (s *RedisJobs) Get(ctx context.Context, jobID string) (Status, error) {
	vals, err := s.rdb.HMGet(ctx, s.prefix+jobID, "s", "r").Result()
	if errors.Is(err, redis.Nil) {
		return Status{}, ErrUnknownJob
	}
	if err != nil {
		return Status{}, err
	}
	raw, ok := vals[0].(string)
	if !ok {
		return Status{}, ErrUnknownJob
	}
	var st Status
	if err := jsonx.Unmarshal([]byte(raw), &st); err != nil {
		return Status{}, fmt.Errorf("job %s: stored status unreadable: %w", jobID, err)
	}
	if r, ok := vals[1].(string); ok && r != "" {
		st.Response = []byte(r)
	}
	return st, nil
}
