package tmfrest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/testclock"
	"github.com/apphub/apphub/tmfrest"
)

// Crew jobs in TMF646 (docs/tmf646.md, "Crews"): the demo's buildingFibre takes two fiber
// technicians and a splicer.

// crewSlot is a time slot of a crew job as a search task lists it.
type crewSlot struct {
	start, end string
	lead       string   // relatedParty.id
	techs      []string // the crew's technicians, in crew order
	splicer    string
	raw        map[string]any
}

// searchCrews runs a search task for buildingFibre at 75011 over a week from two days ahead,
// and checks every slot: its relatedParty is a technician of its crew, its crew two fiber
// technicians and a splicer, each a valid RelatedParty and RelatedEntity.
func searchCrews(t *testing.T, h *testHub) []crewSlot {
	t.Helper()
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	task := h.create("searchTimeSlot", searchBody(demo.BuildingFibre, "75011", from, from.Add(7*24*time.Hour)))
	list, _ := task["availableTimeSlot"].([]any)
	if len(list) == 0 {
		t.Fatalf("no crew slot: %v", task)
	}
	var out []crewSlot
	for i, e := range list {
		slot := e.(map[string]any)
		vf := slot["validFor"].(map[string]any)
		s := crewSlot{start: vf["startDateTime"].(string), end: vf["endDateTime"].(string), raw: slot}
		s.lead, _ = slot["relatedParty"].(map[string]any)["id"].(string)
		crew, _ := slot["crew"].([]any)
		if len(crew) != 3 || slot["@type"] != "TimeSlot" {
			t.Fatalf("slot %d: %v, want a crew of 3", i, slot)
		}
		for _, m := range crew {
			member := m.(map[string]any)
			for _, def := range []string{"RelatedParty", "RelatedEntity"} {
				if err := h.schemas.Validate(def, m); err != nil {
					t.Errorf("slot %d: crew member %v is not a %s: %v", i, m, def, err)
				}
			}
			id, _ := member["id"].(string)
			switch {
			case member["role"] == apphub.KindTechnician && member["@referredType"] == "PartyRole" && member["name"] != nil:
				s.techs = append(s.techs, id)
			case member["role"] == apphub.KindEquipment && member["@referredType"] == "Resource" && strings.HasPrefix(id, "splicer-paris-"):
				s.splicer = id
			default:
				t.Fatalf("slot %d: crew member %v", i, member)
			}
		}
		if len(s.techs) != 2 || s.techs[0] == s.techs[1] || s.splicer == "" || s.lead != s.techs[0] ||
			!rawEqual(t, slot["relatedParty"], crew[0]) {
			t.Fatalf("slot %d: %v, want the lead technician in relatedParty, two technicians and a splicer in crew", i, slot)
		}
		out = append(out, s)
	}
	return out
}

func rawEqual(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// crewBody is an appointment of buildingFibre at 75011 for customer c-1, with more parties
// and entities (JSON array elements, comma-separated) when given.
func crewBody(s crewSlot, parties, entities string) string {
	body := fmt.Sprintf(`{"category":%q,"validFor":{"startDateTime":%q,"endDateTime":%q},
		"relatedParty":[{"id":"c-1","role":"customer","@referredType":"Individual"}%s],
		"relatedPlace":{"role":"installationAddress","postCode":"75011","@type":"GeographicAddress"}`, demo.BuildingFibre, s.start, s.end, parties)
	if entities != "" {
		body += `,"relatedEntity":[` + entities + `]`
	}
	return body + "}"
}

func technicianRef(id string) string {
	return fmt.Sprintf(`,{"id":%q,"role":"technician","@referredType":"PartyRole"}`, id)
}

// members reads a crew appointment's representation: the ids in relatedParty other than the
// customer (each with role resource unless the client named it), and the equipment in
// relatedEntity (role equipment, @referredType Resource).
func members(t *testing.T, obj map[string]any) (techs, equipment []string) {
	t.Helper()
	parties, _ := obj["relatedParty"].([]any)
	for _, p := range parties {
		party := p.(map[string]any)
		if party["role"] != "customer" {
			techs = append(techs, party["id"].(string))
		}
	}
	entities, _ := obj["relatedEntity"].([]any)
	for _, e := range entities {
		entity := e.(map[string]any)
		if entity["role"] == "equipment" {
			if entity["@referredType"] != "Resource" {
				t.Errorf("equipment %v", entity)
			}
			equipment = append(equipment, entity["id"].(string))
		}
	}
	return techs, equipment
}

// booked is the appointment as booking has it.
func booked(t *testing.T, h *testHub, id string) apphub.Appointment {
	t.Helper()
	a, err := h.svc.Appointment(asOperator(context.Background()), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A search for a crew job lists one time slot per crew: its lead technician in relatedParty,
// the crew (two technicians and the splicer) in crew, as the engine offers it; the slot's href
// answers it.
func TestCrewSearchTimeSlot(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	slots := searchCrews(t, h)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	res, err := h.svc.Search(asOperator(context.Background()), booking.SlotQuery{Category: demo.BuildingFibre, Place: "75011", From: from, To: from.Add(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range res.Days {
		for _, s := range d.Slots {
			want = append(want, s.Start.Format("2006-01-02T15:04:05.000Z")+" "+strings.Join(s.Crew, ","))
		}
	}
	var got []string
	for _, s := range slots {
		got = append(got, s.start+" "+strings.Join(append(slices.Clone(s.techs), s.splicer), ","))
	}
	if !slices.Equal(got, want[:min(len(want), len(got))]) || len(got) != min(len(want), booking.MaxTaskSlots/3) {
		t.Fatalf("the task's crews are not the engine's:\n got %v\nwant %v", got[:min(3, len(got))], want[:min(3, len(want))])
	}
	r := h.want(h.do("GET", slots[0].raw["href"].(string), ""), http.StatusOK)
	h.validate("TimeSlot", r.body)
	if !rawEqual(t, r.object(t), slots[0].raw) {
		t.Fatalf("the slot's href answers %s, the task lists %v", r.body, slots[0].raw)
	}
	// A one-resource category keeps its shape: no crew.
	repair := h.create("searchTimeSlot", searchBody("repair", "75011", from, from.Add(7*24*time.Hour))) // a holiday may take a whole day
	if s := repair["availableTimeSlot"].([]any)[0].(map[string]any); s["crew"] != nil {
		t.Fatalf("a repair slot has a crew: %v", s)
	}
}

// Booking a crew slot as a search lists it (its relatedParty) books the crew: the answer, the
// GET and the list show its two technicians in relatedParty and the splicer in relatedEntity,
// and every answer matches the swagger.
func TestCrewAppointment(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	s := searchCrews(t, h)[0]
	body := crewBody(s, technicianRef(s.lead), `{"id":"note-7","role":"workOrder","@referredType":"WorkOrder"}`)
	r := h.want(h.do("POST", api+"appointment", body), http.StatusCreated)
	h.validate("Appointment", r.body)
	obj := r.object(t)
	a := booked(t, h, obj["id"].(string))
	if len(a.Crew) != 3 || a.Crew[0] != s.lead {
		t.Fatalf("booked crew %v, want three led by %s", a.Crew, s.lead)
	}
	techs, equipment := members(t, obj)
	if !slices.Equal(techs, a.Crew[:2]) || !slices.Equal(equipment, a.Crew[2:]) {
		t.Fatalf("relatedParty %v and relatedEntity %v, want the crew %v", obj["relatedParty"], obj["relatedEntity"], a.Crew)
	}
	// The client's references come first, as sent; the hub's follow.
	parties := obj["relatedParty"].([]any)
	if p := parties[1].(map[string]any); p["role"] != "technician" || parties[2].(map[string]any)["role"] != "resource" {
		t.Fatalf("relatedParty %v", parties)
	}
	if e := obj["relatedEntity"].([]any)[0].(map[string]any); e["id"] != "note-7" {
		t.Fatalf("relatedEntity %v", obj["relatedEntity"])
	}

	g := h.want(h.do("GET", api+"appointment/"+a.ID, ""), http.StatusOK)
	h.validate("Appointment", g.body)
	if !bytes.Equal(g.body, r.body) {
		t.Fatalf("GET answers\n%s\nthe POST answered\n%s", g.body, r.body)
	}
	for _, q := range []string{"relatedParty.id=" + a.Crew[1], "relatedEntity.id=" + a.Crew[2] + "&relatedEntity.role=equipment"} {
		if _, l := h.list("appointment", q); len(l) != 1 || l[0]["id"] != a.ID {
			t.Fatalf("?%s: %v", q, ids(l))
		}
	}
	// The event of the booking carries the same representation.
	cal, err := h.svc.Calendar(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ev, err := tmfrest.AppointmentJSON(h.url, a, cal)
	if err != nil || !bytes.Equal(ev, bytes.TrimSpace(g.body)) {
		t.Fatalf("event body %s (%v), GET %s", ev, err, g.body)
	}
	h.validate("AppointmentCreateEvent", []byte(`{"eventType":"AppointmentCreateEvent","event":{"appointment":`+string(ev)+`}}`))
}

// A client that names a member books a crew that includes it: a technician other than the
// slot's lead in relatedParty, the splicer in relatedEntity or in relatedParty. Naming two is a
// 400 that names the attribute, and stores nothing.
func TestCrewBookingNamesAMember(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	partner := h.as(acme)
	slots := searchCrews(t, h)
	// Slots far enough apart that the bookings do not compete: 3 h jobs, a day apart.
	var picked []crewSlot
	for _, s := range slots {
		if len(picked) == 0 || s.start[:10] != picked[len(picked)-1].start[:10] {
			picked = append(picked, s)
		}
	}
	if len(picked) < 3 {
		t.Fatalf("crew slots on %d days, want 3", len(picked))
	}
	two := crewBody(picked[0], technicianRef(picked[0].techs[0])+technicianRef(picked[0].techs[1]), "")
	r := partner.want(partner.do("POST", api+"appointment", two), http.StatusBadRequest)
	if e := r.object(t); e["code"] != apphub.EINVALID || !strings.Contains(e["message"].(string), "relatedParty") {
		t.Fatalf("naming two technicians: %s", r.body)
	}
	mixed := crewBody(picked[0], technicianRef(picked[0].techs[0]), fmt.Sprintf(`{"id":%q,"role":"equipment","@referredType":"Resource"}`, picked[0].splicer))
	if e := partner.want(partner.do("POST", api+"appointment", mixed), http.StatusBadRequest).object(t); !strings.Contains(e["message"].(string), "relatedEntity") {
		t.Fatalf("naming a technician and the splicer: %v", e)
	}
	if _, l := h.list("appointment", ""); len(l) != 0 {
		t.Fatalf("refused bookings stored %v", ids(l))
	}

	for i, tc := range []struct {
		name, parties, entities, member string
	}{
		{"the second technician in relatedParty", technicianRef(picked[0].techs[1]), "", picked[0].techs[1]},
		{"the splicer in relatedEntity", "", fmt.Sprintf(`{"id":%q,"role":"equipment","@referredType":"Resource"}`, picked[1].splicer), picked[1].splicer},
		{"the splicer in relatedParty", fmt.Sprintf(`,{"id":%q,"role":"splicer","@referredType":"Resource"}`, picked[2].splicer), "", picked[2].splicer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			partner := *partner
			partner.t = t
			obj := partner.create("appointment", crewBody(picked[i], tc.parties, tc.entities))
			a := booked(t, h, obj["id"].(string))
			if len(a.Crew) != 3 || !slices.Contains(a.Crew, tc.member) || a.PartyID != "c-1" {
				t.Fatalf("crew %v for %s, want one with %s", a.Crew, a.PartyID, tc.member)
			}
			techs, equipment := members(t, obj)
			if !slices.Contains(append(techs, equipment...), tc.member) || !slices.Equal(equipment, a.Crew[2:]) {
				t.Fatalf("relatedParty %v, relatedEntity %v for the crew %v", obj["relatedParty"], obj["relatedEntity"], a.Crew)
			}
		})
	}
}

// A PATCH of a crew appointment's representation keeps the hub's references out of the
// client's attributes: the GET after it shows the same crew, and the client's relatedParty is
// stored as the client sent it.
func TestCrewPatchKeepsTheClientsParties(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	s := searchCrews(t, h)[0]
	obj := h.create("appointment", crewBody(s, technicianRef(s.lead), ""))
	id := obj["id"].(string)
	stored := booked(t, h, id).Attributes["relatedParty"]

	// A merge patch that sends the relatedParty it was shown (the crew included), with a note.
	shown, _ := json.Marshal(obj["relatedParty"])
	patch := `{"relatedParty":` + string(shown) + `,"note":[{"text":"gate code 1234"}]}`
	r := h.want(h.do("PATCH", api+"appointment/"+id, patch, "Content-Type", "application/merge-patch+json"), http.StatusOK)
	h.validate("Appointment", r.body)
	after := r.object(t)
	if !rawEqual(t, after["relatedParty"], obj["relatedParty"]) || !rawEqual(t, after["relatedEntity"], obj["relatedEntity"]) {
		t.Fatalf("after the patch relatedParty %v, relatedEntity %v; before %v, %v", after["relatedParty"], after["relatedEntity"], obj["relatedParty"], obj["relatedEntity"])
	}
	a := booked(t, h, id)
	var want, got any
	json.Unmarshal(stored, &want)
	json.Unmarshal(a.Attributes["relatedParty"], &got)
	if !rawEqual(t, got, want) || a.Attributes["relatedEntity"] != nil {
		t.Fatalf("stored relatedParty %s, relatedEntity %s; want the client's %s and none", a.Attributes["relatedParty"], a.Attributes["relatedEntity"], stored)
	}
	// A JSON Patch that adds a party keeps the crew out of what is stored too.
	r = h.want(h.do("PATCH", api+"appointment/"+id, `[{"op":"add","path":"/relatedParty/-","value":{"id":"ops-9","role":"dispatcher","@referredType":"Individual"}}]`,
		"Content-Type", "application/json-patch+json"), http.StatusOK)
	h.validate("Appointment", r.body)
	if techs, _ := members(t, r.object(t)); len(techs) != 3 || techs[2] != "ops-9" && techs[1] != "ops-9" {
		t.Fatalf("after adding a party: %s", r.body)
	}
	var parties []map[string]any
	json.Unmarshal(booked(t, h, id).Attributes["relatedParty"], &parties)
	if len(parties) != 3 || parties[2]["id"] != "ops-9" {
		t.Fatalf("stored relatedParty %v, want the client's two and ops-9", parties)
	}
}

// An appointment booked elsewhere (GraphQL) shows its crew the same way, and
// tmfrest.AppointmentJSON, the body of its notifications, is what GET answers.
func TestCrewBookedElsewhereAndItsEvents(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	ctx := asOperator(context.Background())
	res, err := h.svc.Search(ctx, booking.SlotQuery{Category: demo.BuildingFibre, Place: "75011", From: from, To: from.Add(7 * 24 * time.Hour)})
	if err != nil || len(res.Days) == 0 {
		t.Fatalf("search: %v", err)
	}
	a, err := h.svc.Book(ctx, booking.NewAppointment{Category: demo.BuildingFibre, Place: "75011", Start: res.Days[0].Slots[0].Start})
	if err != nil {
		t.Fatal(err)
	}
	g := h.want(h.do("GET", api+"appointment/"+a.ID, ""), http.StatusOK)
	h.validate("Appointment", g.body)
	obj := g.object(t)
	techs, equipment := members(t, obj)
	if !slices.Equal(techs, a.Crew[:2]) || !slices.Equal(equipment, a.Crew[2:]) || len(obj["relatedEntity"].([]any)) != 1 {
		t.Fatalf("crew %v shown as %s", a.Crew, g.body)
	}
	for _, p := range obj["relatedParty"].([]any) {
		if p := p.(map[string]any); p["role"] != "resource" || p["@referredType"] != "PartyRole" {
			t.Fatalf("a technician booked elsewhere: %v", p)
		}
	}
	cal, err := h.svc.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := tmfrest.AppointmentJSON(h.url, a, cal)
	if err != nil || !bytes.Equal(ev, bytes.TrimSpace(g.body)) {
		t.Fatalf("event body %s (%v), GET %s", ev, err, g.body)
	}
	h.validate("AppointmentStateChangeEvent", []byte(`{"eventType":"AppointmentStateChangeEvent","event":{"appointment":`+string(ev)+`}}`))
}
