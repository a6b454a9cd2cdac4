package rediscache_test

import (
	"context"
	"testing"
	"time"

	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

func TestQueryCacheSharedAndExpiring(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	ctx := context.Background()
	a := rediscache.NewQueryCache(rdb, prefix, time.Minute)
	b := rediscache.NewQueryCache(rdb, prefix, time.Minute) // another instance
	if _, ok := b.Get(ctx, "h1"); ok {
		t.Fatal("hit on an empty cache")
	}
	a.Add(ctx, "h1", "{ hub { version } }")
	if q, ok := b.Get(ctx, "h1"); !ok || q != "{ hub { version } }" {
		t.Fatalf("other instance: %q, %v", q, ok)
	}
	if ttl := rdb.Raw().TTL(ctx, prefix+"apq:h1").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl %v", ttl)
	}
}
