package ics_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ical "github.com/arran4/golang-ical"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/ics"
)

const uid = "apt-1@apphub.example.com"

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// event is a confirmed two-hour repair at 09:00 in Paris on 2027-03-29, the day after the
// clocks went forward.
func event(t *testing.T) ics.Event {
	return ics.Event{
		Appointment: apphub.Appointment{
			ID:          "apt-1",
			Version:     2,
			Status:      apphub.StatusConfirmed,
			Start:       at("2027-03-29T07:00:00Z"),
			End:         at("2027-03-29T09:00:00Z"),
			Description: "Fibre installation",
		},
		Summary:   "Repair",
		Location:  "Boutique Opéra, 12 rue de la Paix, 75002 Paris",
		TimeZone:  zone(t, "Europe/Paris"),
		URL:       "https://apphub.example.com/appointments/apt-1",
		Organizer: "apphub.example.com",
		Now:       at("2027-03-01T10:00:00Z"),
	}
}

// render renders e and reads the file back with the library: the raw file, the calendar and
// its one event.
func render(t *testing.T, e ics.Event) (string, *ical.Calendar, *ical.VEvent) {
	t.Helper()
	b, err := ics.Render(e)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	cal, err := ical.ParseCalendar(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("ParseCalendar: %v\n%s", err, b)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("got %d events, want 1\n%s", len(events), b)
	}
	return string(b), cal, events[0]
}

// value returns the value of c's first property p and its TZID parameter, "-" when c has none.
func value(c *ical.ComponentBase, p ical.ComponentProperty) (v, tzid string) {
	prop := c.GetProperty(p)
	if prop == nil {
		return "-", ""
	}
	if ids := prop.ICalParameters["TZID"]; len(ids) > 0 {
		tzid = ids[0]
	}
	return prop.Value, tzid
}

// unfold joins folded lines, so that a property can be looked for on one line.
func unfold(raw string) string { return strings.ReplaceAll(raw, "\r\n ", "") }

func TestRenderCalendar(t *testing.T) {
	e := event(t)
	e.Now = at("2027-03-01T11:00:00+01:00")
	raw, cal, ev := render(t, e)

	props := map[string]string{}
	for _, p := range cal.CalendarProperties {
		props[p.IANAToken] = p.Value
	}
	for name, want := range map[string]string{"VERSION": "2.0", "METHOD": "PUBLISH", "CALSCALE": "GREGORIAN"} {
		if props[name] != want {
			t.Errorf("%s = %q, want %q", name, props[name], want)
		}
	}
	if !strings.Contains(props["PRODID"], "apphub") {
		t.Errorf("PRODID = %q, want it to name apphub", props["PRODID"])
	}
	if got, _ := value(&ev.ComponentBase, ical.ComponentPropertyUniqueId); got != uid {
		t.Errorf("UID = %q, want %q", got, uid)
	}
	if got, _ := value(&ev.ComponentBase, ical.ComponentPropertyDtstamp); got != "20270301T100000Z" {
		t.Errorf("DTSTAMP = %q, want the caller's clock in UTC, 20270301T100000Z", got)
	}
	// Readers look the zone up as they meet its TZID: it comes first.
	if strings.Index(raw, "BEGIN:VTIMEZONE") > strings.Index(raw, "BEGIN:VEVENT") {
		t.Errorf("VTIMEZONE after VEVENT:\n%s", raw)
	}
}

func TestRenderStatusAndSequence(t *testing.T) {
	tests := []struct {
		name     string
		status   string
		version  int
		start    string // UTC; "" keeps the event's
		sequence string
		want     string
		dtstart  string
	}{
		{"booked", apphub.StatusInitialized, 1, "", "0", "TENTATIVE", "20270329T090000"},
		{"confirmed", apphub.StatusConfirmed, 2, "", "1", "CONFIRMED", "20270329T090000"},
		{"rescheduled", apphub.StatusConfirmed, 3, "2027-04-02T12:00:00Z", "2", "CONFIRMED", "20270402T140000"},
		{"cancelled", apphub.StatusCancelled, 4, "2027-04-02T12:00:00Z", "3", "CANCELLED", "20270402T140000"},
		{"completed", apphub.StatusCompleted, 4, "2027-04-02T12:00:00Z", "3", "CONFIRMED", "20270402T140000"},
		{"failed", apphub.StatusFailed, 4, "2027-04-02T12:00:00Z", "3", "CONFIRMED", "20270402T140000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := event(t)
			e.Appointment.Status, e.Appointment.Version = tt.status, tt.version
			if tt.start != "" {
				e.Appointment.Start = at(tt.start)
				e.Appointment.End = e.Appointment.Start.Add(2 * time.Hour)
			}
			_, _, ev := render(t, e)
			for _, c := range []struct {
				prop ical.ComponentProperty
				want string
			}{
				{ical.ComponentPropertyUniqueId, uid},
				{ical.ComponentPropertySequence, tt.sequence},
				{ical.ComponentPropertyStatus, tt.want},
				{ical.ComponentPropertyDtStart, tt.dtstart},
			} {
				if got, _ := value(&ev.ComponentBase, c.prop); got != c.want {
					t.Errorf("%s = %q, want %q", c.prop, got, c.want)
				}
			}
		})
	}
}

func TestRescheduleRaisesSequence(t *testing.T) {
	before := event(t)
	after := event(t)
	after.Appointment.Version++
	after.Appointment.Start = at("2027-04-02T12:00:00Z")
	after.Appointment.End = at("2027-04-02T14:00:00Z")

	_, _, old := render(t, before)
	_, _, moved := render(t, after)
	oldUID, _ := value(&old.ComponentBase, ical.ComponentPropertyUniqueId)
	movedUID, _ := value(&moved.ComponentBase, ical.ComponentPropertyUniqueId)
	if oldUID != movedUID {
		t.Errorf("UID changed from %q to %q: calendar apps would add a second event", oldUID, movedUID)
	}
	oldSeq, _ := value(&old.ComponentBase, ical.ComponentPropertySequence)
	movedSeq, _ := value(&moved.ComponentBase, ical.ComponentPropertySequence)
	if oldSeq != "1" || movedSeq != "2" {
		t.Errorf("SEQUENCE went from %s to %s, want 1 to 2", oldSeq, movedSeq)
	}
}

func TestRenderTimes(t *testing.T) {
	tests := []struct {
		name       string
		zone       string // "" for time.UTC itself
		start, end string // UTC
		// The DTSTART and DTEND values and their TZID.
		dtstart, startTZID string
		dtend, endTZID     string
	}{
		{"Paris the day after the spring change", "Europe/Paris", "2027-03-29T07:00:00Z", "2027-03-29T09:00:00Z",
			"20270329T090000", "Europe/Paris", "20270329T110000", "Europe/Paris"},
		{"Paris the day before the spring change", "Europe/Paris", "2027-03-27T08:00:00Z", "2027-03-27T10:00:00Z",
			"20270327T090000", "Europe/Paris", "20270327T110000", "Europe/Paris"},
		{"Paris the day after the autumn change", "Europe/Paris", "2027-11-01T08:00:00Z", "2027-11-01T09:00:00Z",
			"20271101T090000", "Europe/Paris", "20271101T100000", "Europe/Paris"},
		{"New York the day before the autumn change", "America/New_York", "2027-11-06T13:00:00Z", "2027-11-06T14:30:00Z",
			"20271106T090000", "America/New_York", "20271106T103000", "America/New_York"},
		{"New York the day after the autumn change", "America/New_York", "2027-11-08T14:00:00Z", "2027-11-08T15:30:00Z",
			"20271108T090000", "America/New_York", "20271108T103000", "America/New_York"},
		{"Shanghai", "Asia/Shanghai", "2027-03-29T01:00:00Z", "2027-03-29T02:00:00Z",
			"20270329T090000", "Asia/Shanghai", "20270329T100000", "Asia/Shanghai"},
		{"a named UTC zone", "Etc/UTC", "2027-03-29T09:00:00Z", "2027-03-29T10:00:00Z",
			"20270329T090000", "Etc/UTC", "20270329T100000", "Etc/UTC"},
		{"UTC", "", "2027-03-29T09:00:00Z", "2027-03-29T10:00:00Z",
			"20270329T090000Z", "", "20270329T100000Z", ""},
		// 02:30 comes twice in Paris on 2027-10-31 (00:30Z and 01:30Z): local times would be ambiguous.
		{"Paris within the repeated hour", "Europe/Paris", "2027-10-31T00:30:00Z", "2027-10-31T01:30:00Z",
			"20271031T003000Z", "", "20271031T013000Z", ""},
		{"Paris ending within the repeated hour", "Europe/Paris", "2027-10-30T23:30:00Z", "2027-10-31T00:15:00Z",
			"20271031T013000", "Europe/Paris", "20271031T001500Z", ""},
		{"Paris just after the repeated hour", "Europe/Paris", "2027-10-31T02:00:00Z", "2027-10-31T03:00:00Z",
			"20271031T030000", "Europe/Paris", "20271031T040000", "Europe/Paris"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := event(t)
			e.TimeZone = time.UTC
			if tt.zone != "" {
				e.TimeZone = zone(t, tt.zone)
			}
			e.Appointment.Start, e.Appointment.End = at(tt.start), at(tt.end)
			_, cal, ev := render(t, e)

			v, tzid := value(&ev.ComponentBase, ical.ComponentPropertyDtStart)
			if v != tt.dtstart || tzid != tt.startTZID {
				t.Errorf("DTSTART = %q TZID %q, want %q TZID %q", v, tzid, tt.dtstart, tt.startTZID)
			}
			v, tzid = value(&ev.ComponentBase, ical.ComponentPropertyDtEnd)
			if v != tt.dtend || tzid != tt.endTZID {
				t.Errorf("DTEND = %q TZID %q, want %q TZID %q", v, tzid, tt.dtend, tt.endTZID)
			}
			// Read as instants, they are the appointment's.
			if start, err := ev.GetStartAt(); err != nil || !start.Equal(at(tt.start)) {
				t.Errorf("DTSTART reads as %v (%v), want %s", start, err, tt.start)
			}
			if end, err := ev.GetEndAt(); err != nil || !end.Equal(at(tt.end)) {
				t.Errorf("DTEND reads as %v (%v), want %s", end, err, tt.end)
			}

			var tzids []string
			for _, tz := range cal.Timezones() {
				id, _ := value(&tz.ComponentBase, ical.ComponentPropertyTzid)
				tzids = append(tzids, id)
			}
			wantTZIDs := []string{tt.zone}
			if tt.zone == "" {
				wantTZIDs = nil
			}
			if strings.Join(tzids, ",") != strings.Join(wantTZIDs, ",") {
				t.Errorf("VTIMEZONEs %q, want %q", tzids, wantTZIDs)
			}
		})
	}
}

type observance struct {
	kind                   string // STANDARD or DAYLIGHT
	dtstart, from, to, tzn string
}

func TestRenderTimeZone(t *testing.T) {
	tests := []struct {
		zone  string
		start string // UTC: the zone is described from a year before to a year after
		want  []observance
	}{
		{"Europe/Paris", "2027-03-29T07:00:00Z", []observance{
			{"DAYLIGHT", "20260329T020000", "+0100", "+0200", "CEST"},
			{"STANDARD", "20261025T030000", "+0200", "+0100", "CET"},
			{"DAYLIGHT", "20270328T020000", "+0100", "+0200", "CEST"},
			{"STANDARD", "20271031T030000", "+0200", "+0100", "CET"},
			{"DAYLIGHT", "20280326T020000", "+0100", "+0200", "CEST"},
		}},
		{"America/New_York", "2027-11-08T14:00:00Z", []observance{
			{"STANDARD", "20261101T020000", "-0400", "-0500", "EST"},
			{"DAYLIGHT", "20270314T020000", "-0500", "-0400", "EDT"},
			{"STANDARD", "20271107T020000", "-0400", "-0500", "EST"},
			{"DAYLIGHT", "20280312T020000", "-0500", "-0400", "EDT"},
			{"STANDARD", "20281105T020000", "-0400", "-0500", "EST"},
		}},
		// China last changed its clocks in 1991.
		{"Asia/Shanghai", "2027-03-29T01:00:00Z", []observance{
			{"STANDARD", "19910915T020000", "+0900", "+0800", "CST"},
		}},
		{"Etc/UTC", "2027-03-29T09:00:00Z", []observance{
			{"STANDARD", "19700101T000000", "+0000", "+0000", "UTC"},
		}},
		{"Asia/Kolkata", "2027-03-29T03:30:00Z", []observance{
			{"STANDARD", "19451015T000000", "+0630", "+0530", "IST"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			e := event(t)
			e.TimeZone = zone(t, tt.zone)
			e.Appointment.Start = at(tt.start)
			e.Appointment.End = e.Appointment.Start.Add(time.Hour)
			_, cal, _ := render(t, e)

			timezones := cal.Timezones()
			if len(timezones) != 1 {
				t.Fatalf("got %d VTIMEZONEs, want 1", len(timezones))
			}
			if id, _ := value(&timezones[0].ComponentBase, ical.ComponentPropertyTzid); id != tt.zone {
				t.Errorf("TZID = %q, want %q", id, tt.zone)
			}
			var got []observance
			for _, c := range timezones[0].Components {
				var o observance
				var base *ical.ComponentBase
				switch c := c.(type) {
				case *ical.Standard:
					o.kind, base = "STANDARD", &c.ComponentBase
				case *ical.Daylight:
					o.kind, base = "DAYLIGHT", &c.ComponentBase
				default:
					t.Fatalf("unexpected component %T in VTIMEZONE", c)
				}
				o.dtstart, _ = value(base, ical.ComponentPropertyDtStart)
				o.from, _ = value(base, ical.ComponentProperty(ical.PropertyTzoffsetfrom))
				o.to, _ = value(base, ical.ComponentProperty(ical.PropertyTzoffsetto))
				o.tzn, _ = value(base, ical.ComponentProperty(ical.PropertyTzname))
				got = append(got, o)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("observances:\n got %v\nwant %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("observance %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestRenderText(t *testing.T) {
	tests := []struct {
		name string
		edit func(*ics.Event)
		prop ical.ComponentProperty
		raw  string // the unfolded line; "" when the property must be absent
		want string // the value read back
	}{
		{"commas, semicolons and newlines",
			func(e *ics.Event) { e.Appointment.Description = "Fibre, 2nd floor; ring twice\nCode: 1234" },
			ical.ComponentPropertyDescription,
			`DESCRIPTION:Fibre\, 2nd floor\; ring twice\nCode: 1234\n\nAppointment apt-1`,
			"Fibre, 2nd floor; ring twice\nCode: 1234\n\nAppointment apt-1"},
		{"backslashes",
			func(e *ics.Event) { e.Appointment.Description = `a\b` },
			ical.ComponentPropertyDescription,
			`DESCRIPTION:a\\b\n\nAppointment apt-1`,
			"a\\b\n\nAppointment apt-1"},
		{"carriage returns cannot start a property",
			func(e *ics.Event) { e.Appointment.Description = "one\r\ntwo\rSTATUS:CANCELLED" },
			ical.ComponentPropertyDescription,
			`DESCRIPTION:one\ntwo\nSTATUS:CANCELLED\n\nAppointment apt-1`,
			"one\ntwo\nSTATUS:CANCELLED\n\nAppointment apt-1"},
		{"control characters are dropped, tabs kept",
			func(e *ics.Event) { e.Appointment.Description = "bell\x07\tend\x00" },
			ical.ComponentPropertyDescription,
			"DESCRIPTION:bell\tend\\n\\nAppointment apt-1",
			"bell\tend\n\nAppointment apt-1"},
		{"no description",
			func(e *ics.Event) { e.Appointment.Description = "" },
			ical.ComponentPropertyDescription,
			"DESCRIPTION:Appointment apt-1",
			"Appointment apt-1"},
		{"summary",
			func(e *ics.Event) { e.Summary = "Repair; urgent, fibre" },
			ical.ComponentPropertySummary,
			`SUMMARY:Repair\; urgent\, fibre`,
			"Repair; urgent, fibre"},
		{"no summary",
			func(e *ics.Event) { e.Summary = "" },
			ical.ComponentPropertySummary,
			"SUMMARY:Appointment",
			"Appointment"},
		{"location",
			func(*ics.Event) {},
			ical.ComponentPropertyLocation,
			`LOCATION:Boutique Opéra\, 12 rue de la Paix\, 75002 Paris`,
			"Boutique Opéra, 12 rue de la Paix, 75002 Paris"},
		{"no location",
			func(e *ics.Event) { e.Location = "" },
			ical.ComponentPropertyLocation, "", "-"},
		{"a URL is not text: its commas stay",
			func(e *ics.Event) { e.URL = "https://apphub.example.com/a?ids=1,2" },
			ical.ComponentPropertyUrl,
			"URL:https://apphub.example.com/a?ids=1,2",
			"https://apphub.example.com/a?ids=1,2"},
		{"no URL",
			func(e *ics.Event) { e.URL = "" },
			ical.ComponentPropertyUrl, "", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := event(t)
			tt.edit(&e)
			raw, _, ev := render(t, e)
			lines := strings.Split(unfold(raw), "\r\n")
			prefix := string(tt.prop) + ":"
			var line string
			for _, l := range lines {
				if strings.HasPrefix(l, prefix) {
					line = l
				}
			}
			if line != tt.raw {
				t.Errorf("line %q, want %q", line, tt.raw)
			}
			if got, _ := value(&ev.ComponentBase, tt.prop); got != tt.want {
				t.Errorf("%s reads back as %q, want %q", tt.prop, got, tt.want)
			}
			if got, _ := value(&ev.ComponentBase, ical.ComponentPropertyStatus); got != "CONFIRMED" {
				t.Errorf("STATUS = %q, want CONFIRMED", got)
			}
		})
	}
}

func TestRenderFoldsLines(t *testing.T) {
	e := event(t)
	e.Appointment.Description = strings.Repeat("Installation de la fibre optique au 3ème étage 🏢, ", 8)
	raw, _, ev := render(t, e)

	if !strings.HasSuffix(raw, "END:VCALENDAR\r\n") {
		t.Errorf("file does not end with END:VCALENDAR and CRLF: %q", raw[max(0, len(raw)-20):])
	}
	if n, crlf := strings.Count(raw, "\n"), strings.Count(raw, "\r\n"); n != crlf || strings.Count(raw, "\r") != crlf {
		t.Errorf("%d line feeds and %d carriage returns for %d CRLFs", n, strings.Count(raw, "\r"), crlf)
	}
	folded := 0
	for i, line := range strings.Split(strings.TrimSuffix(raw, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line %d is %d octets: %q", i, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Errorf("line %d splits a character: %q", i, line)
		}
		if strings.HasPrefix(line, " ") {
			folded++
		}
	}
	if folded < 5 {
		t.Errorf("%d continuation lines, want the long description folded:\n%s", folded, raw)
	}
	want := e.Appointment.Description + "\n\nAppointment apt-1"
	if got, _ := value(&ev.ComponentBase, ical.ComponentPropertyDescription); got != want {
		t.Errorf("DESCRIPTION reads back as\n%q\nwant\n%q", got, want)
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*ics.Event)
		field string
	}{
		{"no start", func(e *ics.Event) { e.Appointment.Start = time.Time{} }, "appointment.start"},
		{"no end", func(e *ics.Event) { e.Appointment.End = time.Time{} }, "appointment.end"},
		{"end before start", func(e *ics.Event) { e.Appointment.End = e.Appointment.Start.Add(-time.Hour) }, "appointment.end"},
		{"end at start", func(e *ics.Event) { e.Appointment.End = e.Appointment.Start }, "appointment.end"},
		{"no zone", func(e *ics.Event) { e.TimeZone = nil }, "timeZone"},
		{"the host's zone", func(e *ics.Event) { e.TimeZone = time.Local }, "timeZone"},
		{"no id", func(e *ics.Event) { e.Appointment.ID = "" }, "appointment.id"},
		{"version 0", func(e *ics.Event) { e.Appointment.Version = 0 }, "appointment.version"},
		{"unknown status", func(e *ics.Event) { e.Appointment.Status = "postponed" }, "appointment.status"},
		{"no organizer", func(e *ics.Event) { e.Organizer = "" }, "organizer"},
		{"organizer with a line break", func(e *ics.Event) { e.Organizer = "example.com\r\nX-EVIL:1" }, "organizer"},
		{"no clock", func(e *ics.Event) { e.Now = time.Time{} }, "now"},
		{"URL with a line break", func(e *ics.Event) { e.URL = "https://example.com/\r\nSTATUS:CANCELLED" }, "url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := event(t)
			tt.edit(&e)
			b, err := ics.Render(e)
			if err == nil {
				t.Fatalf("Render succeeded:\n%s", b)
			}
			if code := apphub.ErrorCode(err); code != apphub.EINVALID {
				t.Errorf("code %s, want %s (%v)", code, apphub.EINVALID, err)
			}
			var appErr *apphub.Error
			if errors.As(err, &appErr) && appErr.Field != tt.field {
				t.Errorf("field %q, want %q (%v)", appErr.Field, tt.field, err)
			}
		})
	}
}
