package identity

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

// manualClock is a clock the test moves: the cache's expiry and the last-use writes are
// decided by how much time passed, which the test, not the machine's speed, must say.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// issue stores a key as booking.Service.CreateAPIKey does, and returns the key itself.
func issue(t *testing.T, db *mongodb.DB, name, role string, parties ...string) string {
	t.Helper()
	key := apphub.APIKeyPrefix + "test" + name + "0123456789abcdefghijklmnopqrstuvwxyz"
	k := apphub.APIKey{ID: apphub.APIKeyID(key), Name: name, Role: role, Parties: parties, CreatedBy: "admin:ops",
		CreatedAt: testclock.Now().UTC().Truncate(time.Millisecond)}
	if err := db.InsertAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return key
}

// openTwice opens two handles on one database: two hub instances sharing their MongoDB.
func openTwice(t *testing.T) (a, b *mongodb.DB) {
	t.Helper()
	uri, database := storetest.MongoURI(t)
	open := func() *mongodb.DB {
		db, err := mongodb.Open(uri, database)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close(context.Background()) })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		return db
	}
	return open(), open()
}

func TestAPIKeyAuthenticates(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()
	clock := &manualClock{t: testclock.Now()}
	key := issue(t, db, "acme", apphub.RolePartner, "cust-1", "cust-2")
	auth := NewAuthenticator(nil, NewKeys(db, KeysOptions{Now: clock.Now}))

	// As an Authorization header and as the credential alone (a websocket's connection_init).
	for _, credential := range []string{"Bearer " + key, "bearer " + key, key} {
		p, err := auth.Authenticate(ctx, credential)
		if err != nil {
			t.Fatalf("%.20s…: %v", credential, err)
		}
		if p.PartyID != "acme" || !slices.Equal(p.Roles, []string{apphub.RolePartner}) || !slices.Equal(p.Parties, []string{"cust-1", "cust-2"}) ||
			p.KeyID != apphub.APIKeyID(key) || p.Ref() != "partner:acme" {
			t.Fatalf("principal %+v", p)
		}
	}

	// Its last use is written at the first use, and then at most once a minute.
	lastUsed := func() time.Time {
		t.Helper()
		k, err := db.GetAPIKey(ctx, apphub.APIKeyID(key))
		if err != nil {
			t.Fatal(err)
		}
		return k.LastUsedAt
	}
	first := lastUsed()
	if first.IsZero() || first.Sub(clock.Now()).Abs() > time.Millisecond {
		t.Fatalf("last use %v after a use at %v", first, clock.Now())
	}
	clock.Advance(30 * time.Second)
	if _, err := auth.Authenticate(ctx, "Bearer "+key); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(first) {
		t.Fatalf("last use written again after 30s: %v, then %v", first, got)
	}
	clock.Advance(31 * time.Second)
	if _, err := auth.Authenticate(ctx, "Bearer "+key); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); got.Sub(clock.Now()).Abs() > time.Millisecond {
		t.Fatalf("last use %v after a use at %v, a minute after the first", got, clock.Now())
	}
}

// A key revoked through one instance is refused by another within the cache's TTL: the two
// share only their database.
func TestAPIKeyRevokedOnAnotherInstance(t *testing.T) {
	t.Parallel()
	dbA, dbB := openTwice(t)
	ctx := context.Background()
	clock := &manualClock{t: testclock.Now()}
	const ttl = 2 * time.Second
	instanceA := NewAuthenticator(nil, NewKeys(dbA, KeysOptions{CacheTTL: ttl, Now: clock.Now}))
	instanceB := NewAuthenticator(nil, NewKeys(dbB, KeysOptions{CacheTTL: ttl, Now: clock.Now}))
	key := issue(t, dbA, "acme", apphub.RolePartner)
	for name, inst := range map[string]*Authenticator{"A": instanceA, "B": instanceB} {
		if _, err := inst.Authenticate(ctx, "Bearer "+key); err != nil {
			t.Fatalf("instance %s refuses a new key: %v", name, err)
		}
	}

	if err := dbA.RevokeAPIKey(ctx, apphub.APIKeyID(key), clock.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(ttl)
	for name, inst := range map[string]*Authenticator{"A": instanceA, "B": instanceB} {
		if p, err := inst.Authenticate(ctx, "Bearer "+key); apphub.ErrorCode(err) != apphub.EUNAUTHENTICATED {
			t.Fatalf("instance %s, %v after the revocation: %+v, %v; want UNAUTHENTICATED", name, ttl, p, err)
		}
	}

	// The same on the wall clock with the default TTL: refused within about 2 s.
	realB := NewAuthenticator(nil, NewKeys(dbB, KeysOptions{}))
	other := issue(t, dbA, "globex", apphub.RoleAdmin)
	if _, err := realB.Authenticate(ctx, "Bearer "+other); err != nil {
		t.Fatal(err)
	}
	if err := dbA.RevokeAPIKey(ctx, apphub.APIKeyID(other), time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for {
		_, err := realB.Authenticate(ctx, "Bearer "+other)
		if apphub.ErrorCode(err) == apphub.EUNAUTHENTICATED {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(revoked) > 3*time.Second {
			t.Fatal("a revoked key is still accepted 3s after its revocation")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCredentialsRefused(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	local, err := OpenLocalKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := local.Config()
	cfg.Now = testclock.Now
	v, err := NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	auth := NewAuthenticator(v, NewKeys(db, KeysOptions{}))
	ctx := context.Background()

	if p, err := auth.Authenticate(ctx, ""); err != nil || !p.Anonymous() {
		t.Fatalf("no credential: %+v, %v; want anonymous", p, err)
	}
	good, err := local.Mint(TokenRequest{Party: "cust-1", Roles: []string{apphub.RoleCustomer}, TTL: time.Hour, Now: testclock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := auth.Authenticate(ctx, "Bearer "+good); err != nil || p.Ref() != "customer:cust-1" {
		t.Fatalf("a valid token: %+v, %v", p, err)
	}
	expired, _ := local.Mint(TokenRequest{Party: "cust-1", Roles: []string{apphub.RoleCustomer}, TTL: time.Minute, Now: testclock.Now().Add(-time.Hour)})
	for name, credential := range map[string]string{
		"an unknown key":      "Bearer " + apphub.APIKeyPrefix + "nosuchkey0123456789",
		"an expired token":    "Bearer " + expired,
		"a garbled token":     "Bearer not.a.token",
		"another scheme":      "Basic YWRtaW46YWRtaW4=",
		"an empty bearer":     "Bearer ",
		"a tampered token":    "Bearer " + good[:len(good)-4] + "AAAA",
		"a token and garbage": "Bearer " + good + " more",
	} {
		if p, err := auth.Authenticate(ctx, credential); apphub.ErrorCode(err) != apphub.EUNAUTHENTICATED {
			t.Errorf("%s: %+v, %v; want UNAUTHENTICATED", name, p, err)
		}
	}
}
