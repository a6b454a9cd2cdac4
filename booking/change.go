package booking

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/apphub/apphub"
)

// latest returns the latest revision of an appointment, repairing its projection when a crash
// left it behind. An appointment that never existed is ENOTFOUND.
func (s *Service) latest(ctx context.Context, id string) (apphub.Revision, error) {
	cur, behind, err := s.current(ctx, id)
	if err == nil && behind {
		s.project(context.WithoutCancel(ctx), cur)
	}
	return cur, err
}

// current returns the latest revision of an appointment without writing anything: the
// projection names its version, and any revision after it is rolled in (behind says so).
func (s *Service) current(ctx context.Context, id string) (cur apphub.Revision, behind bool, err error) {
	if id == "" {
		return apphub.Revision{}, false, apphub.FieldError("id", "is required")
	}
	a, err := s.store.GetAppointment(ctx, id)
	switch apphub.ErrorCode(err) {
	case "":
		cur = apphub.Revision{AppointmentID: id, Version: a.Version, State: a}
	case apphub.ENOTFOUND:
	default:
		return apphub.Revision{}, false, err
	}
	for {
		next, err := s.store.GetRevision(ctx, id, cur.Version+1)
		if apphub.ErrorCode(err) == apphub.ENOTFOUND {
			break
		}
		if err != nil {
			return apphub.Revision{}, false, err
		}
		cur, behind = next, true
	}
	if cur.Version == 0 {
		return apphub.Revision{}, false, apphub.Errorf(apphub.ENOTFOUND, "appointment %q not found", id)
	}
	return cur, behind, nil
}

// Appointment returns the current state of an appointment.
func (s *Service) Appointment(ctx context.Context, id string) (apphub.Appointment, error) {
	cur, err := s.readable(ctx, id)
	if err != nil {
		return apphub.Appointment{}, err
	}
	if !cur.Exists() {
		return apphub.Appointment{}, notFound(id)
	}
	return cur.State, nil
}

// readable returns an appointment's latest revision if the caller may read it; another
// party's appointment is not found.
func (s *Service) readable(ctx context.Context, id string) (apphub.Revision, error) {
	cur, err := s.latest(ctx, id)
	if err != nil {
		return apphub.Revision{}, err
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return apphub.Revision{}, err
	}
	p := apphub.PrincipalFromContext(ctx)
	if p.Anonymous() {
		return apphub.Revision{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "appointments need a bearer token or an API key")
	}
	if !mayRead(p, cal, cur.State) {
		return apphub.Revision{}, notFound(id)
	}
	return cur, nil
}

// History returns every revision of an appointment in version order, also after it was
// deleted.
func (s *Service) History(ctx context.Context, id string) ([]apphub.Revision, error) {
	cur, err := s.readable(ctx, id)
	if err != nil {
		return nil, err
	}
	// The latest state may come from the projection; the history is read from the revisions.
	revs := make([]apphub.Revision, cur.Version)
	for v := 1; v <= cur.Version; v++ {
		if revs[v-1], err = s.store.GetRevision(ctx, id, v); err != nil {
			return nil, err
		}
	}
	if revs[0].Change == apphub.ChangeVoided {
		return nil, apphub.Errorf(apphub.ENOTFOUND, "appointment %q not found", id)
	}
	return revs, nil
}

// change is one attempt at changing an appointment: it gets the current state and returns the
// next one (or nil for a no-op), what changed and the claims to insert (prepared by the
// function itself through s.claim) and to release after the commit.
type change struct {
	id              string
	needs           []string // what it does, for mayChange (a ChangeWith's apply checks its own)
	expectedVersion int      // 0: any
	idempotencyKey  string
	op              string
	req             any
	apply           applyFunc
}

// applyFunc prepares the next state of an appointment from the current one, or returns nil
// when there is nothing to change.
type applyFunc func(ctx context.Context, cur apphub.Appointment) (*applied, error)

type applied struct {
	next     apphub.Appointment
	kind     string
	fields   []string
	inserted []string // claims taken for next (released if the commit fails)
	release  []string // claims of cur that next no longer holds (released after the commit)
	pinned   bool     // made for cur's version only: losing the race is VERSION_CONFLICT, not a retry
}

// maxChangeAttempts bounds retries of a change made without an expected version that keeps
// losing to concurrent changes; between them it waits a little, more each time, so that
// concurrent writers spread out.
const maxChangeAttempts = 6

// mutate runs a change with optimistic concurrency: the next version's revision insert decides
// among concurrent writers. With an expected version the loser gets VERSION_CONFLICT at once;
// without, it tries again on the new state.
func (s *Service) mutate(ctx context.Context, ch change) (apphub.Appointment, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	var result apphub.Appointment
	_, err := s.idempotent(ctx, ch.idempotencyKey, ch.op+" "+ch.id, ch.req, func(ctx context.Context) (outcome, error) {
		var err error
		result, err = s.mutateOnce(ctx, ch)
		return outcome{id: result.ID, version: result.Version}, err
	}, func(o outcome) error {
		r, err := s.store.GetRevision(ctx, o.id, o.version)
		result = r.State
		return err
	})
	return result, err
}

func (s *Service) mutateOnce(ctx context.Context, ch change) (apphub.Appointment, error) {
	for attempt := 1; ; attempt++ {
		cur, err := s.latest(ctx, ch.id)
		if err != nil {
			return apphub.Appointment{}, err
		}
		if !cur.Exists() {
			return apphub.Appointment{}, notFound(ch.id)
		}
		cal, err := s.Calendar(ctx)
		if err != nil {
			return apphub.Appointment{}, err
		}
		if err := mayChange(apphub.PrincipalFromContext(ctx), cal, cur.State, ch.needs...); err != nil {
			return apphub.Appointment{}, err
		}
		if ch.expectedVersion != 0 && ch.expectedVersion != cur.Version {
			return apphub.Appointment{}, apphub.StaleVersion("appointment", cur.Version)
		}
		ap, err := ch.apply(ctx, cur.State)
		if err != nil || ap == nil {
			return cur.State, err
		}
		ap.next.ID, ap.next.Version, ap.next.UpdatedAt = cur.State.ID, cur.Version+1, s.now()
		err = s.commit(ctx, ap.next, ap.kind, ap.fields)
		if err == nil {
			s.release(context.WithoutCancel(ctx), ch.id, ap.release)
			return ap.next, s.checkClaims(ctx, ap.next)
		}
		if apphub.ErrorCode(err) != apphub.ECONFLICT {
			s.release(context.WithoutCancel(ctx), ch.id, ap.inserted)
			return apphub.Appointment{}, err
		}
		if r, rerr := s.store.GetRevision(ctx, ch.id, ap.next.Version); rerr == nil && r.Change == apphub.ChangeVoided {
			// The reaper took our version after our grace ran out, and freed our new claims.
			return apphub.Appointment{}, apphub.Refusef(apphub.EUNAVAILABLE, apphub.ReasonCommitTooLate, "the change took too long and was abandoned; try again")
		}
		s.release(context.WithoutCancel(ctx), ch.id, ap.inserted)
		if ch.expectedVersion != 0 || ap.pinned {
			return apphub.Appointment{}, apphub.StaleVersion("appointment", cur.Version+1)
		}
		if attempt == maxChangeAttempts {
			// The caller named no version: that others keep winning is a conflict, not a
			// failed precondition it never set.
			return apphub.Appointment{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonVersionConflict,
				"the appointment kept changing while this change was applied; try again")
		}
		if err := backOff(ctx, attempt); err != nil {
			return apphub.Appointment{}, err
		}
	}
}

// backOff waits before attempt+1 of a change that lost a race: a random while, longer each
// time, so that concurrent writers spread out.
func backOff(ctx context.Context, attempt int) error {
	select {
	case <-time.After(rand.N(time.Duration(attempt) * 5 * time.Millisecond)):
		return nil
	case <-ctx.Done():
		return apphub.WrapError(apphub.EUNAVAILABLE, ctx.Err(), "the change did not finish in time")
	}
}

// Reschedule asks to move an appointment to another slot.
type Reschedule struct {
	ID              string
	ExpectedVersion int
	Resource        string // optional: another resource; default the current one
	Start, End      time.Time
	IdempotencyKey  string
	// WithAlternatives: as NewAppointment's.
	WithAlternatives bool `json:"-"`
}

// Reschedule moves an active booked appointment. The new time is claimed before the old one
// is freed, claims the two share are kept, and on any refusal nothing changes.
func (s *Service) Reschedule(ctx context.Context, req Reschedule) (apphub.Appointment, error) {
	return s.mutate(ctx, change{id: req.ID, needs: []string{changeTime}, expectedVersion: req.ExpectedVersion, idempotencyKey: req.IdempotencyKey, op: "reschedule", req: req,
		apply: s.rescheduleTo(req.Resource, req.Start, req.End, req.WithAlternatives)})
}

func (s *Service) rescheduleTo(resource string, start, end time.Time, alternatives bool) applyFunc {
	req := Reschedule{Resource: resource, Start: start, End: end}
	return func(ctx context.Context, cur apphub.Appointment) (*applied, error) {
		if !apphub.Active(cur.Status) {
			return nil, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonAppointmentNotActive, "a %s appointment cannot be rescheduled", cur.Status)
		}
		next := cur
		if !cur.Booked() {
			// A plain record just takes the new time.
			if req.Start.IsZero() || req.End.IsZero() || !req.End.After(req.Start) {
				return nil, apphub.FieldError("validFor", "needs a start before its end")
			}
			next.Start, next.End = req.Start.UTC(), req.End.UTC()
			return &applied{next: next, kind: apphub.ChangeRescheduled, fields: []string{"validFor"}}, nil
		}
		// One resource stays unless another is named; a crew may change, its members first
		// taken again where they are free.
		resource := req.Resource
		if len(cur.Crew) == 0 {
			resource = cmp.Or(resource, cur.Resource)
		}
		res, claims, err := s.claim(ctx, cur.ID, cur.Version+1, claimRequest{category: cur.Category, resource: resource,
			place: cur.Place, start: req.Start, end: req.End, own: cur.Claims, crew: cur.Crew, alternatives: alternatives})
		if err != nil {
			return nil, err
		}
		next.Resource, next.Crew, next.Start, next.End, next.Claims = res.ResourceID, res.Crew, res.Start, res.End, claims
		fields := []string{"validFor"}
		if !slices.Equal(next.Members(), cur.Members()) {
			fields = append(fields, "resource")
		}
		return &applied{next: next, kind: apphub.ChangeRescheduled, fields: fields,
			inserted: without(claims, cur.Claims), release: without(cur.Claims, claims)}, nil
	}
}

// without returns the ids of a that are not in b.
func without(a, b []string) []string {
	var out []string
	for _, id := range a {
		if !slices.Contains(b, id) {
			out = append(out, id)
		}
	}
	return out
}

// StatusChange asks to move an appointment in the status machine.
type StatusChange struct {
	ID              string
	ExpectedVersion int
	Status          string
	Reason          string
	IdempotencyKey  string
}

// SetStatus moves an appointment in the status machine; a move to its current status changes
// nothing. Cancelling frees its time.
func (s *Service) SetStatus(ctx context.Context, req StatusChange) (apphub.Appointment, error) {
	return s.mutate(ctx, change{id: req.ID, needs: []string{statusNeeds(req.Status)}, expectedVersion: req.ExpectedVersion, idempotencyKey: req.IdempotencyKey, op: "status", req: req,
		apply: setStatus(req.Status, req.Reason)})
}

func setStatus(status, reason string) applyFunc {
	req := StatusChange{Status: status, Reason: reason}
	return func(ctx context.Context, cur apphub.Appointment) (*applied, error) {
		if err := apphub.CheckTransition(cur.Status, req.Status); err != nil {
			return nil, err
		}
		if cur.Status == req.Status {
			return nil, nil
		}
		next := cur
		next.Status, next.StatusReason = req.Status, req.Reason
		ap := &applied{next: next, kind: apphub.ChangeStatus, fields: []string{"status"}}
		if req.Status == apphub.StatusCancelled {
			ap.next.Claims, ap.release = nil, cur.Claims
		}
		return ap, nil
	}
}

// Update changes an appointment's descriptive attributes: a nil field is left as it is.
// Attributes are merged: a name mapped to nil (or JSON null) is removed.
type Update struct {
	ID              string
	ExpectedVersion int
	Description     *string
	Notes           *[]apphub.Note
	ContactMedia    *[]apphub.ContactMedium
	Attributes      map[string]json.RawMessage
	IdempotencyKey  string
}

// Update applies u; an update that changes nothing creates no revision.
func (s *Service) Update(ctx context.Context, u Update) (apphub.Appointment, error) {
	return s.mutate(ctx, change{id: u.ID, needs: []string{changeUpdate}, expectedVersion: u.ExpectedVersion, idempotencyKey: u.IdempotencyKey, op: "update", req: u,
		apply: update(u)})
}

func update(u Update) applyFunc {
	return func(ctx context.Context, cur apphub.Appointment) (*applied, error) {
		next := cur
		var fields []string
		if u.Description != nil && *u.Description != cur.Description {
			next.Description = *u.Description
			fields = append(fields, "description")
		}
		if u.Notes != nil && !slices.Equal(*u.Notes, cur.Notes) {
			next.Notes = slices.Clone(*u.Notes)
			fields = append(fields, "note")
		}
		if u.ContactMedia != nil && !slices.Equal(*u.ContactMedia, cur.ContactMedia) {
			next.ContactMedia = slices.Clone(*u.ContactMedia)
			fields = append(fields, "contactMedium")
		}
		if len(u.Attributes) > 0 {
			var changed []string
			next.Attributes, changed = mergeAttributes(cur.Attributes, u.Attributes)
			fields = append(fields, changed...)
		}
		if len(fields) == 0 {
			return nil, nil
		}
		slices.Sort(fields)
		return &applied{next: next, kind: apphub.ChangeUpdated, fields: slices.Compact(fields)}, nil
	}
}

// mergeAttributes returns attrs with changes made (a name mapped to nil or JSON null removed,
// others set to their new raw value) and the names whose value changed, sorted. attrs is not
// modified.
func mergeAttributes(attrs, changes map[string]json.RawMessage) (map[string]json.RawMessage, []string) {
	next := maps.Clone(attrs)
	if next == nil {
		next = make(map[string]json.RawMessage)
	}
	var changed []string
	for _, name := range slices.Sorted(maps.Keys(changes)) {
		v := changes[name]
		old, had := next[name]
		switch {
		case v == nil || string(v) == "null":
			if had {
				delete(next, name)
				changed = append(changed, name)
			}
		case !had || string(old) != string(v):
			next[name] = v
			changed = append(changed, name)
		}
	}
	return next, changed
}

// Delete removes an appointment: its time is freed, it is gone from reads and lists, and its
// history stays.
func (s *Service) Delete(ctx context.Context, id string, expectedVersion int) error {
	_, err := s.mutate(ctx, change{id: id, needs: []string{changeDelete}, expectedVersion: expectedVersion, op: "delete",
		apply: func(ctx context.Context, cur apphub.Appointment) (*applied, error) {
			next := cur
			next.Claims = nil
			return &applied{next: next, kind: apphub.ChangeDeleted, release: cur.Claims}, nil
		}})
	return err
}

// Events returns the events of an appointment's revisions after version after, in version
// order: what a receiver that saw version after missed.
func (s *Service) Events(ctx context.Context, id string, after int) ([]apphub.Event, error) {
	cur, err := s.latest(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []apphub.Event
	for v := after + 1; v <= cur.Version; v++ {
		r, err := s.store.GetRevision(ctx, id, v)
		if err != nil {
			return nil, err
		}
		out = append(out, apphub.EventsOf(r)...)
	}
	return out, nil
}

// Change asks for several changes of one appointment at once, committed as one revision: a new
// time (when Start is set), descriptive attributes, and a status move.
type Change struct {
	ID              string
	ExpectedVersion int
	Resource        string    // with Start: another resource; default the current one
	Start, End      time.Time // zero Start: the time stays
	Update          Update    // its ID, ExpectedVersion and IdempotencyKey are not used
	Status          string    // empty: the status stays
	StatusReason    string
	IdempotencyKey  string
}

// Change applies c in one revision: the time first (claimed before anything is freed), then the
// attributes, then the status; when any part is refused, nothing changes.
func (s *Service) Change(ctx context.Context, c Change) (apphub.Appointment, error) {
	return s.mutate(ctx, change{id: c.ID, needs: c.needs(), expectedVersion: c.ExpectedVersion, idempotencyKey: c.IdempotencyKey, op: "change", req: c,
		apply: s.applyChange(c)})
}

// ChangeWith applies the change that build makes from the appointment's current state, as one
// revision: for a transport that turns a patch of a representation into a change. When a
// concurrent change wins the race, build runs again on the new state, unless the change it made
// names the version it was made from (ExpectedVersion), which is then a VERSION_CONFLICT. build
// may refuse (e.g. a precondition of the transport's); nothing is written then.
func (s *Service) ChangeWith(ctx context.Context, id string, build func(cur apphub.Appointment) (Change, error)) (apphub.Appointment, error) {
	return s.mutate(ctx, change{id: id, op: "change", apply: func(ctx context.Context, cur apphub.Appointment) (*applied, error) {
		c, err := build(cur)
		if err != nil {
			return nil, err
		}
		cal, err := s.Calendar(ctx)
		if err != nil {
			return nil, err
		}
		if err := mayChange(apphub.PrincipalFromContext(ctx), cal, cur, c.needs()...); err != nil {
			return nil, err
		}
		if c.ExpectedVersion != 0 && c.ExpectedVersion != cur.Version {
			return nil, apphub.StaleVersion("appointment", cur.Version)
		}
		ap, err := s.applyChange(c)(ctx, cur)
		if ap != nil {
			ap.pinned = c.ExpectedVersion != 0
		}
		return ap, err
	}})
}

// needs says what c does, for mayChange.
func (c Change) needs() []string {
	var out []string
	if !c.Start.IsZero() {
		out = append(out, changeTime)
	}
	if c.Update.Description != nil || c.Update.Notes != nil || c.Update.ContactMedia != nil || len(c.Update.Attributes) > 0 {
		out = append(out, changeUpdate)
	}
	if c.Status != "" {
		out = append(out, statusNeeds(c.Status))
	}
	return out
}

// statusNeeds is what a move to status is: a cancellation, or serving the appointment.
func statusNeeds(status string) string {
	if status == apphub.StatusCancelled {
		return changeCancel
	}
	return changeServe
}

// applyChange makes c's parts one change: the status move is checked first, so that a refused
// move takes no claim; then the time (claimed before anything is freed), the attributes and the
// status.
func (s *Service) applyChange(c Change) applyFunc {
	var parts []applyFunc
	if !c.Start.IsZero() {
		parts = append(parts, s.rescheduleTo(c.Resource, c.Start, c.End, false))
	}
	parts = append(parts, update(c.Update))
	if c.Status != "" {
		parts = append(parts, setStatus(c.Status, c.StatusReason))
	}
	all := s.chain(parts...)
	return func(ctx context.Context, cur apphub.Appointment) (*applied, error) {
		if c.Status != "" {
			if err := apphub.CheckTransition(cur.Status, c.Status); err != nil {
				return nil, err
			}
		}
		return all(ctx, cur)
	}
}

// chain applies parts one after the other to the state each leaves, as one change. When a part
// fails, the claims the earlier ones took are given back.
func (s *Service) chain(parts ...applyFunc) applyFunc {
	return func(ctx context.Context, cur apphub.Appointment) (*applied, error) {
		var out *applied
		state := cur
		for _, part := range parts {
			ap, err := part(ctx, state)
			if err != nil {
				if out != nil {
					s.release(context.WithoutCancel(ctx), cur.ID, out.inserted)
				}
				return nil, err
			}
			if ap == nil {
				continue
			}
			if out == nil {
				out = ap
			} else {
				if out.kind != ap.kind {
					out.kind = apphub.ChangeUpdated
				}
				out.next = ap.next
				out.fields = append(out.fields, ap.fields...)
				out.inserted = append(out.inserted, ap.inserted...)
				out.release = append(out.release, ap.release...)
			}
			state = ap.next
		}
		if out != nil {
			slices.Sort(out.fields)
			out.fields = slices.Compact(out.fields)
		}
		return out, nil
	}
}
