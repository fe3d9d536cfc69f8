package gateway

import (
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/policies"
)

// State replicas share through the top-level redis server: the batch lane's jobs and
// ownership table (batch_lane.store: redis) and the prompt canaries' rollback decisions
// (whenever redis.addr is set and a prompts directory is configured).

// newSharedRedis returns a client for the top-level redis server when the batch lane or
// the prompt registry keeps state there, or nil. The client is shared by those
// components and owned by the gateway.
func newSharedRedis(cfg *config.Config) (redis.UniversalClient, error) {
	lane := cfg.BatchLane.Enabled && cfg.BatchLane.Config.WithDefaults().Store == batchlane.StoreRedis
	if lane && cfg.Redis.Addr == "" {
		return nil, errors.New("batch lane: batch_lane.store redis needs redis.addr")
	}
	if cfg.Redis.Addr == "" || (!lane && cfg.Prompts == "") {
		return nil, nil
	}
	return redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr, Password: cfg.Redis.Password(), DB: cfg.Redis.DB,
		ContextTimeoutEnabled: true, DialTimeout: time.Second, MaxRetries: 1}), nil
}

// laneJobs is where the batch lane shares its jobs: Redis with batch_lane.store redis,
// nowhere (the collector's own table) otherwise.
func laneJobs(cfg batchlane.Config, rdb redis.UniversalClient) batchlane.JobStore {
	cfg = cfg.WithDefaults()
	if cfg.Store != batchlane.StoreRedis || rdb == nil {
		return nil
	}
	return batchlane.NewRedisJobs(rdb, cfg.RedisPrefix)
}

// newOwners returns the passthrough's ownership table: in Redis with batch_lane.store
// redis, in process memory otherwise.
func newOwners(cfg batchlane.Config, rdb redis.UniversalClient) *batchlane.Owners {
	cfg = cfg.WithDefaults()
	if cfg.Store != batchlane.StoreRedis || rdb == nil {
		return batchlane.NewOwners(cfg, nil)
	}
	return batchlane.NewOwnersIn(cfg, batchlane.NewRedisOwners(rdb, cfg.RedisPrefix))
}

// newPromptReloader loads the prompts directory; with Redis, its canaries' rollback
// decisions are shared with every replica using the same server.
func newPromptReloader(dir string, rdb redis.UniversalClient, apply func(*policies.Registry) error, log *slog.Logger) (*policies.Reloader, error) {
	if rdb == nil {
		return policies.NewPromptReloader(dir, apply, log)
	}
	share := policies.NewRollbackShare(policies.NewRedisRollbackStore(rdb, "", 0), policies.RollbackShareOptions{Log: log})
	return policies.NewSharedPromptReloader(dir, share, apply, log)
}
