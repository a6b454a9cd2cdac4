// Package slots is the slot engine: pure functions of a calendar snapshot, the busy time and
// the clock that say which slots are free and whether a slot can be booked.
//
//	calendar (*apphub.Calendar) + busy time (*Busy) + now → slots, or a reservation
//
// SearchSlots answers a Query: the free slots of a category at a place (or for one resource)
// whose start is in [From, To), earliest first, grouped by local date in the place's time
// zone, each with the resources that can take it and the capacity left; when nothing is free,
// the reasons why, most telling first, and the next local dates that have slots. Bookable
// answers a BookRequest: the resource and the cells (quanta and seats, buffers included) a
// booking must claim, or a refusal (an *apphub.Error with the reason). Both share every rule, so a slot is
// bookable exactly when a search offers it.
//
// The rules, as docs/design.md ("Slot semantics") states them: time is cut into 15-minute
// quanta aligned to UTC; shifts, exceptions, holidays, blackouts and arrival windows are
// wall-clock rules in the resource's IANA time zone, while slots are UTC instants; a local
// start that falls in a DST gap is not offered and one in a fold is offered once, at its
// first instant; a rule boundary maps to the first instant the wall clock shows it or later;
// a holiday closes the whole local date, an opening overrides a holiday, an absence or a
// blackout overrides everything; the minimum notice and the horizon are inclusive and
// rounded to the quantum, so every instant of one quantum gives the same answer.
//
// A Scope tells a caller that keeps answers what the answer to a Query depends on besides the
// calendar: the UTC days whose busy time it reads, the resources it may offer, the zone or the
// one resource it concerns, and the timing bounds of its category now. ZoneOf and
// ResourceZones give the zones a place is in and a resource may be found in.
//
// The package does no I/O: it reads no store, no cache and no clock (Now is always given),
// starts no goroutine and keeps no state between calls. Whoever calls it reads the busy time
// (claims) and passes it in a Busy. It imports only the standard library and the domain
// package apphub.
package slots
