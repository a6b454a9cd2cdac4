// Package ics renders an appointment as an iCalendar file (RFC 5545), for customers to put in
// their calendar apps and for those apps to keep up with its changes.
package ics

import (
	"bytes"
	"net/url"
	"strings"
	"time"
	"unicode"

	ical "github.com/arran4/golang-ical"

	"github.com/apphub/apphub"
)

// ContentType is the media type of what Render returns.
const ContentType = "text/calendar; charset=utf-8"

// Event is what the file says about one appointment.
type Event struct {
	Appointment apphub.Appointment
	Summary     string         // the title, e.g. the category's name ("Repair"); "Appointment" when empty
	Location    string         // the place's address or name; "" when none
	TimeZone    *time.Location // where it happens: DTSTART and DTEND are local times there, with its TZID
	URL         string         // where the customer manages it; "" when none
	Organizer   string         // host name, e.g. "apphub.example.com": it scopes the UID and names PRODID
	Now         time.Time      // DTSTAMP: when the file is made
}

// Render returns the iCalendar file of e: one published VEVENT, and a VTIMEZONE for its zone
// unless the zone is UTC. Its UID is the same for every version of the appointment and its
// SEQUENCE grows with each change, so a calendar app updates the event it already has,
// cancellation included. Lines end in CRLF and are folded at 75 octets.
func Render(e Event) ([]byte, error) {
	if err := e.validate(); err != nil {
		return nil, err
	}
	a := e.Appointment
	status, err := eventStatus(a.Status)
	if err != nil {
		return nil, err
	}

	cal := ical.NewCalendar()
	cal.SetProductId(text("-//" + e.Organizer + "//apphub//EN"))
	cal.SetMethod(ical.MethodPublish)
	cal.SetCalscale("GREGORIAN")
	if e.TimeZone != time.UTC {
		cal.AddVTimezone(vtimezone(e.TimeZone, a.Start))
	}

	ev := cal.AddEvent(text(a.ID + "@" + e.Organizer))
	ev.SetDtStampTime(e.Now.UTC())
	// Every change of an appointment makes a new version, starting at 1; SEQUENCE starts at 0.
	ev.SetSequence(a.Version - 1)
	ev.SetStatus(status)
	// Not SetStartAt and SetEndAt: this version of the library writes them in UTC whatever the
	// zone, even beside a TZID.
	start, params := dateTime(a.Start, e.TimeZone)
	ev.SetProperty(ical.ComponentPropertyDtStart, start, params...)
	end, params := dateTime(a.End, e.TimeZone)
	ev.SetProperty(ical.ComponentPropertyDtEnd, end, params...)
	summary := e.Summary
	if summary == "" {
		summary = "Appointment"
	}
	ev.SetSummary(text(summary))
	if e.Location != "" {
		ev.SetLocation(text(e.Location))
	}
	ev.SetDescription(text(description(a)))
	if e.URL != "" {
		ev.SetURL(e.URL)
	}

	var b bytes.Buffer
	// The library ends lines with the host's newline unless told otherwise; RFC 5545 wants CRLF.
	if err := cal.SerializeTo(&b, ical.WithNewLineWindows); err != nil {
		return nil, apphub.WrapError(apphub.EINTERNAL, err, "cannot write the calendar file")
	}
	return b.Bytes(), nil
}

func (e *Event) validate() error {
	a := &e.Appointment
	switch {
	case a.ID == "":
		return apphub.FieldError("appointment.id", "is required")
	case a.Version < 1:
		return apphub.FieldError("appointment.version", "must be at least 1, got %d", a.Version)
	case a.Start.IsZero():
		return apphub.FieldError("appointment.start", "is required")
	case a.End.IsZero():
		return apphub.FieldError("appointment.end", "is required")
	case !a.End.After(a.Start):
		return apphub.FieldError("appointment.end", "must be after start")
	case e.TimeZone == nil:
		return apphub.FieldError("timeZone", "is required")
	case e.TimeZone == time.Local:
		// Local names no zone a reader could look up, and its rules are the host's.
		return apphub.FieldError("timeZone", "must be an IANA time zone, not Local")
	case e.Organizer == "" || strings.ContainsFunc(e.Organizer, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return apphub.FieldError("organizer", "must be a host name, got %q", e.Organizer)
	case e.Now.IsZero():
		return apphub.FieldError("now", "is required")
	}
	if e.URL != "" {
		// The library writes a URI as it is: a line break in it would start a property of its own.
		if _, err := url.Parse(e.URL); err != nil {
			return apphub.FieldError("url", "must be a URL, got %q", e.URL)
		}
	}
	return nil
}

// eventStatus maps an appointment status to a VEVENT STATUS. An appointment that completed or
// failed still took its time, so it stays in the calendar as it was confirmed.
func eventStatus(s string) (ical.ObjectStatus, error) {
	switch s {
	case apphub.StatusInitialized:
		return ical.ObjectStatusTentative, nil
	case apphub.StatusConfirmed, apphub.StatusCompleted, apphub.StatusFailed:
		return ical.ObjectStatusConfirmed, nil
	case apphub.StatusCancelled:
		return ical.ObjectStatusCancelled, nil
	}
	return "", apphub.FieldError("appointment.status", "%q is not an appointment status", s)
}

// description is the appointment's own description followed by its id, which the customer
// can quote to the operator.
func description(a apphub.Appointment) string {
	ref := "Appointment " + a.ID
	if a.Description == "" {
		return ref
	}
	return a.Description + "\n\n" + ref
}

// text makes s fit a TEXT value. The library escapes backslashes, commas, semicolons and
// newlines, but a carriage return or another control character would break the file's lines,
// so line breaks become newlines and other control characters (but tabs) are dropped.
func text(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}

// dateTime returns the DATE-TIME value of t and its parameters: its local time in loc with
// loc's TZID, or its UTC time when loc is UTC or when loc's clock shows that local time twice
// (RFC 5545 readers take the first instant, Go's time.Date may take the other: only UTC names it
// for every reader).
func dateTime(t time.Time, loc *time.Location) (string, []ical.PropertyParameter) {
	local := t.In(loc)
	if loc == time.UTC || repeated(local) {
		return t.UTC().Format("20060102T150405Z"), nil
	}
	return local.Format("20060102T150405"), []ical.PropertyParameter{ical.WithTZID(loc.String())}
}
