package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ical "github.com/arran4/golang-ical"

	"github.com/apphub/apphub"
)

// A customer asks GraphQL for its appointment's calendar file and gets a link that a calendar
// app fetches with no credential: the event at the place's local time with its zone, the same
// UID after a reschedule with a higher SEQUENCE, CANCELLED once cancelled; another customer
// gets no link, and a link that is not one finds nothing.
func TestCalendarFileLink(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil)
	if err := loadDemo(context.Background(), h.hub.svc, h.hub.logger, nil); err != nil {
		t.Fatal(err)
	}
	cust := h.token(t, "cust-ics", apphub.RoleCustomer)
	start, tech, _ := firstSlot(t, h)
	d := gql(t, h.url, cust, `mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) {
		appointment { id } } }`, map[string]any{"s": start, "r": tech})
	id := dig(d, "bookAppointment", "appointment", "id").(string)

	event := func() *ical.VEvent {
		t.Helper()
		d := gql(t, h.url, cust, `query($id: ID!) { appointment(id: $id) { calendarFile { url expiresAt } } }`, map[string]any{"id": id})
		link, _ := dig(d, "appointment", "calendarFile", "url").(string)
		if !strings.HasPrefix(link, "/calendar/") || !strings.HasSuffix(link, ".ics") || dig(d, "appointment", "calendarFile", "expiresAt") == nil {
			t.Fatalf("calendarFile: %v", d)
		}
		resp, err := http.Get(h.url + link) // no credential: the link is one
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %v: %s", resp.StatusCode, resp.Header, body)
		}
		cal, err := ical.ParseCalendar(strings.NewReader(string(body)))
		if err != nil || len(cal.Events()) != 1 {
			t.Fatalf("%v: %s", err, body)
		}
		return cal.Events()[0]
	}
	prop := func(e *ical.VEvent, p ical.ComponentProperty) (string, map[string][]string) {
		if v := e.GetProperty(p); v != nil {
			return v.Value, v.ICalParameters
		}
		return "", nil
	}
	first := event()
	uid, _ := prop(first, ical.ComponentPropertyUniqueId)
	dtstart, params := prop(first, ical.ComponentPropertyDtStart)
	if got, _ := first.GetStartAt(); !strings.HasPrefix(uid, id+"@") || strings.Join(params["TZID"], "") != "Europe/Paris" || strings.HasSuffix(dtstart, "Z") ||
		got.UTC().Format("2006-01-02T15:04:05Z") != start {
		t.Fatalf("first file: UID %s DTSTART %s %v (%v), want %s in Paris", uid, dtstart, params, got, start)
	}

	// Rescheduled: the same event, a higher SEQUENCE; then cancelled.
	s0, _ := time.Parse(time.RFC3339, start)
	next, nextTech, _ := firstSlotFrom(t, h, s0.Add(72*time.Hour))
	d = gql(t, h.url, cust, `mutation($id: ID!, $s: Time!, $r: ID!) { rescheduleAppointment(input: {id: $id, expectedVersion: 1, start: $s, resource: $r}) { appointment { version } } }`,
		map[string]any{"id": id, "s": next, "r": nextTech})
	if dig(d, "rescheduleAppointment", "appointment", "version") != float64(2) {
		t.Fatalf("reschedule: %v", d)
	}
	moved := event()
	if u, _ := prop(moved, ical.ComponentPropertyUniqueId); u != uid {
		t.Fatalf("UID %s after the reschedule, was %s", u, uid)
	}
	if seq, _ := prop(moved, ical.ComponentPropertySequence); seq != "1" {
		t.Fatalf("SEQUENCE %s after the reschedule", seq)
	}
	gql(t, h.url, cust, `mutation($id: ID!) { cancelAppointment(input: {id: $id, expectedVersion: 2, reason: "away"}) { appointment { status } } }`, map[string]any{"id": id})
	if status, _ := prop(event(), ical.ComponentPropertyStatus); status != "CANCELLED" {
		t.Fatalf("STATUS %s after the cancellation", status)
	}

	other := h.token(t, "cust-other", apphub.RoleCustomer)
	if d, codes := gqlAnswer(t, h.url, other, `query($id: ID!) { appointment(id: $id) { calendarFile { url } } }`, map[string]any{"id": id}); dig(d, "appointment") != nil {
		t.Errorf("another customer: %v %v", d, codes)
	}
	for _, link := range []string{"/calendar/nope.ics", "/calendar/" + id + ".ics", "/calendar/x"} {
		if resp, err := http.Get(h.url + link); err != nil || resp.StatusCode != 404 {
			t.Errorf("%s: %v %v", link, resp.Status, err)
		}
	}
}

// A calendar link may be fetched by anyone holding it until it expires: each fetch spends the
// address's search budget, and a spent one answers 429 with Retry-After.
func TestCalendarFileFetchesSpendABudget(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil, "--rate-search", "3/m:3")
	if err := loadDemo(context.Background(), h.hub.svc, h.hub.logger, nil); err != nil {
		t.Fatal(err)
	}
	admin := h.token(t, adminParty, apphub.RoleAdmin)
	start, tech, _ := firstSlot(t, h)
	d := gql(t, h.url, admin, `mutation($s: Time!, $r: ID!) { bookAppointment(input: {customer: "cust-rate", category: "repair", place: "75011", resource: $r, start: $s}) {
		appointment { calendarFile { url } } } }`, map[string]any{"s": start, "r": tech})
	link := dig(d, "bookAppointment", "appointment", "calendarFile", "url").(string)
	for i := range 4 {
		resp, err := http.Get(h.url + link)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case i < 3 && resp.StatusCode != 200:
			t.Fatalf("fetch %d: %d %s", i+1, resp.StatusCode, body)
		case i == 3 && (resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || strings.Contains(string(body), "BEGIN:VCALENDAR")):
			t.Fatalf("fetch %d past the budget: %d %v %s", i+1, resp.StatusCode, resp.Header, body)
		}
	}
}
