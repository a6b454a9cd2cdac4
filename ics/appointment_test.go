package ics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/ics"
)

func TestEventOf(t *testing.T) {
	cal, err := apphub.NewCalendar(demo.Data())
	if err != nil {
		t.Fatal(err)
	}
	store, _ := cal.Place("store-paris-bastille")
	tech := cal.Resources()[0]
	now := time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                    string
		a                       apphub.Appointment
		summary, zone, location string
	}{
		{"at a store", apphub.Appointment{Category: "storeVisit", Place: store.ID}, "", store.TimeZone, store.Name},
		{"at a postcode", apphub.Appointment{Category: "repair", Place: "75011"}, "", "Europe/Paris", "75011"},
		{"a resource's record", apphub.Appointment{Resource: tech.ID}, "", tech.TimeZone, ""},
		{"a record of nothing", apphub.Appointment{}, "", "UTC", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ics.EventOf(cal, tc.a, "hub.example", "https://hub.example/x", now)
			if e.TimeZone.String() != tc.zone || (tc.location != "" && !strings.Contains(e.Location, tc.location)) || (tc.location == "" && e.Location != "") {
				t.Errorf("zone %s location %q, want %s and %q", e.TimeZone, e.Location, tc.zone, tc.location)
			}
			if c, ok := cal.Category(tc.a.Category); ok && e.Summary != c.Name {
				t.Errorf("summary %q, want %q", e.Summary, c.Name)
			}
			if e.Organizer != "hub.example" || e.URL != "https://hub.example/x" || !e.Now.Equal(now) {
				t.Errorf("%+v", e)
			}
		})
	}
}
