package resolvers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	coderws "github.com/coder/websocket"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
)

// The waitlist over GraphQL, on the demo's repairs at 75011: a start every technician is
// booked at, a customer waiting for it, an operator cancelling one of the bookings, and the
// hub's pass (MatchWaitlist) offering the freed time.

const (
	entryFields = `id partyId category { id } place from to preferredTimes { weekdays from to } earliest status createdAt
		offer { ...Offer } offers { ...Offer }`
	offerFields = `fragment Offer on WaitlistOffer { id start end resource { id } crew { id } offeredAt expiresAt outcome }`
	joinDoc     = `mutation($in: JoinWaitlistInput!) { joinWaitlist(input: $in) { entry { ` + entryFields + ` } ` + errFields + ` } } ` + offerFields
	entriesDoc  = `{ waitlistEntries { ` + entryFields + ` } } ` + offerFields
	leaveDoc    = `mutation($id: ID!) { leaveWaitlist(id: $id) { entry { ` + entryFields + ` } ` + errFields + ` } } ` + offerFields
	declineDoc  = `mutation($id: ID!) { declineWaitlistOffer(entryId: $id) { entry { ` + entryFields + ` } ` + errFields + ` } } ` + offerFields
	acceptDoc   = `mutation($id: ID!) { acceptWaitlistOffer(entryId: $id) { appointment { id status start end partyId resource { id } } ` +
		errFields + ` } }`
	offersDoc = `subscription { waitlistOffers { entry { id status offer { id } } offer { id start end resource { id } outcome } } }`
)

// fullStart books every technician at the first repair start at 75011 a day or more ahead,
// for a customer of its own, and returns the start and the bookings.
func (e *subEnv) fullStart() (time.Time, []apphub.Appointment) {
	e.t.Helper()
	res, err := e.svc.Search(ctxAs(customer), booking.SlotQuery{Category: demo.Repair, Place: "75011", From: now.Add(24 * time.Hour), To: now.Add(8 * 24 * time.Hour)})
	if err != nil || len(res.Days) == 0 {
		e.t.Fatalf("no repair slot in the week: %v", err)
	}
	start := res.Days[0].Slots[0].Start
	filler := apphub.Principal{PartyID: "cust-filler", Roles: []string{apphub.RoleCustomer}}
	var booked []apphub.Appointment
	for range 50 {
		a, err := e.svc.Book(ctxAs(filler), booking.NewAppointment{Category: demo.Repair, Place: "75011", Start: start})
		if err != nil {
			if apphub.ErrorCode(err) != apphub.ECONFLICT {
				e.t.Fatalf("booking %s: %v", start, err)
			}
			break
		}
		booked = append(booked, a)
	}
	if len(booked) == 0 || len(booked) == 50 {
		e.t.Fatalf("%d bookings at %s", len(booked), start)
	}
	return start, booked
}

// waitFor joins the customer's waitlist for start alone and returns the entry's id.
func waitFor(t *testing.T, g *gqlClient, start time.Time) string {
	t.Helper()
	d := g.do(joinDoc, map[string]any{"in": map[string]any{"category": demo.Repair, "place": "75011",
		"from": start.Format(time.RFC3339), "to": start.Add(15 * time.Minute).Format(time.RFC3339),
		"preferredTimes": []map[string]any{{"from": "00:00", "to": "24:00"}}}})
	id, _ := get(d, "joinWaitlist.entry.id").(string)
	if id == "" || get(d, "joinWaitlist.error") != nil || get(d, "joinWaitlist.entry.status") != "WAITING" ||
		get(d, "joinWaitlist.entry.partyId") != customer.PartyID || get(d, "joinWaitlist.entry.category.id") != demo.Repair ||
		get(d, "joinWaitlist.entry.offer") != nil || len(get(d, "joinWaitlist.entry.offers").([]any)) != 0 ||
		get(d, "joinWaitlist.entry.preferredTimes.0.to") != "24:00" || len(get(d, "joinWaitlist.entry.preferredTimes.0.weekdays").([]any)) != 0 {
		t.Fatalf("joinWaitlist: %v", d)
	}
	return id
}

// offerTo cancels booked (as an operator, over GraphQL) and runs the hub's pass, which must
// offer the freed time.
func (e *subEnv) offerTo(ops *gqlClient, booked apphub.Appointment) {
	e.t.Helper()
	d := ops.do(`mutation($id: ID!) { cancelAppointment(input: {id: $id, reason: "no longer needed"}) { appointment { status } `+errFields+` } }`,
		map[string]any{"id": booked.ID})
	if get(d, "cancelAppointment.appointment.status") != "CANCELLED" {
		e.t.Fatalf("cancel: %v", d)
	}
	rep, err := e.svc.MatchWaitlist(context.Background())
	if err != nil || rep.Offered != 1 {
		e.t.Fatalf("the pass after the cancellation: %+v, %v; want one offer", rep, err)
	}
}

// within returns the next message, or nil when none comes within d.
func (m *wsMessages) within(d time.Duration) map[string]any {
	select {
	case msg := <-m.ch:
		return msg
	case <-time.After(d):
		return nil
	}
}

// A customer waits for a start every technician is booked at; an operator cancels one
// booking and the hub offers the time: the customer's entry shows the offer, the subscription
// pushes it (once), and accepting it books it. Another customer sees none of it.
func TestWaitlistOfferAccepted(t *testing.T) {
	t.Parallel()
	e := newSubEnv(t)
	ops, g, stranger := clientOf(t, e.h, admin), clientOf(t, e.h, customer), clientOf(t, e.h, other)
	start, booked := e.fullStart()
	id := waitFor(t, g, start)
	if rep, err := e.svc.MatchWaitlist(context.Background()); err != nil || rep.Offered != 0 {
		t.Fatalf("a pass while the start is full: %+v, %v", rep, err)
	}

	w := dialWS(t, e.url(customer), "graphql-transport-ws")
	defer w.c.Close(coderws.StatusNormalClosure, "")
	msgs := readAll(w)
	w.subscribe("1", offersDoc, nil)
	cancelled := booked[len(booked)-1]
	e.offerTo(ops, cancelled)

	d := g.do(entriesDoc, nil)
	if n := len(get(d, "waitlistEntries").([]any)); n != 1 {
		t.Fatalf("%d entries, want the customer's one: %v", n, d)
	}
	entry := get(d, "waitlistEntries.0")
	offerID, _ := get(entry, "offer.id").(string)
	if get(entry, "id") != id || get(entry, "status") != "OFFERED" || offerID == "" || get(entry, "offer.outcome") != nil ||
		get(entry, "offer.start") != start.Format(time.RFC3339) || get(entry, "offer.resource.id") != cancelled.Resource ||
		get(entry, "offer.crew.0.id") != cancelled.Resource || get(entry, "offers.0.id") != offerID || len(get(entry, "offers").([]any)) != 1 {
		t.Fatalf("the entry after the pass, want OFFERED %s on %s: %v", start, cancelled.Resource, entry)
	}
	if exp, _ := time.Parse(time.RFC3339, get(entry, "offer.expiresAt").(string)); !exp.After(now) {
		t.Fatalf("the offer expires at %v", exp)
	}

	// The subscription pushes it (within its 2 seconds' poll), and only once.
	m := msgs.next(t)
	if m == nil || m["type"] != "next" || m["id"] != "1" || get(m, "payload.data.waitlistOffers.offer.id") != offerID ||
		get(m, "payload.data.waitlistOffers.entry.id") != id || get(m, "payload.data.waitlistOffers.entry.status") != "OFFERED" ||
		get(m, "payload.data.waitlistOffers.entry.offer.id") != offerID ||
		get(m, "payload.data.waitlistOffers.offer.start") != start.Format(time.RFC3339) {
		t.Fatalf("the subscription's message: %v", m)
	}
	if m := msgs.within(2500 * time.Millisecond); m != nil {
		t.Fatalf("a second message after a poll: %v", m)
	}

	// node(id:) refetches the entry.
	d = g.do(`query($id: ID!) { node(id: $id) { __typename id ... on WaitlistEntry { status offer { id } } } }`, map[string]any{"id": id})
	if get(d, "node.__typename") != "WaitlistEntry" || get(d, "node.status") != "OFFERED" || get(d, "node.offer.id") != offerID {
		t.Fatalf("node: %v", d)
	}

	// Another customer: no entries, and the entry does not exist for it.
	if d := stranger.do(entriesDoc, nil); len(get(d, "waitlistEntries").([]any)) != 0 {
		t.Fatalf("another customer's list: %v", d)
	}
	for name, doc := range map[string]string{"leaveWaitlist": leaveDoc, "declineWaitlistOffer": declineDoc, "acceptWaitlistOffer": acceptDoc} {
		d := stranger.do(doc, map[string]any{"id": id})
		if get(d, name+".error.__typename") != "NotFound" || get(d, name+".error.code") != apphub.ENOTFOUND {
			t.Fatalf("another customer's %s: %v", name, d)
		}
	}
	if d := stranger.do(`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}); get(d, "node") != nil {
		t.Fatalf("another customer's node: %v", d)
	}

	// Accepting books the offer.
	d = g.do(acceptDoc, map[string]any{"id": id})
	if get(d, "acceptWaitlistOffer.error") != nil || get(d, "acceptWaitlistOffer.appointment.status") != "INITIALIZED" ||
		get(d, "acceptWaitlistOffer.appointment.start") != start.Format(time.RFC3339) ||
		get(d, "acceptWaitlistOffer.appointment.partyId") != customer.PartyID ||
		get(d, "acceptWaitlistOffer.appointment.resource.id") != cancelled.Resource {
		t.Fatalf("acceptWaitlistOffer: %v", d)
	}
	entry = get(g.do(entriesDoc, nil), "waitlistEntries.0")
	if get(entry, "status") != "BOOKED" || get(entry, "offer") != nil || get(entry, "offers.0.outcome") != "ACCEPTED" {
		t.Fatalf("the entry after the acceptance: %v", entry)
	}
	// Accepting again (a retry after a lost answer) answers the same appointment.
	again := g.do(acceptDoc, map[string]any{"id": id})
	if get(again, "acceptWaitlistOffer.error") != nil || get(again, "acceptWaitlistOffer.appointment.id") != get(d, "acceptWaitlistOffer.appointment.id") {
		t.Fatalf("accepting again: %v, want %v", again, d)
	}
}

// Declining sends the entry back to waiting, with the offer in its history; leaving ends it.
func TestWaitlistOfferDeclinedThenLeft(t *testing.T) {
	t.Parallel()
	e := newSubEnv(t)
	ops, g := clientOf(t, e.h, admin), clientOf(t, e.h, customer)
	start, booked := e.fullStart()
	id := waitFor(t, g, start)
	e.offerTo(ops, booked[0])

	d := g.do(declineDoc, map[string]any{"id": id})
	if get(d, "declineWaitlistOffer.error") != nil || get(d, "declineWaitlistOffer.entry.status") != "WAITING" ||
		get(d, "declineWaitlistOffer.entry.offer") != nil || get(d, "declineWaitlistOffer.entry.offers.0.outcome") != "DECLINED" {
		t.Fatalf("declineWaitlistOffer: %v", d)
	}
	// The declined start is not offered again, and there is no offer to decline.
	if rep, err := e.svc.MatchWaitlist(context.Background()); err != nil || rep.Offered != 0 {
		t.Fatalf("a pass after the decline: %+v, %v", rep, err)
	}
	d = g.do(declineDoc, map[string]any{"id": id})
	if get(d, "declineWaitlistOffer.error.__typename") != "HoldExpired" {
		t.Fatalf("declining with no open offer: %v", d)
	}

	d = g.do(leaveDoc, map[string]any{"id": id})
	if get(d, "leaveWaitlist.error") != nil || get(d, "leaveWaitlist.entry.status") != "LEFT" ||
		get(d, "leaveWaitlist.entry.offers.0.outcome") != "DECLINED" {
		t.Fatalf("leaveWaitlist: %v", d)
	}
	if d := g.do(entriesDoc, nil); get(d, "waitlistEntries.0.status") != "LEFT" {
		t.Fatalf("the list after leaving: %v", d)
	}
}

// Who may join, and what: an anonymous caller is UNAUTHENTICATED (a GraphQL error, in the
// mutation and in the subscription); invalid input is a ValidationError naming the field.
func TestWaitlistRefusals(t *testing.T) {
	t.Parallel()
	e := newSubEnv(t)
	g := clientOf(t, e.h, customer)
	from := now.Add(24 * time.Hour).Truncate(time.Hour)
	in := func(to time.Time, prefs ...map[string]any) map[string]any {
		return map[string]any{"in": map[string]any{"category": demo.Repair, "place": "75011", "from": from.Format(time.RFC3339),
			"to": to.Format(time.RFC3339), "preferredTimes": prefs}}
	}

	_, errs := clientOf(t, e.h, apphub.Principal{}).raw(joinDoc, in(from.Add(time.Hour)))
	if errorCode(errs) != apphub.EUNAUTHENTICATED {
		t.Fatalf("an anonymous join: %s", errs)
	}
	_, errs = clientOf(t, e.h, apphub.Principal{}).raw(entriesDoc, nil)
	if errorCode(errs) != apphub.EUNAUTHENTICATED {
		t.Fatalf("an anonymous list: %s", errs)
	}

	for _, tc := range []struct {
		name  string
		vars  map[string]any
		field string
	}{
		{"to before from", in(from.Add(-time.Hour)), "to"},
		{"a range over 92 days", in(from.Add(93 * 24 * time.Hour)), "to"},
		{"a preferred time that ends before it starts", in(from.Add(time.Hour), map[string]any{"from": "09:00", "to": "08:00"}), "preferredTimes[0].to"},
		{"a preferred time that is not a time", in(from.Add(time.Hour), map[string]any{"from": "nine", "to": "12:00"}), "preferredTimes[0].from"},
		{"an unknown category", map[string]any{"in": map[string]any{"category": "nope", "place": "75011",
			"from": from.Format(time.RFC3339), "to": from.Add(time.Hour).Format(time.RFC3339)}}, "category"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := g.do(joinDoc, tc.vars)
			if get(d, "joinWaitlist.entry") != nil || get(d, "joinWaitlist.error.__typename") != "ValidationError" ||
				get(d, "joinWaitlist.error.code") != apphub.EINVALID || get(d, "joinWaitlist.error.field") != tc.field {
				t.Fatalf("want a ValidationError on %s: %v", tc.field, d)
			}
		})
	}
	if d := g.do(entriesDoc, nil); len(get(d, "waitlistEntries").([]any)) != 0 {
		t.Fatalf("refused joins left entries: %v", d)
	}

	// The subscription: anonymous is refused; a websocket runs at most two of them.
	anon := dialWS(t, e.url(apphub.Principal{}), "graphql-transport-ws")
	anon.subscribe("1", offersDoc, nil)
	if code := anon.errorOf("1"); code != apphub.EUNAUTHENTICATED {
		t.Fatalf("an anonymous subscription: %s", code)
	}
	anon.c.Close(coderws.StatusNormalClosure, "")
	w := dialWS(t, e.url(customer), "graphql-transport-ws")
	defer w.c.Close(coderws.StatusNormalClosure, "")
	msgs := readAll(w)
	for _, id := range []string{"1", "2", "3"} {
		w.subscribe(id, offersDoc, nil)
	}
	// They start at once: one of them, whichever, is refused.
	m := msgs.next(t)
	refused, _ := m["id"].(string)
	if m["type"] != "next" || get(m, "payload.errors.0.extensions.code") != apphub.ERATELIMITED {
		t.Fatalf("three waitlistOffers on one websocket: %v", m)
	}
	if m := msgs.next(t); m["type"] != "complete" || m["id"] != refused {
		t.Fatalf("after the refusal of %s: %v", refused, m)
	}
	if m := msgs.within(time.Second); m != nil {
		t.Fatalf("the two others: %v", m)
	}
	// Completing one frees its place (once its end has been seen to).
	running := "1"
	if refused == "1" {
		running = "2"
	}
	w.send(map[string]any{"id": running, "type": "complete"})
	deadline := time.Now().Add(5 * time.Second)
	for i := 4; ; i++ {
		w.subscribe(fmt.Sprint(i), offersDoc, nil)
		m := msgs.within(2500 * time.Millisecond)
		if m == nil {
			break // running, with nothing to send
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room for another waitlistOffers after completing one: %v", m)
		}
		msgs.next(t) // the refused one's complete
	}
}
