package booking

import (
	"cmp"
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/apphub/apphub"
)

// TMF646 has two resources besides appointments: the search task (SearchTimeSlot) and the hub
// registration of a listener (Subscription). They are not appointments: they hold no time and
// have no history, so each is one document keyed by its id. Their client attributes are kept
// as the raw JSON sent, like an appointment's, so that they come back byte-identical.

// TMFStore is what the TMF646 task and hub resources need from the database, beside Store.
type TMFStore interface {
	InsertSearchTimeSlot(ctx context.Context, t apphub.SearchTimeSlot) error
	GetSearchTimeSlot(ctx context.Context, id string) (apphub.SearchTimeSlot, error)
	ListSearchTimeSlots(ctx context.Context) ([]apphub.SearchTimeSlot, error)
	// ReplaceSearchTimeSlot writes t over the version prev; ECONFLICT when the stored one is
	// not at prev any more (best effort: the document is not an exclusive fact).
	ReplaceSearchTimeSlot(ctx context.Context, t apphub.SearchTimeSlot, prev int) error
	DeleteSearchTimeSlot(ctx context.Context, id string) error

	InsertSubscription(ctx context.Context, s apphub.EventSubscription) error
	GetSubscription(ctx context.Context, id string) (apphub.EventSubscription, error)
	ListSubscriptions(ctx context.Context) ([]apphub.EventSubscription, error)
	DeleteSubscription(ctx context.Context, id string) error
}

// NewSearchTimeSlot asks for a search task.
type NewSearchTimeSlot struct {
	Attributes     map[string]json.RawMessage
	IdempotencyKey string
}

// SearchTimeSlotUpdate replaces a search task's status and attributes.
type SearchTimeSlotUpdate struct {
	ID              string
	ExpectedVersion int    // 0: any
	Status          string // empty keeps it
	// Changes are the attributes the update sets; a name mapped to nil (or JSON null) is
	// removed, and attributes it does not name keep their stored text.
	Changes map[string]json.RawMessage
}

// NewSubscription asks to register a listener.
type NewSubscription struct {
	Callback       string
	Query          string
	Attributes     map[string]json.RawMessage
	IdempotencyKey string
}

// Appointments returns every appointment, oldest first (then by id). It scans the projections
// and rolls in the changes in flight.
func (s *Service) Appointments(ctx context.Context) ([]apphub.Appointment, error) {
	p := apphub.PrincipalFromContext(ctx)
	if p.Anonymous() {
		return nil, apphub.Errorf(apphub.EUNAUTHENTICATED, "appointments need a bearer token or an API key")
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.allAppointments(ctx)
	if err != nil {
		return nil, err
	}
	all = visible(p, cal, all)
	slices.SortFunc(all, func(a, b apphub.Appointment) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return all, nil
}

// CreateSearchTimeSlot stores a search task as done and successful, with the slots in its
// attributes: those the transport found by running the search (tmfrest does), or those the
// client sent.
func (s *Service) CreateSearchTimeSlot(ctx context.Context, req NewSearchTimeSlot) (apphub.SearchTimeSlot, error) {
	p := apphub.PrincipalFromContext(ctx)
	if p.Anonymous() {
		return apphub.SearchTimeSlot{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "search tasks need a bearer token or an API key")
	}
	var task apphub.SearchTimeSlot
	var err error
	_, err = s.idempotent(ctx, req.IdempotencyKey, "searchTimeSlot", req, func(ctx context.Context) (outcome, error) {
		now := s.now().UTC().Truncate(time.Millisecond) // as stored, so that every read agrees
		task = apphub.SearchTimeSlot{ID: newID(), Version: 1, Status: apphub.SearchDone, Result: apphub.SearchSuccess, SearchDate: now,
			UpdatedAt: now, PartyID: p.PartyID, CreatedBy: p.Ref(), Attributes: req.Attributes}
		// The record's appointment id field holds the task's id.
		return outcome{id: task.ID, version: task.Version}, s.store.InsertSearchTimeSlot(ctx, task)
	}, func(o outcome) error {
		task, err = s.store.GetSearchTimeSlot(ctx, o.id)
		return err
	})
	return task, err
}

// SearchTimeSlot returns a search task of the caller's (any task, for an operator).
func (s *Service) SearchTimeSlot(ctx context.Context, id string) (apphub.SearchTimeSlot, error) {
	p := apphub.PrincipalFromContext(ctx)
	if p.Anonymous() {
		return apphub.SearchTimeSlot{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "search tasks need a bearer token or an API key")
	}
	t, err := s.store.GetSearchTimeSlot(ctx, id)
	if apphub.ErrorCode(err) == apphub.ENOTFOUND || (err == nil && !ownsTask(p, t)) {
		return apphub.SearchTimeSlot{}, apphub.Errorf(apphub.ENOTFOUND, "searchTimeSlot %q not found", id)
	}
	return t, err
}

// ownsTask reports whether p may read and change t: its author, or an operator.
func ownsTask(p apphub.Principal, t apphub.SearchTimeSlot) bool {
	return p.HasRole(apphub.RoleAdmin) || t.CreatedBy == p.Ref()
}

// SearchTimeSlots returns every search task, oldest first (then by id).
func (s *Service) SearchTimeSlots(ctx context.Context) ([]apphub.SearchTimeSlot, error) {
	p := apphub.PrincipalFromContext(ctx)
	if p.Anonymous() {
		return nil, apphub.Errorf(apphub.EUNAUTHENTICATED, "search tasks need a bearer token or an API key")
	}
	all, err := s.store.ListSearchTimeSlots(ctx)
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(t apphub.SearchTimeSlot) bool { return !ownsTask(p, t) })
	slices.SortFunc(all, func(a, b apphub.SearchTimeSlot) int {
		return cmp.Or(a.SearchDate.Compare(b.SearchDate), strings.Compare(a.ID, b.ID))
	})
	return all, nil
}

// UpdateSearchTimeSlot replaces a task's status and attributes; it does not run the search
// again. An update that changes nothing keeps the version.
func (s *Service) UpdateSearchTimeSlot(ctx context.Context, u SearchTimeSlotUpdate) (apphub.SearchTimeSlot, error) {
	if u.Status != "" && !slices.Contains(apphub.SearchStatuses, u.Status) {
		return apphub.SearchTimeSlot{}, apphub.FieldError("status", "%q is not one of %s", u.Status, strings.Join(apphub.SearchStatuses, ", "))
	}
	cur, err := s.SearchTimeSlot(ctx, u.ID)
	if err != nil {
		return apphub.SearchTimeSlot{}, err
	}
	if u.ExpectedVersion != 0 && u.ExpectedVersion != cur.Version {
		return apphub.SearchTimeSlot{}, apphub.StaleVersion("searchTimeSlot", cur.Version)
	}
	next := cur
	if u.Status != "" {
		next.Status = u.Status
	}
	var changed []string
	next.Attributes, changed = mergeAttributes(cur.Attributes, u.Changes)
	if next.Status == cur.Status && len(changed) == 0 {
		return cur, nil
	}
	next.Version, next.UpdatedAt = cur.Version+1, s.now().UTC().Truncate(time.Millisecond)
	err = s.store.ReplaceSearchTimeSlot(ctx, next, cur.Version)
	switch apphub.ErrorCode(err) {
	case "":
		return next, nil
	case apphub.ECONFLICT:
		return apphub.SearchTimeSlot{}, apphub.StaleVersion("searchTimeSlot", cur.Version+1)
	case apphub.ENOTFOUND:
		return apphub.SearchTimeSlot{}, apphub.Errorf(apphub.ENOTFOUND, "searchTimeSlot %q not found", u.ID)
	default:
		return apphub.SearchTimeSlot{}, err
	}
}

// UpdateSearchTimeSlotWith applies the update that build makes from the task's current state:
// for a transport that turns a patch of a representation into an update. When a concurrent
// update wins, build runs again on the new state, unless the update names the version it was
// made from (ExpectedVersion), which is then a VERSION_CONFLICT.
func (s *Service) UpdateSearchTimeSlotWith(ctx context.Context, id string, build func(cur apphub.SearchTimeSlot) (SearchTimeSlotUpdate, error)) (apphub.SearchTimeSlot, error) {
	for attempt := 1; ; attempt++ {
		cur, err := s.SearchTimeSlot(ctx, id)
		if err != nil {
			return apphub.SearchTimeSlot{}, err
		}
		u, err := build(cur)
		if err != nil {
			return apphub.SearchTimeSlot{}, err
		}
		pinned := u.ExpectedVersion != 0
		if !pinned {
			u.ExpectedVersion = cur.Version
		}
		u.ID = id
		t, err := s.UpdateSearchTimeSlot(ctx, u)
		if apphub.ErrorCode(err) != apphub.EPRECONDITION || pinned {
			return t, err
		}
		if attempt == maxChangeAttempts {
			return apphub.SearchTimeSlot{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonVersionConflict,
				"the searchTimeSlot kept changing while this change was applied; try again")
		}
		if err := backOff(ctx, attempt); err != nil {
			return apphub.SearchTimeSlot{}, err
		}
	}
}

// DeleteSearchTimeSlot removes a search task.
func (s *Service) DeleteSearchTimeSlot(ctx context.Context, id string, expectedVersion int) error {
	cur, err := s.SearchTimeSlot(ctx, id) // the caller's, or not found
	if err != nil {
		return err
	}
	if expectedVersion != 0 && cur.Version != expectedVersion {
		return apphub.StaleVersion("searchTimeSlot", cur.Version)
	}
	err = s.store.DeleteSearchTimeSlot(ctx, id)
	if apphub.ErrorCode(err) == apphub.ENOTFOUND {
		return apphub.Errorf(apphub.ENOTFOUND, "searchTimeSlot %q not found", id)
	}
	return err
}

// Subscribe registers a listener. The callback must be an absolute http(s) URL whose host
// passes apphub.HostRefusal: an IP literal must be a global unicast address or in the
// allowed networks, and a name must not be internal by construction (localhost, .internal,
// a short name, …). Where a name points is checked when connecting, not here: the address it
// resolves to may change.
func (s *Service) Subscribe(ctx context.Context, req NewSubscription) (apphub.EventSubscription, error) {
	p := apphub.PrincipalFromContext(ctx)
	if err := requireRole(p, apphub.RolePartner, apphub.RoleAdmin); err != nil {
		return apphub.EventSubscription{}, err
	}
	u, err := url.Parse(req.Callback)
	if req.Callback == "" {
		return apphub.EventSubscription{}, apphub.FieldError("callback", "is required")
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return apphub.EventSubscription{}, apphub.FieldError("callback", "must be an absolute http or https URL")
	}
	if reason := apphub.HostRefusal(u.Hostname(), s.callbackNetworks); reason != "" {
		return apphub.EventSubscription{}, apphub.FieldError("callback", "the host %q is refused: %s; a callback must reach a global unicast address", u.Hostname(), reason)
	}
	var sub apphub.EventSubscription
	_, err = s.idempotent(ctx, req.IdempotencyKey, "subscribe", req, func(ctx context.Context) (outcome, error) {
		sub = apphub.EventSubscription{ID: newID(), Callback: req.Callback, Query: req.Query, Attributes: req.Attributes,
			PartyID: p.PartyID, Owner: p, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
		return outcome{id: sub.ID, version: 1}, s.store.InsertSubscription(ctx, sub)
	}, func(o outcome) error {
		sub, err = s.store.GetSubscription(ctx, o.id)
		return err
	})
	return sub, err
}

// Unsubscribe removes a listener's registration.
func (s *Service) Unsubscribe(ctx context.Context, id string) error {
	p := apphub.PrincipalFromContext(ctx)
	if err := requireRole(p, apphub.RolePartner, apphub.RoleAdmin); err != nil {
		return err
	}
	sub, err := s.store.GetSubscription(ctx, id)
	if err == nil && !p.HasRole(apphub.RoleAdmin) && sub.Owner.Ref() != p.Ref() {
		err = apphub.Errorf(apphub.ENOTFOUND, "another's") // another partner's registration: not revealed
	}
	if err == nil {
		err = s.store.DeleteSubscription(ctx, id)
	}
	if apphub.ErrorCode(err) == apphub.ENOTFOUND {
		return apphub.Errorf(apphub.ENOTFOUND, "hub subscription %q not found", id)
	}
	return err
}

// Subscriptions returns every registered listener, oldest first (then by id).
func (s *Service) Subscriptions(ctx context.Context) ([]apphub.EventSubscription, error) {
	all, err := s.store.ListSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b apphub.EventSubscription) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return all, nil
}
