package mongodb_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/storetest"
)

func TestNotifyOutboxRoundTrip(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 123_000_000, time.UTC)
	var want []apphub.Delivery
	for v := 1; v <= 12; v++ {
		d := apphub.Delivery{ID: apphub.DeliveryID("sub1", "apt1", v, apphub.EventStateChanged), SubscriptionID: "sub1",
			AppointmentID: "apt1", Version: v, EventType: apphub.EventStateChanged, EventID: "apt1-x",
			Callback: "http://127.0.0.1:1/cb", Body: []byte(`{"a":"<b>&é</b>","n":1.10}`), CreatedAt: now}
		if err := db.InsertDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		want = append(want, d)
	}
	if err := db.InsertDelivery(ctx, want[0]); apphub.ErrorCode(err) != apphub.ECONFLICT {
		t.Fatalf("second insert: %v, want CONFLICT", err)
	}
	got, err := db.Deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d deliveries, want %d", len(got), len(want))
	}
	// Natural order is insertion order here: version 10 does not come before version 2.
	for i, d := range got {
		w := want[i]
		if d.ID != w.ID || d.SubscriptionID != w.SubscriptionID || d.AppointmentID != w.AppointmentID || d.Version != w.Version ||
			d.EventType != w.EventType || d.EventID != w.EventID || d.Callback != w.Callback || string(d.Body) != string(w.Body) ||
			!d.CreatedAt.Equal(w.CreatedAt) || d.CreatedAt.Location() != time.UTC {
			t.Errorf("delivery %d = %+v, want %+v", i, d, w)
		}
	}
	for _, d := range want {
		if err := db.DeleteDelivery(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteDelivery(ctx, want[0].ID); err != nil {
		t.Fatalf("delete of a delivery that is gone: %v", err)
	}
	if got, err := db.Deliveries(ctx); err != nil || len(got) != 0 {
		t.Fatalf("after delete: %d deliveries, %v", len(got), err)
	}
}

func TestNotifyLeaseIsExclusive(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()
	id := apphub.DeliveryID("sub1", "apt1", 1, apphub.EventCreated)
	now := time.Now().UTC().Truncate(time.Millisecond)
	// 32 instances race for attempt 1: exactly one gets it.
	var mu sync.Mutex
	var wg sync.WaitGroup
	var winners []string
	for i := range 32 {
		wg.Go(func() {
			owner := string(rune('a' + i%26))
			err := db.InsertAttempt(ctx, apphub.DeliveryAttempt{DeliveryID: id, N: 1, Owner: owner, Start: now, LeaseUntil: now.Add(time.Minute)})
			mu.Lock()
			defer mu.Unlock()
			switch apphub.ErrorCode(err) {
			case "":
				winners = append(winners, owner)
			case apphub.ECONFLICT:
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d winners of one lease, want 1", len(winners))
	}
	a, err := db.GetAttempt(ctx, id, 1)
	if err != nil || a.Owner != winners[0] || a.N != 1 || !a.LeaseUntil.Equal(now.Add(time.Minute)) || a.DeliveryID != id {
		t.Fatalf("attempt = %+v, %v; want the winner's", a, err)
	}
	if _, err := db.GetAttempt(ctx, id, 2); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("attempt 2: %v, want NOT_FOUND", err)
	}
	if err := db.InsertAttempt(ctx, apphub.DeliveryAttempt{DeliveryID: id, N: 2, Owner: "b", Start: now, LeaseUntil: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAttempts(ctx, id, 3); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 2; n++ {
		if _, err := db.GetAttempt(ctx, id, n); apphub.ErrorCode(err) != apphub.ENOTFOUND {
			t.Fatalf("attempt %d after delete: %v, want NOT_FOUND", n, err)
		}
	}
}

func TestNotifyOutcomeAndSweep(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	recent := old.Add(48 * time.Hour)
	if _, err := db.GetOutcome(ctx, "d1"); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("outcome before: %v, want NOT_FOUND", err)
	}
	o := apphub.DeliveryOutcome{DeliveryID: "d1", Result: apphub.OutcomeDeadLettered, Attempts: 3, Owner: "a", At: old, Error: "the listener answered 500"}
	if err := db.InsertOutcome(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertOutcome(ctx, apphub.DeliveryOutcome{DeliveryID: "d1", Result: apphub.OutcomeDelivered, At: recent}); apphub.ErrorCode(err) != apphub.ECONFLICT {
		t.Fatalf("second outcome: %v, want CONFLICT", err)
	}
	got, err := db.GetOutcome(ctx, "d1")
	if err != nil || got != o {
		t.Fatalf("outcome = %+v, %v; want %+v", got, err, o)
	}
	if err := db.InsertOutcome(ctx, apphub.DeliveryOutcome{DeliveryID: "d2", Result: apphub.OutcomeDelivered, Attempts: 1, At: recent}); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertAttempt(ctx, apphub.DeliveryAttempt{DeliveryID: "d3", N: 1, Start: old, LeaseUntil: old}); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertAttempt(ctx, apphub.DeliveryAttempt{DeliveryID: "d4", N: 1, Start: recent, LeaseUntil: recent}); err != nil {
		t.Fatal(err)
	}
	removed, err := db.DeleteNotificationsBefore(ctx, old.Add(24*time.Hour))
	if err != nil || removed != 2 {
		t.Fatalf("sweep removed %d, %v; want 2", removed, err)
	}
	if _, err := db.GetOutcome(ctx, "d1"); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("old outcome: %v, want NOT_FOUND", err)
	}
	if _, err := db.GetOutcome(ctx, "d2"); err != nil {
		t.Fatalf("recent outcome: %v", err)
	}
	if _, err := db.GetAttempt(ctx, "d4", 1); err != nil {
		t.Fatalf("recent attempt: %v", err)
	}
}
