package slots

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// This file checks the engine against a reference written independently and simply: it
// walks time minute by minute, reads the wall clock with time.Time.In, and decides each rule
// by comparing the highest wall-clock reading seen so far with the rule's wall-clock bounds
// ("a rule starts when the clock first shows its start"). It shares no code with the engine.

type refCase struct {
	data   apphub.CalendarData
	claims []refClaim
	query  Query
}

type refClaim struct {
	resource string
	start    time.Time
	seat     int
}

type refOffer struct {
	date       string
	start, end time.Time
	resource   string
	seats      int
	joined     uint8 // apphub.Joined* bits
}

func (o refOffer) String() string {
	return fmt.Sprintf("%s %s–%s %s(%d %s)", o.date, o.start.Format(time.RFC3339), o.end.Format("15:04Z"), o.resource, o.seats, joinedString(o.joined))
}

// joinedString spells Joined bits out: what touches the job's lead time before it, then what
// touches the job and its lead time after it ("job", "edge" or "-").
func joinedString(j uint8) string {
	side := func(job, edge uint8) string {
		switch {
		case j&job != 0 && j&edge != 0:
			return "job+edge"
		case j&job != 0:
			return "job"
		case j&edge != 0:
			return "edge"
		}
		return "-"
	}
	s := side(apphub.JoinedJobBefore, apphub.JoinedEdgeBefore) + "|" + side(apphub.JoinedJobAfter, apphub.JoinedEdgeAfter)
	if rest := j &^ (apphub.JoinedJobBefore | apphub.JoinedJobAfter | apphub.JoinedEdgeBefore | apphub.JoinedEdgeAfter); rest != 0 {
		s += fmt.Sprintf("+%#x", rest)
	}
	return s
}

// The reference's reasons, in the order of how far the checks got.
var refRanks = []string{
	apphub.ReasonNoSkilledResourceInZone,
	apphub.ReasonNotASlotStart,
	apphub.ReasonOutsideHorizon,
	apphub.ReasonInsideMinimumNotice,
	apphub.ReasonOutsideHours,
	apphub.ReasonHoliday,
	apphub.ReasonFullyBooked,
	apphub.ReasonTravelTime,
}

func refRank(code string) int { return slices.Index(refRanks, code) }

// reference is the brute-force model of one case.
type reference struct {
	c        refCase
	cat      apphub.Category
	zone     string // zone to serve, "" for none
	place    string // managed place searched
	placeTZ  string
	from, to time.Time
	lo, hi   int64                       // unix minutes covered
	clocks   map[string]*refClock        // by time zone
	cands    map[string][][2]time.Time   // by time zone
	minutes  map[string][]int8           // resource id → state per minute in [lo, hi)
	seats    map[string]map[int64][]bool // resource → unix quantum start → seats taken
}

const (
	refOutside int8 = iota
	refClosed
	refWorking
)

// refClock is a zone's wall clock per minute: the reading and its running maximum.
type refClock struct {
	reading, high []int64 // civil minutes, indexed by unix minute - lo
}

// civilMinute is the wall clock at t in loc, in minutes since 1970-01-01T00:00 local.
func civilMinute(t time.Time, loc *time.Location) int64 {
	_, offset := t.In(loc).Zone()
	return (t.Unix() + int64(offset)) / 60
}

func newReference(c refCase) *reference {
	r := &reference{
		c:       c,
		from:    c.query.From,
		to:      c.query.To,
		clocks:  map[string]*refClock{},
		cands:   map[string][][2]time.Time{},
		minutes: map[string][]int8{},
		seats:   map[string]map[int64][]bool{},
	}
	for _, k := range c.data.Categories {
		if k.ID == c.query.Category {
			r.cat = k
		}
	}
	for _, p := range c.data.Places {
		if p.ID == c.query.Place {
			r.place, r.zone, r.placeTZ = p.ID, p.Zone, p.TimeZone
		}
	}
	for _, z := range c.data.Zones {
		if r.place == "" && slices.Contains(z.PostCodes, c.query.Place) {
			r.zone, r.placeTZ = z.ID, z.TimeZone
		}
	}
	if r.placeTZ == "" {
		r.placeTZ = r.resource(c.query.Resource).TimeZone
	}
	// Wide enough for a day's window starting just before To, plus buffers.
	r.lo = r.from.Add(-24*time.Hour).Unix() / 60
	r.hi = r.to.Add(27*time.Hour).Unix() / 60
	for _, cl := range c.claims {
		m := r.seats[cl.resource]
		if m == nil {
			m = map[int64][]bool{}
			r.seats[cl.resource] = m
		}
		q := cl.start.Unix()
		if m[q] == nil {
			m[q] = make([]bool, 64)
		}
		m[q][cl.seat] = true
	}
	for _, res := range c.data.Resources {
		r.minutes[res.ID] = r.states(res)
	}
	return r
}

func (r *reference) resource(id string) apphub.Resource {
	for _, res := range r.c.data.Resources {
		if res.ID == id {
			return res
		}
	}
	return apphub.Resource{}
}

func (r *reference) clock(tz string) *refClock {
	if c, found := r.clocks[tz]; found {
		return c
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		panic(err)
	}
	c := &refClock{}
	high := int64(-1 << 62)
	for m := r.lo; m < r.hi; m++ {
		v := civilMinute(time.Unix(m*60, 0), loc)
		high = max(high, v)
		c.reading = append(c.reading, v)
		c.high = append(c.high, high)
	}
	r.clocks[tz] = c
	return c
}

func parseHHMM(s string) int64 {
	var h, m int64
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil {
		panic(err)
	}
	return h*60 + m
}

func parseLocal(s string) int64 {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return t.Unix() / 60
}

// states decides, minute by minute, whether res works, is closed by a holiday, or is off.
func (r *reference) states(res apphub.Resource) []int8 {
	clock := r.clock(res.TimeZone)
	first, last := slices.Min(clock.reading)-2*1440, slices.Max(clock.reading)+2*1440
	n := last - first
	shift, opening, absence, hol, blackout := make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)
	set := func(flags []bool, from, to int64) {
		for c := max(from, first); c < min(to, last); c++ {
			flags[c-first] = true
		}
	}
	for day := first / 1440; day <= last/1440; day++ {
		wd := time.Unix(day*86400, 0).UTC().Weekday()
		for _, s := range res.Shifts {
			if s.Weekday != wd {
				continue
			}
			start := parseHHMM(s.Start)
			length := int64(s.Duration / time.Minute)
			if s.End != "" {
				length = parseHHMM(s.End) - start
				if length <= 0 {
					length += 1440
				}
			}
			set(shift, day*1440+start, day*1440+start+length)
		}
	}
	for _, e := range res.Exceptions {
		if e.Kind == apphub.ExceptionOpening {
			set(opening, parseLocal(e.From), parseLocal(e.To))
		} else {
			set(absence, parseLocal(e.From), parseLocal(e.To))
		}
	}
	for _, h := range r.c.data.HolidayCalendars {
		if h.ID != res.HolidayCalendar {
			continue
		}
		for _, d := range h.Dates {
			t, _ := time.Parse(time.DateOnly, d.Date)
			set(hol, t.Unix()/60, t.Unix()/60+1440)
		}
		for _, b := range h.Blackouts {
			set(blackout, parseLocal(b.From), parseLocal(b.To))
		}
	}
	out := make([]int8, len(clock.high))
	for i, c := range clock.high {
		k := c - first
		base := (shift[k] || opening[k]) && !absence[k]
		working := base && !blackout[k] && (opening[k] || !hol[k])
		switch {
		case working:
			out[i] = refWorking
		case base:
			out[i] = refClosed
		}
	}
	return out
}

func (r *reference) eligible(res apphub.Resource) bool {
	if len(r.cat.ResourceKinds) > 0 && !slices.Contains(r.cat.ResourceKinds, res.Kind) {
		return false
	}
	for _, s := range r.cat.RequiredSkills {
		if !slices.Contains(res.Skills, s) {
			return false
		}
	}
	if r.cat.AtPlace {
		if res.PlaceID == "" {
			return false
		}
		if r.place != "" {
			return res.PlaceID == r.place
		}
	}
	if r.zone == "" || slices.Contains(res.Zones, r.zone) {
		return true
	}
	for _, p := range r.c.data.Places {
		if p.ID == res.PlaceID && p.Zone == r.zone {
			return true
		}
	}
	return false
}

// candidates lists the starts (and ends) the category offers on res's clock in [from, to).
func (r *reference) candidates(res apphub.Resource) [][2]time.Time {
	return r.candidatesIn(res.TimeZone)
}

// candidatesIn lists the starts (and ends) the category offers on the clock of tz in [from, to).
func (r *reference) candidatesIn(tz string) [][2]time.Time {
	if c, found := r.cands[tz]; found {
		return c
	}
	c := r.listCandidates(tz)
	r.cands[tz] = c
	return c
}

func (r *reference) listCandidates(tz string) [][2]time.Time {
	clock := r.clock(tz)
	var out [][2]time.Time
	if r.cat.Step > 0 {
		step := int64(r.cat.Step / time.Minute)
		for m := (r.from.Unix() + 59) / 60; m*60 < r.to.Unix(); m++ {
			i := m - r.lo
			v := clock.reading[i]
			if m%15 != 0 || v != clock.high[i] || clock.high[i-1] >= v || (v%1440+1440)%1440%step != 0 {
				continue
			}
			start := time.Unix(m*60, 0).UTC()
			out = append(out, [2]time.Time{start, start.Add(r.cat.Duration)})
		}
		return out
	}
	firstShown := func(c int64) int64 {
		return r.lo + int64(sort.Search(len(clock.high), func(i int) bool { return clock.high[i] >= c }))
	}
	for day := clock.reading[0]/1440 - 1; day <= clock.reading[len(clock.reading)-1]/1440; day++ {
		for _, w := range r.cat.Windows {
			a := firstShown(day*1440 + parseHHMM(w.Start))
			b := firstShown(day*1440 + parseHHMM(w.End))
			start, end := time.Unix(a*60, 0).UTC(), time.Unix(b*60/15*15, 0).UTC()
			if a%15 != 0 || start.Before(r.from) || !start.Before(r.to) || !end.After(start) {
				continue
			}
			out = append(out, [2]time.Time{start, end})
		}
	}
	slices.SortFunc(out, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
	return out
}

// fit checks the minutes [from, to) of res: seats left, or the reason.
func (r *reference) fit(res apphub.Resource, from, to time.Time) (int, string) {
	states := r.minutes[res.ID]
	closed := false
	for m := from.Unix() / 60; m < to.Unix()/60; m++ {
		switch states[m-r.lo] {
		case refOutside:
			return 0, apphub.ReasonOutsideHours
		case refClosed:
			closed = true
		}
	}
	if closed {
		return 0, apphub.ReasonHoliday
	}
	capacity := max(res.Capacity, 1)
	least := capacity
	for q := from; q.Before(to); q = q.Add(15 * time.Minute) {
		used := 0
		for _, taken := range r.seats[res.ID][q.Unix()] {
			if taken {
				used++
			}
		}
		least = min(least, max(capacity-used, 0))
	}
	if least == 0 {
		return 0, apphub.ReasonFullyBooked
	}
	return least, ""
}

// take decides whether res can take a candidate: seats left and the appointment's start, or
// the reason.
func (r *reference) take(res apphub.Resource, c [2]time.Time) (int, time.Time, string) {
	now := r.c.query.Now
	switch {
	case c[0].Before(now.Add(r.cat.MinNotice)):
		return 0, time.Time{}, apphub.ReasonInsideMinimumNotice
	case r.cat.Horizon > 0 && c[0].After(now.Add(r.cat.Horizon)):
		return 0, time.Time{}, apphub.ReasonOutsideHorizon
	}
	before, after, travel := r.lead(res)
	fit := func(s time.Time) (int, string) {
		seats, why := r.fit(res, s.Add(-before), s.Add(r.cat.Duration+after))
		if why == apphub.ReasonFullyBooked && travel {
			if _, alone := r.fit(res, s, s.Add(r.cat.Duration)); alone == "" {
				return 0, apphub.ReasonTravelTime
			}
		}
		return seats, why
	}
	if r.cat.Step > 0 {
		seats, why := fit(c[0])
		return seats, c[0], why
	}
	best := apphub.ReasonOutsideHours
	for s := c[0]; !s.Add(r.cat.Duration).After(c[1]); s = s.Add(15 * time.Minute) {
		seats, why := fit(s)
		if why == "" {
			return seats, s, ""
		}
		if refRank(why) > refRank(best) {
			best = why
		}
	}
	return 0, time.Time{}, best
}

// lead is the reference's lead times of res's jobs in the zone searched: with a travel matrix
// that has the zone and a zone res serves, the longest travel into it from those zones,
// rounded up to a quarter hour, and nothing after; else the fixed buffers.
func (r *reference) lead(res apphub.Resource) (before, after time.Duration, travel bool) {
	t := r.c.data.TravelTimes
	if t == nil {
		return res.BufferBefore, res.BufferAfter, false
	}
	to := slices.Index(t.Zones, r.zone)
	longest := -1
	for from, z := range t.Zones {
		if to >= 0 && slices.Contains(res.Zones, z) {
			longest = max(longest, t.Minutes[from][to])
		}
	}
	if longest < 0 {
		return res.BufferBefore, res.BufferAfter, false
	}
	return time.Duration((longest+14)/15*15) * time.Minute, 0, true
}

// neighbour is the state of the quantum starting at q for res: working time (every minute of
// it), and whether a seat of it is taken.
func (r *reference) neighbour(res apphub.Resource, q time.Time) (working, taken bool) {
	states := r.minutes[res.ID]
	if q.Unix()%900 != 0 || q.Unix()/60 < r.lo || q.Unix()/60+15 > r.hi {
		panic(fmt.Sprintf("reference: quantum %v is not one it covers", q))
	}
	working = true
	for m := q.Unix() / 60; m < q.Unix()/60+15; m++ {
		working = working && states[m-r.lo] == refWorking
	}
	return working, slices.Contains(r.seats[res.ID][q.Unix()], true)
}

// joined is what a job of res starting at start touches on each side of what it occupies
// (the job and its lead time): the quantum before the lead time, the quantum after the job and
// its lead time after it. Such a quantum that is not working time is the edge of the
// resource's day; one that is, with a seat taken, another job; one wholly free, neither.
func (r *reference) joined(res apphub.Resource, start time.Time) uint8 {
	before, after, _ := r.lead(res)
	var j uint8
	sides := []struct {
		q         time.Time
		job, edge uint8
	}{
		{start.Add(-before - 15*time.Minute), apphub.JoinedJobBefore, apphub.JoinedEdgeBefore},
		{start.Add(r.cat.Duration + after), apphub.JoinedJobAfter, apphub.JoinedEdgeAfter},
	}
	for _, side := range sides {
		switch working, taken := r.neighbour(res, side.q); {
		case !working:
			j |= side.edge
		case taken:
			j |= side.job
		}
	}
	return j
}

func (r *reference) search() []refOffer {
	loc, _ := time.LoadLocation(r.placeTZ)
	var out []refOffer
	for _, res := range r.c.data.Resources {
		if (r.c.query.Resource != "" && res.ID != r.c.query.Resource) || !r.eligible(res) {
			continue
		}
		for _, c := range r.candidates(res) {
			// An arrival window's job is the run a booking takes: its sides are the run's.
			if seats, run, why := r.take(res, c); why == "" {
				out = append(out, refOffer{c[0].In(loc).Format(time.DateOnly), c[0], c[1], res.ID, seats, r.joined(res, run)})
			}
		}
	}
	slices.SortFunc(out, func(a, b refOffer) int {
		return cmp.Or(a.start.Compare(b.start), a.end.Compare(b.end), cmp.Compare(a.resource, b.resource))
	})
	return out
}

// check is the reference's answer to a booking of start (and end, if set) with res: the
// cells to claim (unix quantum start → seat), or the reason.
func (r *reference) check(res apphub.Resource, start, end time.Time) (map[int64]int, string) {
	if !r.eligible(res) {
		return nil, apphub.ReasonNoSkilledResourceInZone
	}
	i := slices.IndexFunc(r.candidates(res), func(c [2]time.Time) bool { return c[0].Equal(start) })
	if i < 0 {
		return nil, apphub.ReasonNotASlotStart
	}
	c := r.candidates(res)[i]
	if !end.IsZero() && !end.Equal(c[1]) {
		return nil, apphub.ReasonNotASlotStart
	}
	_, run, why := r.take(res, c)
	if why != "" {
		return nil, why
	}
	cells := map[int64]int{}
	before, after, _ := r.lead(res)
	for q := run.Add(-before); q.Before(run.Add(r.cat.Duration + after)); q = q.Add(15 * time.Minute) {
		seat := 0
		for seat < 64 && r.seats[res.ID][q.Unix()] != nil && r.seats[res.ID][q.Unix()][seat] {
			seat++
		}
		cells[q.Unix()] = seat
	}
	return cells, ""
}

// Random cases: calendars in zones with DST (including 30-minute DST and midnight changes),
// around their 2026 transitions.

var refTimeZones = []string{"Europe/Paris", "America/New_York", "Asia/Shanghai", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago", "UTC"}

func transitions2026(loc *time.Location) []time.Time {
	var out []time.Time
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	for {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.Year() > 2026 {
			return out
		}
		out = append(out, end)
		t = end
	}
}

func clockString(minutes int) string { return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60) }

// randomCase is a random case of a category of one resource.
func randomCase(rng *rand.Rand) refCase { return randomCaseWith(rng, false) }

// randomCaseWith is a random case, of a crew job when crew is set (crew_property_test.go):
// more resources, technicians and equipment of a few skills each, claims like jobs besides
// the single quanta. Without crew it draws exactly what randomCase always drew.
func randomCaseWith(rng *rand.Rand, crew bool) refCase {
	tz := refTimeZones[rng.IntN(len(refTimeZones))]
	loc, _ := time.LoadLocation(tz)
	anchor := time.Date(2026, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), 0, 0, 0, loc)
	if ts := transitions2026(loc); len(ts) > 0 && rng.IntN(4) > 0 {
		anchor = ts[rng.IntN(len(ts))].Add(time.Duration(rng.IntN(13)-6) * time.Hour)
	}
	anchor = anchor.Truncate(15 * time.Minute)
	localAt := func(t time.Time) string { return t.In(loc).Format("2006-01-02T15:04") }

	hc := apphub.HolidayCalendar{ID: "h"}
	for range rng.IntN(3) {
		d := anchor.AddDate(0, 0, rng.IntN(5)-2).In(loc).Format(time.DateOnly)
		if !slices.ContainsFunc(hc.Dates, func(h apphub.Holiday) bool { return h.Date == d }) {
			hc.Dates = append(hc.Dates, apphub.Holiday{Date: d, Name: "holiday " + d})
		}
	}
	if rng.IntN(4) == 0 {
		from := anchor.Add(time.Duration(rng.IntN(96)-48) * time.Hour)
		hc.Blackouts = append(hc.Blackouts, apphub.Blackout{From: localAt(from), To: localAt(from.Add(time.Duration(1+rng.IntN(24)) * 15 * time.Minute)), Name: "freeze"})
		if hc.Validate() != nil { // a fold can make a local range empty
			hc.Blackouts = nil
		}
	}
	data := apphub.CalendarData{
		Zones: []apphub.Zone{
			{ID: "z1", TimeZone: tz, PostCodes: []string{"p1", "p2"}},
			{ID: "z2", TimeZone: refTimeZones[rng.IntN(len(refTimeZones))], PostCodes: []string{"p3"}},
		},
		Places:           []apphub.Place{{ID: "store", TimeZone: tz, Zone: "z1"}},
		HolidayCalendars: []apphub.HolidayCalendar{hc},
	}
	switch rng.IntN(3) {
	case 0: // both zones: travel replaces the buffers everywhere
		data.TravelTimes = &apphub.TravelTimes{Zones: []string{"z1", "z2"}, Minutes: [][]int{{0, rng.IntN(120)}, {rng.IntN(120), 0}}}
	case 1: // one zone: travel into z1, the buffers into z2
		data.TravelTimes = &apphub.TravelTimes{Zones: []string{"z1"}, Minutes: [][]int{{0}}}
	}

	resources := 1 + rng.IntN(3)
	if crew {
		resources = 4 + rng.IntN(5)
	}
	for i := range resources {
		res := apphub.Resource{
			ID:           fmt.Sprintf("r%d", i),
			Kind:         []string{apphub.KindTechnician, apphub.KindTechnician, apphub.KindTechnician, apphub.KindCounter}[rng.IntN(4)],
			TimeZone:     tz,
			Capacity:     rng.IntN(4),
			BufferBefore: time.Duration(rng.IntN(3)) * 15 * time.Minute,
			BufferAfter:  time.Duration(rng.IntN(3)) * 15 * time.Minute,
		}
		if rng.IntN(5) == 0 {
			res.TimeZone = refTimeZones[rng.IntN(len(refTimeZones))]
		}
		for _, z := range []string{"z1", "z2"} {
			if rng.IntN(5) > 0 {
				res.Zones = append(res.Zones, z)
			}
		}
		for _, s := range []string{"a", "b"} {
			if rng.IntN(5) > 0 {
				res.Skills = append(res.Skills, s)
			}
		}
		if rng.IntN(3) == 0 {
			res.PlaceID = "store"
		}
		if rng.IntN(2) == 0 {
			res.HolidayCalendar = "h"
		}
		for range 2 + rng.IntN(8) {
			s := apphub.Shift{Weekday: time.Weekday(rng.IntN(7)), Start: clockString(rng.IntN(96) * 15)}
			if rng.IntN(2) == 0 {
				s.Duration = time.Duration(1+rng.IntN(48)) * 15 * time.Minute
			} else {
				s.End = clockString(rng.IntN(97) * 15)
			}
			res.Shifts = append(res.Shifts, s)
			if res.Validate() != nil {
				res.Shifts = res.Shifts[:len(res.Shifts)-1]
			}
		}
		for range rng.IntN(3) {
			from := anchor.Add(time.Duration(rng.IntN(192)-96) * 30 * time.Minute)
			res.Exceptions = append(res.Exceptions, apphub.Exception{
				Kind: []string{apphub.ExceptionAbsence, apphub.ExceptionOpening}[rng.IntN(2)],
				From: localAt(from),
				To:   localAt(from.Add(time.Duration(1+rng.IntN(40)) * 15 * time.Minute)),
			})
			if res.Validate() != nil { // a fold can make a local range empty
				res.Exceptions = res.Exceptions[:len(res.Exceptions)-1]
			}
		}
		if crew {
			randomCrewMember(rng, &res)
		}
		data.Resources = append(data.Resources, res)
	}

	cat := apphub.Category{ID: "c", Duration: time.Duration(1+rng.IntN(8)) * 15 * time.Minute}
	if rng.IntN(3) == 0 {
		randomWindows(rng, &cat)
	} else {
		cat.Step = time.Duration(1+rng.IntN(8)) * 15 * time.Minute
	}
	if rng.IntN(2) == 0 {
		cat.RequiredSkills = []string{"a"}
	}
	if rng.IntN(2) == 0 {
		cat.ResourceKinds = []string{apphub.KindTechnician}
	}
	if rng.IntN(6) == 0 {
		cat.AtPlace, cat.ResourceKinds = true, nil
	}
	cat.MinNotice = time.Duration(rng.IntN(6*60)) * time.Minute
	if rng.IntN(2) == 0 {
		cat.MinNotice = cat.MinNotice.Truncate(15 * time.Minute)
	}
	if rng.IntN(3) == 0 {
		cat.Horizon = cat.MinNotice + time.Duration(1+rng.IntN(96))*time.Hour
	}
	if crew {
		randomCrewCategory(rng, &cat)
	}
	data.Categories = []apphub.Category{cat}

	from := anchor.Add(-time.Duration(rng.IntN(24*4)) * 15 * time.Minute).Add(time.Duration(rng.IntN(15)) * time.Minute)
	q := Query{
		Category: "c",
		Place:    []string{"p1", "p3", "store", "p2"}[rng.IntN(4)],
		From:     from,
		To:       from.Add(time.Duration(1+rng.IntN(48*4)) * 15 * time.Minute).Add(time.Duration(rng.IntN(15)) * time.Minute),
		Now:      from.Add(time.Duration(rng.IntN(54*60)-48*60) * time.Minute).Add(time.Duration(rng.IntN(1e9))),
	}
	if rng.IntN(2) == 0 { // exact boundaries for notice and horizon
		q.Now = q.Now.Truncate(15 * time.Minute)
	}
	// A crew is searched at a place: it may name one member, not the place.
	if rng.IntN(4) == 0 {
		q.Resource = "r0"
		if !crew && rng.IntN(2) == 0 {
			q.Place = ""
		}
	}

	var claims []refClaim
	seen := map[refClaim]bool{}
	for _, res := range data.Resources {
		for range rng.IntN(40) {
			c := refClaim{
				resource: res.ID,
				start:    from.Truncate(15 * time.Minute).Add(time.Duration(rng.IntN(4*80)-24) * 15 * time.Minute).UTC(),
				seat:     rng.IntN(4),
			}
			if !seen[c] {
				seen[c] = true
				claims = append(claims, c)
			}
		}
		if crew {
			for _, c := range randomJobs(rng, res, from.Truncate(15*time.Minute)) {
				if !seen[c] {
					seen[c] = true
					claims = append(claims, c)
				}
			}
		}
	}
	return refCase{data: data, claims: claims, query: q}
}

// randomWindows gives cat one or two arrival windows a day.
func randomWindows(rng *rand.Rand, cat *apphub.Category) {
	start := rng.IntN(60) * 15
	for range 1 + rng.IntN(2) {
		end := start + int(cat.Duration/time.Minute) + rng.IntN(16)*15
		if end > 1440 {
			break
		}
		cat.Windows = append(cat.Windows, apphub.Window{Start: clockString(start), End: clockString(end)})
		start = end + rng.IntN(8)*15
		if start >= 1440 {
			break
		}
	}
}

// randomJoinedCase is a random case (of a crew job when crew is set) drawn for what a job
// joins on each side: randomCaseWith's, then more of what a side may touch — jobs booked
// before (runs of quanta), long days running past midnight into holidays, holidays around
// the window, short blackouts in it — and, for one resource, arrival windows half the time.
func randomJoinedCase(rng *rand.Rand, crew bool) refCase {
	c := randomCaseWith(rng, crew)
	loc, _ := time.LoadLocation(c.data.Zones[0].TimeZone)
	localAt := func(t time.Time) string { return t.In(loc).Format("2006-01-02T15:04") }
	if rng.IntN(2) == 0 {
		c.query.To = c.query.From.Add(time.Duration(12*4+rng.IntN(36*4)) * 15 * time.Minute)
	}
	from, to := c.query.From.Truncate(15*time.Minute), c.query.To
	cat := &c.data.Categories[0]
	if !crew && cat.Step > 0 && rng.IntN(2) == 0 {
		cat.Step = 0
		randomWindows(rng, cat)
	}
	if rng.IntN(4) > 0 { // more slots: any resource of the place, no notice, no horizon
		cat.RequiredSkills, cat.ResourceKinds, cat.AtPlace, cat.MinNotice, cat.Horizon = nil, nil, false, 0, 0
	}
	hc := &c.data.HolidayCalendars[0]
	for d := from.AddDate(0, 0, -1); d.Before(to.AddDate(0, 0, 2)); d = d.AddDate(0, 0, 1) {
		date := d.In(loc).Format(time.DateOnly)
		if rng.IntN(4) == 0 && !slices.ContainsFunc(hc.Dates, func(h apphub.Holiday) bool { return h.Date == date }) {
			hc.Dates = append(hc.Dates, apphub.Holiday{Date: date, Name: "holiday " + date})
		}
	}
	for range rng.IntN(4) {
		start := from.Add(time.Duration(rng.IntN(int(to.Sub(from)/(15*time.Minute))+8)-4) * 15 * time.Minute)
		hc.Blackouts = append(hc.Blackouts, apphub.Blackout{From: localAt(start), To: localAt(start.Add(time.Duration(1+rng.IntN(12)) * 15 * time.Minute)), Name: "freeze"})
		if hc.Validate() != nil { // a fold can make a local range empty
			hc.Blackouts = hc.Blackouts[:len(hc.Blackouts)-1]
		}
	}
	seen := map[refClaim]bool{}
	for _, cl := range c.claims {
		seen[cl] = true
	}
	for i := range c.data.Resources {
		res := &c.data.Resources[i]
		if rng.IntN(4) > 0 {
			res.HolidayCalendar = "h"
		}
		if rng.IntN(4) > 0 { // every day from the morning to past midnight, or so
			shifts := res.Shifts
			start, length := rng.IntN(48)*15, time.Duration(56+rng.IntN(32))*15*time.Minute
			res.Shifts = nil
			for d := time.Sunday; d <= time.Saturday; d++ {
				if rng.IntN(8) > 0 {
					res.Shifts = append(res.Shifts, apphub.Shift{Weekday: d, Start: clockString(start), Duration: length})
				}
			}
			if res.Validate() != nil {
				res.Shifts = shifts
			}
		}
		for _, cl := range randomJobs(rng, *res, from) {
			if !seen[cl] {
				seen[cl] = true
				c.claims = append(c.claims, cl)
			}
		}
	}
	return c
}

func flatten(r *Result) []refOffer {
	var out []refOffer
	for _, d := range r.Days {
		for _, s := range d.Slots {
			sum := 0
			for _, res := range s.Resources {
				out = append(out, refOffer{d.Date, s.Start, s.End, res.ResourceID, res.Capacity, res.Joined})
				sum += res.Capacity
			}
			if sum != s.Capacity {
				out = append(out, refOffer{date: "capacity mismatch", start: s.Start})
			}
		}
	}
	return out
}

// compareWithReference runs one case through the engine and the reference and reports any
// difference in the slots offered (with the seats and the Joined sides of each resource) and
// in the answers to booking checks; then it checks that some slots come back the same from a
// window of their start alone.
func compareWithReference(t *testing.T, c refCase, rng *rand.Rand) {
	t.Helper()
	cal, err := apphub.NewCalendar(c.data)
	if err != nil {
		t.Fatalf("generated calendar is invalid: %v", err)
	}
	busy := &Busy{}
	for _, cl := range c.claims {
		busy.Add(cl.resource, cl.start, cl.seat)
	}
	got, err := SearchSlots(cal, busy, c.query)
	if err != nil {
		t.Fatalf("SearchSlots: %v", err)
	}
	if len(c.data.Categories[0].Requirements) > 0 {
		compareCrewWithReference(t, c, rng, cal, busy, got)
		return
	}
	ref := newReference(c)
	want := ref.search()
	gotOffers := flatten(got)
	if !slices.Equal(gotOffers, want) {
		t.Fatalf("query %+v\nengine:    %v\nreference: %v\nreasons: %v", c.query, gotOffers, want, got.Reasons)
	}
	if (len(want) == 0) != (len(got.Reasons) > 0) {
		t.Errorf("reasons %v with %d slots", got.Reasons, len(want))
	}

	// Every offer is bookable, with the reference's cells; other starts are refused for the
	// reference's reason.
	probe := func(resourceID string, start, end time.Time) {
		t.Helper()
		req := BookRequest{Category: c.query.Category, Resource: resourceID, Place: c.query.Place, Start: start, End: end, Now: c.query.Now}
		res, err := Bookable(cal, busy, req)
		wantCells, wantWhy := map[int64]int(nil), ""
		if resourceID != "" {
			wantCells, wantWhy = ref.check(ref.resource(resourceID), start, end)
		} else {
			wantWhy = apphub.ReasonNoSkilledResourceInZone
			for _, r := range c.data.Resources {
				cells, why := ref.check(r, start, end)
				if why == "" {
					wantCells, wantWhy, resourceID = cells, "", r.ID
					break
				}
				if refRank(why) > refRank(wantWhy) {
					wantWhy = why
				}
			}
		}
		if wantWhy != "" {
			if apphub.ErrorReason(err) != wantWhy {
				t.Fatalf("Bookable(%q, %s, end %v) = %v, %v; want refusal %s", req.Resource, start.Format(time.RFC3339), end, res, err, wantWhy)
			}
			if code := apphub.ErrorCode(err); code != apphub.ECONFLICT && code != apphub.EINVALID {
				t.Fatalf("refusal code %s", code)
			}
			return
		}
		if err != nil {
			t.Fatalf("Bookable(%q, %s, end %v): %v; want cells %v", req.Resource, start.Format(time.RFC3339), end, err, wantCells)
		}
		gotCells := map[int64]int{}
		for _, cell := range res.Cells {
			if cell.ResourceID != resourceID || res.ResourceID != resourceID {
				t.Fatalf("reservation for %s, want %s", cell.ResourceID, resourceID)
			}
			gotCells[cell.Start.Unix()] = cell.Seat
		}
		if fmt.Sprint(gotCells) != fmt.Sprint(wantCells) {
			t.Fatalf("Bookable(%q, %s) cells %v, want %v", resourceID, start.Format(time.RFC3339), gotCells, wantCells)
		}
	}
	for i, o := range want {
		if i%3 == 0 || rng.IntN(4) == 0 {
			end := time.Time{}
			if rng.IntN(2) == 0 {
				end = o.end
			}
			probe(o.resource, o.start, end)
		}
	}
	span := c.query.To.Sub(c.query.From)
	for range 20 {
		start := c.query.From.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(15 * time.Minute)
		if start.Before(c.query.From) {
			start = start.Add(15 * time.Minute)
		}
		if !start.Before(c.query.To) {
			continue
		}
		if rng.IntN(8) == 0 {
			start = start.Add(time.Duration(1+rng.IntN(14)) * time.Minute)
		}
		resourceID := c.query.Resource
		if resourceID == "" && rng.IntN(3) > 0 {
			resourceID = c.data.Resources[rng.IntN(len(c.data.Resources))].ID
		}
		end := time.Time{}
		if rng.IntN(5) == 0 {
			end = start.Add(time.Duration(rng.IntN(20)) * 15 * time.Minute)
		}
		probe(resourceID, start, end)
	}
	checkNarrowWindows(t, cal, busy, c.query, got, rng)
}

// checkNarrowWindows searches again, for some of the slots got offers (the first and the last
// always: their neighbours lie beyond the window's candidates), a window holding just the
// slot's start, and expects the same slot back: the same resources (or crew) with the same
// seats and the same Joined, the same capacity. What a job joins is a property of the job,
// not of the window it was found in.
func checkNarrowWindows(t *testing.T, cal *apphub.Calendar, busy *Busy, q Query, got *Result, rng *rand.Rand) {
	t.Helper()
	var slots []apphub.Slot
	for _, d := range got.Days {
		slots = append(slots, d.Slots...)
	}
	for i, s := range slots {
		if i != 0 && i != len(slots)-1 && rng.IntN(6) != 0 {
			continue
		}
		narrow := q
		narrow.From, narrow.To = s.Start, s.Start.Add(time.Minute)
		res, err := OfferedSlots(cal, busy, narrow)
		if err != nil {
			t.Fatalf("OfferedSlots(%v–%v): %v", narrow.From, narrow.To, err)
		}
		var again *apphub.Slot
		for _, d := range res.Days {
			for k := range d.Slots {
				if d.Slots[k].Start.Equal(s.Start) && d.Slots[k].End.Equal(s.End) {
					again = &d.Slots[k]
				}
			}
		}
		switch {
		case again == nil:
			t.Fatalf("slot %v–%v offered in %v–%v is not in the window of its start alone: %+v", s.Start, s.End, q.From, q.To, res.Days)
		case !slices.Equal(again.Resources, s.Resources) || again.Capacity != s.Capacity || !slices.Equal(again.Crew, s.Crew):
			t.Fatalf("slot %v–%v: in %v–%v %v ×%d crew %v, in the window of its start alone %v ×%d crew %v",
				s.Start, s.End, q.From, q.To, slotResourcesString(s.Resources), s.Capacity, s.Crew,
				slotResourcesString(again.Resources), again.Capacity, again.Crew)
		}
	}
}

func slotResourcesString(rs []apphub.SlotResource) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%s(%d %s)", r.ResourceID, r.Capacity, joinedString(r.Joined))
	}
	return strings.Join(parts, " ")
}

func TestEngineMatchesReference(t *testing.T) {
	n := 500 // two in five are crew jobs: 300 of one resource, as before crews
	if testing.Short() {
		n = 100
	}
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 2026))
		c := randomCaseWith(rng, seed%5 >= 3)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { compareWithReference(t, c, rng) })
	}
}

// TestJoinedMatchesReference runs cases drawn for what jobs join (randomJoinedCase): sides
// that touch jobs, the edges of shifts, holidays and blackouts, for fixed steps, arrival
// windows and crews.
func TestJoinedMatchesReference(t *testing.T) {
	n := 200 // one in four a crew job
	if testing.Short() {
		n = 50
	}
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 1515))
		c := randomJoinedCase(rng, seed%4 == 3)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { compareWithReference(t, c, rng) })
	}
}

func FuzzEngineMatchesReference(f *testing.F) {
	for _, seed := range []uint64{1, 7, 42, 2026, 31337} {
		f.Add(seed, uint64(0))
	}
	f.Fuzz(func(t *testing.T, seed, stream uint64) {
		rng := rand.New(rand.NewPCG(seed, stream))
		c := randomCaseWith
		if rng.IntN(3) == 0 {
			c = randomJoinedCase
		}
		compareWithReference(t, c(rng, rng.IntN(5) < 2), rng)
	})
}
