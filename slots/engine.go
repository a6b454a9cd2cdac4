package slots

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/apphub/apphub"
)

// The slot engine: pure functions of a calendar snapshot, the busy time and the clock. Its
// semantics are docs/design.md, "Slot semantics"; SearchSlots and Bookable share every rule, so a
// slot is bookable exactly when a search offers it.

// MaxSearchWindow is the longest window one search may cover.
const MaxSearchWindow = 31 * 24 * time.Hour

const (
	maxNextDates   = 3
	lookaheadChunk = 7 * daySec
	maxLookahead   = 92 * daySec
)

// Query asks for the slots of a category at a place. Category, From, To and Now are
// required; Place too, unless Resource is set.
type Query struct {
	Category string
	Place    string    // postcode or managed place id; optional when Resource is set
	Resource string    // optional: only this resource
	From, To time.Time // slots whose start is in [From, To), at most MaxSearchWindow apart
	Now      time.Time
}

// Result is the answer to a Query. When no slot is free, Reasons say why (most telling first)
// and NextDates lists the first local dates after the window that have slots, looking ahead
// within the category's horizon.
type Result struct {
	TimeZone  string // of the place searched: the zone Days are grouped in
	Days      []apphub.SlotDay
	Reasons   []apphub.Reason
	NextDates []string
}

// BookRequest asks whether a slot can be booked.
type BookRequest struct {
	Category string
	Resource string    // the resource to book; empty means the first, by id, that can take it. For a crew: one the crew must include
	Prefer   []string  // for a crew: resources to take before any other (a rescheduled crew's members, whose claims it keeps)
	Place    string    // postcode or managed place id; optional when Resource is set
	Start    time.Time // a fixed-step start, or the start of an arrival window
	End      time.Time // optional: the slot's end as offered (an arrival window's end)
	Now      time.Time
}

// Reservation is what a booking must claim: one seat of ResourceID in each of Cells.
type Reservation struct {
	ResourceID string    // the resource booked; a crew's lead
	Crew       []string  // a crew job's members, in requirement order (the lead first); nil otherwise
	Start, End time.Time // the appointment itself, buffers excluded; for a window, the run taken
	Cells      []Cell    // every quantum occupied, buffers included, in ascending time
}

// Cell is one quantum to claim. Seat is the lowest seat free in the busy time the check was
// given; the claim's _id is resource|start|seat.
type Cell struct {
	ResourceID string
	Start      time.Time
	Seat       int
}

// SearchSlots returns the slots of q.Category at q.Place whose start is in [q.From, q.To),
// earliest first and grouped by local date, given the busy time; when there is none, the
// reasons and the next dates.
func SearchSlots(cal *apphub.Calendar, busy *Busy, q Query) (*Result, error) {
	return search(cal, busy, q, true)
}

// OfferedSlots is SearchSlots without the reasons and the next dates: the slots alone, for a
// caller that assembles windows from the answers of shorter ones (the look-ahead would be
// wasted on each).
func OfferedSlots(cal *apphub.Calendar, busy *Busy, q Query) (*Result, error) {
	return search(cal, busy, q, false)
}

func search(cal *apphub.Calendar, busy *Busy, q Query, explain bool) (*Result, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	e, err := newEngine(cal, busy, q.Category, q.Place, q.Resource, q.Now)
	if err != nil {
		return nil, err
	}
	from, to := ceilSeconds(q.From), ceilSeconds(q.To)
	result := &Result{TimeZone: e.target.timeZone}
	if len(e.resources) == 0 {
		if explain {
			result.Reasons = []apphub.Reason{{Code: apphub.ReasonNoSkilledResourceInZone, Message: e.explainNoResource(q.Resource)}}
		}
		return result, nil
	}
	slots, refused := e.run(from, to)
	if len(slots) > 0 {
		place := newZoneTable(cal.Location(e.target.timeZone), from-tableMargin, to+tableMargin)
		result.Days = groupByDay(place, slots)
		return result, nil
	}
	if !explain {
		return result, nil
	}
	result.Reasons = e.reasons(refused, from, to)
	result.NextDates = e.nextDates(to)
	return result, nil
}

// Validate checks q's window and clock, which SearchSlots and NewScope require: the category,
// the place and the resource are checked against a calendar when q is run.
func (q Query) Validate() error {
	switch {
	case q.From.IsZero():
		return apphub.FieldError("from", "is required")
	case q.To.IsZero():
		return apphub.FieldError("to", "is required")
	case !q.To.After(q.From):
		return apphub.FieldError("to", "must be after from")
	case q.To.Sub(q.From) > MaxSearchWindow:
		return apphub.FieldError("to", "a search window may span at most 31 days, got %v", q.To.Sub(q.From))
	case q.Now.IsZero():
		return apphub.FieldError("now", "is required")
	}
	return nil
}

// Bookable decides whether req can be booked now, given the busy time: it returns the cells
// to claim, or a refusal: an *apphub.Error whose Reason says why (ECONFLICT, or EINVALID for a
// time that is not a start of the category), its Message beginning with the reason. It accepts exactly the slots SearchSlots offers.
func Bookable(cal *apphub.Calendar, busy *Busy, req BookRequest) (*Reservation, error) {
	switch {
	case req.Start.IsZero():
		return nil, apphub.FieldError("start", "is required")
	case req.Now.IsZero():
		return nil, apphub.FieldError("now", "is required")
	}
	e, err := newEngine(cal, busy, req.Category, req.Place, req.Resource, req.Now)
	if err != nil {
		return nil, err
	}
	if len(e.resources) == 0 {
		return nil, e.refuse(noResource, req, req.Resource)
	}
	if e.crewed() {
		return e.bookCrew(req, req.Prefer)
	}
	start := req.Start.Unix()
	aligned := req.Start.Nanosecond() == 0 && start%quantumSec == 0
	zones := make(map[string]*zoneTable)
	best, bestID := noResource, ""
	for _, r := range e.resources {
		why := notAStart
		if aligned {
			z := zones[r.timeZone]
			if z == nil {
				z = newZoneTable(cal.Location(r.timeZone), start-tableMargin, start+tableMargin)
				zones[r.timeZone] = z
			}
			var res *Reservation
			if res, why = e.check(z, r, start, req.End); why == fits {
				return res, nil
			}
		}
		if why > best {
			best, bestID = why, r.res.ID
		}
	}
	return nil, e.refuse(best, req, bestID)
}

// check decides whether resource r can take the slot starting at instant start (and ending
// at end, when given), and if so what it must claim.
func (e *engine) check(z *zoneTable, r *rules, start int64, end time.Time) (*Reservation, reason) {
	cands := e.candidates(z, start, start+1, make([]candidate, 0, 1))
	if len(cands) != 1 || (!end.IsZero() && !end.Equal(quantumTime(cands[0].end))) {
		return nil, notAStart
	}
	c := cands[0]
	if why := e.timing(c); why != fits {
		return nil, why
	}
	lo, hi := c.start-r.before, c.end+r.after
	p := r.buildPlan(z, e.busy, lo, hi, make([]int8, hi-lo))
	_, run, why := p.take(r, c, e.durQ, e.step == 0)
	if why != fits {
		return nil, why
	}
	res := &Reservation{
		ResourceID: r.res.ID,
		Start:      quantumTime(run),
		End:        quantumTime(run + e.durQ),
	}
	for q := run - r.before; q < run+e.durQ+r.after; q++ {
		res.Cells = append(res.Cells, Cell{ResourceID: r.res.ID, Start: quantumTime(q), Seat: bits.TrailingZeros64(^e.busy.seats(r.res.ID, q))})
	}
	return res, fits
}

// engine is one call's view of the calendar: the category, the place and the resources that
// may serve it.
type engine struct {
	cal       *apphub.Calendar
	busy      *Busy
	cat       *apphub.Category
	durQ      int64
	step      int64       // seconds between starts; 0 for arrival windows
	windows   []civilSpan // arrival windows, relative to local midnight, by start
	earliest  int64       // first acceptable start instant (minimum notice)
	latest    int64       // last acceptable start instant (horizon)
	target    target
	resources []*rules // eligible, by id
	must      int      // for a crew: the index in resources of the one the query names, else -1
}

// target is where the appointment happens.
type target struct {
	timeZone string // days are grouped in it
	zone     string // the zone a resource must serve; "" when no place was given
	place    string // the managed place searched, if any
}

func newEngine(cal *apphub.Calendar, busy *Busy, categoryID, place, resourceID string, now time.Time) (*engine, error) {
	e, only, err := newBareEngine(cal, categoryID, place, resourceID, now)
	if err != nil {
		return nil, err
	}
	e.busy = busy
	for _, res := range e.eligibleResources(only) {
		e.resources = append(e.resources, newRules(res, cal, e.target.zone))
	}
	e.must = -1
	if e.crewed() && only != nil {
		e.must = slices.IndexFunc(e.resources, func(r *rules) bool { return r.res == only })
	}
	if e.crewed() && (!e.crewStaffed() || (only != nil && e.must < 0)) {
		e.resources = nil
	}
	return e, nil
}

// newBareEngine is newEngine without the resources: the category, the target and the timing
// bounds, and the only resource asked for, if any.
func newBareEngine(cal *apphub.Calendar, categoryID, place, resourceID string, now time.Time) (*engine, *apphub.Resource, error) {
	if categoryID == "" {
		return nil, nil, apphub.FieldError("category", "is required")
	}
	cat, found := cal.Category(categoryID)
	if !found {
		return nil, nil, apphub.FieldError("category", "unknown category %q", categoryID)
	}
	e := &engine{
		cal:  cal,
		cat:  cat,
		durQ: int64(cat.Duration / apphub.Quantum),
		step: int64(cat.Step / time.Second),
	}
	e.earliest, e.latest = timingBounds(cat, now)
	for _, w := range cat.Windows {
		start, end, _ := w.Span()
		e.windows = append(e.windows, civilSpan{int64(start) * 60, int64(end) * 60})
	}
	slices.SortFunc(e.windows, func(a, b civilSpan) int { return cmp.Compare(a.from, b.from) })

	var only *apphub.Resource
	if resourceID != "" {
		if only, found = cal.Resource(resourceID); !found {
			return nil, nil, apphub.FieldError("resource", "unknown resource %q", resourceID)
		}
	}
	var err error
	if e.target, err = resolveTarget(cal, place, only); err != nil {
		return nil, nil, err
	}
	if e.crewed() && e.target.zone == "" {
		return nil, nil, apphub.FieldError("place", "is required: a %s needs a crew, which is chosen among the resources of the place's zone", cat.ID)
	}
	return e, only, nil
}

// eligibleResources lists the resources that may serve e, by id; of only, when given, unless
// e books crews (only must then be one of the crew).
func (e *engine) eligibleResources(only *apphub.Resource) []*apphub.Resource {
	var out []*apphub.Resource
	if only != nil && !e.crewed() {
		if e.eligible(only) {
			out = append(out, only)
		}
		return out
	}
	for i := range e.cal.Resources() {
		if res := &e.cal.Resources()[i]; e.eligible(res) {
			out = append(out, res)
		}
	}
	return out
}

// timingBounds returns the first and the last start instant a category accepts now: the
// minimum notice and the horizon, rounded to the quanta starts are on, so that every instant
// of a quantum gives the same answers (and a cached answer may serve the whole quantum).
func timingBounds(cat *apphub.Category, now time.Time) (earliest, latest int64) {
	earliest = -floorDiv(-ceilSeconds(now.Add(cat.MinNotice)), quantumSec) * quantumSec
	latest = math.MaxInt64
	if cat.Horizon > 0 {
		latest = floorDiv(now.Add(cat.Horizon).Unix(), quantumSec) * quantumSec
	}
	return earliest, latest
}

// lookaheadEnd is where nextDates, looking from to, stops looking for starts (excluded): the
// search needs the busy time up to there.
func (e *engine) lookaheadEnd(to int64) int64 {
	if e.latest < to+maxLookahead { // latest is MaxInt64 without a horizon: no +1 before comparing
		return e.latest + 1
	}
	return to + maxLookahead
}

// resolveTarget finds where a search or booking happens: the managed place or the postcode's
// zone, else the only resource's time zone.
func resolveTarget(cal *apphub.Calendar, place string, only *apphub.Resource) (target, error) {
	switch {
	case place != "":
		if p, isPlace := cal.Place(place); isPlace {
			return target{timeZone: p.TimeZone, zone: p.Zone, place: p.ID}, nil
		}
		if z, isZone := cal.ZoneOfPostCode(place); isZone {
			return target{timeZone: z.TimeZone, zone: z.ID}, nil
		}
		return target{}, apphub.FieldError("place", "unknown postcode or place %q", place)
	case only != nil:
		return target{timeZone: only.TimeZone}, nil
	}
	return target{}, apphub.FieldError("place", "is required unless a resource is named")
}

// eligible reports whether res has the kind and skills of the category and serves the
// place: at a managed place, a category booked at the place needs one of its counters; any
// other place needs a resource of its zone.
func (e *engine) eligible(res *apphub.Resource) bool {
	if e.crewed() && e.fitMask(res) == 0 {
		return false
	}
	if len(e.cat.ResourceKinds) > 0 && !slices.Contains(e.cat.ResourceKinds, res.Kind) {
		return false
	}
	for _, s := range e.cat.RequiredSkills {
		if !slices.Contains(res.Skills, s) {
			return false
		}
	}
	if e.cat.AtPlace && res.PlaceID == "" {
		return false
	}
	switch {
	case e.cat.AtPlace && e.target.place != "":
		return res.PlaceID == e.target.place
	case e.target.zone == "":
		return true
	case slices.Contains(res.Zones, e.target.zone):
		return true
	}
	p, found := e.cal.Place(res.PlaceID)
	return found && p.Zone == e.target.zone
}

// candidates appends the category's starts in [from, to) on the wall clock of z.
func (e *engine) candidates(z *zoneTable, from, to int64, out []candidate) []candidate {
	if e.step > 0 {
		return z.gridStarts(e.step, e.durQ, from, to, out)
	}
	return z.windowStarts(e.windows, from, to, out)
}

// timing checks a start against the minimum notice and the horizon.
func (e *engine) timing(c candidate) reason {
	switch start := c.start * quantumSec; {
	case start < e.earliest:
		return insideNotice
	case start > e.latest:
		return outsideHorizon
	}
	return fits
}

// run finds the slots whose start is in [from, to), and the set of reasons for which
// candidate starts were refused.
func (e *engine) run(from, to int64) ([]apphub.Slot, uint32) {
	if e.crewed() {
		return e.runCrew(from, to)
	}
	type hit struct {
		c                  candidate
		first, last, seats int
	}
	var (
		refused uint32
		offers  []apphub.SlotResource
		hits    []hit
		zones   []string
	)
	for _, r := range e.resources {
		if !slices.Contains(zones, r.timeZone) {
			zones = append(zones, r.timeZone)
		}
	}
	for _, tz := range zones {
		var group []*rules
		for _, r := range e.resources {
			if r.timeZone == tz {
				group = append(group, r)
			}
		}
		z := newZoneTable(e.cal.Location(tz), from-tableMargin, to+tableMargin)
		size := 2 * (to - from) / daySec * int64(max(len(e.windows), 1))
		if e.step > 0 {
			size = (to-from)/e.step + 2
		}
		cands := e.candidates(z, from, to, make([]candidate, 0, size))
		if len(cands) == 0 {
			continue
		}
		plans := e.plans(z, group, cands[0].start, cands[len(cands)-1].end)
		for _, c := range cands {
			if why := e.timing(c); why != fits {
				refused |= 1 << why
				continue
			}
			first, seats := len(offers), 0
			for i, r := range group {
				free, run, why := plans[i].take(r, c, e.durQ, e.step == 0)
				if why != fits {
					refused |= 1 << why
					continue
				}
				offers = append(offers, apphub.SlotResource{ResourceID: r.res.ID, Capacity: free, Joined: plans[i].joined(r, run, e.durQ)})
				seats += free
			}
			if len(offers) > first {
				hits = append(hits, hit{c, first, len(offers), seats})
			}
		}
	}
	slots := make([]apphub.Slot, len(hits))
	for i, h := range hits {
		slots[i] = apphub.Slot{
			Start:     quantumTime(h.c.start),
			End:       quantumTime(h.c.end),
			Resources: offers[h.first:h.last:h.last],
			Capacity:  h.seats,
		}
	}
	if len(zones) > 1 {
		slots = mergeSlots(slots)
	}
	return slots, refused
}

// plans builds the plans of a group of resources (sharing a time zone) for candidates
// between first and last, with one more quantum each side to see what a job joins, in one
// allocation.
func (e *engine) plans(z *zoneTable, group []*rules, first, last int64) []plan {
	total := int64(0)
	for _, r := range group {
		total += last + r.after - (first - r.before) + 2
	}
	buf := make([]int8, total)
	plans := make([]plan, len(group))
	for i, r := range group {
		lo, hi := first-r.before-1, last+r.after+1
		n := hi - lo
		plans[i] = r.buildPlan(z, e.busy, lo, hi, buf[:n:n])
		buf = buf[n:]
	}
	return plans
}

// mergeSlots sorts slots found in several time zones and merges those with the same times.
func mergeSlots(slots []apphub.Slot) []apphub.Slot {
	slices.SortStableFunc(slots, func(a, b apphub.Slot) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return a.End.Compare(b.End)
	})
	out := slots[:0]
	for _, s := range slots {
		if n := len(out); n > 0 && out[n-1].Start.Equal(s.Start) && out[n-1].End.Equal(s.End) {
			last := &out[n-1]
			last.Resources = append(slices.Clip(last.Resources), s.Resources...)
			slices.SortFunc(last.Resources, func(a, b apphub.SlotResource) int { return cmp.Compare(a.ResourceID, b.ResourceID) })
			last.Capacity += s.Capacity
			continue
		}
		out = append(out, s)
	}
	return out
}

// groupByDay groups slots by their local date in z, dates ascending.
func groupByDay(z *zoneTable, slots []apphub.Slot) []apphub.SlotDay {
	var days []apphub.SlotDay
	index := make(map[int64]int)
	var dates []int64
	for _, s := range slots {
		d := floorDiv(z.reading(s.Start.Unix()), daySec)
		i, seen := index[d]
		if !seen {
			i = len(days)
			index[d] = i
			dates = append(dates, d)
			days = append(days, apphub.SlotDay{Date: apphub.FormatCivilDate(d)})
		}
		days[i].Slots = append(days[i].Slots, s)
	}
	// A fold at midnight can bring a date back after the next one has begun.
	if !slices.IsSorted(dates) {
		slices.SortStableFunc(days, func(a, b apphub.SlotDay) int { return cmp.Compare(a.Date, b.Date) })
	}
	return days
}

// nextDates looks ahead from to, within the horizon, for the first dates that have slots.
func (e *engine) nextDates(to int64) []string {
	limit := e.lookaheadEnd(to)
	if limit <= to {
		return nil
	}
	place := newZoneTable(e.cal.Location(e.target.timeZone), to-tableMargin, limit+tableMargin)
	var dates []string
	for from := to; from < limit && len(dates) < maxNextDates; from += lookaheadChunk {
		slots, _ := e.run(from, min(from+lookaheadChunk, limit))
		for _, s := range slots {
			d := apphub.FormatCivilDate(floorDiv(place.reading(s.Start.Unix()), daySec))
			if !slices.Contains(dates, d) {
				dates = append(dates, d)
			}
		}
	}
	slices.Sort(dates)
	return dates[:min(len(dates), maxNextDates)]
}

// reasons explains a search that found nothing, most telling reason first.
func (e *engine) reasons(refused uint32, from, to int64) []apphub.Reason {
	if refused == 0 {
		refused = 1 << outsideHours // not a single start in the window
	}
	var out []apphub.Reason
	for _, why := range []reason{travelTime, fullyBooked, holiday, insideNotice, outsideHorizon, outsideHours} {
		if refused&(1<<why) == 0 {
			continue
		}
		var msg string
		switch why {
		case travelTime:
			msg = "a resource is free for it, but another job of its in the window leaves no time to travel to this zone"
		case fullyBooked:
			msg = "the resources that could take it have no seat left in the window"
		case holiday:
			msg = e.explainHolidays(from, to)
		case insideNotice:
			msg = fmt.Sprintf("a %s must start at least %v from now, at %s or later", e.cat.ID, e.cat.MinNotice, formatInstant(e.earliest))
		case outsideHorizon:
			msg = fmt.Sprintf("a %s may be booked at most %v ahead, starting by %s", e.cat.ID, e.cat.Horizon, formatInstant(e.latest))
		case outsideHours:
			msg = fmt.Sprintf("no working hours of the resources that could take it fit a %s (%v) in the window", e.cat.ID, e.cat.Duration)
		}
		out = append(out, apphub.Reason{Code: reasonCodes[why], Message: msg})
	}
	return out
}

func (e *engine) explainNoResource(resourceID string) string {
	where := "anywhere"
	switch {
	case e.target.place != "" && e.cat.AtPlace:
		where = fmt.Sprintf("at place %q", e.target.place)
	case e.target.zone != "":
		where = fmt.Sprintf("in zone %q", e.target.zone)
	}
	if e.crewed() {
		if r, found := e.cal.Resource(resourceID); found && !e.eligible(r) {
			return fmt.Sprintf("resource %q cannot be one of the crew of a %s %s (%s)", resourceID, e.cat.ID, where, describeRequirements(e.cat.Requirements))
		}
		return fmt.Sprintf("no crew of %s can be formed for a %s %s", describeRequirements(e.cat.Requirements), e.cat.ID, where)
	}
	if resourceID != "" {
		return fmt.Sprintf("resource %q cannot take a %s %s (kinds %v, skills %v)", resourceID, e.cat.ID, where, e.cat.ResourceKinds, e.cat.RequiredSkills)
	}
	return fmt.Sprintf("no resource of kinds %v with skills %v takes a %s %s", e.cat.ResourceKinds, e.cat.RequiredSkills, e.cat.ID, where)
}

// explainHolidays names the holidays of the eligible resources within [from, to).
func (e *engine) explainHolidays(from, to int64) string {
	var names []string
	for _, r := range e.resources {
		z := newZoneTable(e.cal.Location(r.timeZone), from-tableMargin, to+tableMargin)
		for d := floorDiv(z.reading(from), daySec); d <= floorDiv(z.reading(to-1), daySec); d++ {
			if name, found := r.holidays[d]; found {
				names = append(names, apphub.FormatCivilDate(d)+" "+name)
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		return "closed by a blackout of the holiday calendar"
	}
	return "closed for holidays: " + strings.Join(names, ", ")
}

func (e *engine) refuse(why reason, req BookRequest, resourceID string) error {
	at := req.Start.UTC().Format(time.RFC3339)
	var detail string
	switch why {
	case noResource:
		detail = e.explainNoResource(resourceID)
	case notAStart:
		if e.step > 0 {
			detail = fmt.Sprintf("%s is not a start of %s, which starts every %v on the local clock", at, e.cat.ID, e.cat.Step)
		} else {
			var ws []string
			for _, w := range e.cat.Windows {
				ws = append(ws, w.Start+"–"+w.End)
			}
			detail = fmt.Sprintf("%s is not the start of an arrival window of %s (%s local)", at, e.cat.ID, strings.Join(ws, ", "))
		}
	case insideNotice:
		detail = fmt.Sprintf("%s is less than %v from now", at, e.cat.MinNotice)
	case outsideHorizon:
		detail = fmt.Sprintf("%s is more than %v ahead", at, e.cat.Horizon)
	case outsideHours:
		detail = fmt.Sprintf("a %s at %s, with buffers, is outside the working hours of %q", e.cat.ID, at, resourceID)
	case holiday:
		detail = fmt.Sprintf("a %s at %s falls on a holiday or blackout of %q", e.cat.ID, at, resourceID)
	case fullyBooked:
		detail = fmt.Sprintf("%q has no seat left for a %s at %s", resourceID, e.cat.ID, at)
	case travelTime:
		detail = fmt.Sprintf("%q is free for a %s at %s, but another of its jobs leaves no time to travel to zone %q first", resourceID, e.cat.ID, at, e.target.zone)
	}
	err := &apphub.Error{Code: apphub.ECONFLICT, Message: reasonCodes[why] + ": " + detail}
	if why == notAStart {
		err.Code, err.Field = apphub.EINVALID, "start"
	}
	err.Reason = reasonCodes[why]
	return err
}

func quantumTime(q int64) time.Time { return time.Unix(q*quantumSec, 0).UTC() }

func formatInstant(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

// ceilSeconds is the first whole second at or after t.
func ceilSeconds(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}
