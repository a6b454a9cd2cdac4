package apphub_test

import (
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// travelData is validData with two more zones and travel times between the three.
func travelData() apphub.CalendarData {
	d := validData()
	d.Zones = append(d.Zones,
		apphub.Zone{ID: "paris-1", TimeZone: "Europe/Paris", PostCodes: []string{"75001"}},
		apphub.Zone{ID: "paris-20", TimeZone: "Europe/Paris", PostCodes: []string{"75020"}})
	d.TravelTimes = &apphub.TravelTimes{Zones: []string{"paris-1", "paris-3", "paris-20"},
		Minutes: [][]int{{0, 20, 50}, {25, 0, 15}, {45, 10, 0}}}
	return d
}

func TestTravelTimesValidation(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(t *apphub.TravelTimes)
		wantField string
	}{
		{"valid", func(*apphub.TravelTimes) {}, ""},
		{"unknown zone", func(t *apphub.TravelTimes) { t.Zones[2] = "lyon-1" }, "travelTimes.zones[2]"},
		{"a zone twice", func(t *apphub.TravelTimes) { t.Zones[2] = "paris-1" }, "travelTimes.zones[2]"},
		{"a row missing", func(t *apphub.TravelTimes) { t.Minutes = t.Minutes[:2] }, "travelTimes.minutes"},
		{"a short row", func(t *apphub.TravelTimes) { t.Minutes[1] = t.Minutes[1][:2] }, "travelTimes.minutes[1]"},
		{"not zero to itself", func(t *apphub.TravelTimes) { t.Minutes[1][1] = 5 }, "travelTimes.minutes[1][1]"},
		{"negative", func(t *apphub.TravelTimes) { t.Minutes[0][2] = -1 }, "travelTimes.minutes[0][2]"},
		{"longer than a buffer may be", func(t *apphub.TravelTimes) { t.Minutes[2][0] = 12*60 + 1 }, "travelTimes.minutes[2][0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := travelData()
			tt.edit(d.TravelTimes)
			_, err := apphub.NewCalendar(d)
			wantField(t, err, tt.wantField)
		})
	}
}

// A job's lead time is the longest travel into its zone from a zone its resource serves,
// rounded up to quanta, with nothing after; where the matrix does not reach, the fixed buffers.
func TestLeadTime(t *testing.T) {
	d := travelData()
	d.Resources[0].Zones = []string{"paris-1", "paris-3"}
	d.Resources[0].BufferBefore, d.Resources[0].BufferAfter = 30*time.Minute, 15*time.Minute
	d.Zones = append(d.Zones, apphub.Zone{ID: "lyon-1", TimeZone: "Europe/Paris", PostCodes: []string{"69001"}})
	cal, err := apphub.NewCalendar(d)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := cal.Resource(d.Resources[0].ID)
	elsewhere := *r
	elsewhere.Zones = []string{"lyon-1"}
	for _, tc := range []struct {
		name          string
		r             *apphub.Resource
		zone          string
		before, after time.Duration
	}{
		{"into paris-20: 50 from paris-1, 15 from paris-3", r, "paris-20", time.Hour, 0},
		{"into paris-1: 25 from paris-3", r, "paris-1", 30 * time.Minute, 0},
		{"into paris-3: 20 from paris-1", r, "paris-3", 30 * time.Minute, 0},
		{"a zone the matrix does not cover", r, "lyon-1", 30 * time.Minute, 15 * time.Minute},
		{"no zone", r, "", 30 * time.Minute, 15 * time.Minute},
		{"a resource of no zone of the matrix", &elsewhere, "paris-20", 30 * time.Minute, 15 * time.Minute},
	} {
		before, after, travel := cal.LeadTime(tc.r, tc.zone)
		if before != tc.before || after != tc.after || travel != (tc.after == 0) {
			t.Errorf("%s: %v %v %v, want %v %v", tc.name, before, after, travel, tc.before, tc.after)
		}
	}
	// The matrix is one item: a change replaces it whole.
	merged := d.Merge(apphub.CalendarData{TravelTimes: &apphub.TravelTimes{Zones: []string{"paris-3"}, Minutes: [][]int{{0}}}})
	if len(merged.TravelTimes.Zones) != 1 || len(d.TravelTimes.Zones) != 3 {
		t.Errorf("merge: %+v, was %+v", merged.TravelTimes, d.TravelTimes)
	}
}
