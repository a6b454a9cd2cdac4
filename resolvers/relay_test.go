package resolvers_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub/booking"
)

// The appointments connection pages both ways as the Relay connection specification's algorithm
// says (cursors, then first, then last), checked against that algorithm on the list's indexes
// for every combination of cursors and sizes over five appointments.
func TestAppointmentsPageBothWays(t *testing.T) {
	t.Parallel()
	g := newClient(t)
	d := g.do(`query($from: Time!, $to: Time!) { availability(input: {category: "storeVisit", place: "store-paris-bastille", from: $from, to: $to}) {
		days { slots { start resources { resource { id } } } } } }`,
		map[string]any{"from": now.Add(24 * time.Hour).Format(time.RFC3339), "to": now.Add(8 * 24 * time.Hour).Format(time.RFC3339)})
	var all []string // ids in (start, id) order
	for _, day := range get(d, "availability.days").([]any) {
		for _, slot := range get(day, "slots").([]any) {
			if len(all) == 5 {
				break
			}
			d := g.do(`mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "storeVisit", place: "store-paris-bastille", resource: $r, start: $s}) { appointment { id } } }`,
				map[string]any{"s": get(slot, "start"), "r": get(slot, "resources.0.resource.id")})
			all = append(all, get(d, "bookAppointment.appointment.id").(string))
		}
	}
	if len(all) != 5 {
		t.Fatalf("booked %d store visits, want 5", len(all))
	}
	// The cursors, from a first page of all.
	d = g.do(`{ appointments(first: 5) { edges { cursor } } }`, nil)
	var cursors []string
	for _, e := range get(d, "appointments.edges").([]any) {
		cursors = append(cursors, get(e, "cursor").(string))
	}

	sizes := []int{-1, 0, 1, 2, 5, 6} // -1: not given
	for after := -1; after < 5; after++ {
		for before := -1; before < 5; before++ {
			for _, first := range sizes {
				for _, last := range sizes {
					if (first >= 0) == (last >= 0) && first >= 0 {
						continue // both: discouraged by the specification, and not in a client's interest
					}
					// The algorithm on indexes.
					lo, hi := 0, 5
					if after >= 0 {
						lo = after + 1
					}
					if before >= 0 {
						hi = before
					}
					hi = max(hi, lo)
					f := first
					if first < 0 && last < 0 {
						f = 20
					}
					if f >= 0 && hi-lo > f {
						hi = lo + f
					}
					if last >= 0 && hi-lo > last {
						lo = hi - last
					}
					args := []string{`filter: {category: "storeVisit"}`}
					if after >= 0 {
						args = append(args, fmt.Sprintf("after: %q", cursors[after]))
					}
					if before >= 0 {
						args = append(args, fmt.Sprintf("before: %q", cursors[before]))
					}
					if first >= 0 {
						args = append(args, fmt.Sprintf("first: %d", min(first, 100)))
					}
					if last >= 0 {
						args = append(args, fmt.Sprintf("last: %d", last))
					}
					name := strings.Join(args[1:], ", ")
					d := g.do(`{ appointments(`+strings.Join(args, ", ")+`) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`, nil)
					var got []string
					for _, e := range get(d, "appointments.edges").([]any) {
						got = append(got, get(e, "node.id").(string))
					}
					if want := all[lo:hi]; fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("%s: %v, want %v", name, got, want)
					}
					pi := get(d, "appointments.pageInfo")
					if get(pi, "hasPreviousPage") != (lo > 0) || get(pi, "hasNextPage") != (hi < 5) {
						t.Fatalf("%s: pageInfo %v, want hasPreviousPage %v hasNextPage %v", name, pi, lo > 0, hi < 5)
					}
					if lo < hi && (get(pi, "startCursor") != cursors[lo] || get(pi, "endCursor") != cursors[hi-1]) {
						t.Fatalf("%s: pageInfo %v, want the cursors of %d and %d", name, pi, lo, hi-1)
					}
					if lo == hi && (get(pi, "startCursor") != nil || get(pi, "endCursor") != nil) {
						t.Fatalf("%s: an empty page with cursors %v", name, pi)
					}
				}
			}
		}
	}

	for _, bad := range []struct{ args, field string }{{"last: -1", "last"}, {"last: 101", "last"}, {`before: "nope"`, "before"}, {`after: "nope"`, "after"}} {
		_, errs := g.raw(`{ appointments(`+bad.args+`) { totalCount } }`, nil)
		if !strings.Contains(string(errs), `"code":"VALIDATION"`) || !strings.Contains(string(errs), `"field":"`+bad.field+`"`) {
			t.Errorf("%s: %s", bad.args, errs)
		}
	}
}

// node(id:) and nodes(ids:) find every kind of node by its id alone, for whom may see it: an
// appointment and a stored search (their TMF646 ids), a resource, a place and a category, a
// hold (its token); for anyone else, and for an id of nothing, null.
func TestNodes(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	ops := clientOf(t, newHandler(t, svc), admin)
	g := ops.as(customer)
	start, tech := g.firstRepairSlot()
	d := g.do(`mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) { appointment { id } } }`,
		map[string]any{"s": start, "r": tech})
	appt := get(d, "bookAppointment.appointment.id").(string)
	d = g.do(`mutation($s: Time!, $r: ID!) { holdSlot(input: {category: "repair", place: "75011", resource: $r, start: $s}) { hold { id token } } }`,
		map[string]any{"s": g.slotOf(tech, now.Add(72*time.Hour)), "r": tech})
	hold := get(d, "holdSlot.hold.token").(string)
	if get(d, "holdSlot.hold.id") != hold {
		t.Fatalf("a hold's id is its token: %v", d)
	}
	task, err := svc.CreateSearchTimeSlot(ctxAs(customer), booking.NewSearchTimeSlot{Attributes: map[string]json.RawMessage{"category": json.RawMessage(`"repair"`)}})
	if err != nil {
		t.Fatal(err)
	}

	const node = `query($id: ID!) { node(id: $id) { __typename id
		... on Appointment { status } ... on StoredSearch { searchResult } ... on Resource { kind }
		... on Place { zone } ... on Category { name } ... on Hold { appointmentId } } }`
	for _, tc := range []struct {
		id, typename string
		seenBy       *gqlClient
		hiddenFrom   *gqlClient
	}{
		{appt, "Appointment", g, g.as(other)},
		{task.ID, "StoredSearch", g, g.as(other)},
		{tech, "Resource", g, nil},
		{"store-paris-bastille", "Place", g, nil},
		{"repair", "Category", g, nil},
		{hold, "Hold", g, g.as(other)},
		{"nothing-has-this-id", "", nil, g},
	} {
		if tc.seenBy != nil {
			d := tc.seenBy.do(node, map[string]any{"id": tc.id})
			if get(d, "node.__typename") != tc.typename || get(d, "node.id") != tc.id {
				t.Errorf("node(%q): %v, want a %s", tc.id, d, tc.typename)
			}
			// An operator sees every node.
			if d := ops.do(node, map[string]any{"id": tc.id}); get(d, "node.__typename") != tc.typename {
				t.Errorf("node(%q) as an operator: %v", tc.id, d)
			}
		}
		if tc.hiddenFrom != nil {
			if d := tc.hiddenFrom.do(node, map[string]any{"id": tc.id}); get(d, "node") != nil {
				t.Errorf("node(%q) as someone else: %v, want null", tc.id, d)
			}
		}
	}

	d = g.do(`query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`, map[string]any{"ids": []string{"repair", "nothing", appt}})
	got := get(d, "nodes").([]any)
	if len(got) != 3 || get(got[0], "__typename") != "Category" || got[1] != nil || get(got[2], "id") != appt {
		t.Errorf("nodes: %v", d)
	}
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = "repair"
	}
	if _, errs := g.raw(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": ids}); !strings.Contains(string(errs), `"field":"ids"`) {
		t.Errorf("101 ids: %s", errs)
	}
}
