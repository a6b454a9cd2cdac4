package apphub

import (
	"fmt"
	"time"
)

// TravelTimes is how long a resource takes to go from one work zone to another: Minutes[i][j]
// from Zones[i] to Zones[j]. Where it covers a job's zone it replaces the resources' fixed
// buffers (BufferBefore, BufferAfter) there: a job claims its travel-in time before its start
// (LeadTime), so that whatever job comes before it ends in time to get there, whichever zone
// that job was in and whichever instance booked it. The matrix need not be symmetric.
type TravelTimes struct {
	Zones   []string
	Minutes [][]int
}

// validate checks the matrix: square over known, distinct zones, non-negative, zero on the
// diagonal, each time at most MaxBuffer.
func (t *TravelTimes) validate(zones map[string]int) error {
	index := make(map[string]int, len(t.Zones))
	for i, z := range t.Zones {
		if _, known := zones[z]; !known {
			return FieldError(fmt.Sprintf("zones[%d]", i), "unknown zone %q", z)
		}
		if j, dup := index[z]; dup {
			return FieldError(fmt.Sprintf("zones[%d]", i), "%q is already listed as zones[%d]", z, j)
		}
		index[z] = i
	}
	if len(t.Minutes) != len(t.Zones) {
		return FieldError("minutes", "must have a row for each of the %d zones, got %d", len(t.Zones), len(t.Minutes))
	}
	for i, row := range t.Minutes {
		if len(row) != len(t.Zones) {
			return FieldError(fmt.Sprintf("minutes[%d]", i), "must have a time to each of the %d zones, got %d", len(t.Zones), len(row))
		}
		for j, m := range row {
			field := fmt.Sprintf("minutes[%d][%d]", i, j)
			switch {
			case i == j && m != 0:
				return FieldError(field, "from %s to itself must be 0, got %d", t.Zones[i], m)
			case m < 0 || time.Duration(m)*time.Minute > MaxBuffer:
				return FieldError(field, "must be between 0 and %d minutes, got %d", int(MaxBuffer/time.Minute), m)
			}
		}
	}
	return nil
}

// LeadTime is what a job of resource r in zone (a work zone; "" for none) occupies besides its
// own time. When the travel times cover zone and a zone r serves: its travel-in time before it
// — the longest travel into zone from any zone r serves, rounded up to a whole number of
// quanta — and nothing after (travel is true). Otherwise r's fixed buffers.
func (c *Calendar) LeadTime(r *Resource, zone string) (before, after time.Duration, travel bool) {
	to, covered := c.travelIndex[zone]
	if !covered {
		return r.BufferBefore, r.BufferAfter, false
	}
	longest, travel := 0, false
	for _, z := range r.Zones {
		if from, ok := c.travelIndex[z]; ok {
			longest, travel = max(longest, c.data.TravelTimes.Minutes[from][to]), true
		}
	}
	if !travel {
		return r.BufferBefore, r.BufferAfter, false
	}
	d := time.Duration(longest) * time.Minute
	return (d + Quantum - 1).Truncate(Quantum), 0, true
}
