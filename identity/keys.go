package identity

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/apphub/apphub"
)

// KeyStore is what Keys needs of the store that keeps the API keys (*mongodb.DB).
type KeyStore interface {
	// GetAPIKey reads a key by its id (apphub.APIKeyID), with its revocation if any; ENOTFOUND
	// when there is none.
	GetAPIKey(ctx context.Context, id string) (apphub.APIKey, error)
	// TouchAPIKey records when a key was last used.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// KeysOptions tune Keys; the zero value of a field means its default.
type KeysOptions struct {
	// CacheTTL is how long a key read from the store is trusted without reading it again: a
	// revocation made on any instance takes effect on this one within it. Default 2s.
	CacheTTL time.Duration
	// TouchEvery is how often a key's last use is written, at most. Default 1m.
	TouchEvery time.Duration
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// maxCachedKeys bounds the cache. Only keys that exist are cached, and admins make those, so
// the bound is never reached in practice; it is there so that nothing a caller sends can grow
// the cache.
const maxCachedKeys = 10_000

// Keys verifies the API keys the hub issued (booking.Service.CreateAPIKey). A key is looked up
// by its hash; the answer is kept for CacheTTL, so that a busy partner costs one read every
// CacheTTL and not one per request, while a revocation, which is a record in the store and not
// a message to the instances, reaches every instance within CacheTTL.
type Keys struct {
	store      KeyStore
	ttl        time.Duration
	touchEvery time.Duration
	now        func() time.Time
	logger     *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedKey // by key id
}

type cachedKey struct {
	key       apphub.APIKey
	readAt    time.Time // when the store was read
	touchedAt time.Time // when this instance last wrote the key's last use
}

// NewKeys returns a verifier of the keys in store.
func NewKeys(store KeyStore, opts KeysOptions) *Keys {
	k := &Keys{store: store, ttl: opts.CacheTTL, touchEvery: opts.TouchEvery, now: opts.Now, logger: opts.Logger,
		cache: make(map[string]cachedKey)}
	if k.ttl <= 0 {
		k.ttl = 2 * time.Second
	}
	if k.touchEvery <= 0 {
		k.touchEvery = time.Minute
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.logger == nil {
		k.logger = slog.New(slog.DiscardHandler)
	}
	return k
}

// Verify returns the principal key acts as. A key that is not one the hub issued, or that was
// revoked, is EUNAUTHENTICATED; a store that cannot be read is its own error (UNAVAILABLE), so
// that an outage is not mistaken for a bad key.
func (k *Keys) Verify(ctx context.Context, key string) (apphub.Principal, error) {
	if !strings.HasPrefix(key, apphub.APIKeyPrefix) {
		return apphub.Principal{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "not an API key of this hub")
	}
	id := apphub.APIKeyID(key)
	now := k.now()

	k.mu.Lock()
	c, ok := k.cache[id]
	k.mu.Unlock()
	if !ok || now.Sub(c.readAt) >= k.ttl || now.Before(c.readAt) {
		stored, err := k.store.GetAPIKey(ctx, id)
		if apphub.ErrorCode(err) == apphub.ENOTFOUND {
			k.forget(id)
			return apphub.Principal{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "unknown API key")
		}
		if err != nil {
			return apphub.Principal{}, err
		}
		c = k.remember(id, stored, now)
	}
	if !c.key.RevokedAt.IsZero() {
		return apphub.Principal{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "the API key %s was revoked", shortID(id))
	}
	k.touch(ctx, id, c, now)
	return c.key.Principal(), nil
}

// remember caches key, keeping when this instance last touched it.
func (k *Keys) remember(id string, key apphub.APIKey, now time.Time) cachedKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.cache[id]
	c.key, c.readAt = key, now
	if len(k.cache) >= maxCachedKeys {
		for other, e := range k.cache {
			if now.Sub(e.readAt) >= k.ttl {
				delete(k.cache, other)
			}
		}
	}
	if len(k.cache) < maxCachedKeys {
		k.cache[id] = c
	}
	return c
}

func (k *Keys) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.cache, id)
}

// touch writes the key's last use when this instance has not written it for touchEvery. The
// write is on the request's path but at most once a minute per key and instance; when it fails
// the request goes on: the last use is information, not a control.
func (k *Keys) touch(ctx context.Context, id string, c cachedKey, now time.Time) {
	if !c.touchedAt.IsZero() && now.Sub(c.touchedAt) < k.touchEvery && !now.Before(c.touchedAt) {
		return
	}
	k.mu.Lock()
	if e, ok := k.cache[id]; ok {
		if !e.touchedAt.IsZero() && now.Sub(e.touchedAt) < k.touchEvery && !now.Before(e.touchedAt) {
			k.mu.Unlock()
			return // another request touched it meanwhile
		}
		e.touchedAt = now
		k.cache[id] = e
	}
	k.mu.Unlock()
	// The write is the instance's, not the request's: a caller that goes away does not cancel
	// it, and a slow store delays this request by 2 s at most.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := k.store.TouchAPIKey(ctx, id, now.UTC()); err != nil {
		k.logger.WarnContext(ctx, "recording an API key's last use", "key", shortID(id), "err", err)
	}
}

// shortID names a key in messages and logs without its whole hash.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
