package booking

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/slots"
)

// The waitlist. An entry waits for a slot of a category at a place within a range of dates,
// at preferred times. Whenever time may have freed (a cancellation, a reschedule away, a
// booking given up, the reaper, a calendar change) and at every pass of RunWaitlist, the
// entries without an open offer are looked at, oldest first, and each is offered the slot
// that suits it, if there is one: the offer is a hold in the entry's name (its claims make the
// time the entry's and nobody else's, on any instance), recorded under the entry's id so that
// an entry never has two offers. Accepting books the hold; declining, or letting it expire,
// frees the time, and the next pass offers it to the next entry. An offer that ends without a
// booking is fenced: the hold's appointment gets a voided first revision, the _id its booking
// would have taken, so that of a late acceptance and the end of an offer exactly one happens.

// waitlistPrincipal is the hub itself looking for slots for waiting entries: searches need
// someone.
func waitlistPrincipal() apphub.Principal {
	return apphub.Principal{PartyID: "waitlist", Roles: []string{apphub.RoleAdmin}}
}

// JoinWaitlist asks to wait for a slot.
type JoinWaitlist struct {
	Customer  string // as NewAppointment's: the customer waiting; a customer always waits for itself
	Category  string
	Place     string
	From, To  time.Time
	Preferred []apphub.PreferredTime
	Earliest  bool
}

// WaitlistView is an entry as its readers see it: its status, its open offer and every offer
// it was made.
type WaitlistView struct {
	apphub.WaitlistEntry
	Status string
	Open   *apphub.WaitlistOffer
	Offers []apphub.WaitlistOffer // oldest first
}

// JoinWaitlist puts the caller's customer on the waitlist.
func (s *Service) JoinWaitlist(ctx context.Context, req JoinWaitlist) (WaitlistView, error) {
	p := apphub.PrincipalFromContext(ctx)
	cal, err := s.Calendar(ctx)
	if err != nil {
		return WaitlistView{}, err
	}
	owner, err := ownerFor(p, cal, req.Customer, "", req.Place)
	if err != nil {
		return WaitlistView{}, err
	}
	if owner == "" {
		return WaitlistView{}, apphub.FieldError("customer", "is required: a waitlist entry waits for a customer")
	}
	if _, ok := cal.Category(req.Category); !ok && req.Category != "" {
		return WaitlistView{}, apphub.FieldError("category", "unknown category %q", req.Category)
	}
	if _, isPlace := cal.Place(req.Place); req.Place != "" && !isPlace && slots.ZoneOf(cal, req.Place) == "" {
		return WaitlistView{}, apphub.FieldError("place", "unknown postcode or place %q", req.Place)
	}
	now := s.now()
	e := apphub.WaitlistEntry{ID: newID(), PartyID: owner, CreatedBy: p.Ref(), Category: req.Category, Place: req.Place,
		From: req.From.UTC(), To: req.To.UTC(), Preferred: req.Preferred, Earliest: req.Earliest, CreatedAt: now}
	if err := e.Validate(now); err != nil {
		return WaitlistView{}, err
	}
	if err := s.store.InsertWaitlistEntry(ctx, e); err != nil {
		return WaitlistView{}, err
	}
	s.KickWaitlist()
	return WaitlistView{WaitlistEntry: e, Status: apphub.WaitlistWaiting}, nil
}

// WaitlistEntries lists the entries the caller may see, oldest first.
func (s *Service) WaitlistEntries(ctx context.Context) ([]WaitlistView, error) {
	p := apphub.PrincipalFromContext(ctx)
	if p.Anonymous() {
		return nil, apphub.Errorf(apphub.EUNAUTHENTICATED, "the waitlist needs a bearer token or an API key")
	}
	views, err := s.waitlist(ctx)
	if err != nil {
		return nil, err
	}
	cal, _ := s.Calendar(ctx)
	return slices.DeleteFunc(views, func(v WaitlistView) bool { return !mayReadEntry(p, cal, v.WaitlistEntry) }), nil
}

// WaitlistEntry returns one entry the caller may see; to anyone else it does not exist.
func (s *Service) WaitlistEntry(ctx context.Context, id string) (WaitlistView, error) {
	views, err := s.WaitlistEntries(ctx)
	if err != nil {
		return WaitlistView{}, err
	}
	for _, v := range views {
		if v.ID == id {
			return v, nil
		}
	}
	return WaitlistView{}, apphub.Errorf(apphub.ENOTFOUND, "waitlist entry not found")
}

// LeaveWaitlist takes an entry off the waitlist; its open offer, if any, is withdrawn and its
// time freed. Leaving twice is leaving once.
func (s *Service) LeaveWaitlist(ctx context.Context, id string) (WaitlistView, error) {
	v, err := s.WaitlistEntry(ctx, id)
	if err != nil {
		return WaitlistView{}, err
	}
	if err := s.store.LeaveWaitlist(ctx, id, s.now()); err != nil && apphub.ErrorCode(err) != apphub.ECONFLICT {
		return WaitlistView{}, err
	}
	if v.Open != nil {
		if _, err := s.endOffer(ctx, *v.Open, apphub.OfferWithdrawn); err != nil {
			return WaitlistView{}, err
		}
	}
	return s.WaitlistEntry(ctx, id)
}

// AcceptOffer books the open offer of an entry. Accepting an entry whose offer was accepted
// answers the appointment it made, so that a retry after a lost answer is safe.
func (s *Service) AcceptOffer(ctx context.Context, entryID string) (apphub.Appointment, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	v, err := s.WaitlistEntry(ctx, entryID)
	if err != nil {
		return apphub.Appointment{}, err
	}
	if n := len(v.Offers); v.Open == nil && n > 0 && v.Offers[n-1].Outcome == apphub.OfferAccepted {
		// Accepted already: a retry after a lost answer gets the appointment it made.
		return s.Appointment(ctx, v.Offers[n-1].AppointmentID)
	}
	if v.Open == nil || !s.now().Before(v.Open.ExpiresAt) {
		return apphub.Appointment{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonHoldExpired, "the entry has no open offer (it may have expired)")
	}
	o := *v.Open
	h, err := s.store.GetHold(ctx, o.HoldToken)
	if err != nil {
		if apphub.ErrorCode(err) == apphub.ENOTFOUND {
			return apphub.Appointment{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonHoldExpired, "the offer's time was freed")
		}
		return apphub.Appointment{}, err
	}
	now := s.now()
	a := apphub.Appointment{ID: h.AppointmentID, Version: 1, Status: apphub.StatusInitialized, Category: h.Category, Resource: h.Resource,
		Crew: h.Crew, Place: h.Place, Start: h.Start, End: h.End, Claims: h.Claims, PartyID: h.PartyID, CreatedBy: h.CreatedBy,
		CreatedAt: now, UpdatedAt: now}
	if err := s.commit(ctx, a, apphub.ChangeCreated, nil); err != nil {
		if apphub.ErrorCode(err) == apphub.ECONFLICT {
			if r, gerr := s.store.GetRevision(ctx, a.ID, 1); gerr == nil && r.Exists() {
				return r.State, s.closeOffer(ctx, o, apphub.OfferAccepted)
			}
			return apphub.Appointment{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonHoldExpired, "the offer ended and its time was freed")
		}
		return apphub.Appointment{}, err
	}
	if err := s.checkClaims(ctx, a); err != nil {
		return apphub.Appointment{}, err
	}
	return a, s.closeOffer(ctx, o, apphub.OfferAccepted)
}

// DeclineOffer ends the open offer of an entry and frees its time for the next entry; the
// entry waits on, and is not offered that start again.
func (s *Service) DeclineOffer(ctx context.Context, entryID string) (WaitlistView, error) {
	v, err := s.WaitlistEntry(ctx, entryID)
	if err != nil {
		return WaitlistView{}, err
	}
	if v.Open == nil {
		return WaitlistView{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonHoldExpired, "the entry has no open offer (it may have expired)")
	}
	if _, err := s.endOffer(ctx, *v.Open, apphub.OfferDeclined); err != nil {
		return WaitlistView{}, err
	}
	s.KickWaitlist()
	return s.WaitlistEntry(ctx, entryID)
}

// WaitlistReport says what a pass of MatchWaitlist did.
type WaitlistReport struct {
	Expired int // open offers that ran out
	Offered int // new offers
}

// MatchWaitlist ends the offers that ran out, then offers time to the entries without an open
// offer, oldest first.
func (s *Service) MatchWaitlist(ctx context.Context) (WaitlistReport, error) {
	s.waitlistMu.Lock()
	defer s.waitlistMu.Unlock()
	var rep WaitlistReport
	ctx = apphub.NewContextWithPrincipal(ctx, waitlistPrincipal())
	views, err := s.waitlist(ctx)
	if err != nil {
		return rep, err
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return rep, err
	}
	now := s.now()
	for i, v := range views {
		if v.Open == nil || now.Before(v.Open.ExpiresAt) {
			continue
		}
		outcome, err := s.endOffer(ctx, *v.Open, apphub.OfferExpired)
		if err != nil {
			return rep, err
		}
		if outcome == apphub.OfferExpired {
			rep.Expired++
		}
		views[i].Open, views[i].Status = nil, apphub.WaitlistWaiting
		if outcome == apphub.OfferAccepted {
			views[i].Status = apphub.WaitlistBooked
		}
	}
	for _, v := range views {
		if v.Status != apphub.WaitlistWaiting {
			continue
		}
		declined := map[int64]bool{}
		for _, o := range v.Offers {
			declined[o.Start.Unix()] = true
		}
		pick, found, err := s.waitlistSlot(ctx, cal, v.WaitlistEntry, declined)
		if err != nil {
			s.logger.WarnContext(ctx, "waitlist: no search for an entry", "entry", v.ID, "err", err)
			continue
		}
		if !found {
			continue
		}
		switch err := s.offer(ctx, v.WaitlistEntry, pick); {
		case err == nil:
			rep.Offered++
		case apphub.ErrorCode(err) == apphub.ECONFLICT:
			// Taken meanwhile, or the entry got an offer on another instance: next pass.
		default:
			return rep, err
		}
	}
	return rep, nil
}

// KickWaitlist asks RunWaitlist for a pass soon: time may have freed.
func (s *Service) KickWaitlist() {
	select {
	case s.waitlistKick <- struct{}{}:
	default:
	}
}

// RunWaitlist runs MatchWaitlist when kicked, and every interval (offers run out, and other
// instances free time too), until ctx ends.
func (s *Service) RunWaitlist(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.waitlistKick:
		}
		rep, err := s.MatchWaitlist(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.WarnContext(ctx, "waitlist pass failed", "err", err)
		case rep.Offered+rep.Expired > 0:
			s.logger.InfoContext(ctx, "waitlist pass", "offered", rep.Offered, "expired", rep.Expired)
		}
	}
}

// waitlist reads every entry with its offers and status.
func (s *Service) waitlist(ctx context.Context) ([]WaitlistView, error) {
	entries, err := s.store.WaitlistEntries(ctx)
	if err != nil {
		return nil, err
	}
	offers, err := s.store.Offers(ctx)
	if err != nil {
		return nil, err
	}
	byEntry := map[string][]apphub.WaitlistOffer{}
	for _, o := range offers {
		byEntry[o.EntryID] = append(byEntry[o.EntryID], o)
	}
	now := s.now()
	views := make([]WaitlistView, len(entries))
	for i, e := range entries {
		v := WaitlistView{WaitlistEntry: e, Offers: byEntry[e.ID], Status: apphub.WaitlistWaiting}
		slices.SortFunc(v.Offers, func(a, b apphub.WaitlistOffer) int { return a.OfferedAt.Compare(b.OfferedAt) })
		for k, o := range v.Offers {
			switch o.Outcome {
			case apphub.OfferOpen:
				v.Open = &v.Offers[k]
			case apphub.OfferAccepted:
				v.Status = apphub.WaitlistBooked
			}
		}
		switch {
		case v.Status == apphub.WaitlistBooked:
		case !e.LeftAt.IsZero():
			v.Status = apphub.WaitlistLeft
		case v.Open != nil:
			v.Status = apphub.WaitlistOffered
		case !now.Before(e.To):
			v.Status = apphub.WaitlistExpired
		}
		views[i] = v
	}
	slices.SortFunc(views, func(a, b WaitlistView) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)) })
	return views, nil
}

// waitlistSlot finds the slot to offer e: within its range from now, at its preferred times,
// not a start it was offered before; the earliest, or the one that fits a technician's day
// best (the earliest among equals).
func (s *Service) waitlistSlot(ctx context.Context, cal *apphub.Calendar, e apphub.WaitlistEntry, offered map[int64]bool) (apphub.Recommendation, bool, error) {
	from := e.From
	if now := s.now().Truncate(apphub.Quantum); now.After(from) {
		from = now
	}
	for ; from.Before(e.To); from = from.Add(slots.MaxSearchWindow) {
		to := from.Add(slots.MaxSearchWindow)
		if to.After(e.To) {
			to = e.To
		}
		res, err := s.Search(ctx, SlotQuery{Category: e.Category, Place: e.Place, From: from, To: to})
		if err != nil {
			return apphub.Recommendation{}, false, err
		}
		var fitting []apphub.Recommendation
		for _, r := range apphub.Recommend(res.Days, cal.Location(res.TimeZone), e.Preferred) {
			preferred := len(e.Preferred) == 0 || slices.ContainsFunc(r.Reasons, func(x apphub.Reason) bool { return x.Code == apphub.RecommendPreferredTime })
			if preferred && !offered[r.Slot.Start.Unix()] {
				fitting = append(fitting, r)
			}
		}
		if len(fitting) == 0 {
			continue
		}
		if e.Earliest {
			return slices.MinFunc(fitting, func(a, b apphub.Recommendation) int { return a.Slot.Start.Compare(b.Slot.Start) }), true, nil
		}
		return fitting[0], true, nil
	}
	return apphub.Recommendation{}, false, nil
}

// offer holds pick for e and opens it as e's offer. ECONFLICT: the time was taken meanwhile,
// or e got an offer on another instance (the hold is then freed).
func (s *Service) offer(ctx context.Context, e apphub.WaitlistEntry, pick apphub.Recommendation) error {
	now := s.now()
	id := newID()
	expires := now.Add(s.offerTTL)
	res, claims, err := s.claim(ctx, id, 1, claimRequest{category: e.Category, resource: pick.Resource, place: e.Place,
		start: pick.Slot.Start, end: pick.Slot.End, expiresAt: expires})
	if err != nil {
		return err
	}
	h := apphub.Hold{Token: newID(), AppointmentID: id, Category: e.Category, Resource: res.ResourceID, Crew: res.Crew, Place: e.Place,
		Start: res.Start, End: res.End, Claims: claims, PartyID: e.PartyID, CreatedBy: e.CreatedBy, ExpiresAt: expires, CreatedAt: now}
	if err := s.store.InsertHold(ctx, h); err != nil {
		s.release(ctx, id, claims)
		return err
	}
	o := apphub.WaitlistOffer{ID: newID(), EntryID: e.ID, HoldToken: h.Token, AppointmentID: id, Resource: h.Resource, Crew: h.Crew,
		Start: h.Start, End: h.End, Claims: claims, OfferedAt: now, ExpiresAt: expires}
	if err := s.store.OpenOffer(ctx, o); err != nil {
		s.freeHold(context.WithoutCancel(ctx), o)
		return err
	}
	s.touch(ctx, claims)
	if s.offerMade != nil {
		s.offerMade(ctx, e, o)
	}
	return nil
}

// endOffer closes an open offer with outcome and frees its time, unless its hold was booked
// first: then it closes as accepted. It returns the outcome recorded.
func (s *Service) endOffer(ctx context.Context, o apphub.WaitlistOffer, outcome string) (string, error) {
	booked, err := s.freeHold(ctx, o)
	if err != nil {
		return "", err
	}
	if booked {
		outcome = apphub.OfferAccepted
	}
	return outcome, s.closeOffer(ctx, o, outcome)
}

// freeHold fences the offer's hold off (its booking's first revision, voided) and frees its
// claims; true, and nothing freed, when the hold was booked before the fence.
func (s *Service) freeHold(ctx context.Context, o apphub.WaitlistOffer) (bool, error) {
	fence := apphub.Revision{AppointmentID: o.AppointmentID, Version: 1, Change: apphub.ChangeVoided, At: s.now(), PartyID: "waitlist", By: "waitlist"}
	fence.State.ID, fence.State.Version = o.AppointmentID, 1
	if err := s.store.InsertRevision(ctx, fence); err != nil {
		if apphub.ErrorCode(err) != apphub.ECONFLICT {
			return false, err
		}
		r, err := s.store.GetRevision(ctx, o.AppointmentID, 1)
		if err != nil {
			return false, err
		}
		if r.Exists() {
			return true, nil
		}
		// Fenced already (by the reaper, or another instance): free what may be left.
	}
	if err := s.store.DeleteClaims(ctx, o.AppointmentID, o.Claims); err != nil {
		return false, err
	}
	s.touch(ctx, o.Claims)
	if err := s.store.DeleteHold(ctx, o.HoldToken); err != nil && apphub.ErrorCode(err) != apphub.ENOTFOUND {
		return false, err
	}
	return false, nil
}

// closeOffer records o's outcome; one recorded first elsewhere stands.
func (s *Service) closeOffer(ctx context.Context, o apphub.WaitlistOffer, outcome string) error {
	o.Outcome, o.ResolvedAt = outcome, s.now()
	if err := s.store.CloseOffer(ctx, o); err != nil && apphub.ErrorCode(err) != apphub.ECONFLICT {
		return err
	}
	return nil
}

// mayReadEntry reports whether p may see, leave and answer the offers of e: as it may an
// appointment of e's customer, made by e's maker, at e's place.
func mayReadEntry(p apphub.Principal, cal *apphub.Calendar, e apphub.WaitlistEntry) bool {
	return !p.Anonymous() && mayRead(p, cal, apphub.Appointment{PartyID: e.PartyID, CreatedBy: e.CreatedBy, Place: e.Place})
}
