package mongodb_test

import (
	"context"
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
)

// Attribute names BSON would choke on or rewrite, and numbers it would not spell back the same.
var awkwardAttributes = map[string]json.RawMessage{
	"$where":            json.RawMessage(`{"$ne":null}`),
	"a.b":               json.RawMessage(`{"c.d":1.10}`),
	"big":               json.RawMessage(`12345678901234567890123`),
	"exp":               json.RawMessage(`1E+2`),
	"requestedTimeSlot": json.RawMessage(`[{"validFor":{"startDateTime":"2026-03-29T01:00:00.000+01:00"}}]`),
	"text":              json.RawMessage(`"<b>&\u00e9</b>"`),
	"spaced":            json.RawMessage("[1, 2,\n 3]"),
	"":                  json.RawMessage(`null`),
	"quote\"\u0000":     json.RawMessage(`"\u0000"`),
}

// TestAttributesStorage: attributes are one JSON text (one string for the store to decode, not an
// element each); a resource without them stores nothing; those stored as an array of name and
// JSON text before are read back the same.
func TestAttributesStorage(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 29, 1, 2, 3, 0, time.UTC)
	bare := apphub.SearchTimeSlot{ID: "bare", Version: 1, Status: apphub.SearchDone, SearchDate: now, UpdatedAt: now}
	if err := db.InsertSearchTimeSlot(ctx, bare); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := mongodb.FindByIDForTest(ctx, db, "searchTimeSlots", "bare", &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["attributes"]; ok {
		t.Errorf("a task without attributes stored %v", raw["attributes"])
	}
	full := bare
	full.ID, full.Attributes = "full", awkwardAttributes
	if err := db.InsertSearchTimeSlot(ctx, full); err != nil {
		t.Fatal(err)
	}
	if err := mongodb.FindByIDForTest(ctx, db, "searchTimeSlots", "full", &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["attributes"].(string); !ok {
		t.Errorf("attributes stored as %T, want one string", raw["attributes"])
	}

	legacy := map[string]any{"_id": "legacy", "version": 1, "status": apphub.SearchDone, "result": "", "searchDate": now, "updatedAt": now,
		"attributes": []map[string]string{{"n": "a.b", "j": `{"c.d":1.10}`}, {"n": "$where", "j": `{"$ne":null}`}}}
	if err := mongodb.InsertForTest(ctx, db, "searchTimeSlots", legacy); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetSearchTimeSlot(ctx, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	want := bare
	want.ID, want.Attributes = "legacy", map[string]json.RawMessage{"a.b": awkwardAttributes["a.b"], "$where": awkwardAttributes["$where"]}
	checkTask(t, got, want)
}

func TestSearchTimeSlotRoundTrip(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 29, 1, 2, 3, 4_000_000, time.UTC)
	task := apphub.SearchTimeSlot{ID: "t1", Version: 1, Status: apphub.SearchDone, Result: apphub.SearchSuccess,
		SearchDate: now, UpdatedAt: now, PartyID: "p1", Attributes: awkwardAttributes}
	if err := db.InsertSearchTimeSlot(ctx, task); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertSearchTimeSlot(ctx, task); apphub.ErrorCode(err) != apphub.ECONFLICT {
		t.Fatalf("second insert: %v, want CONFLICT", err)
	}
	got, err := db.GetSearchTimeSlot(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	checkTask(t, got, task)

	next := task
	next.Version, next.Status = 2, apphub.SearchRejected
	next.Attributes = map[string]json.RawMessage{"x": json.RawMessage(`"y"`)}
	if err := db.ReplaceSearchTimeSlot(ctx, next, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.ReplaceSearchTimeSlot(ctx, next, 1); apphub.ErrorCode(err) != apphub.ECONFLICT {
		t.Fatalf("replace of a stale version: %v, want CONFLICT", err)
	}
	if err := db.ReplaceSearchTimeSlot(ctx, apphub.SearchTimeSlot{ID: "nope", Version: 2}, 1); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("replace of a missing task: %v, want NOT_FOUND", err)
	}
	all, err := db.ListSearchTimeSlots(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("list: %v, %d tasks", err, len(all))
	}
	checkTask(t, all[0], next)

	if err := db.DeleteSearchTimeSlot(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSearchTimeSlot(ctx, "t1"); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("second delete: %v, want NOT_FOUND", err)
	}
	if _, err := db.GetSearchTimeSlot(ctx, "t1"); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("get after delete: %v, want NOT_FOUND", err)
	}
}

func checkTask(t *testing.T, got, want apphub.SearchTimeSlot) {
	t.Helper()
	if !maps.EqualFunc(got.Attributes, want.Attributes, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
		t.Errorf("attributes %s, want %s", got.Attributes, want.Attributes)
	}
	if got.ID != want.ID || got.Version != want.Version || got.Status != want.Status || got.Result != want.Result ||
		got.PartyID != want.PartyID || !got.SearchDate.Equal(want.SearchDate) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("task %+v, want %+v", got, want)
	}
}

func TestSubscriptionRoundTrip(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()
	sub := apphub.EventSubscription{ID: "s1", Callback: "https://listener.example/cb", Query: "eventType=AppointmentStateChangeEvent",
		Attributes: awkwardAttributes, PartyID: "p1", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := db.InsertSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertSubscription(ctx, sub); apphub.ErrorCode(err) != apphub.ECONFLICT {
		t.Fatalf("second insert: %v, want CONFLICT", err)
	}
	got, err := db.GetSubscription(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != sub.ID || got.Callback != sub.Callback || got.Query != sub.Query || got.PartyID != sub.PartyID ||
		!got.CreatedAt.Equal(sub.CreatedAt) || len(got.Attributes) != len(sub.Attributes) {
		t.Fatalf("subscription %+v, want %+v", got, sub)
	}
	all, err := db.ListSubscriptions(ctx)
	if err != nil || len(all) != 1 || all[0].ID != "s1" {
		t.Fatalf("list: %v, %+v", err, all)
	}
	if err := db.DeleteSubscription(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSubscription(ctx, "s1"); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("second delete: %v, want NOT_FOUND", err)
	}
}
