package resolvers_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/graph/model"
)

// The demo's crew job (two fiber technicians and a splicer) over GraphQL: its slots name their
// crew, a booking takes it, every member (not only the lead) serves the appointment.

// crewWindow is a week of buildingFibre starts at 75011, past the category's 48 hours' notice.
func crewWindow() map[string]any {
	from := now.Add(48 * time.Hour)
	return map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(7 * 24 * time.Hour).Format(time.RFC3339)}
}

const crewGrid = `availability(input: {category: "buildingFibre", place: "75011", from: $from, to: $to}) {
	days { date slots { start end capacity resources { capacity resource { id } } crew { __typename id kind name skills zones place capacity } } } }`

// ids returns the ids of a decoded list of resources.
func ids(list any) []string {
	var out []string
	for _, r := range list.([]any) {
		out = append(out, get(r, "id").(string))
	}
	return out
}

// A crew slot lists its crew, lead first in requirement order: two fiber technicians, then a
// splicer, who are also the slot's resources. The grid encoder (a query of availability alone)
// and gqlgen (the same with another field) write the same crews.
func TestCrewAvailability(t *testing.T) {
	t.Parallel()
	g := newClient(t).as(customer)
	fast := g.do(`query($from: Time!, $to: Time!) { `+crewGrid+` }`, crewWindow())
	slow := g.do(`query($from: Time!, $to: Time!) { __typename `+crewGrid+` }`, crewWindow())
	a, _ := json.Marshal(fast["availability"])
	b, _ := json.Marshal(slow["availability"])
	if string(a) != string(b) {
		t.Fatalf("the grid encoder and gqlgen differ:\n%s\n%s", a, b)
	}
	n := 0
	for _, day := range get(fast, "availability.days").([]any) {
		for _, s := range get(day, "slots").([]any) {
			n++
			crew := get(s, "crew").([]any)
			var resources []string
			for _, r := range get(s, "resources").([]any) {
				resources = append(resources, get(r, "resource.id").(string))
			}
			if len(crew) != 3 || !slices.Equal(ids(crew), resources) {
				t.Fatalf("slot %v: crew %v, resources %v, want 3 members who are its resources", get(s, "start"), ids(crew), resources)
			}
			for i, m := range crew {
				kind, skill := apphub.KindTechnician, "fiber"
				if i == 2 {
					kind, skill = apphub.KindEquipment, "splicer"
				}
				if get(m, "kind") != kind || !slices.Contains(get(m, "skills").([]any), any(skill)) {
					t.Fatalf("slot %v, member %d: %v, want a %s with %s", get(s, "start"), i, m, kind, skill)
				}
			}
			if crew[0].(map[string]any)["id"] == crew[1].(map[string]any)["id"] {
				t.Fatalf("slot %v: one technician twice: %v", get(s, "start"), ids(crew))
			}
		}
	}
	if n == 0 {
		t.Fatalf("no buildingFibre slot at 75011 in a week: %s", a)
	}

	// A one-resource category's slots have no crew.
	d := g.do(`query($from: Time!, $to: Time!) { availability(input: {category: "repair", place: "75011", from: $from, to: $to}) {
		days { slots { crew { id } } } } }`, crewWindow())
	if crew := get(d, "availability.days.0.slots.0.crew"); crew == nil || len(crew.([]any)) != 0 {
		t.Fatalf("a repair slot's crew: %v", d)
	}
}

// firstCrewSlot returns the first buildingFibre slot at 75011 and its crew's ids.
func (g *gqlClient) firstCrewSlot() (string, []string) {
	g.t.Helper()
	d := g.do(`query($from: Time!, $to: Time!) { `+crewGrid+` }`, crewWindow())
	start, _ := get(d, "availability.days.0.slots.0.start").(string)
	crew, _ := get(d, "availability.days.0.slots.0.crew").([]any)
	if start == "" || len(crew) != 3 {
		g.t.Fatalf("no crew slot: %v", d)
	}
	return start, ids(crew)
}

// A customer holds and books a crew slot: the hold and the appointment take the slot's crew,
// its lead as resource; a technician of the crew who is not its lead serves it too.
func TestCrewBooking(t *testing.T) {
	t.Parallel()
	ops := newClient(t)
	g := ops.as(customer)
	start, crew := g.firstCrewSlot()

	d := g.do(`mutation($s: Time!) { holdSlot(input: {category: "buildingFibre", place: "75011", start: $s}) {
		hold { token start end resource { id } crew { id } } `+errFields+` } }`, map[string]any{"s": start})
	token, _ := get(d, "holdSlot.hold.token").(string)
	if token == "" || get(d, "holdSlot.hold.resource.id") != crew[0] || !slices.Equal(ids(get(d, "holdSlot.hold.crew")), crew) {
		t.Fatalf("holdSlot, want crew %v: %v", crew, d)
	}
	d = g.do(`mutation($t: String!) { bookAppointment(input: {holdToken: $t, description: "riser"}) {
		appointment { id start end resource { id } crew { id kind } category { id requirements { kind skills count } } } `+errFields+` } }`,
		map[string]any{"t": token})
	id, _ := get(d, "bookAppointment.appointment.id").(string)
	if id == "" || get(d, "bookAppointment.appointment.start") != start || get(d, "bookAppointment.appointment.resource.id") != crew[0] ||
		!slices.Equal(ids(get(d, "bookAppointment.appointment.crew")), crew) {
		t.Fatalf("bookAppointment, want crew %v: %v", crew, d)
	}
	if get(d, "bookAppointment.appointment.crew.2.kind") != apphub.KindEquipment ||
		get(d, "bookAppointment.appointment.category.requirements.1.skills.0") != "splicer" {
		t.Fatalf("the crew's splicer, the category's requirements: %v", d)
	}

	// The second technician is no lead, yet an agent serving it reads the appointment and
	// finds it among its resource's.
	agent := g.as(apphub.Principal{PartyID: "agent-crew", Roles: []string{apphub.RoleAgent}, Resources: []string{crew[1]}})
	d = agent.do(`query($id: ID!, $r: ID!) { appointment(id: $id) { id crew { id } } appointments(filter: {resource: $r}) { totalCount edges { node { id } } } }`,
		map[string]any{"id": id, "r": crew[1]})
	if get(d, "appointment.id") != id || get(d, "appointments.totalCount") != float64(1) || get(d, "appointments.edges.0.node.id") != id {
		t.Fatalf("the agent of %s (a member, not the lead %s): %v", crew[1], crew[0], d)
	}
	// An agent of another technician does not.
	d = agent.as(apphub.Principal{PartyID: "agent-other", Roles: []string{apphub.RoleAgent}, Resources: []string{"tech-lyon-001"}}).
		do(`query($id: ID!) { appointment(id: $id) { id } }`, map[string]any{"id": id})
	if get(d, "appointment") != nil {
		t.Fatalf("an agent of no member: %v", d)
	}

	// A one-resource appointment's crew is its resource.
	s, tech := g.firstRepairSlot()
	d = g.do(`mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) {
		appointment { crew { id } } `+errFields+` } }`, map[string]any{"s": s, "r": tech})
	if got := ids(get(d, "bookAppointment.appointment.crew")); !slices.Equal(got, []string{tech}) {
		t.Fatalf("a repair's crew %v, want [%s]: %v", got, tech, d)
	}
}

// A subscription to a crew member's appointments gets the events of the crews it is in, not
// only of those it leads: the technician who is not the lead, and the splicer.
func TestCrewMembersGetTheEvents(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	res, err := e.svc.Search(ctxAs(customer), booking.SlotQuery{Category: demo.BuildingFibre, Place: "75011", From: now.Add(48 * time.Hour), To: now.Add(9 * 24 * time.Hour)})
	if err != nil || len(res.Days) == 0 || len(res.Days[0].Slots[0].Crew) != 3 {
		t.Fatalf("no crew slot in the week: %v %+v", err, res)
	}
	slot := res.Days[0].Slots[0]
	crew := slot.Crew
	member := apphub.Principal{PartyID: "agent-crew", Roles: []string{apphub.RoleAgent}, Resources: []string{crew[1]}}
	second := e.status(member, "", crew[1])
	splicer := e.status(admin, "", crew[2])
	a, err := e.svc.Book(ctxAs(customer), booking.NewAppointment{Category: demo.BuildingFibre, Place: "75011", Start: slot.Start})
	if err != nil {
		t.Fatal(err)
	}
	if a.Resource != crew[0] || !slices.Equal(a.Crew, crew) {
		t.Fatalf("booked crew %v (lead %s), want the slot's %v", a.Crew, a.Resource, crew)
	}
	for who, ch := range map[string]<-chan *model.AppointmentChange{crew[1]: second, crew[2]: splicer} {
		c := recv(t, ch)
		if c.Appointment.ID != a.ID || c.Kind != apphub.EventCreated || !slices.Equal(c.Appointment.Crew, crew) {
			t.Fatalf("the subscriber of %s got %s v%d of %s, want the creation of %s", who, c.Kind, c.Version, c.Appointment.ID, a.ID)
		}
	}
	// And the cancellation, once each.
	if _, err := e.svc.SetStatus(ctxAs(customer), booking.StatusChange{ID: a.ID, Status: apphub.StatusCancelled}); err != nil {
		t.Fatal(err)
	}
	for who, ch := range map[string]<-chan *model.AppointmentChange{crew[1]: second, crew[2]: splicer} {
		if c := recv(t, ch); c.Appointment.ID != a.ID || c.Version != 2 {
			t.Fatalf("the subscriber of %s got v%d of %s, want v2 of %s", who, c.Version, c.Appointment.ID, a.ID)
		}
		select {
		case c := <-ch:
			t.Fatalf("the subscriber of %s got another event: %s v%d", who, c.Kind, c.Version)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Admins save crew categories, which read back with their requirements; an invalid one is a
// ValidationError naming the requirement's field; customers may not save categories.
func TestCrewCategoryOverGraphQL(t *testing.T) {
	t.Parallel()
	ops := newClient(t)
	const upsert = `mutation($in: CategoryInput!) { upsertCategory(input: $in) { version ` + errFields + ` } }`
	category := func(requirements ...map[string]any) map[string]any {
		return map[string]any{"id": "riser", "name": "Riser survey", "durationMinutes": 120, "stepMinutes": 60, "requirements": requirements}
	}
	techs := map[string]any{"kind": "technician", "skills": []string{"fiber"}, "count": 2}
	splicer := map[string]any{"kind": "equipment", "skills": []string{"splicer"}, "count": 1}
	d := ops.do(upsert, map[string]any{"in": category(techs, splicer)})
	if get(d, "upsertCategory.version") == nil || get(d, "upsertCategory.error") != nil {
		t.Fatalf("a valid crew category: %v", d)
	}
	d = ops.as(customer).do(`{ categories { id requirements { kind skills count } } }`, nil)
	found := map[string]string{}
	for _, c := range get(d, "categories").([]any) {
		b, _ := json.Marshal(get(c, "requirements"))
		found[get(c, "id").(string)] = string(b)
	}
	want := `[{"count":2,"kind":"technician","skills":["fiber"]},{"count":1,"kind":"equipment","skills":["splicer"]}]`
	if found["riser"] != want || found[demo.BuildingFibre] != want || found[demo.Repair] != "[]" {
		t.Fatalf("requirements read back: %v", found)
	}

	for _, tc := range []struct {
		name  string
		in    map[string]any
		field string
	}{
		{"a count of 0", category(techs, map[string]any{"kind": "equipment", "skills": []string{"splicer"}, "count": 0}), "requirements[1].count"},
		{"no kind", category(map[string]any{"kind": "", "count": 1}), "requirements[0].kind"},
		{"with resourceKinds", func() map[string]any {
			c := category(techs)
			c["resourceKinds"] = []string{"technician"}
			return c
		}(), "requirements"},
		{"a crew over 8", category(techs, map[string]any{"kind": "technician", "count": 7}), "requirements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ops.do(upsert, map[string]any{"in": tc.in})
			if get(d, "upsertCategory.version") != nil || get(d, "upsertCategory.error.__typename") != "ValidationError" ||
				get(d, "upsertCategory.error.code") != apphub.EINVALID || get(d, "upsertCategory.error.field") != tc.field {
				t.Fatalf("want a %s error on %s: %v", apphub.EINVALID, tc.field, d)
			}
		})
	}

	_, errs := ops.as(customer).raw(upsert, map[string]any{"in": category(techs, splicer)})
	if errorCode(errs) != apphub.EFORBIDDEN {
		t.Fatalf("a customer saving a category: %s", errs)
	}
}
