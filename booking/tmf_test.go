package booking_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

func TestSearchTimeSlotLifecycle(t *testing.T) {
	t.Parallel()
	svc := booking.NewService(storetest.Mongo(t), booking.Options{Now: testclock.Now})
	ctx := asAdmin()
	attrs := map[string]json.RawMessage{"requestedTimeSlot": json.RawMessage(`[{"validFor":{"startDateTime":"2026-03-02T09:00:00.000+01:00"}}]`)}
	task, err := svc.CreateSearchTimeSlot(ctx, booking.NewSearchTimeSlot{Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	if task.ID == "" || task.Version != 1 || task.Status != apphub.SearchDone || task.Result != apphub.SearchSuccess || task.SearchDate.IsZero() {
		t.Fatalf("created %+v", task)
	}
	got, err := svc.SearchTimeSlot(ctx, task.ID)
	if err != nil || !got.SearchDate.Equal(task.SearchDate) || string(got.Attributes["requestedTimeSlot"]) != string(attrs["requestedTimeSlot"]) {
		t.Fatalf("read back %+v, %v", got, err)
	}

	// An update that changes nothing keeps the version; a change takes the next one.
	same, err := svc.UpdateSearchTimeSlot(ctx, booking.SearchTimeSlotUpdate{ID: task.ID, ExpectedVersion: 1, Changes: attrs})
	if err != nil || same.Version != 1 {
		t.Fatalf("no-op update: version %d, %v", same.Version, err)
	}
	next, err := svc.UpdateSearchTimeSlot(ctx, booking.SearchTimeSlotUpdate{ID: task.ID, ExpectedVersion: 1, Status: apphub.SearchRejected, Changes: attrs})
	if err != nil || next.Version != 2 || next.Status != apphub.SearchRejected {
		t.Fatalf("update: %+v, %v", next, err)
	}
	_, err = svc.UpdateSearchTimeSlot(ctx, booking.SearchTimeSlotUpdate{ID: task.ID, ExpectedVersion: 1, Status: apphub.SearchDone})
	if apphub.ErrorCode(err) != apphub.EPRECONDITION || apphub.ErrorReason(err) != apphub.ReasonVersionConflict {
		t.Fatalf("stale update: %v, want a VERSION_CONFLICT", err)
	}
	_, err = svc.UpdateSearchTimeSlot(ctx, booking.SearchTimeSlotUpdate{ID: task.ID, Status: "finished"})
	if apphub.ErrorCode(err) != apphub.EINVALID {
		t.Fatalf("unknown status: %v", err)
	}

	all, err := svc.SearchTimeSlots(ctx)
	if err != nil || len(all) != 1 || all[0].Version != 2 {
		t.Fatalf("list: %+v, %v", all, err)
	}
	if err := svc.DeleteSearchTimeSlot(ctx, task.ID, 1); apphub.ErrorCode(err) != apphub.EPRECONDITION {
		t.Fatalf("delete at a stale version: %v", err)
	}
	if err := svc.DeleteSearchTimeSlot(ctx, task.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SearchTimeSlot(ctx, task.ID); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("read after delete: %v", err)
	}
	if err := svc.DeleteSearchTimeSlot(ctx, task.ID, 0); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("second delete: %v", err)
	}
}

func TestSearchTimeSlotIdempotency(t *testing.T) {
	t.Parallel()
	svc := booking.NewService(storetest.Mongo(t), booking.Options{Now: testclock.Now})
	ctx := asAdmin()
	req := booking.NewSearchTimeSlot{Attributes: map[string]json.RawMessage{"x": json.RawMessage(`1`)}, IdempotencyKey: "k"}
	a, err := svc.CreateSearchTimeSlot(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateSearchTimeSlot(ctx, req)
	if err != nil || b.ID != a.ID {
		t.Fatalf("replay: %v, %v", b.ID, err)
	}
	req.Attributes = nil
	if _, err := svc.CreateSearchTimeSlot(ctx, req); apphub.ErrorReason(err) != apphub.ReasonIdempotencyKeyReused {
		t.Fatalf("other request, same key: %v", err)
	}
}

func TestSubscriptions(t *testing.T) {
	t.Parallel()
	svc := booking.NewService(storetest.Mongo(t), booking.Options{Now: testclock.Now})
	ctx := asAdmin()
	for _, cb := range []string{"", "not a url", "ftp://example.com/x", "/relative", "https://"} {
		if _, err := svc.Subscribe(ctx, booking.NewSubscription{Callback: cb}); apphub.ErrorCode(err) != apphub.EINVALID {
			t.Errorf("callback %q: %v, want VALIDATION", cb, err)
		}
	}
	s, err := svc.Subscribe(ctx, booking.NewSubscription{Callback: "https://listener.example.com/cb", Query: "eventType=AppointmentCreateEvent"})
	if err != nil {
		t.Fatal(err)
	}
	all, err := svc.Subscriptions(ctx)
	if err != nil || len(all) != 1 || all[0].ID != s.ID || all[0].Query != s.Query {
		t.Fatalf("list: %+v, %v", all, err)
	}
	if err := svc.Unsubscribe(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Unsubscribe(ctx, s.ID); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("second unsubscribe: %v", err)
	}
}

// Registration refuses callbacks internal on their face (IP literals outside global unicast
// and the allowed networks, numbers resolvers read as addresses, internal names) and stores
// nothing; a name is accepted, and checked when connecting.
func TestSubscribeRefusesInternalCallbacks(t *testing.T) {
	t.Parallel()
	allowed, err := apphub.ParseAllowedNetworks([]string{"10.20.0.0/16", "127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	svc := booking.NewService(storetest.Mongo(t), booking.Options{Now: testclock.Now, CallbackNetworks: allowed})
	ctx := asAdmin()
	for cb, reason := range map[string]string{
		"http://127.0.0.2:8080/cb":                 "loopback address",
		"http://localhost:8080/cb":                 "loopback name",
		"http://[::1]/cb":                          "loopback address",
		"http://[::ffff:127.0.0.2]/cb":             "loopback address",
		"http://10.0.0.1/cb":                       "private address",
		"http://192.168.1.1/":                      "private address",
		"http://172.16.0.1/":                       "private address",
		"http://100.100.100.200/":                  "cloud metadata",
		"http://169.254.169.254/latest/meta-data/": "cloud metadata",
		"http://metadata.google.internal/":         ".internal",
		"http://metadata/":                         "metadata",
		"http://[fd00:ec2::254]/":                  "cloud metadata",
		"http://[fe80::1%25eth0]/":                 "link-local",
		"http://2130706433/":                       "non-canonical",
		"http://0x7f.1/":                           "non-canonical",
		"http://127.1/":                            "non-canonical",
		"http://:8080/":                            "no host",
		"https://intranet/cb":                      "without a dot",
	} {
		_, err := svc.Subscribe(ctx, booking.NewSubscription{Callback: cb, IdempotencyKey: "k-" + cb})
		var e *apphub.Error
		if !errors.As(err, &e) || e.Code != apphub.EINVALID || e.Field != "callback" || !strings.Contains(e.Message, reason) {
			t.Errorf("callback %q: %v, want a VALIDATION error of callback naming %q", cb, err, reason)
		}
	}
	if all, err := svc.Subscriptions(ctx); err != nil || len(all) != 0 {
		t.Fatalf("refused registrations stored: %+v, %v", all, err)
	}
	// The allowed networks and global unicast addresses pass; names pass (checked when connecting).
	for _, cb := range []string{"http://127.0.0.1:8080/cb", "http://10.20.3.4/cb", "https://8.8.8.8/cb", "https://[2606:4700::1111]/cb",
		"https://listener.example.com/cb", "https://hooks.partner.example./cb"} {
		if _, err := svc.Subscribe(ctx, booking.NewSubscription{Callback: cb}); err != nil {
			t.Errorf("callback %q: %v", cb, err)
		}
	}
	// Without allowed networks, loopback is refused.
	other := booking.NewService(storetest.Mongo(t), booking.Options{Now: testclock.Now})
	if _, err := other.Subscribe(ctx, booking.NewSubscription{Callback: "http://127.0.0.1:8080/cb"}); apphub.ErrorCode(err) != apphub.EINVALID {
		t.Errorf("loopback without allowed networks: %v, want VALIDATION", err)
	}
}

func TestAppointmentsListsOldestFirst(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	svc := booking.NewService(storetest.Mongo(t), booking.Options{Now: clock})
	ctx := asAdmin()
	var want []string
	for i := range 3 {
		start := time.Date(2026, 3, 10-i, 9, 0, 0, 0, time.UTC) // later ones start earlier
		a, err := svc.Book(ctx, booking.NewAppointment{Start: start, End: start.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, a.ID)
	}
	if err := svc.Delete(ctx, want[1], 0); err != nil {
		t.Fatal(err)
	}
	all, err := svc.Appointments(ctx)
	if err != nil || len(all) != 2 || all[0].ID != want[0] || all[1].ID != want[2] {
		t.Fatalf("appointments %v, %v; want %s, %s", all, err, want[0], want[2])
	}
}
