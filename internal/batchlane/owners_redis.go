package batchlane

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ OwnerStore = (*RedisOwners)(nil)

// RedisOwners is an OwnerStore in Redis, shared by every replica using the same server
// and prefix: one string key per id (prefix + "owner:" + id) holding its owner, expiring
// with its ttl. It is bounded by the ttl only (Config.MaxOwners applies to the memory
// store); an entry is about 100 bytes. Every method is one round trip (pipelined for
// several ids). Safe for concurrent use.
type RedisOwners struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisOwners returns the ownership table under prefix in rdb. rdb is shared, not
// owned: closing it is the caller's business.
func NewRedisOwners(rdb redis.UniversalClient, prefix string) *RedisOwners {
	return &RedisOwners{rdb: rdb, prefix: prefix + "owner:"}
}

// Claim implements OwnerStore with SET NX PX per id, pipelined.
func (s *RedisOwners) Claim(ctx context.Context, owner string, ttl time.Duration, ids ...string) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.SetNX(ctx, s.prefix+id, owner, ttl)
		}
		return nil
	})
	return err
}

// Owners implements OwnerStore with one MGET.
func (s *RedisOwners) Owners(ctx context.Context, ids []string) ([]string, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.prefix + id
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ids))
	for i, v := range vals {
		if str, ok := v.(string); ok {
			out[i] = str
		}
	}
	return out, nil
}

// releaseScript deletes KEYS[1] when it holds ARGV[1].
var releaseScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// Release implements OwnerStore with a compare-and-delete script.
func (s *RedisOwners) Release(ctx context.Context, id, owner string) error {
	err := releaseScript.Run(ctx, s.rdb, []string{s.prefix + id}, owner).Err()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}
