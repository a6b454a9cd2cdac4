package booking

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/slots"
)

// Booking follows the MongoDB rules of docs/design.md: a booking chooses its appointment id, inserts
// one claim per occupied quantum in ascending (resource, time, seat) order (so that among
// overlapping bookers one always wins), commits by inserting revision 1, writes the
// projection and reads its claims back. A clash deletes the claims inserted so far and the
// booking tries again on fresh busy time, so capacity > 1 fills up seat by seat.

// NewAppointment asks for an appointment: from a hold (HoldToken), booked on a managed
// resource (Category and Start; Resource optional, then any that can take it), or, naming no
// category and no resource, a plain record of any time.
type NewAppointment struct {
	HoldToken string
	// Customer is the customer party an agent, a partner or an admin books for: the
	// appointment's owner. A customer always books for itself (Customer is ignored).
	Customer string
	Category string
	Resource string
	Place    string    // postcode or managed place id
	Start    time.Time // a slot start as search offers it (an arrival window's start)
	End      time.Time // optional for a booking (an arrival window's end); required for a record

	Description  string
	Notes        []apphub.Note
	ContactMedia []apphub.ContactMedium
	Attributes   map[string]json.RawMessage

	IdempotencyKey string
	// WithAlternatives asks a refused slot's error for the free slots near it (a search). The
	// idempotency key ignores it: a replay answers what the first request was answered.
	WithAlternatives bool `json:"-"`
}

// HoldRequest asks to hold a slot.
type HoldRequest struct {
	Customer       string // as NewAppointment's
	Category       string
	Resource       string
	Place          string
	Start, End     time.Time
	IdempotencyKey string
	// WithAlternatives: as NewAppointment's.
	WithAlternatives bool `json:"-"`
}

// maxAttempts bounds the tries of one booking that keeps losing races for seats.
const maxAttempts = 8

func newID() string { return strings.ToLower(rand.Text()) }

// Hold reserves a slot for HoldTTL. Its claims already belong to the appointment it will
// become when booked with the returned token.
func (s *Service) Hold(ctx context.Context, req HoldRequest) (apphub.Hold, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	var hold apphub.Hold
	_, err := s.idempotent(ctx, req.IdempotencyKey, "hold", req, func(ctx context.Context) (outcome, error) {
		var err error
		hold, err = s.hold(ctx, req)
		return outcome{holdToken: hold.Token}, err
	}, func(o outcome) error {
		var err error
		hold, err = s.store.GetHold(ctx, o.holdToken)
		return err
	})
	return hold, err
}

// ReadHold returns the hold with this token while it keeps its time, to who made it or an
// admin: to anyone else it does not exist (ENOTFOUND), as when booking with it.
func (s *Service) ReadHold(ctx context.Context, token string) (apphub.Hold, error) {
	p := apphub.PrincipalFromContext(ctx)
	h, err := s.store.GetHold(ctx, token)
	if err == nil && (p.Anonymous() || !ownsHold(p, h) || !s.now().Before(h.ExpiresAt)) {
		err = apphub.Errorf(apphub.ENOTFOUND, "hold not found")
	}
	return h, err
}

// ownsHold reports whether p may read and book h: who made it, or an operator.
func ownsHold(p apphub.Principal, h apphub.Hold) bool {
	return h.CreatedBy == p.Ref() || p.HasRole(apphub.RoleAdmin)
}

func (s *Service) hold(ctx context.Context, req HoldRequest) (apphub.Hold, error) {
	if req.Category == "" {
		return apphub.Hold{}, apphub.FieldError("category", "is required")
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return apphub.Hold{}, err
	}
	p := apphub.PrincipalFromContext(ctx)
	owner, err := ownerFor(p, cal, req.Customer, req.Resource, req.Place)
	if err != nil {
		return apphub.Hold{}, err
	}
	now := s.now()
	id := newID()
	expires := now.Add(s.holdTTL)
	res, claims, err := s.claim(ctx, id, 1, claimRequest{category: req.Category, resource: req.Resource, place: req.Place,
		start: req.Start, end: req.End, expiresAt: expires, alternatives: req.WithAlternatives})
	if err != nil {
		return apphub.Hold{}, err
	}
	h := apphub.Hold{Token: newID(), AppointmentID: id, Category: req.Category, Resource: res.ResourceID, Crew: res.Crew, Place: req.Place,
		Start: res.Start, End: res.End, Claims: claims, PartyID: owner, CreatedBy: p.Ref(),
		ExpiresAt: expires, CreatedAt: now}
	if err := s.store.InsertHold(ctx, h); err != nil {
		s.release(ctx, id, claims)
		return apphub.Hold{}, err
	}
	s.touch(ctx, claims)
	return h, nil
}

// Book creates an appointment: from a hold, booked directly, or as a plain record.
func (s *Service) Book(ctx context.Context, req NewAppointment) (apphub.Appointment, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	var a apphub.Appointment
	_, err := s.idempotent(ctx, req.IdempotencyKey, "book", req, func(ctx context.Context) (outcome, error) {
		var err error
		a, err = s.book(ctx, req)
		return outcome{id: a.ID, version: a.Version}, err
	}, func(o outcome) error {
		r, err := s.store.GetRevision(ctx, o.id, o.version)
		a = r.State
		return err
	})
	return a, err
}

func (s *Service) book(ctx context.Context, req NewAppointment) (apphub.Appointment, error) {
	now := s.now()
	p := apphub.PrincipalFromContext(ctx)
	if p.Anonymous() {
		return apphub.Appointment{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "booking needs a bearer token or an API key")
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return apphub.Appointment{}, err
	}
	a := apphub.Appointment{Version: 1, Status: apphub.StatusInitialized, CreatedBy: p.Ref(), CreatedAt: now, UpdatedAt: now,
		Description: req.Description, Notes: req.Notes, ContactMedia: req.ContactMedia, Attributes: req.Attributes,
		Place: req.Place}
	switch {
	case req.HoldToken != "":
		h, err := s.store.GetHold(ctx, req.HoldToken)
		if err == nil && !ownsHold(p, h) {
			// Another caller's hold: as if it did not exist.
			err = apphub.Errorf(apphub.ENOTFOUND, "hold not found")
		}
		if apphub.ErrorCode(err) == apphub.ENOTFOUND {
			return apphub.Appointment{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonHoldExpired, "no hold has this token (it may have expired and been cleared)")
		}
		if err != nil {
			return apphub.Appointment{}, err
		}
		if !now.Before(h.ExpiresAt) {
			return apphub.Appointment{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonHoldExpired, "the hold expired at %s", h.ExpiresAt.Format(time.RFC3339))
		}
		a.ID, a.Category, a.Resource, a.Crew, a.Start, a.End, a.Claims = h.AppointmentID, h.Category, h.Resource, h.Crew, h.Start, h.End, h.Claims
		a.PartyID, a.CreatedBy = h.PartyID, h.CreatedBy
		if a.Place == "" {
			a.Place = h.Place
		}
		err = s.commit(ctx, a, apphub.ChangeCreated, nil)
		if apphub.ErrorCode(err) == apphub.ECONFLICT {
			if r, gerr := s.store.GetRevision(ctx, a.ID, 1); gerr == nil && r.Exists() {
				return apphub.Appointment{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonHoldExpired, "the hold has already been booked as appointment %s", a.ID)
			}
			return apphub.Appointment{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonHoldExpired, "the hold expired and its time was freed")
		}
		if err != nil {
			return apphub.Appointment{}, err
		}
		return a, s.checkClaims(ctx, a)

	case req.Category == "" && req.Resource == "":
		// A plain record: it names no managed resource and holds no time.
		if req.Start.IsZero() || req.End.IsZero() {
			return apphub.Appointment{}, apphub.FieldError("validFor", "a record needs a start and an end")
		}
		if !req.End.After(req.Start) {
			return apphub.Appointment{}, apphub.FieldError("validFor.endDateTime", "must be after the start")
		}
		if a.PartyID, err = ownerFor(p, cal, req.Customer, "", ""); err != nil {
			return apphub.Appointment{}, err
		}
		a.ID, a.Start, a.End = newID(), req.Start.UTC(), req.End.UTC()
		return a, s.commit(ctx, a, apphub.ChangeCreated, nil)

	default:
		if req.Category == "" {
			return apphub.Appointment{}, apphub.FieldError("category", "is required to book a managed resource")
		}
		if a.PartyID, err = ownerFor(p, cal, req.Customer, req.Resource, req.Place); err != nil {
			return apphub.Appointment{}, err
		}
		a.ID, a.Category = newID(), req.Category
		res, claims, err := s.claim(ctx, a.ID, 1, claimRequest{category: req.Category, resource: req.Resource, place: req.Place,
			start: req.Start, end: req.End, alternatives: req.WithAlternatives})
		if err != nil {
			return apphub.Appointment{}, err
		}
		a.Resource, a.Crew, a.Start, a.End, a.Claims = res.ResourceID, res.Crew, res.Start, res.End, claims
		if s.afterClaims != nil {
			s.afterClaims(ctx, a.ID)
		}
		if err := s.commit(ctx, a, apphub.ChangeCreated, nil); err != nil {
			if apphub.ErrorCode(err) == apphub.ECONFLICT {
				// Only the reaper takes a new appointment's first version: it gave up on us and
				// freed our claims, which may be others' by now.
				return apphub.Appointment{}, apphub.Refusef(apphub.EUNAVAILABLE, apphub.ReasonCommitTooLate, "the booking took too long and was abandoned; try again")
			}
			s.release(context.WithoutCancel(ctx), a.ID, claims)
			return apphub.Appointment{}, err
		}
		return a, s.checkClaims(ctx, a)
	}
}

// claimRequest is a slot to claim for an appointment.
type claimRequest struct {
	category, resource, place string
	start, end                time.Time
	expiresAt                 time.Time // for a hold
	own                       []string  // claims the owner holds already (a reschedule keeps the shared ones)
	crew                      []string  // a rescheduled crew's members: taken again where free, to keep their claims
	alternatives              bool      // a refusal carries the free slots near the one asked for
}

// claim checks the slot with the engine and takes its claims for owner at version, retrying
// on fresh busy time when it loses a race. It returns the reservation and the ids of all the
// claims the owner now holds for it (new ones and kept ones).
func (s *Service) claim(ctx context.Context, owner string, version int, req claimRequest) (*slots.Reservation, []string, error) {
	cal, err := s.Calendar(ctx)
	if err != nil {
		return nil, nil, err
	}
	var lastErr error
	for range maxAttempts {
		busy, err := s.busyFor(ctx, cal, req, owner)
		if err != nil {
			return nil, nil, err
		}
		res, err := slots.Bookable(cal, busy, slots.BookRequest{Category: req.category, Resource: req.resource, Place: req.place,
			Start: req.start, End: req.end, Now: s.now(), Prefer: req.crew})
		if err != nil {
			return nil, nil, s.withAlternatives(ctx, err, req)
		}
		ids, fresh := s.cellsToClaim(res, req.own)
		inserted, err := s.insertClaims(ctx, owner, version, fresh, req.expiresAt)
		if err == nil {
			return res, ids, nil
		}
		s.release(context.WithoutCancel(ctx), owner, inserted)
		if apphub.ErrorCode(err) != apphub.ECONFLICT {
			return nil, nil, err
		}
		lastErr = err
	}
	taken := apphub.Refusef(apphub.ECONFLICT, apphub.ReasonSlotTaken, "the time was taken by other bookings while trying")
	taken.Err = lastErr
	return nil, nil, s.withAlternatives(ctx, taken, req)
}

// maxAlternatives is how many nearby free slots a refused slot offers.
const maxAlternatives = 5

// withAlternatives adds to a slot's refusal, when req asks for them, the first free slots of
// the same category at the same place (or resource) from half a day before the slot to a week
// after: what the caller may take instead. Other errors, and refusals when the search fails,
// are returned as they are.
func (s *Service) withAlternatives(ctx context.Context, err error, req claimRequest) error {
	e, ok := errors.AsType[*apphub.Error](err)
	if !ok || !req.alternatives || e.Reason == "" || req.start.IsZero() || (req.place == "" && req.resource == "") {
		return err
	}
	from := req.start.Add(-12 * time.Hour)
	res, serr := s.Search(ctx, SlotQuery{Category: req.category, Place: req.place, Resource: req.resource, From: from, To: from.Add(7 * 24 * time.Hour)})
	if serr != nil {
		return err
	}
	var alternatives []apphub.Slot
	for _, d := range res.Days {
		for _, slot := range d.Slots {
			if len(alternatives) < maxAlternatives {
				alternatives = append(alternatives, slot)
			}
		}
	}
	e.Alternatives = alternatives
	return e
}

// cellsToClaim lists the claim ids a reservation needs. A cell the owner already holds (on any
// seat) is kept rather than claimed again; the others are returned as claims to insert, in
// ascending (resource, time, seat) order.
func (s *Service) cellsToClaim(res *slots.Reservation, own []string) (all []string, fresh []apphub.Claim) {
	held := make(map[string]string, len(own)) // resource|time → claim id
	for _, id := range own {
		if i := strings.LastIndexByte(id, '|'); i > 0 {
			held[id[:i]] = id
		}
	}
	for _, c := range res.Cells {
		id := apphub.ClaimID(c.ResourceID, c.Start, c.Seat)
		if kept, ok := held[id[:strings.LastIndexByte(id, '|')]]; ok {
			all = append(all, kept)
			continue
		}
		all = append(all, id)
		fresh = append(fresh, apphub.Claim{ID: id, Resource: c.ResourceID, Start: c.Start, Seat: c.Seat})
	}
	slices.SortFunc(fresh, func(a, b apphub.Claim) int {
		return cmp.Or(strings.Compare(a.Resource, b.Resource), a.Start.Compare(b.Start), cmp.Compare(a.Seat, b.Seat))
	})
	return all, fresh
}

// insertClaims inserts the claims in order and stops at the first failure; it returns those
// it inserted, for the caller to release.
func (s *Service) insertClaims(ctx context.Context, owner string, version int, claims []apphub.Claim, expiresAt time.Time) ([]string, error) {
	var inserted []string
	now := s.now()
	for _, c := range claims {
		c.Owner, c.Version, c.ExpiresAt, c.CreatedAt = owner, version, expiresAt, now
		if err := s.store.InsertClaim(ctx, c); err != nil {
			return inserted, err
		}
		inserted = append(inserted, c.ID)
	}
	return inserted, nil
}

// release deletes claims owner holds and no longer needs. A failure only delays the time's
// return: the reaper frees claims no committed state lists. It must not be called for claims
// the reaper may have taken over (after a voided commit): the ids may belong to others by then,
// and although the store deletes only owner's, there is no reason to try.
func (s *Service) release(ctx context.Context, owner string, ids []string) {
	if len(ids) == 0 {
		return
	}
	if err := s.store.DeleteClaims(ctx, owner, ids); err != nil {
		s.logger.WarnContext(ctx, "releasing claims failed; the reaper will free them", "claims", len(ids), "err", err)
	}
	s.touch(ctx, ids)
	s.KickWaitlist()
}

// busyFor returns the busy time the engine needs to check req: for a named resource, the
// claims of the quanta the slot may touch, looked up by _id; for any resource or a crew, one
// scan.
// Claims of owner are left out: an appointment never competes with itself.
func (s *Service) busyFor(ctx context.Context, cal *apphub.Calendar, req claimRequest, owner string) (*slots.Busy, error) {
	cat, ok := cal.Category(req.category)
	if !ok {
		return nil, apphub.FieldError("category", "unknown category %q", req.category)
	}
	if req.start.IsZero() {
		return nil, apphub.FieldError("start", "is required")
	}
	end := req.end
	if end.IsZero() || end.Before(req.start.Add(cat.Duration)) {
		end = req.start.Add(max(cat.Duration, longestWindow(cat)))
	}
	busy := &slots.Busy{}
	add := func(c apphub.Claim) {
		if c.Owner != owner {
			busy.Add(c.Resource, c.Start, c.Seat)
		}
	}
	r, ok := cal.Resource(req.resource)
	if req.resource == "" || !ok || len(cat.Requirements) > 0 {
		// A quantum more each side: a crew is chosen by what its members' jobs would join.
		claims, err := s.store.ScanClaims(ctx, req.start.Add(-apphub.MaxBuffer-apphub.Quantum), end.Add(apphub.MaxBuffer+apphub.Quantum))
		if err != nil {
			return nil, err
		}
		for _, c := range claims {
			add(c)
		}
		return busy, nil
	}
	before, after, _ := cal.LeadTime(r, cal.ZoneOf(req.place))
	from := req.start.Add(-before).Truncate(apphub.Quantum)
	to := end.Add(after)
	var ids []string
	for q := from; q.Before(to); q = q.Add(apphub.Quantum) {
		for seat := range r.EffectiveCapacity() {
			ids = append(ids, apphub.ClaimID(r.ID, q, seat))
		}
	}
	found, err := s.store.GetClaims(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, c := range found {
		add(c)
	}
	return busy, nil
}

func longestWindow(cat *apphub.Category) time.Duration {
	var longest time.Duration
	for _, w := range cat.Windows {
		if start, end, err := w.Span(); err == nil {
			longest = max(longest, time.Duration(end-start)*time.Minute)
		}
	}
	return longest
}

// commit inserts a's revision (a.Version) — the commit point — and finishes the change: the
// projection, the busy cache, the events. A pending record inserted before the revision and
// deleted once the events are out lets lists and the relay finish what a crash interrupts.
// ECONFLICT means that version exists: somebody else committed first.
func (s *Service) commit(ctx context.Context, a apphub.Appointment, change string, fields []string) error {
	who := apphub.PrincipalFromContext(ctx)
	rev := apphub.Revision{AppointmentID: a.ID, Version: a.Version, Change: change, Fields: fields, State: a,
		At: a.UpdatedAt, PartyID: who.PartyID, By: who.Ref()}
	p := apphub.Pending{AppointmentID: a.ID, Version: a.Version, Writer: newID()[:12], CreatedAt: s.now()}
	if err := s.store.InsertPending(ctx, p); err != nil {
		return err
	}
	s.inflight.Store(p.ID(), true)
	defer s.inflight.Delete(p.ID())
	if err := s.store.InsertRevision(ctx, rev); err != nil {
		s.dropPending(context.WithoutCancel(ctx), p)
		return err
	}
	if s.afterCommit != nil {
		s.afterCommit(ctx, rev)
	}
	s.finish(context.WithoutCancel(ctx), rev, p)
	return nil
}

// finish makes a committed revision seen: its projection, the busy time it changed and its
// events; the pending record goes once the events reached the other instances, and stays for
// the relay otherwise.
func (s *Service) finish(ctx context.Context, rev apphub.Revision, p apphub.Pending) {
	s.project(ctx, rev)
	s.touch(ctx, rev.State.Claims)
	events := apphub.EventsOf(rev)
	if tp := traceParent(ctx); tp != "" {
		for i := range events {
			events[i].TraceParent = tp
		}
	}
	if err := s.publisher.PublishEvents(ctx, events); err != nil {
		s.logger.WarnContext(ctx, "events not published; the relay publishes them later", "appointment", rev.AppointmentID,
			"version", rev.Version, "err", err)
		return
	}
	s.dropPending(ctx, p)
}

// traceParent is the W3C traceparent of the span in ctx, "" when there is none: the events
// of a change carry it, so that its hub notifications continue the request's trace, on
// whichever instance delivers them.
func traceParent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c.Get("traceparent")
}

// dropPending deletes a pending record; one left behind only costs the relay a look.
func (s *Service) dropPending(ctx context.Context, p apphub.Pending) {
	if err := s.store.DeletePending(ctx, p); err != nil {
		s.logger.WarnContext(ctx, "pending record not deleted; the relay deletes it", "appointment", p.AppointmentID,
			"version", p.Version, "err", err)
	}
}

// project writes the projection of rev; when it fails, the next read repairs it.
func (s *Service) project(ctx context.Context, rev apphub.Revision) {
	var err error
	if rev.Exists() {
		err = s.store.PutAppointment(ctx, rev.State)
	} else {
		err = s.store.DeleteAppointment(ctx, rev.AppointmentID)
	}
	if err != nil {
		s.logger.WarnContext(ctx, "appointment projection not written; the next read repairs it", "appointment", rev.AppointmentID, "version", rev.Version, "err", err)
	}
}

// checkClaims reads a committed appointment's claims back by _id. The reaper only deletes the
// claims of a writer after taking the writer's version itself, so a committed writer always
// finds its claims; anything else is a broken invariant and is reported loudly.
func (s *Service) checkClaims(ctx context.Context, a apphub.Appointment) error {
	if len(a.Claims) == 0 {
		return nil
	}
	found, err := s.store.GetClaims(context.WithoutCancel(ctx), a.Claims)
	if err != nil {
		s.logger.WarnContext(ctx, "claims not read back after commit", "appointment", a.ID, "err", err)
		return nil
	}
	for _, id := range a.Claims {
		if c, ok := found[id]; !ok || c.Owner != a.ID {
			s.logger.ErrorContext(ctx, "committed appointment lost a claim", "appointment", a.ID, "claim", id, "owner", c.Owner)
			return apphub.Errorf(apphub.EINTERNAL, "internal error")
		}
	}
	return nil
}
