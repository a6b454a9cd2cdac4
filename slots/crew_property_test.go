package slots

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// The reference model of crew jobs (see engine_property_test.go for the rest of it), written
// from the rules rather than from the engine, and as plainly as possible:
//
//   - a crew job starts on the category's steps on the wall clock of the place searched;
//   - the resources that may be one of a crew fit at least one requirement (kind and every
//     skill) and serve the place's zone; when all of them together, free, cannot fill every
//     seat, nothing is ever offered (NO_SKILLED_RESOURCE_IN_ZONE);
//   - at a start, a resource is a candidate member when it is free for the job and its own
//     lead time, as for a one-resource job (with its seats left); the candidates are ranked
//     by the idle sides the job would leave them (the quantum before the lead time and the
//     quantum after the job and its lead time that are working time without a seat taken),
//     fewest first, then by id; a resource a booking names comes first of all, then those it
//     prefers (BookRequest.Prefer), by id;
//   - the seats (requirement k repeated Count times, in the category's order) are filled one
//     after another, each by the best-ranked free resource that fits it, else by an augmenting
//     path searched depth first over the ranking (a taken resource changes seat only then);
//   - the crew is listed by requirement, then by id; the capacity is how many crews are filled
//     one after another from the seats left (each member giving one seat, the ranking kept);
//   - each member's Joined is what the job at the crew's start, with that member's own lead
//     time, touches on each side in the member's day (reference.joined): the idle sides that
//     ranked it are exactly the sides that touch neither a job nor an edge;
//   - without a crew, the start is refused for the largest reason of the resources refused
//     one by one (for the named resource's own, when it is refused), else FULLY_BOOKED.
//
// The crew this picks has no simpler description that I know of (it is not the best crew by
// ranking in every case), so the reference searches augmenting paths too, naively, and checks
// them against a brute-force search for a complete assignment: both must agree on whether the
// seats can be filled.

// refCrewOffer is a crew slot: its members (in the slot's order) with their seats left, and
// the number of crews it could take.
type refCrewOffer struct {
	date       string
	start, end time.Time
	crew       []string
	seats      []int
	joined     []uint8 // per member: apphub.Joined* bits
	capacity   int
}

func (o refCrewOffer) String() string {
	members := make([]string, len(o.crew))
	for i, id := range o.crew {
		members[i] = fmt.Sprintf("%s(%d %s)", id, o.seats[i], joinedString(o.joined[i]))
	}
	return fmt.Sprintf("%s %s–%s [%s]×%d", o.date, o.start.Format(time.RFC3339), o.end.Format("15:04Z"), strings.Join(members, " "), o.capacity)
}

// refFits reports whether res has q's kind and every one of its skills.
func refFits(q apphub.Requirement, res apphub.Resource) bool {
	if res.Kind != q.Kind {
		return false
	}
	for _, s := range q.Skills {
		if !slices.Contains(res.Skills, s) {
			return false
		}
	}
	return true
}

// crewSeats lists the requirement of each seat of a crew.
func (r *reference) crewSeats() []int {
	var seats []int
	for k, q := range r.cat.Requirements {
		for range q.Count {
			seats = append(seats, k)
		}
	}
	return seats
}

// crewPool lists, by id, the resources that may be one of a crew at the place searched.
func (r *reference) crewPool() []apphub.Resource {
	var pool []apphub.Resource
	for _, res := range r.c.data.Resources {
		fitsOne := slices.ContainsFunc(r.cat.Requirements, func(q apphub.Requirement) bool { return refFits(q, res) })
		if fitsOne && r.eligible(res) {
			pool = append(pool, res)
		}
	}
	slices.SortFunc(pool, func(a, b apphub.Resource) int { return cmp.Compare(a.ID, b.ID) })
	return pool
}

// canFill is the brute force: whether some assignment of distinct resources of pool to the
// seats fits every seat.
func (r *reference) canFill(pool []apphub.Resource) bool {
	seats := r.crewSeats()
	used := make([]bool, len(pool))
	var fill func(k int) bool
	fill = func(k int) bool {
		if k == len(seats) {
			return true
		}
		for i, res := range pool {
			if !used[i] && refFits(r.cat.Requirements[seats[k]], res) {
				used[i] = true
				if fill(k + 1) {
					return true
				}
				used[i] = false
			}
		}
		return false
	}
	return fill(0)
}

// assign fills the seats in order from ranked (best first) by augmenting paths: each seat
// searches, depth first, the resources fitting it in ranking order that this search has not
// visited yet; a free one is taken, a held one is taken when its holder finds another seat by
// the same search. It returns resource id → seat, or nil when a seat cannot be filled.
func (r *reference) assign(ranked []apphub.Resource) map[string]int {
	seats := r.crewSeats()
	holder := map[string]int{}
	for s := range seats {
		visited := map[string]bool{}
		var find func(seat int) bool
		find = func(seat int) bool {
			for _, res := range ranked {
				if _, held := holder[res.ID]; !held && !visited[res.ID] && refFits(r.cat.Requirements[seats[seat]], res) {
					visited[res.ID], holder[res.ID] = true, seat
					return true
				}
			}
			for _, res := range ranked {
				if visited[res.ID] || !refFits(r.cat.Requirements[seats[seat]], res) {
					continue
				}
				visited[res.ID] = true
				if h, held := holder[res.ID]; !held || find(h) {
					holder[res.ID] = seat
					return true
				}
			}
			return false
		}
		if !find(s) {
			holder = nil
			break
		}
	}
	if (holder != nil) != r.canFill(ranked) {
		panic(fmt.Sprintf("reference: augmenting paths say %v, brute force says %v", holder != nil, r.canFill(ranked)))
	}
	return holder
}

// idle reports whether the quantum starting at q is working time of res with no seat taken.
func (r *reference) idle(res apphub.Resource, q time.Time) bool {
	working, taken := r.neighbour(res, q)
	return working && !taken
}

// idleSides counts the idle quanta just before and just after what a job of res starting at
// start occupies (its lead time included).
func (r *reference) idleSides(res apphub.Resource, start time.Time) int {
	before, after, _ := r.lead(res)
	n := 0
	for _, q := range []time.Time{start.Add(-before - 15*time.Minute), start.Add(r.cat.Duration + after)} {
		if r.idle(res, q) {
			n++
		}
	}
	return n
}

// timing is the notice and horizon check of a start.
func (r *reference) timing(start time.Time) string {
	now := r.c.query.Now
	switch {
	case start.Before(now.Add(r.cat.MinNotice)):
		return apphub.ReasonInsideMinimumNotice
	case r.cat.Horizon > 0 && start.After(now.Add(r.cat.Horizon)):
		return apphub.ReasonOutsideHorizon
	}
	return ""
}

// refCrew is the reference's crew at a start: its members (by requirement, then id), the
// seats left of every free resource, the crews one after another; or why there is none.
type refCrew struct {
	members  []string
	free     map[string]int
	capacity int
	why      string
}

// crewAt forms the crew of a job at candidate c (a start that passed the timing checks),
// around must when it is not "", taking those of prefer before others.
func (r *reference) crewAt(c [2]time.Time, must string, prefer []string) refCrew {
	out := refCrew{free: map[string]int{}}
	worst := ""
	type ranked struct {
		res  apphub.Resource
		gaps int
	}
	var free []ranked
	for _, res := range r.crewPool() {
		seats, _, why := r.take(res, c)
		if why != "" {
			if res.ID == must {
				out.why = why
				return out
			}
			if worst == "" || refRank(why) > refRank(worst) {
				worst = why
			}
			continue
		}
		out.free[res.ID] = seats
		gaps := r.idleSides(res, c[0])
		if slices.Contains(prefer, res.ID) {
			gaps = -1 // whatever its gaps
		}
		if res.ID == must {
			gaps = -2
		}
		free = append(free, ranked{res, gaps})
	}
	slices.SortFunc(free, func(a, b ranked) int { return cmp.Or(cmp.Compare(a.gaps, b.gaps), cmp.Compare(a.res.ID, b.res.ID)) })
	var order []apphub.Resource
	for _, f := range free {
		order = append(order, f.res)
	}
	crew := r.assign(order)
	if _, in := crew[must]; crew == nil || (must != "" && !in) {
		out.why = cmp.Or(worst, apphub.ReasonFullyBooked)
		return out
	}
	seats := r.crewSeats()
	for id := range crew {
		out.members = append(out.members, id)
	}
	slices.SortFunc(out.members, func(a, b string) int { return cmp.Or(cmp.Compare(seats[crew[a]], seats[crew[b]]), cmp.Compare(a, b)) })
	left := maps.Clone(out.free)
	for ; crew != nil && out.capacity < apphub.MaxCapacity; crew = r.assign(order) {
		out.capacity++
		for id := range crew {
			left[id]--
		}
		order = slices.DeleteFunc(order, func(res apphub.Resource) bool { return left[res.ID] == 0 })
	}
	return out
}

// inPool reports whether id may be one of a crew.
func (r *reference) inPool(id string) bool {
	return slices.ContainsFunc(r.crewPool(), func(res apphub.Resource) bool { return res.ID == id })
}

// crewSearch is the reference's search for a crew category: the slots, and when there is none
// the reasons, most telling first.
func (r *reference) crewSearch() ([]refCrewOffer, []string) {
	if (r.c.query.Resource != "" && !r.inPool(r.c.query.Resource)) || !r.canFill(r.crewPool()) {
		return nil, []string{apphub.ReasonNoSkilledResourceInZone}
	}
	loc, _ := time.LoadLocation(r.placeTZ)
	var out []refCrewOffer
	refused := map[string]bool{}
	for _, c := range r.candidatesIn(r.placeTZ) {
		if why := r.timing(c[0]); why != "" {
			refused[why] = true
			continue
		}
		a := r.crewAt(c, r.c.query.Resource, nil)
		if a.why != "" {
			refused[a.why] = true
			continue
		}
		o := refCrewOffer{date: c[0].In(loc).Format(time.DateOnly), start: c[0], end: c[1], crew: a.members, capacity: a.capacity}
		for _, id := range a.members {
			o.seats = append(o.seats, a.free[id])
			o.joined = append(o.joined, r.joined(r.resource(id), c[0]))
		}
		out = append(out, o)
	}
	if len(out) > 0 {
		return out, nil
	}
	if len(refused) == 0 { // not a single start in the window
		refused[apphub.ReasonOutsideHours] = true
	}
	var reasons []string
	for _, code := range []string{apphub.ReasonTravelTime, apphub.ReasonFullyBooked, apphub.ReasonHoliday, apphub.ReasonInsideMinimumNotice, apphub.ReasonOutsideHorizon, apphub.ReasonOutsideHours} {
		if refused[code] {
			reasons = append(reasons, code)
		}
	}
	return nil, reasons
}

// crewCheck is the reference's answer to a booking of a crew job at start (ending at end, if
// set), around must when it is not "", preferring prefer: the crew and the cells it claims
// ("id@unix" → seat), or the reason.
func (r *reference) crewCheck(must string, prefer []string, start, end time.Time) ([]string, map[string]int, string) {
	if (must != "" && !r.inPool(must)) || !r.canFill(r.crewPool()) {
		return nil, nil, apphub.ReasonNoSkilledResourceInZone
	}
	cands := r.candidatesIn(r.placeTZ)
	i := slices.IndexFunc(cands, func(c [2]time.Time) bool { return c[0].Equal(start) })
	if i < 0 || (!end.IsZero() && !end.Equal(cands[i][1])) {
		return nil, nil, apphub.ReasonNotASlotStart
	}
	if why := r.timing(start); why != "" {
		return nil, nil, why
	}
	a := r.crewAt(cands[i], must, prefer)
	if a.why != "" {
		return nil, nil, a.why
	}
	cells := map[string]int{}
	for _, id := range a.members {
		before, after, _ := r.lead(r.resource(id))
		for q := start.Add(-before); q.Before(start.Add(r.cat.Duration + after)); q = q.Add(15 * time.Minute) {
			seat := 0
			for seat < len(r.seats[id][q.Unix()]) && r.seats[id][q.Unix()][seat] {
				seat++
			}
			cells[fmt.Sprintf("%s@%d", id, q.Unix())] = seat
		}
	}
	return a.members, cells, ""
}

// Random crew cases: randomCase turns a share of its cases into crew jobs with these.

// randomCrewMember makes res a technician or a piece of equipment of a few skills, working
// (most of the time) every day over a long shift so that crews meet.
func randomCrewMember(rng *rand.Rand, res *apphub.Resource) {
	res.Kind, res.Skills = apphub.KindTechnician, nil
	skills := []string{"fiber", "copper"}
	if rng.IntN(5) < 2 {
		res.Kind, skills = apphub.KindEquipment, []string{"splicer", "van"}
	}
	for _, s := range skills {
		if rng.IntN(3) > 0 {
			res.Skills = append(res.Skills, s)
		}
	}
	if rng.IntN(4) > 0 {
		start, end := clockString((20+rng.IntN(16))*15), clockString((68+rng.IntN(24))*15)
		res.Shifts = nil
		for d := time.Sunday; d <= time.Saturday; d++ {
			if rng.IntN(8) > 0 {
				res.Shifts = append(res.Shifts, apphub.Shift{Weekday: d, Start: start, End: end})
			}
		}
	}
}

// randomCrewCategory makes cat a crew job of one to three requirements, which the same
// resource may often fit several of: half the time a requirement and then a narrower one of
// the same kind (where an earlier seat must give a resource up to a later one).
func randomCrewCategory(rng *rand.Rand, cat *apphub.Category) {
	pool := []apphub.Requirement{
		{Kind: apphub.KindTechnician, Skills: []string{"fiber"}, Count: 1 + rng.IntN(2)},
		{Kind: apphub.KindTechnician, Skills: []string{"copper"}, Count: 1},
		{Kind: apphub.KindTechnician, Count: 1 + rng.IntN(2)},
		{Kind: apphub.KindTechnician, Skills: []string{"fiber", "copper"}, Count: 1},
		{Kind: apphub.KindEquipment, Skills: []string{"splicer"}, Count: 1},
		{Kind: apphub.KindEquipment, Skills: []string{"van"}, Count: 1},
		{Kind: apphub.KindEquipment, Count: 1},
	}
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	cat.Requirements = pool[:1+rng.IntN(3)]
	if rng.IntN(2) == 0 {
		narrower := [][2]apphub.Requirement{
			{{Kind: apphub.KindTechnician, Count: 1 + rng.IntN(2)}, {Kind: apphub.KindTechnician, Skills: []string{"fiber"}, Count: 1}},
			{{Kind: apphub.KindTechnician, Skills: []string{"fiber"}, Count: 1}, {Kind: apphub.KindTechnician, Skills: []string{"fiber", "copper"}, Count: 1}},
			{{Kind: apphub.KindEquipment, Count: 1}, {Kind: apphub.KindEquipment, Skills: []string{"splicer"}, Count: 1}},
		}[rng.IntN(3)]
		cat.Requirements = append(narrower[:], pool[:rng.IntN(2)]...)
	}
	cat.RequiredSkills, cat.ResourceKinds, cat.AtPlace, cat.Windows = nil, nil, false, nil
	if cat.Step == 0 {
		cat.Step = time.Duration(1+rng.IntN(8)) * 15 * time.Minute
	}
}

// randomJobs claims runs of quanta of res, like jobs booked before, from start on.
func randomJobs(rng *rand.Rand, res apphub.Resource, start time.Time) []refClaim {
	var out []refClaim
	for range rng.IntN(12) {
		first := start.Add(time.Duration(rng.IntN(4*80)-24) * 15 * time.Minute).UTC()
		seat := rng.IntN(max(res.Capacity, 1))
		for k := range 1 + rng.IntN(8) {
			out = append(out, refClaim{resource: res.ID, start: first.Add(time.Duration(k) * 15 * time.Minute), seat: seat})
		}
	}
	return out
}

// flattenCrew lists the engine's crew slots, checking that each lists its crew as its
// resources.
func flattenCrew(t *testing.T, r *Result) []refCrewOffer {
	t.Helper()
	var out []refCrewOffer
	for _, d := range r.Days {
		for _, s := range d.Slots {
			o := refCrewOffer{date: d.Date, start: s.Start, end: s.End, crew: s.Crew, capacity: s.Capacity}
			for k, m := range s.Resources {
				if k >= len(s.Crew) || m.ResourceID != s.Crew[k] {
					t.Fatalf("slot %v: resources %v are not its crew %v", s.Start, s.Resources, s.Crew)
				}
				o.seats = append(o.seats, m.Capacity)
				o.joined = append(o.joined, m.Joined)
			}
			if len(s.Resources) != len(s.Crew) {
				t.Fatalf("slot %v: resources %v are not its crew %v", s.Start, s.Resources, s.Crew)
			}
			out = append(out, o)
		}
	}
	return out
}

// compareCrewWithReference is compareWithReference for a crew category: the same slots
// (times, crews, seats, capacities), the same reasons when there is none, and booking checks
// that take the crew the search offers and refuse other starts for the reference's reason.
func compareCrewWithReference(t *testing.T, c refCase, rng *rand.Rand, cal *apphub.Calendar, busy *Busy, got *Result) {
	t.Helper()
	ref := newReference(c)
	want, wantReasons := ref.crewSearch()
	gotOffers := flattenCrew(t, got)
	if fmt.Sprint(gotOffers) != fmt.Sprint(want) {
		t.Fatalf("query %+v\nengine:    %v\nreference: %v\nreasons: %v", c.query, gotOffers, want, got.Reasons)
	}
	if !slices.Equal(codes(got.Reasons), wantReasons) {
		t.Fatalf("query %+v: reasons %v, want %v", c.query, codes(got.Reasons), wantReasons)
	}

	// somePrefer is, one time in three, a few resources to prefer (and an unknown one).
	somePrefer := func() []string {
		var prefer []string
		if rng.IntN(3) == 0 {
			for _, res := range c.data.Resources {
				if rng.IntN(3) == 0 {
					prefer = append(prefer, res.ID)
				}
			}
			if rng.IntN(4) == 0 {
				prefer = append(prefer, "nobody")
			}
			rng.Shuffle(len(prefer), func(i, j int) { prefer[i], prefer[j] = prefer[j], prefer[i] })
		}
		return prefer
	}
	// probe books start (ending at end, when set), naming must when not "" and preferring
	// prefer, and expects the reference's crew, or its refusal; offered, when set, is the crew
	// the search offered (the booking names whom the search named, and prefers no one).
	probe := func(must string, prefer []string, start, end time.Time, offered []string) {
		t.Helper()
		req := BookRequest{Category: c.query.Category, Resource: must, Prefer: prefer, Place: c.query.Place, Start: start, End: end, Now: c.query.Now}
		res, err := Bookable(cal, busy, req)
		wantCrew, wantCells, wantWhy := ref.crewCheck(must, prefer, start, end)
		if offered != nil && (wantWhy != "" || !slices.Equal(wantCrew, offered)) {
			t.Fatalf("reference: booking %s around %q gives %v %s, the search offered %v", start.Format(time.RFC3339), must, wantCrew, wantWhy, offered)
		}
		if wantWhy != "" {
			if apphub.ErrorReason(err) != wantWhy {
				t.Fatalf("Bookable(%q, prefer %v, %s, end %v) = %+v, %v; want refusal %s", must, prefer, start.Format(time.RFC3339), end, res, err, wantWhy)
			}
			if code := apphub.ErrorCode(err); code != apphub.ECONFLICT && code != apphub.EINVALID {
				t.Fatalf("refusal code %s", code)
			}
			return
		}
		if err != nil {
			t.Fatalf("Bookable(%q, prefer %v, %s, end %v): %v; want crew %v", must, prefer, start.Format(time.RFC3339), end, err, wantCrew)
		}
		if !slices.Equal(res.Crew, wantCrew) || res.ResourceID != wantCrew[0] || !res.Start.Equal(start) || !res.End.Equal(start.Add(ref.cat.Duration)) {
			t.Fatalf("Bookable(%q, prefer %v, %s) takes %v (lead %s) %v–%v, want %v", must, prefer, start.Format(time.RFC3339), res.Crew, res.ResourceID, res.Start, res.End, wantCrew)
		}
		gotCells := map[string]int{}
		for _, cell := range res.Cells {
			gotCells[fmt.Sprintf("%s@%d", cell.ResourceID, cell.Start.Unix())] = cell.Seat
		}
		if fmt.Sprint(gotCells) != fmt.Sprint(wantCells) {
			t.Fatalf("Bookable(%q, %s) cells %v, want %v", must, start.Format(time.RFC3339), gotCells, wantCells)
		}
	}
	// Every start offered is bookable, with the crew offered; around one of its members, or
	// another resource, as the reference says.
	for _, o := range gotOffers {
		end := time.Time{}
		if rng.IntN(2) == 0 {
			end = o.end
		}
		probe(c.query.Resource, nil, o.start, end, o.crew)
		switch rng.IntN(4) {
		case 0:
			probe(o.crew[rng.IntN(len(o.crew))], somePrefer(), o.start, end, nil)
		case 1:
			probe(c.data.Resources[rng.IntN(len(c.data.Resources))].ID, somePrefer(), o.start, end, nil)
		case 2:
			probe("", append(somePrefer(), c.data.Resources[rng.IntN(len(c.data.Resources))].ID), o.start, end, nil)
		}
	}
	span := c.query.To.Sub(c.query.From)
	for range 30 {
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
		must := ""
		if rng.IntN(3) == 0 {
			must = c.data.Resources[rng.IntN(len(c.data.Resources))].ID
		}
		end := time.Time{}
		if rng.IntN(5) == 0 {
			end = start.Add(time.Duration(rng.IntN(20)) * 15 * time.Minute)
		}
		probe(must, somePrefer(), start, end, nil)
	}
	checkNarrowWindows(t, cal, busy, c.query, got, rng)
}
