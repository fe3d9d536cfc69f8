package policies

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ RollbackStore = (*RedisRollbackStore)(nil)

// RedisRollbackStore is a RollbackStore in Redis, shared by every replica using the same
// server and prefix: one hash per rollout (prefix + rollout id) of reason by version.
// A hash expires ttl after its last decision was written; replicas still holding a
// decision write it again when they find it gone, so a rollout that lives on keeps its
// decisions. Trip is one MULTI, Tripped one pipeline. Safe for concurrent use.
type RedisRollbackStore struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewRedisRollbackStore returns the store under prefix in rdb (default prefix
// "{switchyard:prompts}:rollback:"; default ttl 720h). rdb is shared, not owned: closing
// it is the caller's business.
func NewRedisRollbackStore(rdb redis.UniversalClient, prefix string, ttl time.Duration) *RedisRollbackStore {
	if prefix == "" {
		prefix = "{switchyard:prompts}:rollback:"
	}
	if ttl <= 0 {
		ttl = 30 * 24 * time.Hour
	}
	return &RedisRollbackStore{rdb: rdb, prefix: prefix, ttl: ttl}
}

// Trip implements RollbackStore with HSETNX and PEXPIRE.
func (s *RedisRollbackStore) Trip(ctx context.Context, rollout, version, reason string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSetNX(ctx, s.prefix+rollout, version, reason)
		p.PExpire(ctx, s.prefix+rollout, s.ttl)
		return nil
	})
	return err
}

// Tripped implements RollbackStore with one HGETALL per rollout, pipelined.
func (s *RedisRollbackStore) Tripped(ctx context.Context, rollouts []string) (map[string]map[string]string, error) {
	cmds := make([]*redis.MapStringStringCmd, len(rollouts))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range rollouts {
			cmds[i] = p.HGetAll(ctx, s.prefix+id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for i, c := range cmds {
		if m := c.Val(); len(m) > 0 {
			out[rollouts[i]] = m
		}
	}
	return out, nil
}
