package apphub

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Appointment statuses (TMF646).
const (
	StatusInitialized = "initialized"
	StatusConfirmed   = "confirmed"
	StatusCancelled   = "cancelled"
	StatusCompleted   = "completed"
	StatusFailed      = "failed"
)

// transitions is the status machine as data: the moves allowed from each status. Terminal
// statuses have none.
var transitions = map[string][]string{
	StatusInitialized: {StatusConfirmed, StatusCancelled},
	StatusConfirmed:   {StatusCompleted, StatusFailed, StatusCancelled},
	StatusCancelled:   nil,
	StatusCompleted:   nil,
	StatusFailed:      nil,
}

// ValidStatus reports whether s is a status of the machine.
func ValidStatus(s string) bool {
	_, ok := transitions[s]
	return ok
}

// CheckTransition returns nil when an appointment may move from one status to another
// (a move to the same status is allowed: it is a no-op), an EINVALID error for an unknown
// status and an ECONFLICT INVALID_TRANSITION refusal for a move the machine forbids.
func CheckTransition(from, to string) error {
	if !ValidStatus(to) {
		return FieldError("status", "%q is not one of initialized, confirmed, cancelled, completed, failed", to)
	}
	if from == to || slices.Contains(transitions[from], to) {
		return nil
	}
	return Refusef(ECONFLICT, ReasonInvalidTransition, "an appointment cannot move from %s to %s", from, to)
}

// Active reports whether an appointment in status s still holds its time.
func Active(s string) bool { return s == StatusInitialized || s == StatusConfirmed }

// Appointment is a booked appointment or a plain record, as of one version. Booking facts
// (category, resource, time, the claims that hold it) sit beside the client's descriptive
// attributes.
type Appointment struct {
	ID       string
	Version  int
	Status   string
	Category string // empty for a plain record
	Resource string // the managed resource booked (a crew's lead); empty for a plain record
	// Crew lists every resource a crew job books, in its category's requirement order (the
	// lead first); nil for a job of one resource.
	Crew      []string
	Place     string // postcode or managed place id searched
	Start     time.Time
	End       time.Time
	Claims    []string // ids of the claims that hold its time, while it is active
	PartyID   string   // its owner: the customer party it was made for, fixed at creation
	CreatedBy string   // who created it: the principal's Ref (e.g. "partner:acme"); partners see what they created
	CreatedAt time.Time
	UpdatedAt time.Time

	Description  string
	Notes        []Note
	ContactMedia []ContactMedium
	// Attributes are the client's other attributes (TMF646 and extensions), kept as the raw
	// JSON the client sent so that they come back byte-identical.
	Attributes map[string]json.RawMessage
	// StatusReason says why the status last changed (e.g. a cancellation reason).
	StatusReason string
}

// Booked reports whether the appointment holds time on a managed resource.
func (a *Appointment) Booked() bool { return a.Resource != "" }

// Members lists the resources the appointment books: its crew, or its one resource.
func (a *Appointment) Members() []string {
	switch {
	case len(a.Crew) > 0:
		return a.Crew
	case a.Resource != "":
		return []string{a.Resource}
	}
	return nil
}

// Note is a free-text note on an appointment.
type Note struct {
	Author string
	Date   time.Time
	Text   string
}

// ContactMedium is a way to reach the customer (phone, email, …).
type ContactMedium struct {
	Type      string // e.g. phone, email
	Value     string
	Preferred bool
}

// Revision kinds: what a revision did.
const (
	ChangeCreated     = "created"
	ChangeRescheduled = "rescheduled"
	ChangeStatus      = "statusChanged"
	ChangeUpdated     = "updated"
	ChangeDeleted     = "deleted"
	// ChangeVoided marks a revision the reaper inserted in place of a writer that never
	// committed: it takes that version so the writer can never commit it, and records the
	// state unchanged (or, for a creation, that the appointment never came to be).
	ChangeVoided = "voided"
)

// Revision is one accepted change of an appointment: the full new state and what changed.
// Its insert is the commit point; the sequence of revisions is the appointment's history and
// the source of its events.
type Revision struct {
	AppointmentID string
	Version       int
	Change        string
	Fields        []string // the attributes that changed
	State         Appointment
	At            time.Time
	PartyID       string // the party of who made the change
	By            string // who made the change: the principal's Ref ("customer:cust-1", "reaper", …)
}

// Exists reports whether the appointment exists after this revision.
func (r *Revision) Exists() bool {
	return r.Change != ChangeDeleted && !(r.Change == ChangeVoided && r.Version == 1)
}

// Pending marks a change of an appointment in flight: it is inserted before the change's
// revision (the commit point) and deleted once the projection is written and the events are
// published. Lists read these few records to show at once what a crash left unprojected, and
// the relay publishes what a crash left unpublished. Writer tells apart two writers racing for
// the same version: the entry says only that version Version may have been committed.
type Pending struct {
	AppointmentID string
	Version       int
	Writer        string
	CreatedAt     time.Time
}

// ID is the pending record's _id.
func (p Pending) ID() string { return p.AppointmentID + "|" + strconv.Itoa(p.Version) + "|" + p.Writer }

// Hold is a short reservation: time made unavailable to others until ExpiresAt, booked by
// presenting Token. Its claims already belong to the appointment it will become.
type Hold struct {
	Token         string
	AppointmentID string
	Category      string
	Resource      string
	Crew          []string // as Appointment's
	Place         string
	Start, End    time.Time
	Claims        []string
	PartyID       string // the owner of the appointment it will become
	CreatedBy     string // the Ref of who made it: only they may book it
	ExpiresAt     time.Time
	CreatedAt     time.Time
}

// Claim is one seat of one resource during one 15-minute quantum, owned by an appointment.
// Its id, resource|quantum start|seat, is what makes it exclusive.
type Claim struct {
	ID        string
	Owner     string // appointment id
	Version   int    // the appointment version whose commit takes it
	Resource  string
	Start     time.Time
	Seat      int
	ExpiresAt time.Time // for a hold's claims; zero otherwise
	CreatedAt time.Time
}

// ClaimID is the id of the claim on seat of resource during the quantum starting at start.
func ClaimID(resource string, start time.Time, seat int) string {
	return resource + "|" + start.UTC().Format("2006-01-02T15:04Z") + "|" + strconv.Itoa(seat)
}

// ParseClaimID splits a claim id into its resource, quantum start and seat.
func ParseClaimID(id string) (resource string, start time.Time, seat int, err error) {
	i := strings.LastIndexByte(id, '|')
	j := strings.LastIndexByte(id[:max(i, 0)], '|')
	if i < 0 || j < 0 {
		return "", time.Time{}, 0, fmt.Errorf("malformed claim id %q", id)
	}
	if start, err = time.Parse("2006-01-02T15:04Z", id[j+1:i]); err != nil {
		return "", time.Time{}, 0, fmt.Errorf("malformed claim id %q: %w", id, err)
	}
	if seat, err = strconv.Atoi(id[i+1:]); err != nil {
		return "", time.Time{}, 0, fmt.Errorf("malformed claim id %q: %w", id, err)
	}
	return id[:j], start, seat, nil
}

// ResourceDay names the busy time of one resource over one UTC day: the unit the availability
// cache keeps and the booking path invalidates.
type ResourceDay struct {
	Resource string
	Day      time.Time // UTC midnight
}

// ZoneDay names the availability of one work zone over one UTC day: a change of the busy time
// of a resource that serves the zone changes it, for the searches and the live slot grids of
// that zone.
type ZoneDay struct {
	Zone string
	Day  time.Time // UTC midnight
}

// DayOf returns the UTC day that contains t.
func DayOf(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
