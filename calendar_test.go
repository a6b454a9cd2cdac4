package apphub_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// wantField checks that err is an EINVALID *apphub.Error naming field ("" means no error).
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	e, ok := errors.AsType[*apphub.Error](err)
	if !ok || e.Code != apphub.EINVALID || e.Field != field {
		t.Fatalf("error %v, want %s on field %q", err, apphub.EINVALID, field)
	}
	if e.Message == "" {
		t.Fatalf("error on %s has no message", field)
	}
}

func validResource() apphub.Resource {
	return apphub.Resource{
		ID: "tech-paris-007", Kind: apphub.KindTechnician, Name: "Camille", TimeZone: "Europe/Paris",
		Zones: []string{"paris-3"}, Skills: []string{"fiber"},
		Shifts: []apphub.Shift{
			{Weekday: time.Monday, Start: "08:00", End: "17:00"},
			{Weekday: time.Friday, Start: "22:00", Duration: 8 * time.Hour},
		},
		BufferBefore: 15 * time.Minute,
	}
}

func TestResourceValidate(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(r *apphub.Resource)
		wantField string
	}{
		{"valid", func(r *apphub.Resource) {}, ""},
		{"missing id", func(r *apphub.Resource) { r.ID = "" }, "id"},
		{"missing kind", func(r *apphub.Resource) { r.Kind = "" }, "kind"},
		{"missing time zone", func(r *apphub.Resource) { r.TimeZone = "" }, "timeZone"},
		{"unknown time zone", func(r *apphub.Resource) { r.TimeZone = "Europe/Atlantis" }, "timeZone"},
		{"host-dependent time zone", func(r *apphub.Resource) { r.TimeZone = "Local" }, "timeZone"},
		{"negative capacity", func(r *apphub.Resource) { r.Capacity = -1 }, "capacity"},
		{"capacity beyond the seats a claim can name", func(r *apphub.Resource) { r.Capacity = apphub.MaxCapacity + 1 }, "capacity"},
		{"capacity 0 means 1", func(r *apphub.Resource) { r.Capacity = 0 }, ""},
		{"buffer not whole quanta", func(r *apphub.Resource) { r.BufferBefore = 10 * time.Minute }, "bufferBefore"},
		{"negative buffer", func(r *apphub.Resource) { r.BufferAfter = -15 * time.Minute }, "bufferAfter"},
		{"empty skill", func(r *apphub.Resource) { r.Skills = []string{"fiber", ""} }, "skills[1]"},
		{"duplicate zone", func(r *apphub.Resource) { r.Zones = []string{"paris-3", "paris-3"} }, "zones[1]"},
		{"shift start not HH:MM", func(r *apphub.Resource) { r.Shifts[0].Start = "8:00" }, "shifts[0].start"},
		{"shift start off the quantum", func(r *apphub.Resource) { r.Shifts[0].Start = "08:10" }, "shifts[0].start"},
		{"shift start 24:00", func(r *apphub.Resource) { r.Shifts[0].Start = "24:00" }, "shifts[0].start"},
		{"shift with end and duration", func(r *apphub.Resource) { r.Shifts[0].Duration = time.Hour }, "shifts[0].end"},
		{"shift with neither end nor duration", func(r *apphub.Resource) { r.Shifts[0].End = "" }, "shifts[0].end"},
		{"shift duration not whole quanta", func(r *apphub.Resource) { r.Shifts[1].Duration = 100 * time.Minute }, "shifts[1].duration"},
		{"shift longer than a day", func(r *apphub.Resource) { r.Shifts[1].Duration = 25 * time.Hour }, "shifts[1].duration"},
		{"shift end equal to start", func(r *apphub.Resource) { r.Shifts[0].End = "08:00" }, "shifts[0].end"},
		{"shift end 24:00", func(r *apphub.Resource) { r.Shifts[0].End = "24:00" }, ""},
		{"shift weekday out of range", func(r *apphub.Resource) { r.Shifts[0].Weekday = 7 }, "shifts[0].weekday"},
		{"overlapping shifts on one day", func(r *apphub.Resource) {
			r.Shifts = append(r.Shifts, apphub.Shift{Weekday: time.Monday, Start: "16:00", End: "18:00"})
		}, "shifts[2]"},
		{"night shift overlapping the next morning", func(r *apphub.Resource) {
			r.Shifts = append(r.Shifts, apphub.Shift{Weekday: time.Saturday, Start: "05:00", End: "09:00"})
		}, "shifts[2]"},
		{"night shift ending when the next begins", func(r *apphub.Resource) {
			r.Shifts = append(r.Shifts, apphub.Shift{Weekday: time.Saturday, Start: "06:00", End: "09:00"})
		}, ""},
		{"Saturday night into Sunday overlaps Sunday's shift", func(r *apphub.Resource) {
			r.Shifts = []apphub.Shift{
				{Weekday: time.Sunday, Start: "00:00", End: "04:00"},
				{Weekday: time.Saturday, Start: "22:00", End: "02:00"},
			}
		}, "shifts[1]"},
		{"exception of unknown kind", func(r *apphub.Resource) {
			r.Exceptions = []apphub.Exception{{Kind: "vacation", From: "2026-08-03T00:00", To: "2026-08-22T00:00"}}
		}, "exceptions[0].kind"},
		{"exception ending before it starts", func(r *apphub.Resource) {
			r.Exceptions = []apphub.Exception{{Kind: apphub.ExceptionAbsence, From: "2026-08-03T10:00", To: "2026-08-03T09:00"}}
		}, "exceptions[0].to"},
		{"exception off the quantum", func(r *apphub.Resource) {
			r.Exceptions = []apphub.Exception{{Kind: apphub.ExceptionOpening, From: "2026-08-03T10:05", To: "2026-08-03T11:00"}}
		}, "exceptions[0].from"},
		{"exception with a zone suffix", func(r *apphub.Resource) {
			r.Exceptions = []apphub.Exception{{Kind: apphub.ExceptionOpening, From: "2026-08-03T10:00Z", To: "2026-08-03T11:00"}}
		}, "exceptions[0].from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validResource()
			tt.edit(&r)
			wantField(t, r.Validate(), tt.wantField)
		})
	}
}

func TestShiftSpan(t *testing.T) {
	tests := []struct {
		shift       apphub.Shift
		start, span int
	}{
		{apphub.Shift{Start: "08:00", End: "17:00"}, 480, 540},
		{apphub.Shift{Start: "22:00", End: "06:00"}, 1320, 480},
		{apphub.Shift{Start: "22:00", Duration: 8 * time.Hour}, 1320, 480},
		{apphub.Shift{Start: "00:00", Duration: 24 * time.Hour}, 0, 1440},
		{apphub.Shift{Start: "18:00", End: "24:00"}, 1080, 360},
	}
	for _, tt := range tests {
		start, span, err := tt.shift.Span()
		if err != nil || start != tt.start || span != tt.span {
			t.Errorf("%+v: %d, %d, %v; want %d, %d", tt.shift, start, span, err, tt.start, tt.span)
		}
	}
}

func validCategory() apphub.Category {
	return apphub.Category{
		ID: "installation", Name: "Fibre installation", Duration: 2 * time.Hour, RequiredSkills: []string{"fiber"},
		ResourceKinds: []string{apphub.KindTechnician},
		Windows:       []apphub.Window{{Start: "08:00", End: "12:00"}, {Start: "13:00", End: "17:00"}},
		MinNotice:     24 * time.Hour, Horizon: 60 * 24 * time.Hour,
	}
}

// crew turns the valid category into a crew job (two fiber technicians and a splicer, every
// hour), then applies edit.
func crew(edit func(c *apphub.Category)) func(c *apphub.Category) {
	return func(c *apphub.Category) {
		c.RequiredSkills, c.ResourceKinds, c.Windows, c.Step = nil, nil, nil, time.Hour
		c.Requirements = []apphub.Requirement{
			{Kind: apphub.KindTechnician, Skills: []string{"fiber"}, Count: 2},
			{Kind: apphub.KindEquipment, Skills: []string{"splicer"}, Count: 1},
		}
		if edit != nil {
			edit(c)
		}
	}
}

func TestCategoryValidate(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(c *apphub.Category)
		wantField string
	}{
		{"valid windows", func(c *apphub.Category) {}, ""},
		{"valid step", func(c *apphub.Category) { c.Windows, c.Step = nil, 30*time.Minute }, ""},
		{"missing id", func(c *apphub.Category) { c.ID = "" }, "id"},
		{"zero duration", func(c *apphub.Category) { c.Duration = 0 }, "duration"},
		{"duration not whole quanta", func(c *apphub.Category) { c.Duration = 20 * time.Minute }, "duration"},
		{"step not whole quanta", func(c *apphub.Category) { c.Windows, c.Step = nil, 20*time.Minute }, "step"},
		{"step and windows", func(c *apphub.Category) { c.Step = 30 * time.Minute }, "step"},
		{"neither step nor windows", func(c *apphub.Category) { c.Windows = nil }, "step"},
		{"window ending before it starts", func(c *apphub.Category) { c.Windows[0].End = "07:00" }, "windows[0].end"},
		{"window off the quantum", func(c *apphub.Category) { c.Windows[1].Start = "13:05" }, "windows[1].start"},
		{"window shorter than the duration", func(c *apphub.Category) { c.Windows[1].End = "14:00" }, "windows[1]"},
		{"overlapping windows", func(c *apphub.Category) { c.Windows[1].Start = "11:00" }, "windows[1]"},
		{"negative notice", func(c *apphub.Category) { c.MinNotice = -time.Hour }, "minNotice"},
		{"horizon within the notice", func(c *apphub.Category) { c.Horizon = time.Hour }, "horizon"},
		{"no horizon", func(c *apphub.Category) { c.Horizon = 0 }, ""},
		{"empty required skill", func(c *apphub.Category) { c.RequiredSkills = []string{""} }, "requiredSkills[0]"},
		{"a crew", crew(nil), ""},
		{"a crew with resource kinds", crew(func(c *apphub.Category) { c.ResourceKinds = []string{"technician"} }), "requirements"},
		{"a crew in arrival windows", crew(func(c *apphub.Category) { c.Step, c.Windows = 0, []apphub.Window{{Start: "08:00", End: "12:00"}} }), "requirements"},
		{"a crew at a place", crew(func(c *apphub.Category) { c.AtPlace = true }), "requirements"},
		{"a requirement without a kind", crew(func(c *apphub.Category) { c.Requirements[1].Kind = "" }), "requirements[1].kind"},
		{"a requirement of no one", crew(func(c *apphub.Category) { c.Requirements[0].Count = 0 }), "requirements[0].count"},
		{"a requirement's skill twice", crew(func(c *apphub.Category) { c.Requirements[1].Skills = []string{"splicer", "splicer"} }), "requirements[1].skills[1]"},
		{"a crew of nine", crew(func(c *apphub.Category) { c.Requirements[0].Count = 8 }), "requirements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCategory()
			c.Windows = append([]apphub.Window(nil), c.Windows...)
			tt.edit(&c)
			wantField(t, c.Validate(), tt.wantField)
		})
	}
}

func TestZonePlaceHolidayValidate(t *testing.T) {
	tests := []struct {
		name      string
		validate  func() error
		wantField string
	}{
		{"zone", func() error {
			return (&apphub.Zone{ID: "paris-3", TimeZone: "Europe/Paris", PostCodes: []string{"75011", "75012"}}).Validate()
		}, ""},
		{"zone without time zone", func() error { return (&apphub.Zone{ID: "paris-3"}).Validate() }, "timeZone"},
		{"zone with a postcode twice", func() error {
			return (&apphub.Zone{ID: "paris-3", TimeZone: "Europe/Paris", PostCodes: []string{"75011", "75011"}}).Validate()
		}, "postCodes[1]"},
		{"place", func() error {
			return (&apphub.Place{ID: "store-paris-bastille", TimeZone: "Europe/Paris", Zone: "paris-3"}).Validate()
		}, ""},
		{"place without zone", func() error { return (&apphub.Place{ID: "store", TimeZone: "Europe/Paris"}).Validate() }, "zone"},
		{"place with unknown time zone", func() error { return (&apphub.Place{ID: "store", TimeZone: "Mars/Olympus", Zone: "z"}).Validate() }, "timeZone"},
		{"holidays", func() error {
			return (&apphub.HolidayCalendar{ID: "fr", Dates: []apphub.Holiday{{Date: "2026-05-01", Name: "Fête du Travail"}}}).Validate()
		}, ""},
		{"holiday on a date that does not exist", func() error {
			return (&apphub.HolidayCalendar{ID: "fr", Dates: []apphub.Holiday{{Date: "2026-02-29"}}}).Validate()
		}, "dates[0].date"},
		{"holiday listed twice", func() error {
			return (&apphub.HolidayCalendar{ID: "fr", Dates: []apphub.Holiday{{Date: "2026-05-01"}, {Date: "2026-05-01"}}}).Validate()
		}, "dates[1].date"},
		{"blackout without end", func() error {
			return (&apphub.HolidayCalendar{ID: "fr", Blackouts: []apphub.Blackout{{From: "2026-12-31T18:00"}}}).Validate()
		}, "blackouts[0].to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantField(t, tt.validate(), tt.wantField) })
	}
}

func validData() apphub.CalendarData {
	return apphub.CalendarData{
		Resources: []apphub.Resource{
			func() apphub.Resource { r := validResource(); r.ID = "tech-paris-009"; return r }(),
			validResource(),
			{ID: "counter-bastille-1", Kind: apphub.KindCounter, TimeZone: "Europe/Paris", PlaceID: "store-paris-bastille", Capacity: 3, HolidayCalendar: "fr"},
		},
		Categories:       []apphub.Category{validCategory()},
		Zones:            []apphub.Zone{{ID: "paris-3", TimeZone: "Europe/Paris", PostCodes: []string{"75011", "75012"}, HolidayCalendar: "fr"}},
		Places:           []apphub.Place{{ID: "store-paris-bastille", TimeZone: "Europe/Paris", Zone: "paris-3", PostCode: "75011"}},
		HolidayCalendars: []apphub.HolidayCalendar{{ID: "fr", Region: "FR"}},
	}
}

func TestNewCalendar(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(d *apphub.CalendarData)
		wantField string
	}{
		{"valid", func(d *apphub.CalendarData) {}, ""},
		{"invalid resource, named by its path", func(d *apphub.CalendarData) { d.Resources[1].TimeZone = "Europe/Pariss" }, "resources[1].timeZone"},
		{"invalid shift, named by its path", func(d *apphub.CalendarData) { d.Resources[0].Shifts[0].Start = "8h" }, "resources[0].shifts[0].start"},
		{"duplicate resource id", func(d *apphub.CalendarData) { d.Resources[0].ID = d.Resources[1].ID }, "resources[1].id"},
		{"unknown zone", func(d *apphub.CalendarData) { d.Resources[1].Zones = []string{"paris-99"} }, "resources[1].zones[0]"},
		{"unknown place", func(d *apphub.CalendarData) { d.Resources[2].PlaceID = "store-lyon" }, "resources[2].placeId"},
		{"unknown holiday calendar", func(d *apphub.CalendarData) { d.Resources[2].HolidayCalendar = "de" }, "resources[2].holidayCalendar"},
		{"zone with unknown holiday calendar", func(d *apphub.CalendarData) { d.Zones[0].HolidayCalendar = "de" }, "zones[0].holidayCalendar"},
		{"postcode in two zones", func(d *apphub.CalendarData) {
			d.Zones = append(d.Zones, apphub.Zone{ID: "paris-4", TimeZone: "Europe/Paris", PostCodes: []string{"75013", "75012"}})
		}, "zones[1].postCodes[1]"},
		{"place in unknown zone", func(d *apphub.CalendarData) { d.Places[0].Zone = "lyon-1" }, "places[0].zone"},
		{"invalid category", func(d *apphub.CalendarData) { d.Categories[0].Duration = 7 * time.Minute }, "categories[0].duration"},
		// Resources, places and categories are GraphQL nodes, found by id alone.
		{"a resource named as a place", func(d *apphub.CalendarData) { d.Resources[1].ID = d.Places[0].ID }, "resources[1].id"},
		{"a resource named as a category", func(d *apphub.CalendarData) { d.Resources[0].ID = d.Categories[0].ID }, "resources[0].id"},
		{"a place named as a category", func(d *apphub.CalendarData) { d.Places[0].ID = d.Categories[0].ID }, "places[0].id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validData()
			tt.edit(&d)
			_, err := apphub.NewCalendar(d)
			wantField(t, err, tt.wantField)
		})
	}
}

func TestCalendarIndexes(t *testing.T) {
	d := validData()
	cal, err := apphub.NewCalendar(d)
	if err != nil {
		t.Fatal(err)
	}
	d.Resources[1].Name = "changed after the snapshot"
	d.Resources[1].Shifts[0].Start = "changed"

	var ids []string
	for _, r := range cal.Resources() {
		ids = append(ids, r.ID)
	}
	if got := strings.Join(ids, ","); got != "counter-bastille-1,tech-paris-007,tech-paris-009" {
		t.Errorf("resources %s, want sorted by id", got)
	}
	r, ok := cal.Resource("tech-paris-007")
	if !ok || r.Name != "Camille" || r.Shifts[0].Start != "08:00" {
		t.Errorf("resource %+v: the snapshot must not see later changes to its input", r)
	}
	if r.EffectiveCapacity() != 1 {
		t.Errorf("capacity 0 means 1, got %d", r.EffectiveCapacity())
	}
	if z, ok := cal.ZoneOfPostCode("75012"); !ok || z.ID != "paris-3" {
		t.Errorf("zone of 75012: %v, %v", z, ok)
	}
	if _, ok := cal.ZoneOfPostCode("75099"); ok {
		t.Error("unknown postcode has a zone")
	}
	if p, ok := cal.Place("store-paris-bastille"); !ok || p.PostCode != "75011" {
		t.Errorf("place: %v, %v", p, ok)
	}
	if c, ok := cal.Category("installation"); !ok || c.Duration != 2*time.Hour {
		t.Errorf("category: %v, %v", c, ok)
	}
	if h, ok := cal.HolidayCalendar("fr"); !ok || h.Region != "FR" {
		t.Errorf("holiday calendar: %v, %v", h, ok)
	}
	if loc := cal.Location("Europe/Paris"); loc == nil || loc.String() != "Europe/Paris" {
		t.Errorf("location %v", loc)
	}
	if cal.Location("Asia/Tokyo") != nil {
		t.Error("a zone the calendar does not use is not loaded")
	}
}

func TestParseCivil(t *testing.T) {
	clocks := map[string]int{"00:00": 0, "08:30": 510, "23:45": 1425, "24:00": 1440, "24:15": -1, "7:00": -1, "12:60": -1, "ab:cd": -1}
	for s, want := range clocks {
		got, err := apphub.ParseClock(s)
		if (err != nil) != (want < 0) || (err == nil && got != want) {
			t.Errorf("ParseClock(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	dates := map[string]bool{"2026-03-29": true, "2028-02-29": true, "2026-02-29": false, "2026-13-01": false, "2026-3-29": false}
	for s, valid := range dates {
		d, err := apphub.ParseCivilDate(s)
		if (err == nil) != valid {
			t.Errorf("ParseCivilDate(%q): %v", s, err)
		}
		if err == nil && apphub.FormatCivilDate(d) != s {
			t.Errorf("FormatCivilDate(ParseCivilDate(%q)) = %q", s, apphub.FormatCivilDate(d))
		}
	}
	m, err := apphub.ParseCivilDateTime("1970-01-02T01:30")
	if err != nil || m != 1440+90 {
		t.Errorf("ParseCivilDateTime = %d, %v", m, err)
	}
	if _, err := apphub.ParseCivilDateTime("2026-03-29 02:30"); err == nil {
		t.Error("a space instead of T is accepted")
	}
}
