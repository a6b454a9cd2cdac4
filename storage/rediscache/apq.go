package rediscache

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// QueryCache keeps automatic persisted queries (GraphQL documents by their SHA-256) in Redis,
// shared by every instance, so that a client that registered a query on one instance can send
// only its hash to another. It implements gqlgen's graphql.Cache[string]. Redis being down
// only costs clients a round trip: a miss makes them send the document again.
type QueryCache struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewQueryCache returns a cache on c under prefix whose entries live ttl after their last use.
func NewQueryCache(c *Client, prefix string, ttl time.Duration) *QueryCache {
	return &QueryCache{rdb: c.rdb, prefix: prefix + "apq:", ttl: ttl}
}

// Get returns the document registered under hash, and extends its life.
func (c *QueryCache) Get(ctx context.Context, hash string) (string, bool) {
	q, err := c.rdb.GetEx(ctx, c.prefix+hash, c.ttl).Result()
	if err != nil {
		return "", false
	}
	return q, true
}

// Add registers a document under its hash (gqlgen has checked the hash).
func (c *QueryCache) Add(ctx context.Context, hash, query string) {
	c.rdb.Set(ctx, c.prefix+hash, query, c.ttl)
}
