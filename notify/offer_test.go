package notify_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/notify"
)

// A waitlist offer goes, as WaitlistOfferEvent, to the registrations whose owner may see its
// entry (the partner that put it there), through the outbox, signed; not to another partner's.
func TestWaitlistOfferEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine, theirs := newListener(t, nil), newListener(t, nil)
	partner := func(id string) context.Context {
		return apphub.NewContextWithPrincipal(context.Background(), apphub.Principal{PartyID: id, Roles: []string{apphub.RolePartner}})
	}
	for ctx, l := range map[context.Context]*listener{partner("p"): mine, partner("q"): theirs} {
		if _, err := e.svc.Subscribe(ctx, booking.NewSubscription{Callback: l.srv.URL}); err != nil {
			t.Fatal(err)
		}
	}
	n, _ := e.notifier(e.options(func(o *notify.Options) {
		o.MayRead = e.svc.MayRead
		o.RenderOffer = func(_ context.Context, e apphub.WaitlistEntry, o apphub.WaitlistOffer) (json.RawMessage, error) {
			return json.Marshal(map[string]string{"id": o.ID, "waitlistEntryId": e.ID})
		}
	}))
	start := time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)
	entry := apphub.WaitlistEntry{ID: "entry-1", PartyID: "cust-a", CreatedBy: apphub.Principal{PartyID: "p", Roles: []string{apphub.RolePartner}}.Ref(),
		Category: "repair", Place: "75011", From: start, To: start.Add(24 * time.Hour)}
	offer := apphub.WaitlistOffer{ID: "offer-1", EntryID: entry.ID, AppointmentID: "appt-1", Resource: "tech-1", Start: start,
		End: start.Add(time.Hour), OfferedAt: start.Add(-time.Hour), ExpiresAt: start.Add(-45 * time.Minute)}
	n.Offer(context.Background(), entry, offer)
	eventually(t, 10*time.Second, "the offer at the partner's listener", func() bool { return len(mine.accepted()) == 1 })
	r := mine.accepted()[0]
	if r.Path != "/listener/waitlistOfferEvent" || r.Env.EventType != apphub.EventWaitlistOffer || r.Env.EventID != "offer-1-waitlistOfferEvent" ||
		r.Env.CorrelationID != "entry-1" || !r.SigOK {
		t.Fatalf("received %s %+v (signature ok %v)", r.Path, r.Env, r.SigOK)
	}
	var body struct {
		Event struct{ WaitlistOffer map[string]string }
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Event.WaitlistOffer["id"] != "offer-1" {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	time.Sleep(300 * time.Millisecond) // room for a wrong delivery to show
	if got := theirs.requests(); len(got) != 0 {
		t.Fatalf("another partner's listener got %d requests", len(got))
	}
}
