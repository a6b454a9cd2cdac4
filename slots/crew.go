package slots

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/apphub/apphub"
)

// Crew jobs. A category with requirements needs, at one start, Count distinct resources for
// each requirement, each free for the whole job and its own lead time. Starts are the
// category's steps on the wall clock of the place searched (a crew has one start, whatever
// the time zones of its members).
//
// The crew offered is chosen deterministically, so that a search and a booking of the same
// start name the same resources: each seat of each requirement, in the category's order, gets
// the first fitting resource that is free, preferring those the job leaves fewest idle gaps
// beside (a side is idle when the quantum next to the job and its lead time is working time
// with the resource wholly unused), then the lowest id; an earlier seat gives its resource up
// to a later one only when that is the only way to fill both (an augmenting path). A slot's
// Capacity is how many such crews could be booked at once.

// crewed reports whether e books crews.
func (e *engine) crewed() bool { return len(e.cat.Requirements) > 0 }

// fitMask is the set of e's requirements res fits, one bit each.
func (e *engine) fitMask(res *apphub.Resource) uint16 {
	var m uint16
	for i := range e.cat.Requirements {
		if e.cat.Requirements[i].Fits(res) {
			m |= 1 << i
		}
	}
	return m
}

// matcher assigns resources to the seats of a crew. Its buffers serve one start after another.
type matcher struct {
	seats  []int    // the requirement of each seat, in the category's order
	fit    []uint16 // per resource (e.resources' index): the requirements it fits
	holder []int    // per resource: the seat it fills, or -1
	seen   []bool
	crew   []int // match's answer

	free  []int  // per resource: seats left at the start being looked at
	rank  []int8 // per resource: its preference (fewer first); noRank when it cannot serve
	order []int  // the resources that can serve, best first
	left  []int  // per resource: seats left by the crews counted so far
}

// Ranks: the resource a booking names, those it prefers, then by idle gaps (0 to 2).
const (
	rankMust   int8 = -2
	rankPrefer int8 = -1
	noRank     int8 = 3
)

func newMatcher(e *engine) *matcher {
	n := len(e.resources)
	m := &matcher{fit: make([]uint16, n), holder: make([]int, n), seen: make([]bool, n),
		free: make([]int, n), rank: make([]int8, n), order: make([]int, 0, n), left: make([]int, n)}
	for k, q := range e.cat.Requirements {
		for range q.Count {
			m.seats = append(m.seats, k)
		}
	}
	for i, r := range e.resources {
		m.fit[i] = e.fitMask(r.res)
	}
	return m
}

// match fills every seat from the resources in order (preferred first); it returns the crew's
// resource indexes, by requirement and then by index (valid until the next call), or nil when
// the seats cannot all be filled.
func (m *matcher) match(order []int) []int {
	for i := range m.holder {
		m.holder[i] = -1
	}
	for s := range m.seats {
		clear(m.seen)
		if !m.augment(s, order) {
			return nil
		}
	}
	m.crew = m.crew[:0]
	for i, s := range m.holder {
		if s >= 0 {
			m.crew = append(m.crew, i)
		}
	}
	slices.SortFunc(m.crew, func(a, b int) int {
		return cmp.Or(cmp.Compare(m.seats[m.holder[a]], m.seats[m.holder[b]]), cmp.Compare(a, b))
	})
	return m.crew
}

// augment finds seat s a resource: the first free one that fits, else a taken one whose holder
// can move to another seat the same way (an augmenting path).
func (m *matcher) augment(s int, order []int) bool {
	for _, i := range order {
		if m.holder[i] < 0 && !m.seen[i] && m.fit[i]&(1<<m.seats[s]) != 0 {
			m.seen[i], m.holder[i] = true, s
			return true
		}
	}
	for _, i := range order {
		if m.fit[i]&(1<<m.seats[s]) == 0 || m.seen[i] {
			continue
		}
		m.seen[i] = true
		if m.augment(m.holder[i], order) {
			m.holder[i] = s
			return true
		}
	}
	return false
}

// crewPlans builds every resource's plan, on its own wall clock, for jobs starting in
// [first, last] quanta and ending by end, with one more quantum each side to see idle gaps.
func (e *engine) crewPlans(first, end int64) []plan {
	zones := make(map[string]*zoneTable)
	plans := make([]plan, len(e.resources))
	for i, r := range e.resources {
		z := zones[r.timeZone]
		if z == nil {
			z = newZoneTable(e.cal.Location(r.timeZone), first*quantumSec-tableMargin, end*quantumSec+tableMargin)
			zones[r.timeZone] = z
		}
		lo, hi := first-r.before-1, end+r.after+1
		plans[i] = r.buildPlan(z, e.busy, lo, hi, make([]int8, hi-lo))
	}
	return plans
}

// gaps counts the sides of a job starting at s, lead times included, left beside idle working
// time.
func (p plan) gaps(r *rules, s, durQ int64) int {
	n := 0
	for _, q := range [2]int64{s - r.before - 1, s + durQ + r.after} {
		if c, ok := p.cell(q); ok && c == int8(r.capacity) {
			n++
		}
	}
	return n
}

// joined is what a job starting at s, lead times included, touches on each side
// (apphub.Joined* bits): a quantum with a seat taken is another job; one outside working time
// (or closed) is the edge of the resource's day.
func (p plan) joined(r *rules, s, durQ int64) uint8 {
	var j uint8
	for side, q := range [2]int64{s - r.before - 1, s + durQ + r.after} {
		c, ok := p.cell(q)
		switch {
		case !ok:
		case c < 0:
			j |= apphub.JoinedEdgeBefore << side
		case c < int8(r.capacity):
			j |= apphub.JoinedJobBefore << side
		}
	}
	return j
}

// cell is the state of quantum q, false when the plan does not cover it.
func (p plan) cell(q int64) (int8, bool) {
	if q < p.lo || q >= p.lo+int64(len(p.cells)) {
		return 0, false
	}
	return p.cells[q-p.lo], true
}

// crewAt is the crew the engine offers for the job starting at quantum s: the members'
// indexes and free seats, and how many crews could be booked at once; or why there is none,
// and the resource whose refusal that is. must, when ≥ 0, is a resource the crew must include;
// the resources of prefer come before all others but must.
type crewAt struct {
	members  []int
	free     []int // per resource (the matcher's, valid until its next start)
	capacity int
	why      reason
	worst    int // the resource refused for why; -1 when none is to blame alone
}

func (e *engine) crewAt(plans []plan, m *matcher, s int64, must int, prefer []string) crewAt {
	out := crewAt{free: m.free, why: fits, worst: -1}
	for i, r := range e.resources {
		free, why := plans[i].fitWithLead(r, s, e.durQ)
		m.free[i], m.rank[i] = free, noRank
		if why != fits {
			if why > out.why || i == must {
				out.why, out.worst = why, i
			}
			if i == must {
				return out
			}
			continue
		}
		switch {
		case i == must:
			m.rank[i] = rankMust
		case slices.Contains(prefer, r.res.ID):
			m.rank[i] = rankPrefer
		default:
			m.rank[i] = int8(plans[i].gaps(r, s, e.durQ))
		}
	}
	// By rank, then by id (the resources' order): a pass per rank.
	order := m.order[:0]
	for rank := rankMust; rank < noRank; rank++ {
		for i, k := range m.rank {
			if k == rank {
				order = append(order, i)
			}
		}
	}
	crew := m.match(order)
	if crew == nil || (must >= 0 && !slices.Contains(crew, must)) {
		if out.why == fits {
			out.why = fullyBooked
		}
		return out
	}
	out.members = slices.Clone(crew)
	out.why, out.worst = fits, -1
	// Capacity: crews taken one after another, each from the seats the previous ones left.
	copy(m.left, m.free)
	for ; crew != nil && out.capacity < apphub.MaxCapacity; crew = m.match(order) {
		out.capacity++
		for _, i := range crew {
			if m.left[i]--; m.left[i] == 0 {
				order = slices.DeleteFunc(order, func(j int) bool { return j == i })
			}
		}
	}
	return out
}

// runCrew is run for a crew category.
func (e *engine) runCrew(from, to int64) ([]apphub.Slot, uint32) {
	z := newZoneTable(e.cal.Location(e.target.timeZone), from-tableMargin, to+tableMargin)
	cands := e.candidates(z, from, to, make([]candidate, 0, (to-from)/e.step+2))
	if len(cands) == 0 {
		return nil, 0
	}
	plans := e.crewPlans(cands[0].start, cands[len(cands)-1].end)
	m := newMatcher(e)
	var (
		refused uint32
		out     []apphub.Slot
	)
	for _, c := range cands {
		if why := e.timing(c); why != fits {
			refused |= 1 << why
			continue
		}
		at := e.crewAt(plans, m, c.start, e.must, nil)
		if at.why != fits {
			refused |= 1 << at.why
			continue
		}
		slot := apphub.Slot{Start: quantumTime(c.start), End: quantumTime(c.end), Capacity: at.capacity,
			Resources: make([]apphub.SlotResource, len(at.members)), Crew: make([]string, len(at.members))}
		for k, i := range at.members {
			id := e.resources[i].res.ID
			slot.Resources[k] = apphub.SlotResource{ResourceID: id, Capacity: at.free[i], Joined: plans[i].joined(e.resources[i], c.start, e.durQ)}
			slot.Crew[k] = id
		}
		out = append(out, slot)
	}
	return out, refused
}

// bookCrew is Bookable for a crew category: the crew a search offers at req.Start (including
// req.Resource, when named, as a search naming it does) and the cells its members must claim.
func (e *engine) bookCrew(req BookRequest, prefer []string) (*Reservation, error) {
	start := req.Start.Unix()
	z := newZoneTable(e.cal.Location(e.target.timeZone), start-tableMargin, start+tableMargin)
	var cands []candidate
	if req.Start.Nanosecond() == 0 && start%quantumSec == 0 {
		cands = e.candidates(z, start, start+1, make([]candidate, 0, 1))
	}
	if len(cands) != 1 || (!req.End.IsZero() && !req.End.Equal(quantumTime(cands[0].end))) {
		return nil, e.refuse(notAStart, req, "")
	}
	c := cands[0]
	if why := e.timing(c); why != fits {
		return nil, e.refuse(why, req, "")
	}
	at := e.crewAt(e.crewPlans(c.start, c.end), newMatcher(e), c.start, e.must, prefer)
	if at.why != fits {
		blame := ""
		if at.worst >= 0 {
			blame = e.resources[at.worst].res.ID
		}
		return nil, e.refuse(at.why, req, blame)
	}
	res := &Reservation{Start: quantumTime(c.start), End: quantumTime(c.end)}
	for _, i := range at.members {
		r := e.resources[i]
		res.Crew = append(res.Crew, r.res.ID)
		for q := c.start - r.before; q < c.end+r.after; q++ {
			res.Cells = append(res.Cells, Cell{ResourceID: r.res.ID, Start: quantumTime(q), Seat: bits.TrailingZeros64(^e.busy.seats(r.res.ID, q))})
		}
	}
	res.ResourceID = res.Crew[0]
	return res, nil
}

// crewStaffed reports whether e's resources could ever form a crew: when all are free.
func (e *engine) crewStaffed() bool {
	order := make([]int, len(e.resources))
	for i := range order {
		order[i] = i
	}
	return newMatcher(e).match(order) != nil
}

// describeRequirements reads like "2 technician with fiber, 1 equipment with splicer".
func describeRequirements(qs []apphub.Requirement) string {
	parts := make([]string, len(qs))
	for i, q := range qs {
		parts[i] = fmt.Sprintf("%d %s", q.Count, q.Kind)
		if len(q.Skills) > 0 {
			parts[i] += " with " + strings.Join(q.Skills, "+")
		}
	}
	return strings.Join(parts, ", ")
}
