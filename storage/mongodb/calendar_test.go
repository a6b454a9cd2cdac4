package mongodb_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/storage/storetest"
)

func TestCalendarRoundTrip(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()

	if v, err := db.CalendarVersion(ctx); err != nil || v != "" {
		t.Fatalf("empty database: version %q, %v", v, err)
	}
	want := demo.Data()
	calls := 0
	if err := db.SaveCalendar(ctx, want, func(done, total int) {
		calls++
		if done != calls || total != want.Len() {
			t.Fatalf("progress(%d, %d) at call %d, want (%d, %d)", done, total, calls, calls, want.Len())
		}
	}); err != nil {
		t.Fatal(err)
	}
	got, v1, err := db.LoadCalendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v1 == "" {
		t.Fatal("no version after a write")
	}
	// Compare the validated snapshots: they sort what a scan returns in any order.
	wantCal, err := apphub.NewCalendar(want)
	if err != nil {
		t.Fatal(err)
	}
	gotCal, err := apphub.NewCalendar(got)
	if err != nil {
		t.Fatalf("loaded calendar is invalid: %v", err)
	}
	for _, r := range wantCal.Resources() {
		g, ok := gotCal.Resource(r.ID)
		if !ok || !reflect.DeepEqual(*g, r) {
			t.Fatalf("resource %s: loaded %+v, want %+v", r.ID, g, r)
		}
	}
	for _, c := range want.Categories {
		if g, ok := gotCal.Category(c.ID); !ok || !reflect.DeepEqual(*g, c) {
			t.Fatalf("category %s: loaded %+v, want %+v", c.ID, g, c)
		}
	}
	if !reflect.DeepEqual(got.TravelTimes, want.TravelTimes) || want.TravelTimes == nil {
		t.Fatalf("travel times: loaded %+v, want %+v", got.TravelTimes, want.TravelTimes)
	}
	for _, h := range want.HolidayCalendars {
		if g, ok := gotCal.HolidayCalendar(h.ID); !ok || !reflect.DeepEqual(*g, h) {
			t.Fatalf("holiday calendar %s differs after a round trip", h.ID)
		}
	}
	if got.Len() != want.Len() {
		t.Fatalf("loaded %d items, want %d", got.Len(), want.Len())
	}

	// Writing the same data again keeps one document per item and changes the version.
	if err := db.SaveCalendar(ctx, want, nil); err != nil {
		t.Fatal(err)
	}
	again, v2, err := db.LoadCalendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Len() != want.Len() || v2 == v1 {
		t.Fatalf("second write: %d items (want %d), version %q (was %q)", again.Len(), want.Len(), v2, v1)
	}
}
