package mongodb_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
)

// A database written before claims were split by day has them in one "claims" collection:
// they are moved before any claim is read or written, so no booking can take their time.
func TestLegacyClaimsAreMovedFirst(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	var ids []string
	for i, res := range []string{"tech-1", "tech-1", "tech-2"} {
		s := start.Add(time.Duration(i) * 24 * time.Hour)
		id := apphub.ClaimID(res, s, 0)
		ids = append(ids, id)
		// The layout of the time: the resource, quantum and seat stored beside the _id.
		if err := mongodb.InsertForTest(ctx, db, "claims", map[string]any{"_id": id, "owner": "appt-old", "version": 1,
			"resource": res, "start": s, "seat": 0, "createdAt": start}); err != nil {
			t.Fatal(err)
		}
	}
	// One of them already moved by an earlier attempt that did not finish.
	if err := mongodb.InsertForTest(ctx, db, "claims-2026-12-01", map[string]any{"_id": ids[0], "owner": "appt-old", "version": 1, "createdAt": start}); err != nil {
		t.Fatal(err)
	}

	err := db.InsertClaim(ctx, apphub.Claim{ID: ids[1], Owner: "appt-new", Version: 1, Resource: "tech-1", Start: start.Add(24 * time.Hour), CreatedAt: start})
	if apphub.ErrorCode(err) != apphub.ECONFLICT {
		t.Fatalf("a claim on time an old booking holds: %v, want CONFLICT", err)
	}
	claims, err := db.ScanClaims(ctx, start, start.Add(3*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range claims {
		if c.Owner != "appt-old" || c.Resource == "" || c.Start.IsZero() {
			t.Errorf("moved claim %+v", c)
		}
		got = append(got, c.ID)
	}
	slices.Sort(got)
	if !slices.Equal(got, ids) {
		t.Fatalf("claims after the move %v, want %v", got, ids)
	}
	later, err := db.ClaimsFrom(ctx, start.Add(24*time.Hour+time.Hour))
	if err != nil || len(later) != 2 {
		t.Fatalf("claims from the second day: %v (%v), want those of the 2nd and 3rd", later, err)
	}
	names, err := mongodb.CollectionsForTest(ctx, db)
	if err != nil || slices.Contains(names, "claims") {
		t.Fatalf("collections %v (%v): the legacy one is still there", names, err)
	}
}
