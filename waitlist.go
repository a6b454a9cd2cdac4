package apphub

import "time"

// A waitlist entry is a customer's wish for a slot the search could not give: a category at a
// place, a range of dates, preferred times. When time frees, the hub offers it to the oldest
// entries it satisfies, one offer per entry at a time and never one time to two entries: an
// offer is a real hold, whose claims make the time the entry's until the offer ends.

// Statuses of a waitlist entry, derived from its facts.
const (
	WaitlistWaiting = "waiting" // no offer now; the hub looks for one whenever time frees
	WaitlistOffered = "offered" // an offer is open: accept it or decline it before it expires
	WaitlistBooked  = "booked"  // an offer was accepted
	WaitlistLeft    = "left"    // its customer left the waitlist
	WaitlistExpired = "expired" // its range has passed
)

// Outcomes of a waitlist offer.
const (
	OfferOpen      = ""          // still open
	OfferAccepted  = "accepted"  // booked with its hold
	OfferDeclined  = "declined"  // the customer did not want it: the time goes to the next entry
	OfferExpired   = "expired"   // nobody answered in time: the time goes to the next entry
	OfferWithdrawn = "withdrawn" // its entry was left while it was open
)

// MaxWaitlistRange is the longest range of dates an entry may wait for.
const MaxWaitlistRange = 92 * 24 * time.Hour

// WaitlistEntry is a customer's place on the waitlist.
type WaitlistEntry struct {
	ID        string
	PartyID   string // the customer it waits for
	CreatedBy string // who put it there (a Principal's Ref); offers are held in their name
	Category  string
	Place     string    // postcode or managed place id
	From, To  time.Time // the starts it accepts: From ≤ start < To
	// Preferred are the local times it accepts; none: any time the category offers.
	Preferred []PreferredTime
	// Earliest: offer the earliest slot that fits; otherwise the one that fits a technician's
	// day best (Recommend), the earliest among equals.
	Earliest  bool
	CreatedAt time.Time
	LeftAt    time.Time // zero while it has not been left
}

// WaitlistOffer is time offered to a waitlist entry: a hold in the entry's name until
// ExpiresAt.
type WaitlistOffer struct {
	ID            string
	EntryID       string
	HoldToken     string
	AppointmentID string // what booking the hold makes
	Resource      string
	Crew          []string
	Start, End    time.Time
	Claims        []string // the hold's
	OfferedAt     time.Time
	ExpiresAt     time.Time
	Outcome       string
	ResolvedAt    time.Time
}

// Validate reports the first invalid field of a new entry at now.
func (e *WaitlistEntry) Validate(now time.Time) error {
	switch {
	case e.Category == "":
		return FieldError("category", "is required")
	case e.Place == "":
		return FieldError("place", "is required: a waitlist waits for a place's time")
	case e.From.IsZero() || e.To.IsZero():
		return FieldError("to", "a range of dates (from, to) is required")
	case !e.To.After(e.From):
		return FieldError("to", "must be after from")
	case !e.To.After(now):
		return FieldError("to", "has passed")
	case e.To.Sub(e.From) > MaxWaitlistRange:
		return FieldError("to", "a waitlist range may span at most %d days", int(MaxWaitlistRange/(24*time.Hour)))
	}
	return ValidatePreferredTimes(e.Preferred)
}
