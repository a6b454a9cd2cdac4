package apphub

import "time"

// Quantum is the unit of bookable time. Quanta are aligned to UTC; durations, buffers, steps
// and rule boundaries are whole quanta, and a booking claims one seat per quantum it occupies.
const Quantum = 15 * time.Minute

// MaxCapacity is the largest number of parallel appointments of one resource.
const MaxCapacity = 64

// Slot is a start a category offers: one instant (fixed-step categories, End = Start +
// duration) or an arrival window (End is the window's end), with the resources that can take
// it. Times are UTC.
type Slot struct {
	Start     time.Time
	End       time.Time
	Resources []SlotResource // ordered by resource id; for a crew job, its members in Crew's order
	Capacity  int            // seats left, summed over Resources; for a crew job, the crews that could be booked at once
	// Crew names, for a category with requirements, the resources that would serve the slot,
	// in requirement order: those a booking of it takes.
	Crew []string
}

// SlotResource is a resource that can take a slot and the seats it has left for it (for an
// arrival window: on the run a booking would take).
type SlotResource struct {
	ResourceID string
	Capacity   int
	// Joined says what the job, its lead time included, would touch on each side in the
	// resource's day (Joined* bits): another job, or the edge of its working time. A job that
	// joins others leaves no idle gap, which is what a recommendation prefers.
	Joined uint8
}

// Joined bits of a SlotResource.
const (
	JoinedJobBefore  uint8 = 1 << iota // a job of the resource ends where this one's lead time begins
	JoinedJobAfter                     // a job of the resource begins where this one ends
	JoinedEdgeBefore                   // the resource's working time begins there
	JoinedEdgeAfter                    // the resource's working time ends there
)

// SlotDay groups slots by their local date (YYYY-MM-DD) in the time zone of the place searched.
type SlotDay struct {
	Date  string
	Slots []Slot
}

// Reason explains why a search found nothing, or why a slot cannot be booked.
type Reason struct {
	Code    string
	Message string
}

// Reason codes. Transports pass them on as they are (TMF646 Error.code, GraphQL
// extensions.reason).
const (
	ReasonNoSkilledResourceInZone = "NO_SKILLED_RESOURCE_IN_ZONE" // no resource has the kind, skills and zone (or place)
	ReasonNotASlotStart           = "NOT_A_SLOT_START"            // the time is not a start the category offers
	ReasonInsideMinimumNotice     = "INSIDE_MINIMUM_NOTICE"       // too soon
	ReasonOutsideHorizon          = "OUTSIDE_HORIZON"             // too far ahead
	ReasonOutsideHours            = "OUTSIDE_HOURS"               // not within working hours (shifts, openings, absences)
	ReasonHoliday                 = "HOLIDAY"                     // within hours, but a holiday or blackout closes it
	ReasonFullyBooked             = "FULLY_BOOKED"                // within hours, but no seat is left
	ReasonTravelTime              = "TRAVEL_TIME"                 // free, but another job leaves no time to travel there

	// Refusals of the booking path beyond the engine's.
	ReasonSlotTaken            = "SLOT_TAKEN"             // others kept winning the race for the time; it is gone
	ReasonHoldExpired          = "HOLD_EXPIRED"           // the hold's time ran out (or it was never there)
	ReasonVersionConflict      = "VERSION_CONFLICT"       // the appointment changed since the version the caller had
	ReasonInvalidTransition    = "INVALID_TRANSITION"     // the status machine does not allow the move
	ReasonIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED" // the key was used for a different request
	ReasonRequestInProgress    = "REQUEST_IN_PROGRESS"    // the same request is still being processed
	ReasonAppointmentNotActive = "APPOINTMENT_NOT_ACTIVE" // cancelled, completed or failed: its time cannot change
	ReasonCommitTooLate        = "COMMIT_TOO_LATE"        // the booking took longer than the reaper's grace and gave up
)
