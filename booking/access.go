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
	if a.Resource != "" && slices.Contains(p.Resources, a.Resource) {
		return true
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
