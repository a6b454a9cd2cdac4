package resolvers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

// These tests go through the GraphQL handler to the real booking service on the embedded
// store and the real Redis, with the demo calendar and a clock stopped at the test clock's
// base (so that expiries can be compared exactly).
var now = testclock.Base().Truncate(time.Second)

// Who the tests call as (resolvers.WithPrincipal stands in for the hub's authentication). An
// admin may do everything, calendars included; the channel flows call as a customer, and an
// agent serves the appointments of its resources.
var (
	admin    = apphub.Principal{PartyID: "ops-1", Roles: []string{apphub.RoleAdmin}}
	customer = apphub.Principal{PartyID: "cust-1", Roles: []string{apphub.RoleCustomer}}
	other    = apphub.Principal{PartyID: "cust-2", Roles: []string{apphub.RoleCustomer}}
)

// ctxAs is a context calling as p, for the tests' direct calls to the service.
func ctxAs(p apphub.Principal) context.Context {
	return apphub.NewContextWithPrincipal(context.Background(), p)
}

type gqlClient struct {
	t *testing.T
	c *client.Client
	h http.Handler // the GraphQL handler, before a principal is set
}

// newClient is a client of a new hub, calling as an admin.
func newClient(t *testing.T) *gqlClient {
	t.Helper()
	return clientOf(t, newHandler(t, newService(t)), admin)
}

// clientOf is a client of h calling as p.
func clientOf(t *testing.T, h http.Handler, p apphub.Principal) *gqlClient {
	return &gqlClient{t: t, c: client.New(resolvers.WithPrincipal(h, p)), h: h}
}

// as is a client of the same hub calling as p.
func (g *gqlClient) as(p apphub.Principal) *gqlClient { return clientOf(g.t, g.h, p) }

func newService(t *testing.T) *booking.Service {
	t.Helper()
	db := storetest.Mongo(t)
	rdb, prefix := storetest.Redis(t)
	svc := booking.NewService(db, booking.Options{Now: func() time.Time { return now }, HoldTTL: 5 * time.Minute,
		Cache: storetest.Cache(t, rdb, prefix)})
	if err := svc.SaveCalendar(ctxAs(admin), demo.Data(), nil); err != nil {
		t.Fatal(err)
	}
	return svc
}

func newHandler(t *testing.T, svc resolvers.Service) http.Handler {
	return resolvers.NewHandler(&resolvers.Resolver{Service: svc, Version: "test"}, slog.New(slog.DiscardHandler), resolvers.Options{})
}

// do runs a document and returns its data, failing on GraphQL errors unless wantErrors.
func (g *gqlClient) do(query string, vars map[string]any) map[string]any {
	g.t.Helper()
	data, errs := g.raw(query, vars)
	if errs != nil {
		g.t.Fatalf("errors: %s\nquery: %s", errs, query)
	}
	return data
}

func (g *gqlClient) raw(query string, vars map[string]any) (map[string]any, json.RawMessage) {
	g.t.Helper()
	var opts []client.Option
	for k, v := range vars {
		opts = append(opts, client.Var(k, v))
	}
	resp, err := g.c.RawPost(query, opts...)
	if err != nil {
		g.t.Fatal(err)
	}
	data, _ := resp.Data.(map[string]any)
	return data, resp.Errors
}

// get walks a path such as "bookAppointment.appointment.id" through decoded JSON.
func get(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var i int
			fmt.Sscan(k, &i)
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

const slotFields = `start end capacity resources { capacity resource { id name } }`

func (g *gqlClient) firstRepairSlot() (start, resource string) {
	g.t.Helper()
	d := g.do(`query($from: Time!, $to: Time!) { availability(input: {category: "repair", place: "75011", from: $from, to: $to}) {
		timeZone version asOf days { date slots { `+slotFields+` } } reasons { code } nextDates } }`,
		map[string]any{"from": now.Format(time.RFC3339), "to": now.Add(14 * 24 * time.Hour).Format(time.RFC3339)})
	if v, _ := get(d, "availability.version").(string); get(d, "availability.timeZone") != "Europe/Paris" || v == "" {
		g.t.Fatalf("availability: %v", d)
	}
	start, _ = get(d, "availability.days.0.slots.0.start").(string)
	resource, _ = get(d, "availability.days.0.slots.0.resources.0.resource.id").(string)
	if start == "" || resource == "" {
		g.t.Fatalf("no repair slot at 75011: %v", d)
	}
	return start, resource
}

// slotOf returns the first start the resource is offered for repair on a later local day than
// after, so that tests need not guess which days it works.
func (g *gqlClient) slotOf(resource string, after time.Time) string {
	g.t.Helper()
	d := g.do(`query($from: Time!, $to: Time!, $r: ID!) { availability(input: {category: "repair", resource: $r, from: $from, to: $to}) {
		days { date slots { start } } } }`,
		map[string]any{"from": after.Add(24 * time.Hour).Format(time.RFC3339), "to": after.Add(15 * 24 * time.Hour).Format(time.RFC3339), "r": resource})
	start, _ := get(d, "availability.days.0.slots.0.start").(string)
	if start == "" {
		g.t.Fatalf("no repair slot of %s after %s: %v", resource, after, d)
	}
	return start
}

const apptFields = `id version status start end statusReason description resource { id } category { id durationMinutes }
	notes { author text } contactMedia { type value preferred } history { version change fields status }`

const errFields = `error { __typename code message ... on SlotUnavailable { alternatives { start } } ... on ValidationError { field } }`

// The channel flow: availability → hold → book → confirm → reschedule → cancel, as a customer;
// the customer center confirms.
func TestChannelFlow(t *testing.T) {
	t.Parallel()
	ops := newClient(t)
	g := ops.as(customer)
	start, tech := g.firstRepairSlot()

	d := g.do(`mutation($s: Time!, $r: ID!) { holdSlot(input: {category: "repair", place: "75011", resource: $r, start: $s}) {
		hold { token expiresAt appointmentId start end resource { id } } `+errFields+` } }`, map[string]any{"s": start, "r": tech})
	token, _ := get(d, "holdSlot.hold.token").(string)
	if token == "" || get(d, "holdSlot.hold.resource.id") != tech || get(d, "holdSlot.hold.expiresAt") != now.Add(5*time.Minute).Format(time.RFC3339) {
		t.Fatalf("holdSlot: %v", d)
	}
	apptID := get(d, "holdSlot.hold.appointmentId")

	// The held slot is offered no more on that technician.
	s0, _ := time.Parse(time.RFC3339, start)
	d = g.do(`query($s: Time!, $e: Time!, $r: ID!) { availability(input: {category: "repair", resource: $r, from: $s, to: $e}) { days { date } } }`,
		map[string]any{"s": start, "e": s0.Add(time.Minute).Format(time.RFC3339), "r": tech})
	if days := get(d, "availability.days").([]any); len(days) != 0 {
		t.Fatalf("the held slot is still offered: %v", d)
	}

	d = g.do(`mutation($t: String!) { bookAppointment(input: {holdToken: $t, description: "no dial tone",
		notes: [{author: "agent-7", text: "ring twice"}], contactMedia: [{type: "phone", value: "+33 1 02 03 04 05", preferred: true}]}) {
		appointment { partyId `+apptFields+` } `+errFields+` } }`, map[string]any{"t": token})
	if get(d, "bookAppointment.appointment.id") != apptID || get(d, "bookAppointment.appointment.status") != "INITIALIZED" ||
		get(d, "bookAppointment.appointment.notes.0.text") != "ring twice" || get(d, "bookAppointment.appointment.category.durationMinutes") != float64(60) {
		t.Fatalf("bookAppointment: %v", d)
	}

	if get(d, "bookAppointment.appointment.partyId") != customer.PartyID {
		t.Fatalf("the customer's appointment is not its own: %v", d)
	}

	d = ops.do(`mutation($id: ID!) { confirmAppointment(input: {id: $id, expectedVersion: 1}) { appointment { status version } `+errFields+` } }`,
		map[string]any{"id": apptID})
	if get(d, "confirmAppointment.appointment.status") != "CONFIRMED" || get(d, "confirmAppointment.appointment.version") != float64(2) {
		t.Fatalf("confirm: %v", d)
	}

	s0, _ = time.Parse(time.RFC3339, start)
	later := g.slotOf(tech, s0)
	d = g.do(`mutation($id: ID!, $s: Time!) { rescheduleAppointment(input: {id: $id, expectedVersion: 2, start: $s}) { appointment { start end version } `+errFields+` } }`,
		map[string]any{"id": apptID, "s": later})
	if get(d, "rescheduleAppointment.appointment.version") != float64(3) || get(d, "rescheduleAppointment.appointment.start") != later {
		t.Fatalf("reschedule: %v", d)
	}

	d = g.do(`mutation($id: ID!) { cancelAppointment(input: {id: $id, reason: "customer fixed it"}) { appointment { status statusReason history { change status by } } `+errFields+` } }`,
		map[string]any{"id": apptID})
	if get(d, "cancelAppointment.appointment.status") != "CANCELLED" || get(d, "cancelAppointment.appointment.statusReason") != "customer fixed it" {
		t.Fatalf("cancel: %v", d)
	}
	h := get(d, "cancelAppointment.appointment.history").([]any)
	if len(h) < 3 || get(h[0], "change") != "created" {
		t.Fatalf("history: %v", h)
	}
	// Each change names who made it.
	if get(h[0], "by") != customer.Ref() || get(h[1], "by") != admin.Ref() || get(h[len(h)-1], "by") != customer.Ref() {
		t.Fatalf("history authors: %v", h)
	}

	// The appointment, and a list with filters and cursors.
	d = g.do(`query($id: ID!) { appointment(id: $id) { id status } missing: appointment(id: "nope") { id } }`, map[string]any{"id": apptID})
	if get(d, "appointment.status") != "CANCELLED" || get(d, "missing") != nil {
		t.Fatalf("appointment: %v", d)
	}
	// Another customer is not shown it: for them it does not exist.
	d = g.as(other).do(`query($id: ID!) { appointment(id: $id) { id } appointments { totalCount } }`, map[string]any{"id": apptID})
	if get(d, "appointment") != nil || get(d, "appointments.totalCount") != float64(0) {
		t.Fatalf("another customer sees it: %v", d)
	}
}

func TestTypedErrors(t *testing.T) {
	t.Parallel()
	g := newClient(t)
	start, tech := g.firstRepairSlot()
	book := `mutation($s: Time!, $r: ID, $k: String) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s, idempotencyKey: $k}) {
		appointment { id version } ` + errFields + ` } }`

	d := g.do(book, map[string]any{"s": start, "r": tech})
	id := get(d, "bookAppointment.appointment.id")
	if id == nil {
		t.Fatalf("book: %v", d)
	}

	t.Run("SlotUnavailable with alternatives", func(t *testing.T) {
		d := g.do(book, map[string]any{"s": start, "r": tech})
		if get(d, "bookAppointment.error.__typename") != "SlotUnavailable" || get(d, "bookAppointment.error.code") != "FULLY_BOOKED" {
			t.Fatalf("%v", d)
		}
		alts, _ := get(d, "bookAppointment.error.alternatives").([]any)
		if len(alts) == 0 {
			t.Fatal("no alternatives offered")
		}
		for _, a := range alts {
			if get(a, "start") == start {
				t.Fatal("the taken slot is offered as an alternative")
			}
		}
	})
	t.Run("SlotUnavailable outside hours", func(t *testing.T) {
		// Stores are closed at 03:00, whatever the day.
		paris, _ := time.LoadLocation("Europe/Paris")
		day := now.In(paris).AddDate(0, 0, 3)
		night := time.Date(day.Year(), day.Month(), day.Day(), 3, 0, 0, 0, paris)
		d := g.do(`mutation($s: Time!) { bookAppointment(input: {category: "storeVisit", place: "store-paris-bastille", start: $s}) {
			appointment { id } `+errFields+` } }`, map[string]any{"s": night.Format(time.RFC3339)})
		if get(d, "bookAppointment.error.__typename") != "SlotUnavailable" || get(d, "bookAppointment.error.code") != "OUTSIDE_HOURS" {
			t.Fatalf("%v", d)
		}
	})
	t.Run("HoldExpired", func(t *testing.T) {
		d := g.do(`mutation { bookAppointment(input: {holdToken: "no-such-token"}) { appointment { id } `+errFields+` } }`, nil)
		if get(d, "bookAppointment.error.__typename") != "HoldExpired" {
			t.Fatalf("%v", d)
		}
	})
	t.Run("VersionConflict", func(t *testing.T) {
		d := g.do(`mutation($id: ID!) { confirmAppointment(input: {id: $id, expectedVersion: 7}) { appointment { id } `+errFields+` } }`, map[string]any{"id": id})
		if get(d, "confirmAppointment.error.__typename") != "VersionConflict" || get(d, "confirmAppointment.error.code") != "VERSION_CONFLICT" {
			t.Fatalf("%v", d)
		}
	})
	t.Run("InvalidTransition", func(t *testing.T) {
		d := g.do(`mutation($id: ID!) { completeAppointment(input: {id: $id}) { appointment { id } `+errFields+` } }`, map[string]any{"id": id})
		if get(d, "completeAppointment.error.__typename") != "InvalidTransition" {
			t.Fatalf("%v", d)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		d := g.do(`mutation { cancelAppointment(input: {id: "nope"}) { appointment { id } `+errFields+` } }`, nil)
		if get(d, "cancelAppointment.error.__typename") != "NotFound" || get(d, "cancelAppointment.error.code") != "NOT_FOUND" {
			t.Fatalf("%v", d)
		}
	})
	t.Run("ValidationError", func(t *testing.T) {
		d := g.do(`mutation { upsertResource(input: {id: "tech-x", kind: "technician", name: "X", timeZone: "Mars/Olympus", shifts: []}) { version `+errFields+` } }`, nil)
		if get(d, "upsertResource.error.__typename") != "ValidationError" || get(d, "upsertResource.error.field") != "timeZone" {
			t.Fatalf("%v", d)
		}
		d = g.do(`mutation { bookAppointment(input: {place: "75011"}) { appointment { id } `+errFields+` } }`, nil)
		if get(d, "bookAppointment.error.__typename") != "ValidationError" {
			t.Fatalf("%v", d)
		}
	})
	t.Run("IdempotencyConflict", func(t *testing.T) {
		s, _ := time.Parse(time.RFC3339, start)
		other := g.slotOf(tech, s)
		first := g.do(book, map[string]any{"s": other, "r": tech, "k": "idem-1"})
		again := g.do(book, map[string]any{"s": other, "r": tech, "k": "idem-1"})
		if get(first, "bookAppointment.appointment.id") == nil || get(first, "bookAppointment.appointment.id") != get(again, "bookAppointment.appointment.id") {
			t.Fatalf("replay: %v then %v", first, again)
		}
		d := g.do(book, map[string]any{"s": s.Add(48 * time.Hour).Format(time.RFC3339), "r": tech, "k": "idem-1"})
		if get(d, "bookAppointment.error.__typename") != "IdempotencyConflict" || get(d, "bookAppointment.error.code") != "IDEMPOTENCY_KEY_REUSED" {
			t.Fatalf("%v", d)
		}
	})
	t.Run("query errors carry extensions.code", func(t *testing.T) {
		_, errs := g.raw(`{ availability(input: {category: "repair", place: "75011", from: "`+now.Format(time.RFC3339)+`", to: "`+now.AddDate(0, 3, 0).Format(time.RFC3339)+`"}) { timeZone } }`, nil)
		if !strings.Contains(string(errs), `"code":"VALIDATION"`) || !strings.Contains(string(errs), `"field":"to"`) {
			t.Fatalf("errors %s", errs)
		}
		_, errs = g.raw(`{ appointments(first: -1) { totalCount } }`, nil)
		if !strings.Contains(string(errs), `"code":"VALIDATION"`) {
			t.Fatalf("errors %s", errs)
		}
	})
	// U+0000 is refused wherever a string gives it, before anything runs (a store on
	// PostgreSQL could not keep it).
	t.Run("NUL", func(t *testing.T) {
		for _, tc := range []struct {
			doc  string
			vars map[string]any
		}{
			{`mutation { cancelAppointment(input: {id: "x\u0000", reason: "r"}) { error { code } } }`, nil},
			{`mutation($r: String!) { cancelAppointment(input: {id: "x", reason: $r}) { error { code } } }`, map[string]any{"r": "no\x00"}},
			{`mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { error { code } } }`, map[string]any{"i": map[string]any{"description": "a\x00"}}},
			{`query($f: AppointmentFilter = {partyId: "a\u0000"}) { appointments(filter: $f) { totalCount } }`, nil},
		} {
			var opts []client.Option
			for k, v := range tc.vars {
				opts = append(opts, client.Var(k, v))
			}
			// Refused before it runs: no data, the error coded.
			resp, err := g.c.RawPost(tc.doc, opts...)
			if err != nil || resp.Data != nil || !strings.Contains(string(resp.Errors), `"code":"VALIDATION"`) || !strings.Contains(string(resp.Errors), "U+0000") {
				t.Errorf("%s: %v %+v", tc.doc, err, resp)
			}
		}
		if _, errs := g.raw(`{ appointments(filter: {partyId: "a\\u0000"}) { totalCount } }`, nil); errs != nil {
			t.Errorf("an escaped backslash before u0000 is text: %s", errs)
		}
	})
}

func TestAppointmentsConnectionAndPickers(t *testing.T) {
	t.Parallel()
	g := newClient(t)
	d := g.do(`query($from: Time!, $to: Time!) { availability(input: {category: "storeVisit", place: "store-paris-bastille", from: $from, to: $to}) { days { slots { start resources { resource { id } } } } } }`,
		map[string]any{"from": now.Format(time.RFC3339), "to": now.Add(7 * 24 * time.Hour).Format(time.RFC3339)})
	var slots []any
	for _, day := range get(d, "availability.days").([]any) {
		slots = append(slots, get(day, "slots").([]any)...)
	}
	if len(slots) < 5 {
		t.Fatalf("fewer than 5 store slots in a week: %v", d)
	}
	var booked []string
	for i, slot := range slots[:5] {
		d := g.do(`mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "storeVisit", place: "store-paris-bastille", resource: $r, start: $s}) { appointment { id } `+errFields+` } }`,
			map[string]any{"s": get(slot, "start"), "r": get(slot, "resources.0.resource.id")})
		id, _ := get(d, "bookAppointment.appointment.id").(string)
		if id == "" {
			t.Fatalf("book %d: %v", i, d)
		}
		booked = append(booked, id)
	}
	var seen []string
	after := ""
	for page := 0; page < 5; page++ {
		vars := map[string]any{}
		q := `query { appointments(filter: {category: "storeVisit", status: [INITIALIZED]}, first: 2) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`
		if after != "" {
			q = `query($a: String) { appointments(filter: {category: "storeVisit", status: [INITIALIZED]}, first: 2, after: $a) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`
			vars["a"] = after
		}
		d := g.do(q, vars)
		if get(d, "appointments.totalCount") != float64(5) {
			t.Fatalf("totalCount: %v", d)
		}
		for _, e := range get(d, "appointments.edges").([]any) {
			seen = append(seen, get(e, "node.id").(string))
		}
		if get(d, "appointments.pageInfo.hasNextPage") != true {
			break
		}
		after = get(d, "appointments.pageInfo.endCursor").(string)
	}
	if fmt.Sprint(seen) != fmt.Sprint(booked) {
		t.Fatalf("paged through %v, want %v in start order", seen, booked)
	}
	d = g.do(`{ appointments(filter: {status: [CANCELLED]}) { totalCount } }`, nil)
	if get(d, "appointments.totalCount") != float64(0) {
		t.Fatalf("status filter: %v", d)
	}

	d = g.do(`{ categories { id stepMinutes windows { start end } horizonDays } zones { id postCodes } places { id zone } resources(kind: "counter") { id capacity place } }`, nil)
	if len(get(d, "categories").([]any)) != len(demo.Data().Categories) || len(get(d, "zones").([]any)) == 0 || len(get(d, "resources").([]any)) != 12 {
		t.Fatalf("pickers: %v", d)
	}

	// Admin: a new category is usable at once.
	d = g.do(`mutation { upsertCategory(input: {id: "survey", name: "Survey", durationMinutes: 45, stepMinutes: 15, resourceKinds: ["technician"]}) { version `+errFields+` } }`, nil)
	if get(d, "upsertCategory.version") == nil {
		t.Fatalf("upsertCategory: %v", d)
	}
	d = g.do(`query($from: Time!, $to: Time!) { availability(input: {category: "survey", place: "75011", from: $from, to: $to}) { days { date } } }`,
		map[string]any{"from": now.Format(time.RFC3339), "to": now.Add(7 * 24 * time.Hour).Format(time.RFC3339)})
	if len(get(d, "availability.days").([]any)) == 0 {
		t.Fatalf("the new category has no slots: %v", d)
	}
}

// Lists cost their page size: a page of 100 with a rich selection is over the limit.
func TestListsCostTheirSize(t *testing.T) {
	t.Parallel()
	g := newClient(t)
	// Refused before execution: no data, the error coded.
	resp, err := g.c.RawPost(`{ appointments(first: 100) { edges { node { ` + apptFields + ` } } } }`)
	if err != nil || resp.Data != nil || !strings.Contains(string(resp.Errors), `"code":"COMPLEXITY_LIMIT_EXCEEDED"`) {
		t.Fatalf("err %v %+v", err, resp)
	}
	g.do(`{ appointments(first: 10) { edges { node { id status } } } }`, nil)
}

// countingService counts the reads that reach the service.
type countingService struct {
	resolvers.Service
	mu           sync.Mutex
	appointments int
	histories    int
}

func (c *countingService) Appointment(ctx context.Context, id string) (apphub.Appointment, error) {
	c.mu.Lock()
	c.appointments++
	c.mu.Unlock()
	return c.Service.Appointment(ctx, id)
}

func (c *countingService) History(ctx context.Context, id string) ([]apphub.Revision, error) {
	c.mu.Lock()
	c.histories++
	c.mu.Unlock()
	return c.Service.History(ctx, id)
}

// Aliases of one appointment are read once; histories under a list are read once per node, in
// one batch.
func TestLoadersBatchReads(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	svc := booking.NewService(db, booking.Options{Now: func() time.Time { return now }})
	ctx := ctxAs(admin)
	if err := svc.SaveCalendar(ctx, demo.Data(), nil); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		a, err := svc.Book(ctx, booking.NewAppointment{Start: now.Add(time.Duration(i) * time.Hour), End: now.Add(time.Duration(i+1) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	counting := &countingService{Service: svc}
	g := clientOf(t, resolvers.NewHandler(&resolvers.Resolver{Service: counting}, slog.New(slog.DiscardHandler), resolvers.Options{}), admin)
	g.do(`query($id: ID!) { a: appointment(id: $id) { id } b: appointment(id: $id) { status } c: appointment(id: $id) { version } }`, map[string]any{"id": ids[0]})
	if counting.appointments != 1 {
		t.Fatalf("3 aliases of one appointment read it %d times, want 1", counting.appointments)
	}
	d := g.do(`{ appointments { edges { node { id history { version } } } } }`, nil)
	if n := len(get(d, "appointments.edges").([]any)); n != 3 || counting.histories != 3 {
		t.Fatalf("%d nodes, %d history reads", n, counting.histories)
	}
}

// Automatic persisted queries: a hash alone is refused until the document was sent once, on
// any instance sharing the Redis cache.
func TestAutomaticPersistedQueries(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	newHandler := func() *client.Client {
		opts := resolvers.Options{QueryCache: rediscache.NewQueryCache(rdb, prefix, time.Hour)}
		return client.New(resolvers.WithPrincipal(resolvers.NewHandler(&resolvers.Resolver{Service: fakeHub{}, Version: "test"}, slog.New(slog.DiscardHandler), opts), customer))
	}
	a, b := newHandler(), newHandler()
	query := `{ hub { version } }`
	sum := sha256.Sum256([]byte(query))
	ext := client.Extensions(map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}})

	resp, err := b.RawPost("", ext)
	if err != nil || !strings.Contains(string(resp.Errors), "PERSISTED_QUERY_NOT_FOUND") {
		t.Fatalf("hash before registration: %v %s", err, resp.Errors)
	}
	if resp, err := a.RawPost(query, ext); err != nil || resp.Errors != nil {
		t.Fatalf("registration: %v %s", err, resp.Errors)
	}
	resp, err = b.RawPost("", ext)
	if err != nil || resp.Errors != nil || get(resp.Data, "hub.version") != "test" {
		t.Fatalf("hash on another instance: %v %s %v", err, resp.Errors, resp.Data)
	}
}

// fakeHub answers the hub query only.
type fakeHub struct{ resolvers.Service }

func (fakeHub) Installation(context.Context) (apphub.Installation, error) {
	return apphub.Installation{ID: "i", CreatedAt: now}, nil
}

// Searches stored through TMF646 are readable by channel apps.
func TestStoredSearches(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	svc := booking.NewService(db, booking.Options{Now: func() time.Time { return now }})
	ctx := ctxAs(admin)
	task, err := svc.CreateSearchTimeSlot(ctx, booking.NewSearchTimeSlot{Attributes: map[string]json.RawMessage{
		"relatedPlace": json.RawMessage(`{"role":"installationAddress","postCode":"75011"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	g := clientOf(t, resolvers.NewHandler(&resolvers.Resolver{Service: svc}, slog.New(slog.DiscardHandler), resolvers.Options{}), admin)
	d := g.do(`query($id: ID!) { searches { id status searchResult } search(id: $id) { id attributes searchDate } none: search(id: "nope") { id } }`, map[string]any{"id": task.ID})
	if get(d, "searches.0.id") != task.ID || get(d, "searches.0.status") != "done" || get(d, "none") != nil ||
		get(d, "search.attributes") != `{"relatedPlace":{"role":"installationAddress","postCode":"75011"}}` {
		t.Fatalf("%v", d)
	}
}

// The remaining mutations: update, fail, and the admin upserts that succeed.
func TestUpdateFailAndAdminMutations(t *testing.T) {
	t.Parallel()
	g := newClient(t)
	start, tech := g.firstRepairSlot()
	d := g.do(`mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) { appointment { id } `+errFields+` } }`,
		map[string]any{"s": start, "r": tech})
	id := get(d, "bookAppointment.appointment.id")
	d = g.do(`mutation($id: ID!) { updateAppointment(input: {id: $id, expectedVersion: 1, description: "bring a ladder",
		notes: [{author: "agent", text: "dog in the garden"}], contactMedia: [{type: "email", value: "a@example.com"}]}) {
		appointment { version description notes { author text } contactMedia { type value preferred } history { change fields } } `+errFields+` } }`, map[string]any{"id": id})
	if get(d, "updateAppointment.appointment.version") != float64(2) || get(d, "updateAppointment.appointment.notes.0.text") != "dog in the garden" ||
		get(d, "updateAppointment.appointment.contactMedia.0.preferred") != false || get(d, "updateAppointment.appointment.history.1.change") != "updated" {
		t.Fatalf("update: %v", d)
	}
	g.do(`mutation($id: ID!) { confirmAppointment(input: {id: $id}) { appointment { status } } }`, map[string]any{"id": id})
	d = g.do(`mutation($id: ID!) { failAppointment(input: {id: $id, reason: "no access"}) { appointment { status statusReason } `+errFields+` } }`, map[string]any{"id": id})
	if get(d, "failAppointment.appointment.status") != "FAILED" || get(d, "failAppointment.appointment.statusReason") != "no access" {
		t.Fatalf("fail: %v", d)
	}

	d = g.do(`mutation {
		h: upsertHolidayCalendar(input: {id: "holidays-lyon", region: "FR-69", dates: [{date: "2026-12-08", name: "Fête des Lumières"}]}) { version `+errFields+` }
		z: upsertZone(input: {id: "lyon-1", name: "Lyon 1", timeZone: "Europe/Paris", postCodes: ["69001"], holidayCalendar: "holidays-lyon"}) { version `+errFields+` }
		p: upsertPlace(input: {id: "store-lyon", name: "Boutique Lyon", timeZone: "Europe/Paris", zone: "lyon-1", postCode: "69001", city: "Lyon", country: "FR"}) { version `+errFields+` }
		r: upsertResource(input: {id: "tech-lyon-001", kind: "technician", name: "Léa", timeZone: "Europe/Paris", zones: ["lyon-1"], skills: ["fiber"],
			shifts: [{weekday: "MONDAY", start: "08:00", end: "17:00"}, {weekday: "TUESDAY", start: "22:00", durationMinutes: 480}],
			exceptions: [{kind: "absence", from: "2026-12-07T08:00", to: "2026-12-07T12:00"}], holidayCalendar: "holidays-lyon", bufferBeforeMinutes: 15}) { version `+errFields+` }
	}`, nil)
	for _, k := range []string{"h", "z", "p", "r"} {
		if get(d, k+".version") == nil || get(d, k+".error") != nil {
			t.Fatalf("%s: %v", k, d)
		}
	}
	d = g.do(`{ resources(zone: "lyon-1") { id capacity zones } places { id } zones { id } }`, nil)
	if get(d, "resources.0.id") != "tech-lyon-001" || get(d, "resources.0.capacity") != float64(1) {
		t.Fatalf("after the upserts: %v", d)
	}
}

// viewer tells each caller who the hub takes it for, and nobody that it is nobody.
func TestViewer(t *testing.T) {
	t.Parallel()
	g := newClient(t)
	agent := apphub.Principal{PartyID: "agent-7", Roles: []string{apphub.RoleAgent}, Resources: []string{"tech-paris-001"},
		Places: []string{"store-paris-bastille"}, Expires: now.Add(time.Hour)}
	const q = `{ viewer { partyId roles resources places parties expiresAt } }`
	tests := []struct {
		name string
		as   apphub.Principal
		want string
	}{
		{"anonymous", apphub.Principal{}, `null`},
		{"a customer, with a credential that does not expire", customer,
			`{"expiresAt":null,"parties":[],"partyId":"cust-1","places":[],"resources":[],"roles":["customer"]}`},
		{"an agent", agent, `{"expiresAt":"` + now.Add(time.Hour).UTC().Format(time.RFC3339) + `","parties":[],"partyId":"agent-7",` +
			`"places":["store-paris-bastille"],"resources":["tech-paris-001"],"roles":["agent"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := g.as(tt.as).do(q, nil)
			got, _ := json.Marshal(d["viewer"]) // keys sorted
			if string(got) != tt.want {
				t.Fatalf("viewer %s, want %s", got, tt.want)
			}
		})
	}
}
