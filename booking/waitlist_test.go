package booking_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// The waitlist tests do not run in parallel with the others, as the crew tests: their passes
// on two instances are heavy enough under -race to starve the 100-way races of MongoDB
// connections (TestCounterOfCapacityThree timed out checking one out once).

func asCustomer(party string) context.Context {
	return apphub.NewContextWithPrincipal(context.Background(), apphub.Principal{PartyID: party, Roles: []string{apphub.RoleCustomer}})
}

// openOffers lists the entries that have an open offer, by entry id, with its start.
func openOffers(t *testing.T, svc *booking.Service) map[string]apphub.WaitlistOffer {
	t.Helper()
	views, err := svc.WaitlistEntries(asAdmin())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]apphub.WaitlistOffer{}
	for _, v := range views {
		if v.Open != nil {
			out[v.ID] = *v.Open
		}
	}
	return out
}

func match(t *testing.T, svc *booking.Service) booking.WaitlistReport {
	t.Helper()
	rep, err := svc.MatchWaitlist(asAdmin())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Ten customers wait for 10:00, which is booked. It is cancelled: exactly one offer, to the
// oldest entry. Declined: to the next, and never again to the one that declined. Expired: to
// the next. Accepted: booked, and nobody else is offered it.
func TestWaitlistOffersFreedTimeInTurn(t *testing.T) {
	var mu sync.Mutex
	var told []string // the entries the hub was told of an offer to (Options.OfferMade)
	e := newEnv(t, booking.Options{OfferTTL: 10 * time.Minute, OfferMade: func(_ context.Context, e apphub.WaitlistEntry, o apphub.WaitlistOffer) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, e.ID+"@"+o.Start.Format(time.RFC3339))
	}})
	booked, err := e.svc.Book(asCustomer("first"), booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}
	var entries []string
	for i := range 10 {
		v, err := e.svc.JoinWaitlist(asCustomer(fmt.Sprintf("cust-%d", i)), booking.JoinWaitlist{Category: "repair", Place: "75011",
			From: at("10:00"), To: at("10:30"), Customer: "someone else"})
		if err != nil {
			t.Fatal(err)
		}
		if v.PartyID != fmt.Sprintf("cust-%d", i) || v.Status != apphub.WaitlistWaiting {
			t.Fatalf("entry %d: %+v, want cust-%d's, waiting", i, v, i)
		}
		entries = append(entries, v.ID)
		e.clock.Advance(time.Second)
	}
	if rep := match(t, e.svc); rep.Offered != 0 {
		t.Fatalf("%d offers while 10:00 is booked", rep.Offered)
	}

	if _, err := e.svc.SetStatus(asCustomer("first"), booking.StatusChange{ID: booked.ID, Status: apphub.StatusCancelled}); err != nil {
		t.Fatal(err)
	}
	if rep := match(t, e.svc); rep.Offered != 1 {
		t.Fatalf("%d offers after one cancellation, want 1", rep.Offered)
	}
	if rep := match(t, e.svc); rep.Offered != 0 {
		t.Fatalf("a second pass offered %d more", rep.Offered)
	}
	wantOffer := func(i int) apphub.WaitlistOffer {
		t.Helper()
		open := openOffers(t, e.svc)
		o, ok := open[entries[i]]
		if len(open) != 1 || !ok || !o.Start.Equal(at("10:00")) {
			t.Fatalf("open offers %+v, want one, to entry %d, at 10:00", open, i)
		}
		return o
	}
	wantOffer(0)
	// Nobody else can have the time meanwhile.
	_, err = e.svc.Book(asCustomer("intruder"), booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("10:00")})
	wantReason(t, err, apphub.ReasonFullyBooked)

	if _, err := e.svc.DeclineOffer(asCustomer("cust-0"), entries[0]); err != nil {
		t.Fatal(err)
	}
	match(t, e.svc)
	wantOffer(1)

	e.clock.Advance(11 * time.Minute)
	if rep := match(t, e.svc); rep.Expired != 1 || rep.Offered != 1 {
		t.Fatalf("after the offer's time: %+v, want one expired and one new", rep)
	}
	wantOffer(2)

	a, err := e.svc.AcceptOffer(asCustomer("cust-2"), entries[2])
	if err != nil {
		t.Fatal(err)
	}
	if a.PartyID != "cust-2" || !a.Start.Equal(at("10:00")) || a.Resource != "tech-1" {
		t.Fatalf("accepted: %+v", a)
	}
	if again, err := e.svc.AcceptOffer(asCustomer("cust-2"), entries[2]); err != nil || again.ID != a.ID {
		t.Fatalf("accepting again: %+v %v, want the same appointment %s", again, err, a.ID)
	}
	if _, err := e.svc.AcceptOffer(asCustomer("cust-3"), entries[3]); apphub.ErrorReason(err) != apphub.ReasonHoldExpired {
		t.Fatalf("accepting without an offer: %v, want HOLD_EXPIRED", err)
	}
	if rep := match(t, e.svc); rep.Offered != 0 || len(openOffers(t, e.svc)) != 0 {
		t.Fatalf("after the acceptance: %+v, open %v", rep, openOffers(t, e.svc))
	}
	statuses := map[string]int{}
	views, _ := e.svc.WaitlistEntries(asAdmin())
	for _, v := range views {
		statuses[v.Status]++
	}
	if statuses[apphub.WaitlistBooked] != 1 || statuses[apphub.WaitlistWaiting] != 9 {
		t.Fatalf("statuses %v, want 1 booked and 9 waiting", statuses)
	}
	v, _ := e.svc.WaitlistEntry(asCustomer("cust-0"), entries[0])
	if len(v.Offers) != 1 || v.Offers[0].Outcome != apphub.OfferDeclined {
		t.Fatalf("entry 0's history: %+v, want its declined offer", v.Offers)
	}
	v, _ = e.svc.WaitlistEntry(asCustomer("cust-1"), entries[1])
	if len(v.Offers) != 1 || v.Offers[0].Outcome != apphub.OfferExpired {
		t.Fatalf("entry 1's history: %+v, want its expired offer", v.Offers)
	}
	mu.Lock()
	defer mu.Unlock()
	ten := at("10:00").Format(time.RFC3339)
	if want := []string{entries[0] + "@" + ten, entries[1] + "@" + ten, entries[2] + "@" + ten}; !slices.Equal(told, want) {
		t.Fatalf("offers told %v, want %v", told, want)
	}
}

// An offer is only its entry's: other customers neither see the entry nor answer its offer; a
// partner sees what it put on the waitlist; nobody may join anonymously; leaving withdraws the
// open offer and frees its time.
func TestWaitlistScopesAndLeaving(t *testing.T) {
	e := newEnv(t, booking.Options{})
	if _, err := e.svc.JoinWaitlist(context.Background(), booking.JoinWaitlist{Category: "repair", Place: "75011", From: at("10:00"), To: at("12:00")}); apphub.ErrorCode(err) != apphub.EUNAUTHENTICATED {
		t.Fatalf("anonymous join: %v", err)
	}
	partner := apphub.NewContextWithPrincipal(context.Background(), apphub.Principal{PartyID: "acme", Roles: []string{apphub.RolePartner}})
	mine, err := e.svc.JoinWaitlist(partner, booking.JoinWaitlist{Customer: "cust-a", Category: "repair", Place: "75011", From: at("10:00"), To: at("12:00"), Earliest: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.JoinWaitlist(partner, booking.JoinWaitlist{Category: "repair", Place: "75011", From: at("10:00"), To: at("12:00")}); apphub.ErrorCode(err) != apphub.EINVALID {
		t.Fatalf("a partner's entry for no customer: %v, want EINVALID", err)
	}
	for _, bad := range []booking.JoinWaitlist{
		{Category: "repair", Place: "75011", From: at("12:00"), To: at("10:00")},
		{Category: "repair", Place: "75011", From: at("08:00"), To: at("09:00").Add(-72 * time.Hour)},
		{Category: "nope", Place: "75011", From: at("10:00"), To: at("12:00")},
		{Category: "repair", Place: "99999", From: at("10:00"), To: at("12:00")},
		{Category: "repair", Place: "75011", From: at("10:00"), To: at("12:00"), Preferred: []apphub.PreferredTime{{From: "11:00", To: "10:00"}}},
	} {
		if _, err := e.svc.JoinWaitlist(asCustomer("cust-b"), bad); apphub.ErrorCode(err) != apphub.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", bad, err)
		}
	}
	if rep := match(t, e.svc); rep.Offered != 1 {
		t.Fatalf("%d offers for a free morning, want 1 (the earliest)", rep.Offered)
	}
	if o := openOffers(t, e.svc)[mine.ID]; !o.Start.Equal(at("10:00")) {
		t.Fatalf("offer %+v, want 10:00, the earliest", o)
	}
	for _, ctx := range []context.Context{asCustomer("cust-b"), apphub.NewContextWithPrincipal(context.Background(), apphub.Principal{PartyID: "other", Roles: []string{apphub.RolePartner}})} {
		if _, err := e.svc.AcceptOffer(ctx, mine.ID); apphub.ErrorCode(err) != apphub.ENOTFOUND {
			t.Errorf("another's accept: %v, want ENOTFOUND", err)
		}
		if _, err := e.svc.DeclineOffer(ctx, mine.ID); apphub.ErrorCode(err) != apphub.ENOTFOUND {
			t.Errorf("another's decline: %v, want ENOTFOUND", err)
		}
		if _, err := e.svc.LeaveWaitlist(ctx, mine.ID); apphub.ErrorCode(err) != apphub.ENOTFOUND {
			t.Errorf("another's leave: %v, want ENOTFOUND", err)
		}
		if list, _ := e.svc.WaitlistEntries(ctx); len(list) != 0 {
			t.Errorf("another sees %+v", list)
		}
	}
	for _, ctx := range []context.Context{partner, asCustomer("cust-a")} {
		if list, err := e.svc.WaitlistEntries(ctx); err != nil || len(list) != 1 || list[0].Status != apphub.WaitlistOffered {
			t.Errorf("the entry's own: %+v %v", list, err)
		}
	}
	v, err := e.svc.LeaveWaitlist(asCustomer("cust-a"), mine.ID)
	if err != nil || v.Status != apphub.WaitlistLeft || v.Offers[0].Outcome != apphub.OfferWithdrawn {
		t.Fatalf("leaving: %+v %v", v, err)
	}
	if _, err := e.svc.Book(asCustomer("cust-b"), booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("10:00")}); err != nil {
		t.Fatalf("the withdrawn offer's time: %v", err)
	}
	if rep := match(t, e.svc); rep.Offered != 0 {
		t.Fatalf("a left entry was offered %d", rep.Offered)
	}
	// An entry whose range has passed is offered nothing.
	late, err := e.svc.JoinWaitlist(asCustomer("cust-c"), booking.JoinWaitlist{Category: "repair", Place: "75011", From: at("14:00"), To: at("16:00")})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(at("16:00").Sub(e.clock.Now()))
	if rep := match(t, e.svc); rep.Offered != 0 {
		t.Fatalf("an entry past its range was offered %d", rep.Offered)
	}
	if v, _ := e.svc.WaitlistEntry(asCustomer("cust-c"), late.ID); v.Status != apphub.WaitlistExpired {
		t.Fatalf("past its range: %s, want expired", v.Status)
	}
}

// Preferred times are what an entry accepts: an afternoon entry is not offered the morning.
func TestWaitlistPreferredTimes(t *testing.T) {
	e := newEnv(t, booking.Options{})
	afternoon := []apphub.PreferredTime{{From: "14:00", To: "16:00"}}
	v, err := e.svc.JoinWaitlist(asCustomer("cust-p"), booking.JoinWaitlist{Category: "repair", Place: "75011", From: at("08:00"), To: at("18:00"), Preferred: afternoon})
	if err != nil {
		t.Fatal(err)
	}
	match(t, e.svc)
	o, ok := openOffers(t, e.svc)[v.ID]
	local := o.Start.In(paris)
	if !ok || local.Hour() < 14 || o.End.In(paris).After(at("16:00").In(paris)) {
		t.Fatalf("offer %+v (%v), want within 14:00–16:00", o, local)
	}
}

// Two instances freeing time and offering it at once: never two open offers for one time,
// never two for one entry, every open offer holding its time.
func TestWaitlistOnTwoInstances(t *testing.T) {
	e := newEnv(t, booking.Options{})
	other := e.another(t, booking.Options{})
	var booked []apphub.Appointment
	for _, hhmm := range []string{"09:00", "10:00", "11:00", "12:00", "13:00", "14:00"} {
		a, err := e.svc.Book(asCustomer("owner"), booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at(hhmm)})
		if err != nil {
			t.Fatal(err)
		}
		booked = append(booked, a)
	}
	for i := range 10 {
		if _, err := e.svc.JoinWaitlist(asCustomer(fmt.Sprintf("w-%d", i)), booking.JoinWaitlist{Category: "repair", Place: "75011",
			From: at("09:00"), To: at("15:00"), Earliest: i%2 == 0}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	var wg sync.WaitGroup
	for i, a := range booked {
		svc := []*booking.Service{e.svc, other}[i%2]
		wg.Go(func() {
			if _, err := svc.SetStatus(asCustomer("owner"), booking.StatusChange{ID: a.ID, Status: apphub.StatusCancelled}); err != nil {
				t.Error(err)
			}
		})
		for _, s := range []*booking.Service{e.svc, other} {
			wg.Go(func() {
				if _, err := s.MatchWaitlist(asAdmin()); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	match(t, e.svc)
	match(t, other)
	open := openOffers(t, e.svc)
	claims, err := e.db.ClaimsFrom(asAdmin(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{}
	for _, c := range claims {
		owner[c.ID] = c.Owner
	}
	seen := map[string]string{}
	for entry, o := range open {
		for _, id := range o.Claims {
			if owner[id] != o.AppointmentID {
				t.Errorf("entry %s's offer does not hold %s (held by %q)", entry, id, owner[id])
			}
			if prev, dup := seen[id]; dup {
				t.Errorf("%s offered to %s and %s", id, prev, entry)
			}
			seen[id] = entry
		}
	}
	// Six hours freed, jobs of an hour every 30 minutes: the offers take some of them, and
	// every entry that has none finds nothing left.
	if len(open) == 0 {
		t.Fatal("no offer after six cancellations")
	}
	t.Logf("%d open offers after six cancellations on two instances", len(open))
}
