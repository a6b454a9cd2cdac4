package booking_test

import (
	"errors"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/slots"
)

// A search task searches each of its windows: slots of all of them, window by window, at most
// MaxTaskSlots, the earliest; reasons and next dates only when nothing was found.
func TestRunSearchTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	night := booking.Window{From: at("00:00"), To: at("06:00")}
	morning := booking.Window{From: at("08:00"), To: at("09:00")}

	res, err := e.svc.RunSearchTask(ctx, booking.SearchTask{Category: "repair", Place: "75011", Windows: []booking.Window{night, morning}})
	if err != nil || len(res.Slots) != 2 || !res.Slots[0].Start.Equal(at("08:00")) || res.Slots[0].Resource != "tech-1" ||
		res.Reasons != nil || res.NextDates != nil {
		t.Fatalf("night and morning: %+v, %v; want the 08:00 and 08:30 repairs and no reasons", res, err)
	}

	res, err = e.svc.RunSearchTask(ctx, booking.SearchTask{Category: "repair", Place: "75011", Windows: []booking.Window{night}})
	if err != nil || len(res.Slots) != 0 || len(res.Reasons) == 0 || len(res.NextDates) == 0 {
		t.Fatalf("night only: %+v, %v; want reasons and next dates", res, err)
	}

	// 39 visit starts a day at the counter: two weeks are more than a task keeps.
	fortnight := booking.Window{From: at("00:00"), To: at("00:00").Add(14 * 24 * time.Hour)}
	res, err = e.svc.RunSearchTask(ctx, booking.SearchTask{Category: "visit", Place: "store-1", Windows: []booking.Window{fortnight}})
	if err != nil || len(res.Slots) != booking.MaxTaskSlots {
		t.Fatalf("a fortnight of visits: %d slots, %v; want %d", len(res.Slots), err, booking.MaxTaskSlots)
	}
	for i := 1; i < len(res.Slots); i++ {
		if res.Slots[i].Start.Before(res.Slots[i-1].Start) {
			t.Fatalf("slot %d starts before slot %d", i, i-1)
		}
	}
	if !res.Slots[0].Start.Equal(at("08:00")) {
		t.Fatalf("the first visit kept is at %v, want the earliest, %v", res.Slots[0].Start, at("08:00"))
	}

	if _, err := e.svc.RunSearchTask(ctx, booking.SearchTask{Category: "repair", Windows: []booking.Window{morning}}); err == nil {
		t.Fatal("a task with no place was searched")
	}
}

// A task's work is bounded by its data: at most MaxSearchWindows windows, each at most
// slots.MaxSearchWindow long; every window is checked before any is searched.
func TestRunSearchTaskBounds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	morning := booking.Window{From: at("08:00"), To: at("09:00")}
	repeat := func(w booking.Window, n int) []booking.Window {
		out := make([]booking.Window, n)
		for i := range out {
			out[i] = w
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		windows []booking.Window
		field   string // "" when the task is searched
	}{
		{"as many windows as allowed", repeat(morning, booking.MaxSearchWindows), ""},
		{"one window too many", repeat(morning, booking.MaxSearchWindows+1), "windows"},
		{"a thousand windows", repeat(morning, 1000), "windows"},
		{"the longest window", []booking.Window{{From: at("00:00"), To: at("00:00").Add(slots.MaxSearchWindow)}}, ""},
		{"a window a minute too long", []booking.Window{{From: at("00:00"), To: at("00:00").Add(slots.MaxSearchWindow + time.Minute)}}, "windows"},
		{"a last window that ends before it starts", []booking.Window{morning, {From: at("09:00"), To: at("08:00")}}, "windows"},
		{"an empty window", []booking.Window{{From: at("09:00"), To: at("09:00")}}, "windows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.RunSearchTask(ctx, booking.SearchTask{Category: "repair", Place: "75011", Windows: tc.windows})
			e, _ := errors.AsType[*apphub.Error](err)
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (e == nil || e.Code != apphub.EINVALID || e.Field != tc.field):
				t.Fatalf("error %v; want %s on %q", err, apphub.EINVALID, tc.field)
			}
		})
	}
}
