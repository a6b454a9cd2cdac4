package tmfrest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/testclock"
)

// Search tasks in recommended order (docs/tmf646.md, "Recommended order"): the extension
// attributes rank and preferredTime of SearchTimeSlot, and score and recommendationReason of
// each TimeSlot.

// taskEntry is an entry of a search task's availableTimeSlot.
type taskEntry struct {
	start, end time.Time
	validFor   map[string]any // as listed
	resource   string         // relatedParty.id
	ranked     bool           // it has a score and reasons
	score      int64
	reasons    []string // codes, in order
	raw        map[string]any
}

func (e taskEntry) key() string { return e.start.Format(time.RFC3339) + " " + e.resource }

func (e taskEntry) has(code string) bool { return slices.Contains(e.reasons, code) }

// taskEntries reads the entries of task, checking that a score comes with its reasons (each a
// code and a message) and never alone.
func taskEntries(t *testing.T, task map[string]any) []taskEntry {
	t.Helper()
	list, _ := task["availableTimeSlot"].([]any)
	out := make([]taskEntry, 0, len(list))
	for i, v := range list {
		slot := v.(map[string]any)
		e := taskEntry{raw: slot, validFor: slot["validFor"].(map[string]any)}
		var err1, err2 error
		e.start, err1 = time.Parse(time.RFC3339, e.validFor["startDateTime"].(string))
		e.end, err2 = time.Parse(time.RFC3339, e.validFor["endDateTime"].(string))
		if err1 != nil || err2 != nil {
			t.Fatalf("slot %d: %v", i, slot)
		}
		e.resource, _ = slot["relatedParty"].(map[string]any)["id"].(string)
		score, hasScore := slot["score"].(json.Number)
		reasons, hasReasons := slot["recommendationReason"].([]any)
		if hasScore != hasReasons || (slot["score"] != nil) != hasScore || (slot["recommendationReason"] != nil) != hasReasons {
			t.Fatalf("slot %d: score and recommendationReason come together: %v", i, slot)
		}
		if hasScore {
			var err error
			if e.score, err = score.Int64(); err != nil {
				t.Fatalf("slot %d: score %v is not an integer", i, score)
			}
			e.ranked = true
		}
		for _, r := range reasons {
			r, _ := r.(map[string]any)
			code, _ := r["code"].(string)
			msg, _ := r["message"].(string)
			if code == "" || msg == "" || len(r) != 2 {
				t.Fatalf("slot %d: reason %v, want a code and a message", i, r)
			}
			e.reasons = append(e.reasons, code)
		}
		out = append(out, e)
	}
	return out
}

// searchWith is searchBody with more attributes (JSON members, each after a comma).
func searchWith(category, postCode string, from, to time.Time, extra string) string {
	return strings.TrimSuffix(searchBody(category, postCode, from, to), "}") + extra + "}"
}

const recommended = `,"rank":"recommended"`

func paris(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// bestFirst fails unless every entry is ranked and the scores never rise.
func bestFirst(t *testing.T, entries []taskEntry) {
	t.Helper()
	for i, e := range entries {
		if !e.ranked {
			t.Fatalf("entry %d has no score: %v", i, e.raw)
		}
		if i > 0 && e.score > entries[i-1].score {
			t.Fatalf("entry %d scores %d, after %d", i, e.score, entries[i-1].score)
		}
	}
}

func keys(entries []taskEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.key()
	}
	return out
}

// With a repair booked for a technician, a recommended search of that day lists first the slots
// next to the job, for that technician (NEXT_TO_ANOTHER_JOB), before the day's isolated slots,
// even those that start earlier; the entries are those of the default order, reordered.
func TestSearchTimeSlotRecommendedNextToAJob(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	loc := paris(t)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	res, err := h.svc.Search(asOperator(context.Background()), booking.SlotQuery{Category: demo.Repair, Place: "75011", From: from, To: from.Add(10 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// A repair at noon, Paris time, on a weekday after the first (a day that many technicians
	// work from the morning), with the first technician free then.
	var noon apphub.Slot
	for _, d := range res.Days {
		for _, s := range d.Slots {
			l := s.Start.In(loc)
			workday := l.Weekday() != time.Saturday && l.Weekday() != time.Sunday
			if noon.Start.IsZero() && workday && d.Date > from.In(loc).Format(time.DateOnly) && l.Hour() == 12 && l.Minute() == 0 {
				noon = s
			}
		}
	}
	if noon.Start.IsZero() {
		t.Fatalf("no repair at noon at 75011 in the 10 days from %v", from)
	}
	tech := noon.Resources[0].ResourceID
	h.create("appointment", appointmentBody(tech, noon.Start.UTC().Format(time.RFC3339), noon.End.UTC().Format(time.RFC3339)))

	l := noon.Start.In(loc)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	wFrom, wTo := day, day.AddDate(0, 0, 1)
	earliest := taskEntries(t, h.create("searchTimeSlot", searchBody(demo.Repair, "75011", wFrom, wTo)))
	ranked := taskEntries(t, h.create("searchTimeSlot", searchWith(demo.Repair, "75011", wFrom, wTo, recommended)))
	if len(earliest) >= booking.MaxTaskSlots || len(ranked) != len(earliest) {
		t.Fatalf("%d entries ranked, %d by start; want the same, fewer than the cap", len(ranked), len(earliest))
	}
	if a, b := slices.Sorted(slices.Values(keys(ranked))), slices.Sorted(slices.Values(keys(earliest))); !slices.Equal(a, b) {
		t.Fatalf("the ranked entries are not the day's entries")
	}
	bestFirst(t, ranked)

	firstIsolated := slices.IndexFunc(ranked, func(e taskEntry) bool { return !e.has(apphub.RecommendNextToJob) })
	if firstIsolated <= 0 {
		t.Fatalf("first isolated entry at %d: no entry next to the job at noon of %s", firstIsolated, tech)
	}
	for i, e := range ranked {
		next := e.has(apphub.RecommendNextToJob)
		if next && (i > firstIsolated || e.resource != tech) {
			t.Fatalf("entry %d (%s) is next to a job, after the isolated entry %d or not with %s", i, e.key(), firstIsolated, tech)
		}
		if next && e.raw["relatedParty"].(map[string]any)["name"] == nil {
			t.Fatalf("entry %d: relatedParty %v", i, e.raw["relatedParty"])
		}
	}
	// An isolated slot of the day that starts earlier comes after the one next to the job.
	top := ranked[0]
	if !slices.ContainsFunc(ranked[firstIsolated:], func(e taskEntry) bool { return e.start.Before(top.start) }) {
		t.Fatalf("no isolated slot before %v ranks after it: the order is the clock's", top.start)
	}
}

// preferredTime puts the slots that fit it first, over all the slots the windows found: the cap
// of 500 applies after ranking, so slots past the earliest 500 come first when they fit.
func TestSearchTimeSlotPreferredTimeRanksBeforeTheCap(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	loc := paris(t)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	to := from.Add(10 * 24 * time.Hour)
	earliest := taskEntries(t, h.create("searchTimeSlot", searchBody(demo.Repair, "75011", from, to)))
	if len(earliest) != booking.MaxTaskSlots {
		t.Fatalf("%d entries by start, want the cap, %d", len(earliest), booking.MaxTaskSlots)
	}
	cutoff := earliest[len(earliest)-1].start
	res, err := h.svc.Search(asOperator(context.Background()), booking.SlotQuery{Category: demo.Repair, Place: "75011", From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	// A weekday with a repair at 15:00 after the earliest 500.
	var pick time.Time
	for _, d := range res.Days {
		for _, s := range d.Slots {
			if l := s.Start.In(loc); pick.IsZero() && s.Start.After(cutoff) && l.Hour() == 15 && l.Minute() == 0 {
				pick = s.Start
			}
		}
	}
	if pick.IsZero() {
		t.Fatalf("no repair at 15:00 after %v", cutoff)
	}
	weekday := pick.In(loc).Weekday()
	fits := map[string]bool{} // every slot and resource of the answer within 15:00-17:00 on that weekday
	for _, d := range res.Days {
		for _, s := range d.Slots {
			start := s.Start.In(loc)
			from := start.Hour()*60 + start.Minute()
			if start.Weekday() == weekday && from >= 15*60 && from+int(s.End.Sub(s.Start).Minutes()) <= 17*60 {
				for _, r := range s.Resources {
					fits[taskEntry{start: s.Start.UTC(), resource: r.ResourceID}.key()] = true
				}
			}
		}
	}

	body := searchWith(demo.Repair, "75011", from, to, fmt.Sprintf(`,"rank":"recommended","preferredTime":[{"weekday":[%q],"from":"15:00","to":"17:00"}]`, strings.ToLower(weekday.String())))
	ranked := taskEntries(t, h.create("searchTimeSlot", body))
	if len(ranked) != booking.MaxTaskSlots {
		t.Fatalf("%d entries ranked, want the cap, %d", len(ranked), booking.MaxTaskSlots)
	}
	bestFirst(t, ranked)
	for i, e := range ranked {
		if want := i < len(fits); e.has(apphub.RecommendPreferredTime) != want || want && !fits[e.key()] {
			t.Fatalf("entry %d (%s, %v): want the %d entries on %v 15:00-17:00 first", i, e.key(), e.reasons, len(fits), weekday)
		}
	}
	if !slices.ContainsFunc(ranked[:len(fits)], func(e taskEntry) bool { return e.start.Equal(pick) }) {
		t.Fatalf("the slots at %v, past the earliest 500, are not among the first", pick)
	}
}

// Without rank, and with rank earliest, a task lists its entries by start, as the engine
// answers them, without score or reasons.
func TestSearchTimeSlotDefaultOrderIsEarliest(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	to := from.Add(2 * 24 * time.Hour)
	res, err := h.svc.Search(asOperator(context.Background()), booking.SlotQuery{Category: demo.Repair, Place: "75011", From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range res.Days {
		for _, s := range d.Slots {
			for _, r := range s.Resources {
				want = append(want, taskEntry{start: s.Start.UTC(), resource: r.ResourceID}.key())
			}
		}
	}
	want = want[:min(len(want), booking.MaxTaskSlots)]
	plain := h.create("searchTimeSlot", searchBody(demo.Repair, "75011", from, to))
	explicit := h.create("searchTimeSlot", searchWith(demo.Repair, "75011", from, to, `,"rank":"earliest"`))
	if _, ok := plain["rank"]; ok || explicit["rank"] != "earliest" {
		t.Fatalf("rank: %v and %v, want none and the one sent", plain["rank"], explicit["rank"])
	}
	for _, task := range []map[string]any{plain, explicit} {
		entries := taskEntries(t, task)
		if len(want) == 0 || !slices.Equal(keys(entries), want) {
			t.Fatalf("rank %v: %d entries, not the engine's %d by start", task["rank"], len(entries), len(want))
		}
		for i, e := range entries {
			if e.ranked || i > 0 && e.start.Before(entries[i-1].start) {
				t.Fatalf("rank %v: entry %d: %v", task["rank"], i, e.raw)
			}
		}
	}
}

// A rank or a preferredTime the hub does not understand is a 400 TMF Error naming the
// attribute, on POST (searched or only stored) and PATCH, and nothing is stored or changed.
func TestSearchTimeSlotRankRefused(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	to := from.Add(24 * time.Hour)
	pref := func(entries string) string { return recommended + `,"preferredTime":` + entries }
	fifteen := strings.TrimSuffix(strings.Repeat(`{"from":"09:00","to":"12:00"},`, 15), ",")
	for _, tc := range []struct{ extra, field string }{
		{`,"rank":"best"`, "rank"},
		{`,"rank":"Recommended"`, "rank"},
		{`,"rank":1`, "rank"},
		{`,"rank":null`, "rank"},
		{`,"rank":["recommended"]`, "rank"},
		{`,"preferredTime":[{"from":"09:00","to":"12:00"}]`, "preferredTime"},
		{`,"rank":"earliest","preferredTime":[]`, "preferredTime"},
		{pref(`{"from":"09:00","to":"12:00"}`), "preferredTime"},
		{pref(`null`), "preferredTime"},
		{pref(`["09:00"]`), "preferredTime[0]"},
		{pref(`[{"weekday":["Monday"],"from":"09:00","to":"12:00"}]`), "preferredTime[0].weekday[0]"},
		{pref(`[{"weekday":["monday",1],"from":"09:00","to":"12:00"}]`), "preferredTime[0].weekday[1]"},
		{pref(`[{"weekday":[],"from":"09:00","to":"12:00"}]`), "preferredTime[0].weekday"},
		{pref(`[{"weekday":"monday","from":"09:00","to":"12:00"}]`), "preferredTime[0].weekday"},
		{pref(`[{"from":"09:00"}]`), "preferredTime[0].to"},
		{pref(`[{"to":"12:00"}]`), "preferredTime[0].from"},
		{pref(`[{"from":900,"to":"12:00"}]`), "preferredTime[0].from"},
		{pref(`[{"from":"9h","to":"12:00"}]`), "preferredTime[0].from"},
		{pref(`[{"from":"09:10","to":"12:00"}]`), "preferredTime[0].from"},
		{pref(`[{"from":"12:00","to":"09:00"}]`), "preferredTime[0].to"},
		{pref(`[{"from":"09:00","to":"25:00"}]`), "preferredTime[0].to"},
		{pref(`[{"from":"09:00","to":"12:00"},{"form":"09:00","to":"12:00"}]`), "preferredTime[1].form"},
		{pref(`[` + fifteen + `]`), "preferredTime"},
	} {
		r := h.want(h.do("POST", api+"searchTimeSlot", searchWith(demo.Repair, "75011", from, to, tc.extra)), http.StatusBadRequest)
		if e := r.object(t); e["code"] != apphub.EINVALID || !strings.HasPrefix(e["message"].(string), tc.field+": ") {
			t.Errorf("%s: %s, want a VALIDATION error naming %s", tc.extra, r.body, tc.field)
		}
	}
	// A task that asks for no search keeps the same rules.
	h.want(h.do("POST", api+"searchTimeSlot", `{"rank":"best"}`), http.StatusBadRequest)
	if _, l := h.list("searchTimeSlot", ""); len(l) != 0 {
		t.Fatalf("refused tasks stored: %v", ids(l))
	}

	task := h.create("searchTimeSlot", searchWith(demo.Repair, "75011", from, to, pref(`[{"from":"09:00","to":"12:00"}]`)))
	id := task["id"].(string)
	before := h.want(h.do("GET", api+"searchTimeSlot/"+id, ""), http.StatusOK)
	for _, tc := range []struct{ patch, field string }{
		{`{"rank":"best"}`, "rank"},
		{`{"rank":null}`, "preferredTime"}, // preferred times without rank recommended
		{`{"preferredTime":[{"from":"09:00","to":"08:00"}]}`, "preferredTime[0].to"},
	} {
		r := h.want(h.do("PATCH", api+"searchTimeSlot/"+id, tc.patch, "Content-Type", "application/merge-patch+json"), http.StatusBadRequest)
		if e := r.object(t); !strings.HasPrefix(e["message"].(string), tc.field+": ") {
			t.Errorf("PATCH %s: %s, want an error naming %s", tc.patch, r.body, tc.field)
		}
	}
	if after := h.want(h.do("GET", api+"searchTimeSlot/"+id, ""), http.StatusOK); !bytes.Equal(after.body, before.body) {
		t.Fatalf("refused patches changed the task:\n%s\n%s", before.body, after.body)
	}
	if errs := h.logs.errors(); len(errs) > 0 {
		t.Fatalf("refusals logged as errors: %v", errs)
	}
}

// A ranked task is stored as answered: GET, the list and each slot's href give the same order,
// scores and reasons, and a PATCH keeps them (it does not search again). A crew job ranks its
// crews the same way.
func TestSearchTimeSlotRankedTaskIsStored(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	to := from.Add(3 * 24 * time.Hour)
	extra := `,"rank":"recommended","preferredTime":[{"weekday":["monday","friday"],"from":"14:00","to":"18:00"},{"from":"08:00","to":"10:00"}]`
	r := h.want(h.do("POST", api+"searchTimeSlot", searchWith(demo.Repair, "75011", from, to, extra)), http.StatusCreated)
	h.validate("SearchTimeSlot", r.body)
	task := r.object(t)
	entries := taskEntries(t, task)
	if len(entries) == 0 {
		t.Fatalf("no slot: %s", r.body)
	}
	bestFirst(t, entries)
	if task["rank"] != "recommended" || !rawEqual(t, task["preferredTime"], []any{
		map[string]any{"weekday": []any{"monday", "friday"}, "from": "14:00", "to": "18:00"},
		map[string]any{"from": "08:00", "to": "10:00"},
	}) {
		t.Fatalf("rank %v, preferredTime %v: not as sent", task["rank"], task["preferredTime"])
	}
	id := task["id"].(string)
	g := h.want(h.do("GET", api+"searchTimeSlot/"+id, ""), http.StatusOK)
	h.validate("SearchTimeSlot", g.body)
	if !bytes.Equal(g.body, r.body) {
		t.Fatalf("GET answers\n%s\nthe POST answered\n%s", g.body, r.body)
	}
	if _, l := h.list("searchTimeSlot", "id="+id); len(l) != 1 || !rawEqual(t, l[0], task) {
		t.Fatalf("the list shows %v", l)
	}
	for _, e := range []taskEntry{entries[0], entries[len(entries)-1]} {
		s := h.want(h.do("GET", e.raw["href"].(string), ""), http.StatusOK)
		h.validate("TimeSlot", s.body)
		if !rawEqual(t, s.object(t), e.raw) {
			t.Fatalf("the slot's href answers %s, the task lists %v", s.body, e.raw)
		}
	}
	p := h.want(h.do("PATCH", api+"searchTimeSlot/"+id, `{"channel":"partner-portal"}`, "Content-Type", "application/merge-patch+json"), http.StatusOK)
	h.validate("SearchTimeSlot", p.body)
	if patched := p.object(t); !rawEqual(t, patched["availableTimeSlot"], task["availableTimeSlot"]) {
		t.Fatalf("a PATCH changed the ranked slots")
	}

	// The same window twice: each entry once.
	twice := strings.Replace(searchWith(demo.Repair, "75011", from, to, extra), `"requestedTimeSlot":[`,
		fmt.Sprintf(`"requestedTimeSlot":[{"validFor":{"startDateTime":%q,"endDateTime":%q}},`, from.Format(time.RFC3339), to.Format(time.RFC3339)), 1)
	if again := taskEntries(t, h.create("searchTimeSlot", twice)); !slices.Equal(keys(again), keys(entries)) {
		t.Fatalf("the same window twice: %d entries, once: %d", len(again), len(entries))
	}

	crews := taskEntries(t, h.create("searchTimeSlot", searchWith(demo.BuildingFibre, "75011", from, from.Add(7*24*time.Hour), recommended)))
	if len(crews) == 0 {
		t.Fatal("no crew slot")
	}
	bestFirst(t, crews)
	seen := map[string]bool{}
	for i, e := range crews {
		if crew, _ := e.raw["crew"].([]any); len(crew) != 3 || seen[e.start.String()] {
			t.Fatalf("crew entry %d: %v, want one entry per slot, with its crew", i, e.raw)
		}
		seen[e.start.String()] = true
	}
}
