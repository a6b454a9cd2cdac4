package booking_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

// fakeClock is a settable clock for the service.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestSaveCalendarValidatesAndWritesNothingOnError(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := asAdmin()
	svc := booking.NewService(db, booking.Options{Now: testclock.Now})
	if err := svc.SaveCalendar(ctx, demo.Data(), nil); err != nil {
		t.Fatal(err)
	}
	before, version, err := db.LoadCalendar(ctx)
	if err != nil {
		t.Fatal(err)
	}

	tech := demo.Data().Resources[0]
	tests := []struct {
		name   string
		change apphub.CalendarData
		field  string
	}{
		{"unknown time zone", func() apphub.CalendarData {
			r := tech
			r.TimeZone = "Mars/Olympus"
			return apphub.CalendarData{Resources: []apphub.Resource{r}}
		}(), "timeZone"},
		{"negative capacity", func() apphub.CalendarData {
			r := tech
			r.Capacity = -1
			return apphub.CalendarData{Resources: []apphub.Resource{r}}
		}(), "capacity"},
		{"buffer not whole quanta", func() apphub.CalendarData {
			r := tech
			r.BufferAfter = 10 * time.Minute
			return apphub.CalendarData{Resources: []apphub.Resource{r}}
		}(), "bufferAfter"},
		{"overlapping shifts", func() apphub.CalendarData {
			r := tech
			r.ID = "tech-new"
			r.Shifts = []apphub.Shift{{Weekday: time.Monday, Start: "08:00", End: "16:00"}, {Weekday: time.Monday, Start: "15:00", End: "18:00"}}
			return apphub.CalendarData{Resources: []apphub.Resource{r}}
		}(), "shifts"},
		{"unknown zone reference", func() apphub.CalendarData {
			r := tech
			r.ID = "tech-new"
			r.Zones = []string{"atlantis"}
			return apphub.CalendarData{Resources: []apphub.Resource{r}}
		}(), "zones"},
		{"duration not whole quanta", func() apphub.CalendarData {
			c := demo.Data().Categories[0]
			c.Duration = 50 * time.Minute
			return apphub.CalendarData{Categories: []apphub.Category{c}}
		}(), "duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := svc.SaveCalendar(ctx, tt.change, nil)
			e, ok := errors.AsType[*apphub.Error](err)
			if !ok || e.Code != apphub.EINVALID {
				t.Fatalf("err = %v, want a VALIDATION error", err)
			}
			if !strings.Contains(e.Field, tt.field) {
				t.Fatalf("error names field %q, want one naming %q (%v)", e.Field, tt.field, err)
			}
			after, v, err := db.LoadCalendar(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v != version || after.Len() != before.Len() {
				t.Fatalf("a refused change wrote something: version %q→%q, items %d→%d", version, v, before.Len(), after.Len())
			}
		})
	}
}

// A change saved on one instance reaches another within the calendar check interval.
func TestCalendarChangeReachesOtherInstances(t *testing.T) {
	t.Parallel()
	uri, database := storetest.MongoURI(t)
	ctx := asAdmin()
	open := func() *mongodb.DB {
		db, err := mongodb.Open(uri, database)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close(ctx) })
		return db
	}
	clock := &fakeClock{t: testclock.Base()}
	a := booking.NewService(open(), booking.Options{Now: clock.Now, CalendarCheck: 2 * time.Second})
	b := booking.NewService(open(), booking.Options{Now: clock.Now, CalendarCheck: 2 * time.Second})
	if err := a.SaveCalendar(ctx, demo.Data(), nil); err != nil {
		t.Fatal(err)
	}
	calB, err := b.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := calB.Category("surveyVisit"); ok {
		t.Fatal("unexpected category")
	}

	survey := demo.Data().Categories[0]
	survey.ID, survey.Name = "surveyVisit", "Site survey"
	if err := a.SaveCalendar(ctx, apphub.CalendarData{Categories: []apphub.Category{survey}}, nil); err != nil {
		t.Fatal(err)
	}
	if cal, _ := a.Calendar(ctx); cal == nil {
		t.Fatal("no calendar on a")
	} else if _, ok := cal.Category("surveyVisit"); !ok {
		t.Fatal("the writing instance does not see its own change at once")
	}
	if cal, _ := b.Calendar(ctx); cal != calB {
		t.Fatal("b reloaded before its check interval")
	}
	clock.Advance(2 * time.Second)
	cal, err := b.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cal.Category("surveyVisit"); !ok {
		t.Fatal("b did not pick up the change after its check interval")
	}
}

func TestSearchOnDemoCalendar(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := asAdmin()
	now := testclock.Now()
	svc := booking.NewService(db, booking.Options{Now: testclock.Now})
	if err := svc.SaveCalendar(ctx, demo.Data(), nil); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Search(ctx, booking.SlotQuery{Category: demo.Repair, Place: "75011", From: now, To: now.Add(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.TimeZone != "Europe/Paris" || len(res.Days) == 0 || len(res.Days[0].Slots) == 0 {
		t.Fatalf("repair at 75011: %+v", res)
	}
	if _, err := svc.Search(ctx, booking.SlotQuery{Category: demo.Repair, Place: "99999", From: now, To: now.Add(time.Hour)}); apphub.ErrorCode(err) != apphub.EINVALID {
		t.Fatalf("unknown postcode: %v, want a VALIDATION error", err)
	}
}
