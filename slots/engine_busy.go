package slots

import (
	"math/bits"
	"time"

	"github.com/apphub/apphub"
)

// Busy is the time already taken: per resource, per quantum, the seats in use. The zero value
// is empty and ready to use; a nil *Busy reads as empty. Add and the engine's reads must not
// run concurrently; concurrent reads are fine.
type Busy struct {
	// resource id → UTC day → its quanta. Whole days keep the engine at one map lookup per
	// resource and day.
	days map[string]map[int64]*busyDay
}

const quantaPerDay = daySec / quantumSec

// busyDay is one resource's claims over one UTC day, by quantum: the seats taken (a bit set,
// to pick a free seat) and their number (compact, for the engine's scans).
type busyDay struct {
	used  [quantaPerDay]uint8
	seats [quantaPerDay]uint64
}

// Add records a claim: seat of resourceID is taken during the quantum that contains
// quantumStart. A seat outside [0, MaxCapacity) still takes a seat (the lowest free one), so
// that no claim is ever ignored.
func (b *Busy) Add(resourceID string, quantumStart time.Time, seat int) {
	if b.days == nil {
		b.days = make(map[string]map[int64]*busyDay)
	}
	days := b.days[resourceID]
	if days == nil {
		days = make(map[int64]*busyDay)
		b.days[resourceID] = days
	}
	q := floorDiv(quantumStart.Unix(), quantumSec)
	day := floorDiv(q, quantaPerDay)
	bd := days[day]
	if bd == nil {
		bd = new(busyDay)
		days[day] = bd
	}
	k := q - day*quantaPerDay
	if seat < 0 || seat >= apphub.MaxCapacity {
		seat = bits.TrailingZeros64(^bd.seats[k]) // 64 when all are taken: the shift then adds nothing
	}
	bd.seats[k] |= 1 << uint(seat)
	bd.used[k] = uint8(bits.OnesCount64(bd.seats[k]))
}

// Used returns the number of seats of resourceID taken during the quantum that contains t.
func (b *Busy) Used(resourceID string, t time.Time) int {
	return bits.OnesCount64(b.seats(resourceID, floorDiv(t.Unix(), quantumSec)))
}

// seats returns the bit set of seats of resourceID taken in quantum q.
func (b *Busy) seats(resourceID string, q int64) uint64 {
	if b == nil {
		return 0
	}
	day := floorDiv(q, quantaPerDay)
	if bd := b.days[resourceID][day]; bd != nil {
		return bd.seats[q-day*quantaPerDay]
	}
	return 0
}
