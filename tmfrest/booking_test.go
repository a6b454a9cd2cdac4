package tmfrest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/testclock"
	"github.com/apphub/apphub/tmfrest"
)

// demoHub is a hub with the demo calendar.
func demoHub(t *testing.T) *testHub {
	h := startHub(t, tmfrest.Options{})
	if err := h.svc.SaveCalendar(asOperator(context.Background()), demo.Data(), nil); err != nil {
		t.Fatal(err)
	}
	return h
}

func searchBody(category, postCode string, from, to time.Time) string {
	return fmt.Sprintf(`{"category":%q,"relatedPlace":{"role":"installationAddress","postCode":%q,"@type":"GeographicAddress"},
		"requestedTimeSlot":[{"validFor":{"startDateTime":%q,"endDateTime":%q}}]}`, category, postCode, from.Format(time.RFC3339), to.Format(time.RFC3339))
}

func appointmentBody(tech, start, end string) string {
	return fmt.Sprintf(`{"category":"repair","validFor":{"startDateTime":%q,"endDateTime":%q},
		"relatedParty":[{"id":"c-1","role":"customer","@referredType":"Individual"},{"id":%q,"role":"technician","@referredType":"PartyRole"}],
		"relatedPlace":{"role":"installationAddress","postCode":"75011","@type":"GeographicAddress"}}`, start, end, tech)
}

// A search task runs the engine: its slots name the technician and resolve; an empty result
// carries the reasons.
func TestSearchTimeSlotSearches(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	task := h.create("searchTimeSlot", searchBody("repair", "75011", from, from.Add(7*24*time.Hour)))
	slots, _ := task["availableTimeSlot"].([]any)
	if task["status"] != "done" || task["searchResult"] != "success" || len(slots) == 0 {
		t.Fatalf("search: %v", task)
	}
	slot := slots[0].(map[string]any)
	party, _ := slot["relatedParty"].(map[string]any)
	if slot["id"] == nil || party["id"] == nil || party["@referredType"] == nil || party["name"] == nil {
		t.Fatalf("slot %v", slot)
	}
	h.want(h.do("GET", slot["href"].(string), ""), http.StatusOK)

	// A search that finds nothing says why: stores are closed at 03:00 in Paris.
	paris, _ := time.LoadLocation("Europe/Paris")
	day := testclock.Now().In(paris).AddDate(0, 0, 3)
	night := time.Date(day.Year(), day.Month(), day.Day(), 3, 0, 0, 0, paris)
	none := h.create("searchTimeSlot", searchBody("storeVisit", "75011", night, night.Add(time.Hour)))
	if slots, _ := none["availableTimeSlot"].([]any); len(slots) != 0 || none["unavailabilityReason"] == nil {
		t.Fatalf("empty search: %v", none)
	}
}

// Fifty partners race for one slot over HTTP: exactly one 201, 49 × 409.
func TestBookingRaceOverHTTP(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	task := h.create("searchTimeSlot", searchBody("repair", "75011", from, from.Add(7*24*time.Hour)))
	slot := task["availableTimeSlot"].([]any)[0].(map[string]any)
	validFor := slot["validFor"].(map[string]any)
	tech := slot["relatedParty"].(map[string]any)["id"].(string)
	body := appointmentBody(tech, validFor["startDateTime"].(string), validFor["endDateTime"].(string))

	var mu sync.Mutex
	codes := map[int]int{}
	reasons := map[string]int{}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			resp, err := http.Post(h.url+api+"appointment", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var e struct{ Code string }
			json.NewDecoder(resp.Body).Decode(&e)
			mu.Lock()
			defer mu.Unlock()
			codes[resp.StatusCode]++
			if resp.StatusCode == http.StatusConflict {
				reasons[e.Code]++
			}
		})
	}
	wg.Wait()
	if codes[201] != 1 || codes[409] != 49 {
		t.Fatalf("answers %v, want one 201 and 49 × 409", codes)
	}
	// A loser that looked while the winner had inserted only the travel quanta before the slot
	// (claims go in ascending time) sees the slot's own time free and its travel taken.
	for code := range reasons {
		if code != apphub.ReasonFullyBooked && code != apphub.ReasonSlotTaken && code != apphub.ReasonTravelTime {
			t.Fatalf("409 with code %q", code)
		}
	}
}

func TestBookingRefusalsCarryTheReason(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	task := h.create("searchTimeSlot", searchBody("repair", "75011", from, from.Add(7*24*time.Hour)))
	// A technician on a day shift: the first slot between 09:00 and 13:00 UTC.
	var slot map[string]any
	for _, s := range task["availableTimeSlot"].([]any) {
		st, _ := time.Parse(time.RFC3339, s.(map[string]any)["validFor"].(map[string]any)["startDateTime"].(string))
		if st.Hour() >= 9 && st.Hour() < 13 {
			slot = s.(map[string]any)
			break
		}
	}
	if slot == nil {
		t.Fatal("no daytime slot")
	}
	tech := slot["relatedParty"].(map[string]any)["id"].(string)
	start, _ := time.Parse(time.RFC3339, slot["validFor"].(map[string]any)["startDateTime"].(string))

	// The first French public holiday at least two days ahead on a weekday the technician
	// works (otherwise the refusal would rightly say OUTSIDE_HOURS).
	works := map[time.Weekday]bool{}
	for _, r := range demo.Data().Resources {
		if r.ID == tech {
			for _, sh := range r.Shifts {
				works[sh.Weekday] = true
			}
		}
	}
	var holiday time.Time
	for _, hc := range demo.Data().HolidayCalendars {
		if hc.ID != "holidays-fr" {
			continue
		}
		for _, d := range hc.Dates {
			day, _ := time.Parse("2006-01-02", d.Date)
			if day.After(testclock.Now().Add(48*time.Hour)) && works[day.Weekday()] && (holiday.IsZero() || day.Before(holiday)) {
				holiday = day
			}
		}
	}
	tests := []struct {
		name, start, end, reason string
	}{
		{"outside hours", start.Truncate(24 * time.Hour).Add(90 * time.Minute).Format(time.RFC3339),
			start.Truncate(24 * time.Hour).Add(150 * time.Minute).Format(time.RFC3339), apphub.ReasonOutsideHours},
		{"holiday", holiday.Add(time.Duration(start.Hour()) * time.Hour).Format(time.RFC3339),
			holiday.Add(time.Duration(start.Hour()+1) * time.Hour).Format(time.RFC3339), apphub.ReasonHoliday},
	}
	if holiday.IsZero() || holiday.After(testclock.Now().Add(30*24*time.Hour)) {
		// Beyond the 30-day horizon the refusal names the horizon instead.
		tests[1].reason = apphub.ReasonOutsideHorizon
		if holiday.IsZero() {
			tests = tests[:1]
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("POST", api+"appointment", appointmentBody(tech, tt.start, tt.end))
			if r.status != http.StatusConflict || r.object(t)["code"] != tt.reason {
				t.Fatalf("%s, want 409 %s", r, tt.reason)
			}
		})
	}
	// A category is needed to book; a postcode alone never books.
	r := h.do("POST", api+"appointment", strings.Replace(appointmentBody(tech, slot["validFor"].(map[string]any)["startDateTime"].(string), slot["validFor"].(map[string]any)["endDateTime"].(string)), `"category":"repair",`, "", 1))
	if r.status != http.StatusBadRequest {
		t.Fatalf("booking without a category: %s", r)
	}
	_, list := h.list("appointment", "")
	if len(list) != 0 {
		t.Fatalf("refused bookings stored %d appointments", len(list))
	}
	rec := h.create("appointment", `{"validFor":{"startDateTime":"2020-01-01T10:00:00Z","endDateTime":"2020-01-01T11:00:00Z"},
		"relatedPlace":{"role":"installationAddress","postCode":"75011","@type":"GeographicAddress"}}`)
	if rec["status"] != "initialized" {
		t.Fatalf("a record with a postcode only: %v", rec)
	}
}

// Cancelling a booked appointment frees its time; booking it again succeeds.
func TestCancelFreesTheTime(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	task := h.create("searchTimeSlot", searchBody("repair", "75011", from, from.Add(7*24*time.Hour)))
	slot := task["availableTimeSlot"].([]any)[0].(map[string]any)
	vf := slot["validFor"].(map[string]any)
	body := appointmentBody(slot["relatedParty"].(map[string]any)["id"].(string), vf["startDateTime"].(string), vf["endDateTime"].(string))
	a := h.create("appointment", body)
	h.want(h.do("POST", api+"appointment", body), http.StatusConflict)
	h.want(h.do("PATCH", api+"appointment/"+a["id"].(string), `{"status":"cancelled"}`, "Content-Type", "application/merge-patch+json", "If-Match", `"1"`), http.StatusOK)
	h.create("appointment", body)
}

// An appointment booked through GraphQL (the booking service directly) is the same TMF646
// resource: its time, category and resource show, and its ETag is its version.
func TestAppointmentBookedElsewhereIsATMFResource(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	res, err := h.svc.Search(asOperator(context.Background()), booking.SlotQuery{Category: "repair", Place: "75011", From: from, To: from.Add(7 * 24 * time.Hour)})
	if err != nil || len(res.Days) == 0 {
		t.Fatalf("search: %v", err)
	}
	s := res.Days[0].Slots[0]
	a, err := h.svc.Book(asOperator(context.Background()), booking.NewAppointment{Category: "repair", Place: "75011", Resource: s.Resources[0].ResourceID, Start: s.Start})
	if err != nil {
		t.Fatal(err)
	}
	r := h.want(h.do("GET", api+"appointment/"+a.ID, ""), http.StatusOK)
	obj := r.object(t)
	party := obj["relatedParty"].([]any)[0].(map[string]any)
	if obj["category"] != "repair" || party["id"] != s.Resources[0].ResourceID || r.header.Get("ETag") != `"1"` ||
		obj["validFor"].(map[string]any)["startDateTime"] != s.Start.Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("%s", r)
	}
}
