package booking_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

func as(p apphub.Principal) context.Context {
	return apphub.NewContextWithPrincipal(context.Background(), p)
}

var (
	custA      = apphub.Principal{PartyID: "cust-a", Roles: []string{apphub.RoleCustomer}}
	custB      = apphub.Principal{PartyID: "cust-b", Roles: []string{apphub.RoleCustomer}}
	agentTech  = apphub.Principal{PartyID: "agent-1", Roles: []string{apphub.RoleAgent}, Resources: []string{"tech-1"}}
	agentOther = apphub.Principal{PartyID: "agent-2", Roles: []string{apphub.RoleAgent}, Resources: []string{"tech-9"}}
	partnerP   = apphub.Principal{PartyID: "partner-p", Roles: []string{apphub.RolePartner}, Parties: []string{"cust-a"}}
	partnerQ   = apphub.Principal{PartyID: "partner-q", Roles: []string{apphub.RolePartner}}
	operator   = apphub.Principal{PartyID: "ops", Roles: []string{apphub.RoleAdmin}}
	nobody     = apphub.Principal{}
)

// Who may read an appointment, and what a refusal says: another party's appointment is not
// found, a role that may not make a change is forbidden, nobody is unauthenticated.
func TestWhoMayReadAndChangeAnAppointment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	a, err := e.svc.Book(as(custA), booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}
	if a.PartyID != "cust-a" || a.CreatedBy != "customer:cust-a" {
		t.Fatalf("owner %q, creator %q", a.PartyID, a.CreatedBy)
	}
	rec, err := e.svc.Book(as(partnerQ), booking.NewAppointment{Customer: "cust-z", Start: at("12:00"), End: at("13:00")})
	if err != nil || rec.PartyID != "cust-z" || rec.CreatedBy != "partner:partner-q" {
		t.Fatalf("a partner's record: %+v, %v", rec, err)
	}

	readers := []struct {
		who       apphub.Principal
		a, record string // the error code reading each answers ("" when it may read)
	}{
		{custA, "", apphub.ENOTFOUND},
		{custB, apphub.ENOTFOUND, apphub.ENOTFOUND},
		{agentTech, "", apphub.ENOTFOUND},
		{agentOther, apphub.ENOTFOUND, apphub.ENOTFOUND},
		{partnerP, "", apphub.ENOTFOUND},
		{partnerQ, apphub.ENOTFOUND, ""},
		{operator, "", ""},
		{nobody, apphub.EUNAUTHENTICATED, apphub.EUNAUTHENTICATED},
	}
	for _, r := range readers {
		t.Run("read as "+r.who.Ref(), func(t *testing.T) {
			for id, want := range map[string]string{a.ID: r.a, rec.ID: r.record} {
				_, err := e.svc.Appointment(as(r.who), id)
				_, herr := e.svc.History(as(r.who), id)
				if apphub.ErrorCode(err) != want || apphub.ErrorCode(herr) != want {
					t.Errorf("%s: read %v, history %v; want %q", id, err, herr, want)
				}
			}
			list, lerr := e.svc.FindAppointments(as(r.who), booking.AppointmentQuery{})
			tmf, terr := e.svc.Appointments(as(r.who))
			var want []string
			if r.a == "" {
				want = append(want, a.ID)
			}
			if r.record == "" {
				want = append(want, rec.ID)
			}
			if r.who.Anonymous() {
				if apphub.ErrorCode(lerr) != apphub.EUNAUTHENTICATED || apphub.ErrorCode(terr) != apphub.EUNAUTHENTICATED {
					t.Errorf("lists for nobody: %v, %v", lerr, terr)
				}
				return
			}
			if lerr != nil || terr != nil || len(list) != len(want) || len(tmf) != len(want) {
				t.Errorf("lists: %d and %d appointments (%v, %v), want %v", len(list), len(tmf), lerr, terr, want)
			}
		})
	}

	// Changes: each refused one leaves the appointment as it was.
	changes := []struct {
		name string
		do   func(ctx context.Context) error
	}{
		{"reschedule", func(ctx context.Context) error {
			_, err := e.svc.Reschedule(ctx, booking.Reschedule{ID: a.ID, Start: at("11:00")})
			return err
		}},
		{"cancel", func(ctx context.Context) error {
			_, err := e.svc.SetStatus(ctx, booking.StatusChange{ID: a.ID, Status: apphub.StatusCancelled})
			return err
		}},
		{"confirm", func(ctx context.Context) error {
			_, err := e.svc.SetStatus(ctx, booking.StatusChange{ID: a.ID, Status: apphub.StatusConfirmed})
			return err
		}},
		{"update", func(ctx context.Context) error {
			desc := "changed"
			_, err := e.svc.Update(ctx, booking.Update{ID: a.ID, Description: &desc})
			return err
		}},
		{"change", func(ctx context.Context) error {
			_, err := e.svc.Change(ctx, booking.Change{ID: a.ID, Update: booking.Update{Attributes: map[string]json.RawMessage{"x": json.RawMessage(`1`)}}})
			return err
		}},
		{"change with", func(ctx context.Context) error {
			_, err := e.svc.ChangeWith(ctx, a.ID, func(apphub.Appointment) (booking.Change, error) {
				return booking.Change{Status: apphub.StatusConfirmed}, nil
			})
			return err
		}},
		{"delete", func(ctx context.Context) error { return e.svc.Delete(ctx, a.ID, 0) }},
	}
	refused := []struct {
		who  apphub.Principal
		want map[string]string // change → code; missing: every change is refused with want[""]
	}{
		{custB, map[string]string{"": apphub.ENOTFOUND}},
		{agentOther, map[string]string{"": apphub.ENOTFOUND}},
		{partnerQ, map[string]string{"": apphub.ENOTFOUND}},
		{nobody, map[string]string{"": apphub.EUNAUTHENTICATED}},
		{custA, map[string]string{"confirm": apphub.EFORBIDDEN, "change with": apphub.EFORBIDDEN, "delete": apphub.EFORBIDDEN}},
		{agentTech, map[string]string{"delete": apphub.EFORBIDDEN}},
	}
	for _, r := range refused {
		for _, c := range changes {
			want, ok := r.want[c.name]
			if !ok {
				if want, ok = r.want[""]; !ok {
					continue // allowed: not this test's business
				}
			}
			t.Run(c.name+" as "+r.who.Ref(), func(t *testing.T) {
				before, _ := e.svc.Appointment(as(operator), a.ID)
				if err := c.do(as(r.who)); apphub.ErrorCode(err) != want {
					t.Fatalf("err = %v, want %s", err, want)
				}
				if after, _ := e.svc.Appointment(as(operator), a.ID); after.Version != before.Version {
					t.Fatalf("a refused change moved the appointment from version %d to %d", before.Version, after.Version)
				}
			})
		}
	}

	// Allowed changes record who made them.
	if _, err := e.svc.SetStatus(as(agentTech), booking.StatusChange{ID: a.ID, Status: apphub.StatusConfirmed}); err != nil {
		t.Fatalf("the technician's agent confirms: %v", err)
	}
	if _, err := e.svc.SetStatus(as(custA), booking.StatusChange{ID: a.ID, Status: apphub.StatusCancelled}); err != nil {
		t.Fatalf("the customer cancels its own: %v", err)
	}
	hist, _ := e.svc.History(as(custA), a.ID)
	if len(hist) != 3 || hist[0].By != "customer:cust-a" || hist[1].By != "agent:agent-1" || hist[2].By != "customer:cust-a" {
		t.Fatalf("history authors %q %q %q", hist[0].By, hist[1].By, hist[2].By)
	}
}

// Who may book, and for whom: a customer always for itself, an agent on what it serves,
// nobody not at all; a hold is booked by its maker only.
func TestWhoMayBook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	book := func(p apphub.Principal, req booking.NewAppointment) (apphub.Appointment, error) {
		return e.svc.Book(as(p), req)
	}
	repair := func(hhmm string) booking.NewAppointment {
		return booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at(hhmm)}
	}
	if _, err := book(nobody, repair("10:00")); apphub.ErrorCode(err) != apphub.EUNAUTHENTICATED {
		t.Fatalf("nobody books: %v", err)
	}
	if _, err := book(agentOther, repair("10:00")); apphub.ErrorCode(err) != apphub.EFORBIDDEN {
		t.Fatalf("an agent books a resource it does not serve: %v", err)
	}
	req := repair("10:00")
	req.Customer = "cust-a"
	if a, err := book(custB, req); err != nil || a.PartyID != "cust-b" {
		t.Fatalf("a customer naming another customer books for itself: %+v, %v", a, err)
	}
	req = repair("11:00")
	req.Customer = "cust-a"
	if a, err := book(agentTech, req); err != nil || a.PartyID != "cust-a" || a.CreatedBy != "agent:agent-1" {
		t.Fatalf("an agent books for a customer: %+v, %v", a, err)
	}
	if _, err := e.svc.Appointment(as(custA), e.mustFind(t, "cust-a")); err != nil {
		t.Fatalf("the customer reads what an agent booked for it: %v", err)
	}

	h, err := e.svc.Hold(as(custA), booking.HoldRequest{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("14:00")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := book(custB, booking.NewAppointment{HoldToken: h.Token}); apphub.ErrorReason(err) != apphub.ReasonHoldExpired {
		t.Fatalf("another customer books a hold: %v", err)
	}
	if a, err := book(custA, booking.NewAppointment{HoldToken: h.Token}); err != nil || a.PartyID != "cust-a" {
		t.Fatalf("its maker books the hold: %+v, %v", a, err)
	}
}

// mustFind returns the id of the one appointment of party.
func (e *env) mustFind(t *testing.T, party string) string {
	t.Helper()
	list, err := e.svc.FindAppointments(as(operator), booking.AppointmentQuery{PartyID: party})
	if err != nil || len(list) != 1 {
		t.Fatalf("appointments of %s: %d, %v", party, len(list), err)
	}
	return list[0].ID
}

// Calendars, search tasks, registrations and keys: operators write calendars and keys; search
// tasks and registrations are their author's; availability is public only when the hub says so.
func TestWhoMayDoTheRest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	for _, p := range []apphub.Principal{nobody, custA, agentTech, partnerP} {
		want := apphub.EFORBIDDEN
		if p.Anonymous() {
			want = apphub.EUNAUTHENTICATED
		}
		if err := e.svc.SaveCalendar(as(p), testCalendar(), nil); apphub.ErrorCode(err) != want {
			t.Errorf("calendar written as %s: %v", p.Ref(), err)
		}
		if _, _, err := e.svc.CreateAPIKey(as(p), booking.NewAPIKey{Name: "x", Role: apphub.RolePartner}); apphub.ErrorCode(err) != want {
			t.Errorf("API key made as %s: %v", p.Ref(), err)
		}
	}
	if _, err := e.svc.Search(as(nobody), booking.SlotQuery{Category: "repair", Place: "75011"}); apphub.ErrorCode(err) != apphub.EUNAUTHENTICATED {
		t.Errorf("a private hub's availability for nobody: %v", err)
	}
	if _, err := e.svc.BrowseCalendar(as(nobody)); apphub.ErrorCode(err) != apphub.EUNAUTHENTICATED {
		t.Errorf("a private hub's pickers for nobody: %v", err)
	}
	public := e.another(t, booking.Options{PublicAvailability: true})
	if _, err := public.BrowseCalendar(as(nobody)); err != nil {
		t.Errorf("a public hub's pickers for nobody: %v", err)
	}
	if _, err := public.Search(as(nobody), booking.SlotQuery{Category: "repair", Place: "75011"}); err != nil {
		t.Errorf("a public hub's availability for nobody: %v", err)
	}

	task, err := e.svc.CreateSearchTimeSlot(as(partnerQ), booking.NewSearchTimeSlot{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SearchTimeSlot(as(partnerP), task.ID); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Errorf("another partner reads a search task: %v", err)
	}
	if err := e.svc.DeleteSearchTimeSlot(as(partnerP), task.ID, 0); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Errorf("another partner deletes a search task: %v", err)
	}
	if all, _ := e.svc.SearchTimeSlots(as(partnerP)); len(all) != 0 {
		t.Errorf("another partner lists %d search tasks", len(all))
	}
	if _, err := e.svc.SearchTimeSlot(as(partnerQ), task.ID); err != nil {
		t.Errorf("its author reads a search task: %v", err)
	}

	if _, err := e.svc.Subscribe(as(custA), booking.NewSubscription{Callback: "https://example.com/cb"}); apphub.ErrorCode(err) != apphub.EFORBIDDEN {
		t.Errorf("a customer registers a listener: %v", err)
	}
	sub, err := e.svc.Subscribe(as(partnerQ), booking.NewSubscription{Callback: "https://example.com/cb"})
	if err != nil || sub.Owner.Ref() != partnerQ.Ref() {
		t.Fatalf("a partner registers: %+v, %v", sub, err)
	}
	if err := e.svc.Unsubscribe(as(partnerP), sub.ID); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Errorf("another partner deletes a registration: %v", err)
	}
	if err := e.svc.Unsubscribe(as(partnerQ), sub.ID); err != nil {
		t.Errorf("its owner deletes a registration: %v", err)
	}
}
