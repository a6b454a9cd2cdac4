package ics

import (
	"net/url"
	"strings"
	"time"

	"github.com/apphub/apphub"
)

// EventOf is the Event of a, with what cal says of it: the category's name as the title, and
// where it happens — a managed place (its zone and address), else the zone of its postcode,
// else its resource's zone; UTC for a record that names none of them.
func EventOf(cal *apphub.Calendar, a apphub.Appointment, organizer, url string, now time.Time) Event {
	e := Event{Appointment: a, Organizer: organizer, URL: url, Now: now, TimeZone: time.UTC}
	if c, ok := cal.Category(a.Category); ok {
		e.Summary = c.Name
	}
	zone := ""
	if p, ok := cal.Place(a.Place); ok {
		zone = p.TimeZone
		var parts []string
		for _, s := range []string{p.Name, p.Street, strings.TrimSpace(p.PostCode + " " + p.City)} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		e.Location = strings.Join(parts, ", ")
	} else if z, ok := cal.ZoneOfPostCode(a.Place); ok {
		zone, e.Location = z.TimeZone, a.Place
	} else if r, ok := cal.Resource(a.Resource); ok {
		zone = r.TimeZone
	}
	if loc := cal.Location(zone); loc != nil {
		e.TimeZone = loc
	}
	return e
}

// File is the calendar file of a as a hub at base (its public URL, e.g.
// https://hub.example.com) serves it: the hub's host scopes the UID, the link is the
// appointment's page in the web app, and DTSTAMP is the appointment's last change, so that a
// version's file is the same whenever it is fetched.
func File(cal *apphub.Calendar, a apphub.Appointment, base string) ([]byte, error) {
	organizer := "apphub"
	if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
		organizer = u.Hostname()
	}
	return Render(EventOf(cal, a, organizer, strings.TrimRight(base, "/")+"/appointment/"+a.ID, a.UpdatedAt))
}

// Filename is the name a calendar file of a is saved under.
func Filename(a apphub.Appointment) string { return "appointment-" + a.ID + ".ics" }
