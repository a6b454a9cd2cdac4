package tmfrest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	ical "github.com/arran4/golang-ical"

	"github.com/apphub/apphub/tmfrest"
)

// An appointment is also its iCalendar file, for a client that asks for text/calendar: the
// same event (UID) at every version, a higher SEQUENCE after each change, and CANCELLED once
// cancelled; JSON stays the default.
func TestAppointmentAsCalendarFile(t *testing.T) {
	t.Parallel()
	h := startHub(t, tmfrest.Options{})
	a := h.create("appointment", sample(t, "Appointment.example.json"))
	id := a["id"].(string)
	file := func() *ical.VEvent {
		t.Helper()
		req, _ := http.NewRequest("GET", h.url+"/tmf-api/appointment/v4/appointment/"+id, nil)
		req.Header.Set("Accept", "text/calendar, application/json;q=0.5")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), "appointment-"+id+".ics") || resp.Header.Get("ETag") == "" {
			t.Fatalf("%d %v: %s", resp.StatusCode, resp.Header, body)
		}
		cal, err := ical.ParseCalendar(strings.NewReader(string(body)))
		if err != nil || len(cal.Events()) != 1 {
			t.Fatalf("%v: %s", err, body)
		}
		return cal.Events()[0]
	}
	prop := func(e *ical.VEvent, p ical.ComponentProperty) string {
		if v := e.GetProperty(p); v != nil {
			return v.Value
		}
		return ""
	}
	first := file()
	if !strings.HasPrefix(prop(first, ical.ComponentPropertyUniqueId), id+"@") || prop(first, ical.ComponentPropertySequence) != "0" ||
		prop(first, ical.ComponentPropertyStatus) != "TENTATIVE" {
		t.Fatalf("first file: %s %s %s", prop(first, ical.ComponentPropertyUniqueId), prop(first, ical.ComponentPropertySequence), prop(first, ical.ComponentPropertyStatus))
	}
	h.want(h.do("PATCH", "/tmf-api/appointment/v4/appointment/"+id, `{"status":"cancelled"}`, "Content-Type", "application/merge-patch+json"), 200)
	after := file()
	if prop(after, ical.ComponentPropertyUniqueId) != prop(first, ical.ComponentPropertyUniqueId) || prop(after, ical.ComponentPropertyStatus) != "CANCELLED" ||
		prop(after, ical.ComponentPropertySequence) != "1" {
		t.Fatalf("after the cancellation: %s %s %s", prop(after, ical.ComponentPropertyUniqueId), prop(after, ical.ComponentPropertySequence), prop(after, ical.ComponentPropertyStatus))
	}
	// JSON without Accept, and when JSON comes first.
	for _, accept := range []string{"", "application/json, text/calendar", "text/calendar;q=0, */*"} {
		r := h.do("GET", "/tmf-api/appointment/v4/appointment/"+id, "", "Accept", accept)
		if r.status != 200 || r.object(t)["id"] != id {
			t.Errorf("Accept %q: %s", accept, r)
		}
	}
}
