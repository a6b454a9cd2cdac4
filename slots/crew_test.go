package slots

import (
	"slices"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// crewCategory needs two fiber technicians and a splicer for an hour, on the hour.
var crewCategory = apphub.Category{ID: "building", Duration: time.Hour, Step: time.Hour, Requirements: []apphub.Requirement{
	{Kind: apphub.KindTechnician, Skills: []string{"fiber"}, Count: 2},
	{Kind: apphub.KindEquipment, Skills: []string{"splicer"}, Count: 1},
}}

func equipment(id, kind string, shifts ...apphub.Shift) apphub.Resource {
	return apphub.Resource{ID: id, Kind: apphub.KindEquipment, Name: id, TimeZone: "Europe/Paris", Zones: []string{"paris"}, Skills: []string{kind}, Shifts: shifts}
}

// crewAt is the crew a search offers at start, "" members when it offers none.
func crewOffered(t *testing.T, cal *apphub.Calendar, busy *Busy, category string, start time.Time) ([]string, int) {
	t.Helper()
	res, err := SearchSlots(cal, busy, Query{Category: category, Place: "75011", From: start, To: start.Add(time.Minute), Now: start.Add(-48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Days) == 0 {
		return nil, 0
	}
	s := res.Days[0].Slots[0]
	for k, m := range s.Resources {
		if m.ResourceID != s.Crew[k] {
			t.Fatalf("slot resources %v are not its crew %v", s.Resources, s.Crew)
		}
	}
	return s.Crew, s.Capacity
}

func TestCrews(t *testing.T) {
	day := weekdays("08:00", "18:00")
	start := at(t, "2026-05-05T09:00+02:00")
	now := start.Add(-48 * time.Hour)
	// busyAt marks resource's seat 0 busy over [from, to) local times of the day of start.
	busyAt := func(b *Busy, resource, from, to string) *Busy {
		for q := at(t, "2026-05-05T"+from+"+02:00"); q.Before(at(t, "2026-05-05T"+to+"+02:00")); q = q.Add(apphub.Quantum) {
			b.Add(resource, q, 0)
		}
		return b
	}
	tests := []struct {
		name      string
		resources []apphub.Resource
		category  apphub.Category
		busy      *Busy
		want      []string // the crew offered at 09:00, nil for none
		capacity  int
		reason    string // when none: the booking's refusal
	}{
		{
			name:      "all free: the lowest ids, one crew (one splicer)",
			resources: []apphub.Resource{technician("t1", "Europe/Paris", "paris", day...), technician("t2", "Europe/Paris", "paris", day...), technician("t3", "Europe/Paris", "paris", day...), equipment("s1", "splicer", day...)},
			category:  crewCategory, busy: &Busy{},
			want: []string{"t1", "t2", "s1"}, capacity: 1,
		},
		{
			name:      "a technician whose job ends at 09:00 is preferred: the crew leaves fewer idle gaps",
			resources: []apphub.Resource{technician("t1", "Europe/Paris", "paris", day...), technician("t2", "Europe/Paris", "paris", day...), technician("t3", "Europe/Paris", "paris", day...), equipment("s1", "splicer", day...)},
			category:  crewCategory, busy: busyAt(&Busy{}, "t3", "08:00", "09:00"),
			want: []string{"t1", "t3", "s1"}, capacity: 1,
		},
		{
			name:      "the only splicer is busy: no crew",
			resources: []apphub.Resource{technician("t1", "Europe/Paris", "paris", day...), technician("t2", "Europe/Paris", "paris", day...), equipment("s1", "splicer", day...)},
			category:  crewCategory, busy: busyAt(&Busy{}, "s1", "09:30", "09:45"),
			reason: apphub.ReasonFullyBooked,
		},
		{
			name:      "one of two technicians is off: no crew, outside hours",
			resources: []apphub.Resource{technician("t1", "Europe/Paris", "paris", day...), technician("t2", "Europe/Paris", "paris", weekdays("12:00", "18:00")...), equipment("s1", "splicer", day...)},
			category:  crewCategory, busy: &Busy{},
			reason: apphub.ReasonOutsideHours,
		},
		{
			name:      "two splicers and five technicians: two crews at once",
			resources: []apphub.Resource{technician("t1", "Europe/Paris", "paris", day...), technician("t2", "Europe/Paris", "paris", day...), technician("t3", "Europe/Paris", "paris", day...), technician("t4", "Europe/Paris", "paris", day...), technician("t5", "Europe/Paris", "paris", day...), equipment("s1", "splicer", day...), equipment("s2", "splicer", day...)},
			category:  crewCategory, busy: &Busy{},
			want: []string{"t1", "t2", "s1"}, capacity: 2,
		},
		{
			name: "a resource fitting two requirements is moved to the seat only it can fill",
			resources: []apphub.Resource{
				{ID: "a", Kind: apphub.KindTechnician, TimeZone: "Europe/Paris", Zones: []string{"paris"}, Skills: []string{"fiber", "splicing"}, Shifts: day},
				{ID: "b", Kind: apphub.KindTechnician, TimeZone: "Europe/Paris", Zones: []string{"paris"}, Skills: []string{"fiber"}, Shifts: day},
			},
			category: apphub.Category{ID: "splice", Duration: time.Hour, Step: time.Hour, Requirements: []apphub.Requirement{
				{Kind: apphub.KindTechnician, Skills: []string{"fiber"}, Count: 1},
				{Kind: apphub.KindTechnician, Skills: []string{"splicing"}, Count: 1},
			}},
			busy: &Busy{},
			want: []string{"b", "a"}, capacity: 1,
		},
		{
			name: "a free resource that fits is taken before one taken by an earlier seat is moved",
			resources: []apphub.Resource{
				{ID: "t1", Kind: apphub.KindTechnician, TimeZone: "Europe/Paris", Zones: []string{"paris"}, Skills: []string{"fiber", "copper"}, Shifts: day},
				{ID: "t2", Kind: apphub.KindTechnician, TimeZone: "Europe/Paris", Zones: []string{"paris"}, Skills: []string{"fiber"}, Shifts: day},
				{ID: "t3", Kind: apphub.KindTechnician, TimeZone: "Europe/Paris", Zones: []string{"paris"}, Skills: []string{"copper"}, Shifts: day},
			},
			category: apphub.Category{ID: "pair", Duration: time.Hour, Step: time.Hour, Requirements: []apphub.Requirement{
				{Kind: apphub.KindTechnician, Skills: []string{"copper"}, Count: 1},
				{Kind: apphub.KindTechnician, Skills: []string{"fiber"}, Count: 1},
			}},
			// t1 and t2 have jobs right before and after: no idle side; t3 has two.
			busy: busyAt(busyAt(busyAt(busyAt(&Busy{}, "t1", "08:45", "09:00"), "t1", "10:00", "10:15"), "t2", "08:45", "09:00"), "t2", "10:00", "10:15"),
			want: []string{"t1", "t2"}, capacity: 1,
		},
		{
			name:      "technicians of another zone do not count",
			resources: []apphub.Resource{technician("t1", "Europe/Paris", "paris", day...), technician("t2", "America/New_York", "nyc", day...), equipment("s1", "splicer", day...)},
			category:  crewCategory, busy: &Busy{},
			reason: apphub.ReasonNoSkilledResourceInZone,
		},
		{
			name:      "a member in another time zone works its own hours: a New York technician serving Paris is asleep at 09:00 Paris",
			resources: []apphub.Resource{technician("t1", "Europe/Paris", "paris", day...), {ID: "t2", Kind: apphub.KindTechnician, TimeZone: "America/New_York", Zones: []string{"paris"}, Skills: []string{"fiber"}, Shifts: day}, equipment("s1", "splicer", day...)},
			category:  crewCategory, busy: &Busy{},
			reason: apphub.ReasonOutsideHours,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cal := newCalendar(t, tc.resources, []apphub.Category{tc.category})
			got, capacity := crewOffered(t, cal, tc.busy, tc.category.ID, start)
			if !slices.Equal(got, tc.want) || capacity != tc.capacity {
				t.Fatalf("crew at 09:00: %v (capacity %d), want %v (capacity %d)", got, capacity, tc.want, tc.capacity)
			}
			res, err := Bookable(cal, tc.busy, BookRequest{Category: tc.category.ID, Place: "75011", Start: start, Now: now})
			if tc.want == nil {
				if apphub.ErrorReason(err) != tc.reason {
					t.Fatalf("booking: %v, want %s", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Crew, tc.want) || res.ResourceID != tc.want[0] {
				t.Fatalf("booking takes %v (lead %s), the search offered %v", res.Crew, res.ResourceID, tc.want)
			}
			// Every member claims the hour, on a seat free in the busy time.
			for _, id := range res.Crew {
				n := 0
				for _, c := range res.Cells {
					if c.ResourceID == id {
						n++
						if tc.busy.seats(id, c.Start.Unix()/quantumSec)&(1<<c.Seat) != 0 {
							t.Errorf("%s claims a busy seat at %v", id, c.Start)
						}
					}
				}
				if n != 4 {
					t.Errorf("%s claims %d quanta, want 4", id, n)
				}
			}
		})
	}
}

// A booking may name one member of the crew; the crew is then formed around it, and a
// resource that cannot be in the crew, or is busy, is refused for what stops it.
func TestCrewAroundANamedResource(t *testing.T) {
	day := weekdays("08:00", "18:00")
	copper := technician("c1", "Europe/Paris", "paris", day...)
	copper.Skills = []string{"copper"}
	cal := newCalendar(t, []apphub.Resource{technician("t1", "Europe/Paris", "paris", day...), technician("t2", "Europe/Paris", "paris", day...),
		technician("t3", "Europe/Paris", "paris", day...), equipment("s1", "splicer", day...), copper}, []apphub.Category{crewCategory})
	start := at(t, "2026-05-05T09:00+02:00")
	now := start.Add(-48 * time.Hour)
	busy := &Busy{}
	busy.Add("t2", start, 0)
	for _, tc := range []struct {
		resource string
		want     []string
		reason   string
	}{
		{resource: "t3", want: []string{"t1", "t3", "s1"}},
		{resource: "s1", want: []string{"t1", "t3", "s1"}},
		{resource: "t2", reason: apphub.ReasonFullyBooked},
		{resource: "c1", reason: apphub.ReasonNoSkilledResourceInZone},
	} {
		res, err := Bookable(cal, busy, BookRequest{Category: crewCategory.ID, Place: "75011", Resource: tc.resource, Start: start, Now: now})
		switch {
		case tc.reason != "" && apphub.ErrorReason(err) != tc.reason:
			t.Errorf("%s: %v, want %s", tc.resource, err, tc.reason)
		case tc.reason == "" && (err != nil || !slices.Equal(res.Crew, tc.want)):
			t.Errorf("%s: %v %v, want %v", tc.resource, res, err, tc.want)
		}
		// A search naming the resource offers what booking it accepts.
		found, err := SearchSlots(cal, busy, Query{Category: crewCategory.ID, Place: "75011", Resource: tc.resource, From: start, To: start.Add(time.Minute), Now: now})
		var offered []string
		if err == nil && len(found.Days) > 0 {
			offered = found.Days[0].Slots[0].Crew
		}
		if err != nil || !slices.Equal(offered, tc.want) {
			t.Errorf("search naming %s: %v %v, want %v", tc.resource, offered, err, tc.want)
		}
	}
	// A crew is chosen in a zone: a search or booking needs a place.
	if _, err := SearchSlots(cal, busy, Query{Category: crewCategory.ID, Resource: "t1", From: start, To: start.Add(time.Hour), Now: now}); apphub.ErrorCode(err) != apphub.EINVALID {
		t.Errorf("a crew search without a place: %v, want EINVALID", err)
	}
}
