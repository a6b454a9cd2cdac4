package booking

import (
	"context"
	"slices"

	"github.com/apphub/apphub"
)

// Who may do what is decided here, for every transport:
//
//	role       availability          appointments                                   calendars  hub registrations
//	anonymous  if PublicAvailability none                                           none       none
//	customer   read                  its own (owner = its party): read, list, hold,  none       none
//	                                 book, reschedule, cancel, update, history
//	agent      read                  of the resources and places it serves: all     none       none
//	                                 but delete, incl. confirm/complete/fail
//	partner    read                  those it created or whose owner it may act for  none       its own
//	admin      all                   all                                            write      all
//
// Another party's appointment is not found (404): its existence is not revealed. An operation
// the role may not make at all is FORBIDDEN; one that needs someone, made by nobody,
// UNAUTHENTICATED.

// requireRole fails unless p has one of roles.
func requireRole(p apphub.Principal, roles ...string) error {
	if p.Anonymous() {
		return apphub.Errorf(apphub.EUNAUTHENTICATED, "this needs a bearer token or an API key")
	}
	for _, r := range roles {
		if p.HasRole(r) {
			return nil
		}
	}
	return apphub.Errorf(apphub.EFORBIDDEN, "this needs the role %v", roles)
}

// MayRead reports whether p may see a (and its history and changes).
func (s *Service) MayRead(ctx context.Context, p apphub.Principal, a apphub.Appointment) bool {
	cal, err := s.Calendar(ctx)
	if err != nil {
		cal = nil
	}
	return mayRead(p, cal, a)
}

func mayRead(p apphub.Principal, cal *apphub.Calendar, a apphub.Appointment) bool {
	switch {
	case p.HasRole(apphub.RoleAdmin):
		return true
	case p.HasRole(apphub.RoleCustomer) && p.PartyID != "" && a.PartyID == p.PartyID:
		return true
	case p.HasRole(apphub.RoleAgent) && serves(p, cal, a):
		return true
	case p.HasRole(apphub.RolePartner) && (a.CreatedBy == partnerRef(p) || (a.PartyID != "" && slices.Contains(p.Parties, a.PartyID))):
		return true
	}
	return false
}

// serves reports whether agent p serves a's resource or place.
func serves(p apphub.Principal, cal *apphub.Calendar, a apphub.Appointment) bool {
	for _, r := range a.Members() {
		if slices.Contains(p.Resources, r) {
			return true
		}
	}
	if a.Place != "" && slices.Contains(p.Places, a.Place) {
		return true
	}
	if cal != nil {
		if r, ok := cal.Resource(a.Resource); ok && r.PlaceID != "" && slices.Contains(p.Places, r.PlaceID) {
			return true
		}
	}
	return false
}

func partnerRef(p apphub.Principal) string {
	return apphub.Principal{PartyID: p.PartyID, Roles: []string{apphub.RolePartner}}.Ref()
}

// Kinds of change a principal may or may not make to an appointment it may read.
const (
	changeTime   = "reschedule"
	changeUpdate = "update"
	changeCancel = "cancel"
	changeServe  = "serve" // confirm, complete, fail
	changeDelete = "delete"
)

// mayChange fails unless p may make the changes what to a: NOT_FOUND when p may not even read
// it (another party's appointment is not revealed), FORBIDDEN when its role may not make one
// of them (a customer confirming, an agent deleting).
func mayChange(p apphub.Principal, cal *apphub.Calendar, a apphub.Appointment, what ...string) error {
	if p.Anonymous() {
		return apphub.Errorf(apphub.EUNAUTHENTICATED, "changing an appointment needs a bearer token or an API key")
	}
	if !mayRead(p, cal, a) {
		return notFound(a.ID)
	}
	if p.HasRole(apphub.RoleAdmin) || p.HasRole(apphub.RolePartner) {
		return nil
	}
	for _, w := range what {
		switch {
		case w == changeDelete:
			return apphub.Errorf(apphub.EFORBIDDEN, "only partners and operators delete appointments; cancel it instead")
		case w == changeServe && !p.HasRole(apphub.RoleAgent):
			return apphub.Errorf(apphub.EFORBIDDEN, "only agents, partners and operators confirm, complete or fail appointments")
		}
	}
	return nil
}

func notFound(id string) error {
	return apphub.Errorf(apphub.ENOTFOUND, "appointment %q not found", id)
}

// ownerFor decides whose appointment p makes, or why p may not make it: a customer books for
// itself; an agent for the customer it names, on a resource or place it serves; a partner and
// an admin for the customer they name (or for nobody: a record of theirs).
func ownerFor(p apphub.Principal, cal *apphub.Calendar, customer, resource, place string) (string, error) {
	switch {
	case p.Anonymous():
		return "", apphub.Errorf(apphub.EUNAUTHENTICATED, "booking needs a bearer token or an API key")
	case p.HasRole(apphub.RoleAdmin), p.HasRole(apphub.RolePartner):
		return customer, nil
	case p.HasRole(apphub.RoleAgent):
		if !serves(p, cal, apphub.Appointment{Resource: resource, Place: place}) {
			return "", apphub.Errorf(apphub.EFORBIDDEN, "an agent books on the resources and places it serves: name one")
		}
		return customer, nil
	case p.HasRole(apphub.RoleCustomer):
		return p.PartyID, nil
	}
	return "", apphub.Errorf(apphub.EFORBIDDEN, "this role may not book")
}

// Viewer is who calls, told to the caller itself (an app shows whom it signed in and what to
// offer): anyone may ask, about themselves only. Nil for nobody.
func Viewer(ctx context.Context) *apphub.Principal {
	p := apphub.PrincipalFromContext(ctx)
	if p.Anonymous() {
		return nil
	}
	return &p
}

// maySearch fails for nobody unless availability is public.
func (s *Service) maySearch(ctx context.Context) error {
	if apphub.PrincipalFromContext(ctx).Anonymous() && !s.publicAvailability {
		return apphub.Errorf(apphub.EUNAUTHENTICATED, "availability needs a bearer token or an API key on this hub")
	}
	return nil
}

// BrowseCalendar returns the calendar for pickers (resources, categories, zones, places): to
// anyone who may search availability.
func (s *Service) BrowseCalendar(ctx context.Context) (*apphub.Calendar, error) {
	if err := s.maySearch(ctx); err != nil {
		return nil, err
	}
	return s.Calendar(ctx)
}

// visible keeps the appointments p may read.
func visible(p apphub.Principal, cal *apphub.Calendar, all []apphub.Appointment) []apphub.Appointment {
	if p.HasRole(apphub.RoleAdmin) {
		return all
	}
	return slices.DeleteFunc(all, func(a apphub.Appointment) bool { return !mayRead(p, cal, a) })
}
