package resolvers_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/graph/model"
	"github.com/apphub/apphub/resolvers"
)

// Ranked slots over GraphQL: recommended and rank RECOMMENDED on the demo's repairs at 75011,
// through every path that answers an availability (the grid encoder of the response cache,
// gqlgen, the cache itself, the live grids).

// rankedGrid asks for a week of repairs at 75011 with a rank, preferred times and the first
// $n recommendations. Alone in its operation, it is answered by the grid encoder.
const rankedGrid = `query($from: Time!, $to: Time!, $rank: SlotRank, $prefs: [PreferredTimeInput!], $n: Int) {
	availability(input: {category: "repair", place: "75011", from: $from, to: $to, rank: $rank, preferredTimes: $prefs}) {
		timeZone version days { date slots { start end resources { resource { id } } } }
		recommended(first: $n) { start end capacity resource { id } crew { id } score reasons { code message } } } }`

type rankedAnswer struct {
	TimeZone    string
	Version     string
	Days        []rankedDay
	Recommended []recommendedSlot
}

type rankedDay struct {
	Date  string
	Slots []rankedSlot
}

type rankedSlot struct {
	Start, End time.Time
	Resources  []struct{ Resource struct{ ID string } }
}

type recommendedSlot struct {
	Start, End time.Time
	Capacity   int
	Resource   *struct{ ID string }
	Crew       []struct{ ID string }
	Score      int
	Reasons    []struct{ Code, Message string }
}

func (r recommendedSlot) has(code string) bool {
	return slices.ContainsFunc(r.Reasons, func(x struct{ Code, Message string }) bool { return x.Code == code })
}

func (r recommendedSlot) resource() string {
	if r.Resource == nil {
		return ""
	}
	return r.Resource.ID
}

// window is the from and to of rankedGrid's answers.
type window [2]time.Time

// aWeek is a week from a day ahead.
var aWeek = window{now.Add(24 * time.Hour), now.Add(8 * 24 * time.Hour)}

// rankedVars are rankedGrid's variables; prefs nil leaves them out.
func rankedVars(w window, rank string, prefs []map[string]any, n int) map[string]any {
	v := map[string]any{"from": w[0].Format(time.RFC3339), "to": w[1].Format(time.RFC3339), "rank": rank, "n": n}
	if prefs != nil {
		v["prefs"] = prefs
	}
	return v
}

// ranked runs a document (rankedGrid, or one built from it) and decodes its availability.
func (g *gqlClient) ranked(doc string, vars map[string]any) rankedAnswer {
	g.t.Helper()
	d := g.do(doc, vars)
	b, _ := json.Marshal(d["availability"])
	var a rankedAnswer
	if err := json.Unmarshal(b, &a); err != nil || len(a.Days) == 0 {
		g.t.Fatalf("%v: %s", err, b)
	}
	return a
}

// starts lists the starts of a day's slots, in the answer's order.
func (a rankedAnswer) starts(day int) []time.Time {
	var out []time.Time
	for _, s := range a.Days[day].Slots {
		out = append(out, s.Start)
	}
	return out
}

// dayOf finds the day of a date.
func (a rankedAnswer) dayOf(date string) int {
	for i, d := range a.Days {
		if d.Date == date {
			return i
		}
	}
	return -1
}

// starts lists each technician's starts on a day.
func (d rankedDay) starts() map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, s := range d.Slots {
		for _, r := range s.Resources {
			out[r.Resource.ID] = append(out[r.Resource.ID], s.Start)
		}
	}
	return out
}

// busyWindow is a week from the first slot of the first date (a day ahead or later) on which
// a technician is offered 5 starts or more: whatever the instant the tests run at (a weekend,
// a holiday), its first date is a working day.
func (g *gqlClient) busyWindow() window {
	g.t.Helper()
	a := g.ranked(rankedGrid, rankedVars(window{aWeek[0], aWeek[0].Add(14 * 24 * time.Hour)}, "EARLIEST", nil, 0))
	for _, d := range a.Days {
		for _, list := range d.starts() {
			if len(list) >= 5 {
				return window{d.Slots[0].Start, d.Slots[0].Start.Add(7 * 24 * time.Hour)}
			}
		}
	}
	g.t.Fatalf("no technician with 5 starts on a day in two weeks: %+v", a.Days)
	return window{}
}

// bookInTheMiddle books, as the customer, the middle start of the busiest technician of w's
// first date (the one offered the most starts that day, the lowest id among equals), and
// returns its date, technician, start and end.
func (g *gqlClient) bookInTheMiddle(w window) (string, string, time.Time, time.Time) {
	g.t.Helper()
	a := g.ranked(rankedGrid, rankedVars(w, "EARLIEST", nil, 0))
	starts := a.Days[0].starts()
	tech := ""
	for id, list := range starts {
		if tech == "" || len(list) > len(starts[tech]) || len(list) == len(starts[tech]) && id < tech {
			tech = id
		}
	}
	if len(starts[tech]) < 5 {
		g.t.Fatalf("no technician with 5 starts on %s: %v", a.Days[0].Date, starts)
	}
	start := starts[tech][len(starts[tech])/2]
	d := g.do(`mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) {
		appointment { start end } `+errFields+` } }`, map[string]any{"s": start.Format(time.RFC3339), "r": tech})
	end, err := time.Parse(time.RFC3339, fmt.Sprint(get(d, "bookAppointment.appointment.end")))
	if err != nil {
		g.t.Fatalf("booking %s at %s: %v", tech, start, d)
	}
	return a.Days[0].Date, tech, start, end
}

// A technician's booked job draws the recommendation to the slot right before or after it,
// on that technician, above the slots of the same day that touch no job.
func TestRecommendedNextToAJob(t *testing.T) {
	t.Parallel()
	g := newClient(t).as(customer)
	w := g.busyWindow()
	date, tech, jobStart, jobEnd := g.bookInTheMiddle(w)

	a := g.ranked(rankedGrid, rankedVars(w, "EARLIEST", nil, 3))
	if len(a.Recommended) != 3 {
		t.Fatalf("recommended(first: 3): %+v", a.Recommended)
	}
	best := a.Recommended[0]
	touches := !best.Start.Before(jobEnd) && best.Start.Sub(jobEnd) <= time.Hour || !best.End.After(jobStart) && jobStart.Sub(best.End) <= time.Hour
	if best.resource() != tech || !best.has(apphub.RecommendNextToJob) || !touches || len(best.Crew) != 0 {
		t.Fatalf("the best slot %+v, want one of %s right before or after its job %s–%s", best, tech, jobStart, jobEnd)
	}

	// The whole ranking: below it, a slot of the same date that touches no job.
	all := g.ranked(rankedGrid, rankedVars(w, "EARLIEST", nil, 50)).Recommended
	loc, _ := time.LoadLocation(a.TimeZone)
	isolated := slices.IndexFunc(all, func(r recommendedSlot) bool {
		return r.Start.In(loc).Format(time.DateOnly) == date && !r.has(apphub.RecommendNextToJob)
	})
	if isolated < 1 || all[isolated].Score >= all[0].Score || all[0].Start != best.Start {
		t.Fatalf("no isolated slot of %s ranked below the one next to the job: %+v", date, all)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Score > all[i-1].Score {
			t.Fatalf("recommended is not best first at %d: %+v", i, all)
		}
	}
	for _, r := range all {
		if r.Resource == nil || r.Capacity < 1 || slices.ContainsFunc(r.Reasons, func(x struct{ Code, Message string }) bool { return x.Message == "" }) {
			t.Fatalf("a recommendation without its resource, or a reason without its message: %+v", r)
		}
	}
}

// A caller's preferred times move the slots within them first, with their reason; without
// them the same answer ranks otherwise.
func TestRecommendedPreferredTimes(t *testing.T) {
	t.Parallel()
	g := newClient(t).as(customer)
	plain := g.ranked(rankedGrid, rankedVars(aWeek, "EARLIEST", nil, 3))
	loc, _ := time.LoadLocation(plain.TimeZone)

	// The middle slot of the last date with slots: a time the caller prefers on that weekday.
	last := plain.Days[len(plain.Days)-1]
	for i := len(plain.Days) - 1; len(last.Slots) == 0; i-- {
		last = plain.Days[i-1]
	}
	s := last.Slots[len(last.Slots)/2]
	from, to := s.Start.In(loc), s.End.In(loc)
	weekday := strings.ToUpper(from.Weekday().String())
	prefs := []map[string]any{{"weekdays": []string{weekday}, "from": from.Format("15:04"), "to": to.Format("15:04")}}
	matches := func(start, end time.Time) bool {
		start, end = start.In(loc), end.In(loc)
		return start.Weekday() == from.Weekday() && start.Format("15:04") >= from.Format("15:04") &&
			end.Format("15:04") <= to.Format("15:04") && start.Format(time.DateOnly) == end.Format(time.DateOnly)
	}
	if !slices.ContainsFunc(plain.Recommended, func(r recommendedSlot) bool { return !matches(r.Start, r.End) }) {
		t.Fatalf("without preferred times every recommendation is within them already: %+v", plain.Recommended)
	}

	a := g.ranked(rankedGrid, rankedVars(aWeek, "RECOMMENDED", prefs, 3))
	best := a.Recommended[0]
	if !best.has(apphub.RecommendPreferredTime) || !matches(best.Start, best.End) || best.Score <= plain.Recommended[0].Score {
		t.Fatalf("with %v the best slot is %+v (without: %+v)", prefs, best, plain.Recommended[0])
	}
	for _, r := range a.Recommended {
		if r.has(apphub.RecommendPreferredTime) != matches(r.Start, r.End) {
			t.Fatalf("%s: the reason and the preferred time disagree: %+v", r.Start, r)
		}
	}
	// The preferred time's day, ranked, starts with it.
	day := a.dayOf(last.Date)
	if day < 0 || !a.Days[day].Slots[0].Start.Equal(s.Start) {
		t.Fatalf("the day of the preferred time, ranked, starts with %v, want %s", a.starts(day), s.Start)
	}
}

// The same query gives the same ranking every time, by the grid encoder, from the response
// cache, and by gqlgen.
func TestRecommendedIsDeterministic(t *testing.T) {
	t.Parallel()
	g := newClient(t).as(customer)
	w := g.busyWindow()
	g.bookInTheMiddle(w)
	prefs := []map[string]any{{"from": "13:00", "to": "17:00"}, {"weekdays": []string{"SATURDAY", "MONDAY"}, "from": "08:00", "to": "10:00"}}
	vars := rankedVars(w, "RECOMMENDED", prefs, 20)
	first := g.ranked(rankedGrid, vars)
	gqlgen := strings.Replace(rankedGrid, "{\n\tavailability", "{ __typename\n\tavailability", 1) // two fields: gqlgen executes it
	if gqlgen == rankedGrid {
		t.Fatal("the document for gqlgen is the encoder's")
	}
	for i, doc := range []string{rankedGrid, rankedGrid, gqlgen, gqlgen} {
		again := g.ranked(doc, vars)
		if !slices.EqualFunc(again.Recommended, first.Recommended, recommendedEqual) || fmt.Sprint(again.Days) != fmt.Sprint(first.Days) {
			t.Fatalf("run %d ranked otherwise:\n%+v\n%+v", i, again.Recommended, first.Recommended)
		}
	}
	if len(first.Recommended) != 20 {
		t.Fatalf("recommended(first: 20): %d", len(first.Recommended))
	}
}

func recommendedEqual(a, b recommendedSlot) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// wantRanked checks that the answer's days are the search's, each day's slots in the
// recommendation's order (rank RECOMMENDED) or by start.
func wantRanked(t *testing.T, svc resolvers.Service, w window, a rankedAnswer, recommended bool) {
	t.Helper()
	res, err := svc.Search(ctxAs(customer), booking.SlotQuery{Category: demo.Repair, Place: "75011", From: w[0], To: w[1]})
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation(res.TimeZone)
	if len(a.Days) != len(res.Days) {
		t.Fatalf("%d days, the search has %d", len(a.Days), len(res.Days))
	}
	for i, d := range res.Days {
		var want []time.Time
		if recommended {
			for _, r := range apphub.Recommend([]apphub.SlotDay{d}, loc, nil) {
				want = append(want, r.Slot.Start)
			}
		} else {
			for _, s := range d.Slots {
				want = append(want, s.Start)
			}
		}
		if got := a.starts(i); a.Days[i].Date != d.Date || !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Fatalf("%s (recommended %v): %v, want %v", d.Date, recommended, got, want)
		}
	}
}

// rank RECOMMENDED orders each day's slots by score, and an EARLIEST query of the same window
// still by start: the response cache keeps the two responses apart (the same document, its
// variables differing in rank only), and serves each again.
func TestRankedAndEarliestResponsesKeptApart(t *testing.T) {
	t.Parallel()
	svc := &calendarCounter{Service: newService(t)}
	h := resolvers.WithPrincipal(newHandler(t, svc), customer)
	booker := clientOf(t, newHandler(t, svc), customer)
	w := booker.busyWindow()
	date, _, _, _ := booker.bookInTheMiddle(w)

	post := func(rank string) (string, rankedAnswer) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": rankedGrid, "variables": rankedVars(w, rank, nil, 3)})
		req := httptest.NewRequest("POST", "/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var resp struct {
			Data   struct{ Availability rankedAnswer }
			Errors json.RawMessage
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Errors != nil || len(resp.Data.Availability.Days) == 0 {
			t.Fatalf("%v: %s", err, rec.Body)
		}
		return rec.Body.String(), resp.Data.Availability
	}
	earliest, e := post("EARLIEST")
	wantRanked(t, svc, w, e, false)
	built := svc.calendarReads.Load()
	recommended, r := post("RECOMMENDED")
	wantRanked(t, svc, w, r, true)
	if svc.calendarReads.Load() == built || recommended == earliest {
		t.Fatal("the ranked query was answered with the unranked one's response")
	}
	if day := r.dayOf(date); slices.EqualFunc(r.starts(day), e.starts(day), time.Time.Equal) {
		t.Fatalf("%s ranked is in the order of its starts: %v", date, r.starts(day))
	}
	built = svc.calendarReads.Load()
	for range 2 {
		if again, _ := post("EARLIEST"); again != earliest {
			t.Fatalf("EARLIEST again:\n%s\nwas\n%s", again, earliest)
		}
		if again, _ := post("RECOMMENDED"); again != recommended {
			t.Fatalf("RECOMMENDED again:\n%s\nwas\n%s", again, recommended)
		}
	}
	if svc.calendarReads.Load() != built {
		t.Fatal("the responses were built again instead of served from the cache")
	}
	// Preferred times are part of the request too: another caller's are not served these.
	body, _ := json.Marshal(map[string]any{"query": rankedGrid, "variables": rankedVars(w, "RECOMMENDED", []map[string]any{{"from": "15:00", "to": "16:00"}}, 3)})
	req := httptest.NewRequest("POST", "/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Body.String() == recommended || !strings.Contains(rec.Body.String(), apphub.RecommendPreferredTime) {
		t.Fatalf("with preferred times: %s", rec.Body)
	}
}

// Live grids: subscribers of one window with another rank or other preferred times watch a
// grid of their own, each in its order.
func TestRankedGridSubscriptions(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	g := clientOf(t, newHandler(t, e.svc), customer)
	w := g.busyWindow()
	date, _, _, _ := g.bookInTheMiddle(w)
	place := "75011"
	input := func(rank model.SlotRank, prefs ...*model.PreferredTimeInput) model.AvailabilityInput {
		return model.AvailabilityInput{Category: demo.Repair, Place: &place, From: &w[0], To: &w[1], Rank: &rank, PreferredTimes: prefs}
	}
	asAnswer := func(grid *model.Availability) rankedAnswer {
		t.Helper()
		a := rankedAnswer{TimeZone: grid.TimeZone}
		for _, d := range grid.Days {
			day := rankedDay{Date: d.Date}
			for _, s := range d.Slots {
				day.Slots = append(day.Slots, rankedSlot{Start: s.Start, End: s.End})
			}
			a.Days = append(a.Days, day)
		}
		return a
	}
	earliest, _ := e.grid(customer, input(model.SlotRankEarliest))
	ranked, _ := e.grid(customer, input(model.SlotRankRecommended))
	ranked2, _ := e.grid(customer, input(model.SlotRankRecommended))
	preferring, _ := e.grid(customer, input(model.SlotRankRecommended, &model.PreferredTimeInput{From: "15:00", To: "16:00"}))
	ge, gr := recv(t, earliest), recv(t, ranked)
	if recv(t, ranked2) != gr {
		t.Fatal("two subscribers of one ranked grid got grids of their own")
	}
	gp := recv(t, preferring)
	if n := resolvers.GridWatchers(e.r); n != 3 {
		t.Fatalf("%d watchers, want 3 (by start, ranked, ranked with preferred times)", n)
	}
	wantRanked(t, e.svc, w, asAnswer(ge), false)
	wantRanked(t, e.svc, w, asAnswer(gr), true)
	if day := asAnswer(gr).dayOf(date); slices.EqualFunc(asAnswer(gr).starts(day), asAnswer(ge).starts(day), time.Time.Equal) {
		t.Fatalf("%s ranked is in the order of its starts", date)
	}
	// Their recommendations are their own.
	recs := func(grid *model.Availability) []*model.RecommendedSlot {
		t.Helper()
		out, err := e.r.Availability().Recommended(ctxAs(customer), grid, nil)
		if err != nil || len(out) != 3 {
			t.Fatalf("recommended: %v %v", err, out)
		}
		return out
	}
	if !slices.ContainsFunc(recs(gp)[0].Reasons, func(r *apphub.Reason) bool { return r.Code == apphub.RecommendPreferredTime }) ||
		slices.ContainsFunc(recs(gr)[0].Reasons, func(r *apphub.Reason) bool { return r.Code == apphub.RecommendPreferredTime }) {
		t.Fatalf("preferred times shared between grids: %+v / %+v", recs(gp)[0], recs(gr)[0])
	}

	// An invalid preferred time is refused as the query refuses it.
	ctx := ctxAs(customer)
	if _, err := e.r.Subscription().AvailabilityChanged(ctx, input(model.SlotRankEarliest, &model.PreferredTimeInput{From: "10:00", To: "09:00"})); apphub.ErrorCode(err) != apphub.EINVALID {
		t.Fatalf("an invalid preferred time: %v", err)
	}
}

// Invalid preferred times and a first over 50 are VALIDATION errors naming the field, by the
// grid encoder's path (availability alone) and gqlgen's alike.
func TestRecommendedValidation(t *testing.T) {
	t.Parallel()
	g := newClient(t).as(customer)
	for _, doc := range []string{rankedGrid, strings.Replace(rankedGrid, "{\n\tavailability", "{ __typename\n\tavailability", 1)} {
		for _, tc := range []struct {
			name  string
			prefs []map[string]any
			n     int
			field string
		}{
			{"to before from", []map[string]any{{"from": "10:00", "to": "09:00"}}, 3, "preferredTimes[0].to"},
			{"not a time", []map[string]any{{"from": "08:00", "to": "12:00"}, {"weekdays": []string{"MONDAY"}, "from": "9am", "to": "12:00"}}, 3, "preferredTimes[1].from"},
			{"off the quarter hour", []map[string]any{{"from": "08:10", "to": "12:00"}}, 3, "preferredTimes[0].from"},
			{"too many", slices.Repeat([]map[string]any{{"from": "08:00", "to": "12:00"}}, 15), 3, "preferredTimes"},
			{"first over 50", nil, 51, "first"},
			{"a negative first", nil, -1, "first"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d, errs := g.raw(doc, rankedVars(aWeek, "RECOMMENDED", tc.prefs, tc.n))
				var list []struct {
					Message    string
					Extensions struct{ Code, Field string }
				}
				if err := json.Unmarshal(errs, &list); err != nil || len(list) != 1 || list[0].Extensions.Code != apphub.EINVALID ||
					list[0].Extensions.Field != tc.field || d["availability"] != nil {
					t.Fatalf("want one %s error on %s: %s (data %v)", apphub.EINVALID, tc.field, errs, d)
				}
			})
		}
	}
	// first: 50 is the most, and 0 none.
	if a := g.ranked(rankedGrid, rankedVars(aWeek, "EARLIEST", nil, 50)); len(a.Recommended) != 50 {
		t.Fatalf("recommended(first: 50): %d", len(a.Recommended))
	}
	if a := g.ranked(rankedGrid, rankedVars(aWeek, "EARLIEST", nil, 0)); len(a.Recommended) != 0 {
		t.Fatalf("recommended(first: 0): %d", len(a.Recommended))
	}
	// Without first, 3.
	d := g.do(`query($from: Time!, $to: Time!) { availability(input: {category: "repair", place: "75011", from: $from, to: $to}) { recommended { start } } }`,
		map[string]any{"from": aWeek[0].Format(time.RFC3339), "to": aWeek[1].Format(time.RFC3339)})
	if n := len(get(d, "availability.recommended").([]any)); n != 3 {
		t.Fatalf("recommended without first: %d", n)
	}
}
