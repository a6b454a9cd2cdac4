package booking

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/apphub/apphub"
)

// AppointmentQuery selects appointments; empty fields select everything.
type AppointmentQuery struct {
	PartyID  string
	Resource string
	Statuses []string
	Category string
	Place    string
	From     time.Time // appointments that end after From
	To       time.Time // appointments that start before To
}

func (q AppointmentQuery) match(a *apphub.Appointment) bool {
	return (q.PartyID == "" || a.PartyID == q.PartyID) &&
		(q.Resource == "" || slices.Contains(a.Members(), q.Resource)) &&
		(len(q.Statuses) == 0 || slices.Contains(q.Statuses, a.Status)) &&
		(q.Category == "" || a.Category == q.Category) &&
		(q.Place == "" || a.Place == q.Place) &&
		(q.From.IsZero() || a.End.After(q.From)) &&
		(q.To.IsZero() || a.Start.Before(q.To))
}

// FindAppointments returns the appointments q selects, earliest start first (then by id). It
// scans the projections once (and the changes in flight); the store has no query pushdown to
// offer anyway.
func (s *Service) FindAppointments(ctx context.Context, q AppointmentQuery) ([]apphub.Appointment, error) {
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
	out := all[:0]
	for i := range all {
		if q.match(&all[i]) {
			out = append(out, all[i])
		}
	}
	slices.SortFunc(out, func(a, b apphub.Appointment) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}
