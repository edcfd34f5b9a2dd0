package redisstore

import (
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/redis/go-redis/v9"
)

// NewClient is the go-redis client limit_store describes (single server,
// Cluster or Sentinel), for other users of the fleet's store (the live
// rules of package rules). Each command is bounded by timeout.
func NewClient(c *config.LimitStore, timeout time.Duration) (redis.UniversalClient, error) {
	return newClient(c, timeout)
}
