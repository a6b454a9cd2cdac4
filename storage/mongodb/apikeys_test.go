package mongodb_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/storetest"
)

// An API key is kept under its hash; a revocation is a record of its own, which reading and
// listing join, and which a second revocation leaves as it was.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()
	created := time.Date(2026, 3, 29, 1, 2, 3, 4_000_000, time.UTC)
	acme := apphub.APIKey{ID: apphub.APIKeyID("apphub_acme"), Name: "acme", Role: apphub.RolePartner, Parties: []string{"cust-1", "cust-2"},
		CreatedBy: "admin:ops", CreatedAt: created}
	tool := apphub.APIKey{ID: apphub.APIKeyID("apphub_tool"), Name: "tool", Role: apphub.RoleAdmin, CreatedBy: "admin:ops", CreatedAt: created}
	for _, k := range []apphub.APIKey{acme, tool} {
		if err := db.InsertAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.InsertAPIKey(ctx, acme); apphub.ErrorCode(err) != apphub.ECONFLICT {
		t.Fatalf("a second key with the same hash: %v, want CONFLICT", err)
	}
	if _, err := db.GetAPIKey(ctx, apphub.APIKeyID("apphub_nobody")); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("an unknown key: %v, want NOT_FOUND", err)
	}
	got, err := db.GetAPIKey(ctx, acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "acme" || got.Role != apphub.RolePartner || !slices.Equal(got.Parties, acme.Parties) || got.CreatedBy != "admin:ops" ||
		!got.CreatedAt.Equal(created) || !got.LastUsedAt.IsZero() || !got.RevokedAt.IsZero() {
		t.Fatalf("read back %+v", got)
	}

	used := created.Add(time.Hour)
	if err := db.TouchAPIKey(ctx, acme.ID, used); err != nil {
		t.Fatal(err)
	}
	revoked := created.Add(2 * time.Hour)
	if err := db.RevokeAPIKey(ctx, acme.ID, revoked); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeAPIKey(ctx, acme.ID, revoked.Add(time.Hour)); err != nil {
		t.Fatalf("revoking again: %v", err)
	}
	if got, err = db.GetAPIKey(ctx, acme.ID); err != nil || !got.LastUsedAt.Equal(used) || !got.RevokedAt.Equal(revoked) {
		t.Fatalf("after a use and two revocations: %+v, %v; want used at %v, revoked at %v (the first)", got, err, used, revoked)
	}

	all, err := db.ListAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]apphub.APIKey{}
	for _, k := range all {
		byName[k.Name] = k
	}
	if len(all) != 2 || !byName["acme"].RevokedAt.Equal(revoked) || !byName["tool"].RevokedAt.IsZero() || byName["tool"].Role != apphub.RoleAdmin {
		t.Fatalf("list: %+v", all)
	}
}
