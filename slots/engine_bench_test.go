package slots

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// benchCalendar has n Paris technicians of one zone, working Monday to Saturday 08:00–18:00
// (every fifth one a night shift 22:00–06:00 instead), with 15-minute buffers, about a third
// of their time taken from 2 March 2026 for 31 days, and a French holiday calendar.
func benchCalendar(b *testing.B, n int) (*apphub.Calendar, *Busy, time.Time) {
	b.Helper()
	var resources []apphub.Resource
	for i := range n {
		res := technician(fmt.Sprintf("tech-paris-%03d", i), "Europe/Paris", "paris")
		res.BufferBefore, res.BufferAfter = 15*time.Minute, 15*time.Minute
		res.HolidayCalendar = "fr"
		for d := time.Monday; d <= time.Saturday; d++ {
			if i%5 == 4 {
				res.Shifts = append(res.Shifts, apphub.Shift{Weekday: d, Start: "22:00", End: "06:00"})
			} else {
				res.Shifts = append(res.Shifts, apphub.Shift{Weekday: d, Start: "08:00", End: "18:00"})
			}
		}
		resources = append(resources, res)
	}
	categories := []apphub.Category{
		{ID: "repair", Duration: time.Hour, Step: 30 * time.Minute, ResourceKinds: []string{apphub.KindTechnician}},
		{ID: "installation", Duration: 2 * time.Hour, RequiredSkills: []string{"fiber"}, Windows: []apphub.Window{{Start: "08:00", End: "12:00"}, {Start: "13:00", End: "17:00"}}},
	}
	holidays := apphub.HolidayCalendar{ID: "fr", Dates: []apphub.Holiday{{Date: "2026-04-06", Name: "Lundi de Pâques"}, {Date: "2026-05-01", Name: "Fête du Travail"}}}
	cal := newCalendar(b, resources, categories, holidays)

	from := time.Date(2026, 3, 2, 0, 0, 0, 0, mustLoad(b, "Europe/Paris"))
	rng := rand.New(rand.NewPCG(1, 2))
	busy := &Busy{}
	for _, res := range resources {
		for q := from; q.Before(from.AddDate(0, 0, 31)); q = q.Add(time.Hour) {
			if rng.IntN(3) == 0 {
				for k := range 4 {
					busy.Add(res.ID, q.Add(time.Duration(k)*apphub.Quantum), 0)
				}
			}
		}
	}
	return cal, busy, from
}

func BenchmarkSearchSlots(b *testing.B) {
	for _, bb := range []struct {
		resources, days int
		category        string
	}{
		{1, 1, "repair"},
		{10, 7, "repair"},
		{60, 31, "repair"},
		{1, 1, "installation"},
		{10, 7, "installation"},
		{60, 31, "installation"},
	} {
		b.Run(fmt.Sprintf("%s/%dx%ddays", bb.category, bb.resources, bb.days), func(b *testing.B) {
			cal, busy, from := benchCalendar(b, bb.resources)
			q := Query{Category: bb.category, Place: "75011", From: from, To: from.AddDate(0, 0, bb.days), Now: from.Add(-time.Hour)}
			b.ReportAllocs()
			for b.Loop() {
				r, err := SearchSlots(cal, busy, q)
				if err != nil || len(r.Days) == 0 {
					b.Fatal(r, err)
				}
			}
		})
	}
}

// BenchmarkSearchSlotsTravel is the 60 × 31 days search with travel times instead of fixed
// buffers: each technician also serves a second zone, 30 minutes away, so its jobs in Paris
// claim 30 minutes of travel before them.
func BenchmarkSearchSlotsTravel(b *testing.B) {
	for _, category := range []string{"repair", "installation"} {
		b.Run(category+"/60x31days", func(b *testing.B) {
			plain, busy, from := benchCalendar(b, 60)
			d := plain.Data().Merge(apphub.CalendarData{}) // a copy: the snapshot's data is read-only
			for i := range d.Resources {
				d.Resources[i].Zones = append(d.Resources[i].Zones, "nyc")
			}
			d.TravelTimes = &apphub.TravelTimes{Zones: []string{"paris", "nyc"}, Minutes: [][]int{{0, 30}, {30, 0}}}
			cal, err := apphub.NewCalendar(d)
			if err != nil {
				b.Fatal(err)
			}
			q := Query{Category: category, Place: "75011", From: from, To: from.AddDate(0, 0, 31), Now: from.Add(-time.Hour)}
			b.ReportAllocs()
			for b.Loop() {
				r, err := SearchSlots(cal, busy, q)
				if err != nil || len(r.Days) == 0 {
					b.Fatal(r, err)
				}
			}
		})
	}
}

// BenchmarkSearchSlotsCrew is the 60 × 31 days search with travel times (as
// BenchmarkSearchSlotsTravel) for a crew job: an hour every 30 minutes, like a repair, but
// needing two fiber technicians and a splicer. Ten splicers (equipment) join the technicians:
// working Monday to Saturday 07:00–19:00, about a third of their time taken too; six serve
// Paris and New York, two Paris only, two New York only (never in a Paris crew).
func BenchmarkSearchSlotsCrew(b *testing.B) {
	b.Run("building/60x31days", func(b *testing.B) {
		plain, busy, from := benchCalendar(b, 60)
		d := plain.Data().Merge(apphub.CalendarData{}) // a copy: the snapshot's data is read-only
		for i := range d.Resources {
			d.Resources[i].Zones = append(d.Resources[i].Zones, "nyc")
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range 10 {
			splicer := apphub.Resource{ID: fmt.Sprintf("splicer-%02d", i), Kind: apphub.KindEquipment, Name: "splicer", TimeZone: "Europe/Paris",
				Zones: [][]string{{"paris", "nyc"}, {"paris", "nyc"}, {"paris", "nyc"}, {"paris"}, {"nyc"}}[i%5], Skills: []string{"splicer"}, HolidayCalendar: "fr"}
			for day := time.Monday; day <= time.Saturday; day++ {
				splicer.Shifts = append(splicer.Shifts, apphub.Shift{Weekday: day, Start: "07:00", End: "19:00"})
			}
			d.Resources = append(d.Resources, splicer)
			for q := from; q.Before(from.AddDate(0, 0, 31)); q = q.Add(time.Hour) {
				if rng.IntN(3) == 0 {
					for k := range 4 {
						busy.Add(splicer.ID, q.Add(time.Duration(k)*apphub.Quantum), 0)
					}
				}
			}
		}
		d.Categories = append(d.Categories, apphub.Category{ID: "building", Duration: time.Hour, Step: 30 * time.Minute, Requirements: []apphub.Requirement{
			{Kind: apphub.KindTechnician, Skills: []string{"fiber"}, Count: 2},
			{Kind: apphub.KindEquipment, Skills: []string{"splicer"}, Count: 1},
		}})
		d.TravelTimes = &apphub.TravelTimes{Zones: []string{"paris", "nyc"}, Minutes: [][]int{{0, 30}, {30, 0}}}
		cal, err := apphub.NewCalendar(d)
		if err != nil {
			b.Fatal(err)
		}
		q := Query{Category: "building", Place: "75011", From: from, To: from.AddDate(0, 0, 31), Now: from.Add(-time.Hour)}
		b.ReportAllocs()
		for b.Loop() {
			r, err := SearchSlots(cal, busy, q)
			if err != nil || len(r.Days) == 0 {
				b.Fatal(r, err)
			}
		}
	})
}

// BenchmarkSearchSlotsFullyBooked measures the slow path: nothing free in the window, so the
// search explains why and looks ahead for the next dates.
func BenchmarkSearchSlotsFullyBooked(b *testing.B) {
	cal, busy, from := benchCalendar(b, 60)
	for _, res := range cal.Resources() {
		for q := from; q.Before(from.AddDate(0, 0, 7)); q = q.Add(apphub.Quantum) {
			busy.Add(res.ID, q, 0)
		}
	}
	q := Query{Category: "repair", Place: "75011", From: from, To: from.AddDate(0, 0, 7), Now: from.Add(-time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		r, err := SearchSlots(cal, busy, q)
		if err != nil || len(r.Days) > 0 || len(r.NextDates) == 0 {
			b.Fatal(r, err)
		}
	}
}

func BenchmarkBookable(b *testing.B) {
	cal, busy, from := benchCalendar(b, 60)
	for _, bb := range []struct {
		name string
		req  BookRequest
	}{
		{"repair/resource", BookRequest{Category: "repair", Resource: "tech-paris-001", Place: "75011", Start: from.AddDate(0, 0, 1).Add(10 * time.Hour)}},
		{"repair/anyResource", BookRequest{Category: "repair", Place: "75011", Start: from.AddDate(0, 0, 1).Add(10 * time.Hour)}},
		{"installation/resource", BookRequest{Category: "installation", Resource: "tech-paris-001", Place: "75011", Start: from.AddDate(0, 0, 1).Add(13 * time.Hour)}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			bb.req.Now = from.Add(-time.Hour)
			b.ReportAllocs()
			for b.Loop() {
				// Success or refusal, both are answers; only an input error is a failure.
				if _, err := Bookable(cal, busy, bb.req); err != nil {
					if apphub.ErrorReason(err) == "" {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
