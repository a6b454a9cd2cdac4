package resolvers

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/graph/model"
	"github.com/apphub/apphub/resolvers/relay"
)

// resource looks a resource up in the calendar snapshot; "" and unknown ids are null.
func (r *Resolver) resource(ctx context.Context, id string) (*apphub.Resource, error) {
	if id == "" {
		return nil, nil
	}
	cal, _, err := r.Service.CalendarAndVersion(ctx)
	if err != nil {
		return nil, err
	}
	res, _ := cal.Resource(id)
	return res, nil
}

// members looks up the resources of a crew (or of a one-resource job) in the calendar
// snapshot, in their order; "" and ids gone from the calendar are left out, as resource makes
// them null.
func (r *Resolver) members(ctx context.Context, ids []string) ([]*apphub.Resource, error) {
	if len(ids) == 0 || len(ids) == 1 && ids[0] == "" {
		return []*apphub.Resource{}, nil
	}
	cal, _, err := r.Service.CalendarAndVersion(ctx)
	if err != nil {
		return nil, err
	}
	return crewOf(cal, ids), nil
}

// timeOrNull is null for the zero time (something that has not happened).
func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

func (r *Resolver) appointmentPayload(ctx context.Context, a apphub.Appointment, err error) (*model.AppointmentPayload, error) {
	if err != nil {
		ue, err := r.userError(ctx, err)
		return &model.AppointmentPayload{Error: ue}, err
	}
	return &model.AppointmentPayload{Appointment: &a}, nil
}

func (r *Resolver) setStatus(ctx context.Context, input model.ChangeStatusInput, status string) (*model.AppointmentPayload, error) {
	a, err := r.Service.SetStatus(ctx, booking.StatusChange{ID: input.ID, ExpectedVersion: deref(input.ExpectedVersion),
		Status: status, Reason: deref(input.Reason), IdempotencyKey: deref(input.IdempotencyKey)})
	return r.appointmentPayload(ctx, a, err)
}

func (r *Resolver) calendarPayload(ctx context.Context, err error) (*model.CalendarPayload, error) {
	if err != nil {
		ue, err := r.userError(ctx, err)
		return &model.CalendarPayload{Error: ue}, err
	}
	_, version, err := r.Service.CalendarAndVersion(ctx)
	if err != nil {
		return nil, err
	}
	return &model.CalendarPayload{Version: &version}, nil
}

// maxPage bounds a page of appointments; defaultPage is a page when neither first nor last
// is given.
const (
	maxPage     = 100
	defaultPage = 20
)

// appointments is a Relay connection over the appointments f selects, ordered by (start, id):
// first and after page forward, last and before backward, as the connection specification's
// algorithm applies them (cursors first, then first, then last). The whole list is known, so
// hasPreviousPage and hasNextPage say exactly whether there is more on either side.
func (r *Resolver) appointments(ctx context.Context, f *model.AppointmentFilter, first *int, after *string, last *int, before *string) (*model.AppointmentConnection, error) {
	for _, n := range []struct {
		name string
		v    *int
	}{{"first", first}, {"last", last}} {
		if n.v != nil && (*n.v < 0 || *n.v > maxPage) {
			return nil, apphub.FieldError(n.name, "must be between 0 and %d", maxPage)
		}
	}
	if first == nil && last == nil {
		n := defaultPage
		first = &n
	}
	q := booking.AppointmentQuery{}
	if f != nil {
		q = booking.AppointmentQuery{PartyID: deref(f.PartyID), Resource: deref(f.Resource), Category: deref(f.Category),
			Place: deref(f.Place), From: deref(f.From), To: deref(f.To)}
		for _, s := range f.Status {
			q.Statuses = append(q.Statuses, statusFrom(s))
		}
	}
	all, err := r.Service.FindAppointments(ctx, q)
	if err != nil {
		return nil, err
	}
	lo, hi := 0, len(all)
	if after != nil && *after != "" {
		if lo, err = cursorIndex(all, "after", *after, true); err != nil {
			return nil, err
		}
	}
	if before != nil && *before != "" {
		if hi, err = cursorIndex(all, "before", *before, false); err != nil {
			return nil, err
		}
	}
	hi = max(hi, lo)
	if first != nil && hi-lo > *first {
		hi = lo + *first
	}
	if last != nil && hi-lo > *last {
		lo = hi - *last
	}
	conn := &model.AppointmentConnection{Edges: []*model.AppointmentEdge{}, TotalCount: len(all),
		PageInfo: &model.PageInfo{HasNextPage: hi < len(all), HasPreviousPage: lo > 0}}
	for i := lo; i < hi; i++ {
		a := &all[i]
		conn.Edges = append(conn.Edges, &model.AppointmentEdge{Cursor: encodeCursor(a), Node: a})
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor, conn.PageInfo.EndCursor = &conn.Edges[0].Cursor, &conn.Edges[n-1].Cursor
	}
	return conn, nil
}

// cursorIndex is where a page bounded by cursor begins (after: the first appointment past the
// cursor's position) or ends (before: the first at or past it) in all, ordered by (start, id).
// The appointment the cursor names need not be there any more: the position is what counts.
func cursorIndex(all []apphub.Appointment, field, cursor string, after bool) (int, error) {
	t, id, err := decodeCursor(cursor)
	if err != nil {
		return 0, apphub.FieldError(field, "is not a cursor this hub gave")
	}
	i, _ := slices.BinarySearchFunc(all, struct{}{}, func(a apphub.Appointment, _ struct{}) int {
		if c := a.Start.Compare(t); c != 0 {
			return c
		}
		if c := strings.Compare(a.ID, id); c < 0 || c == 0 && after {
			return -1
		}
		return 1
	})
	return i, nil
}

// node finds the object with a global id among those the caller may see, in the order of
// the id space: an appointment, a stored search (TMF646's generated ids), then the calendar's
// resources, places and categories (unique across the three), then a hold (its token), then a
// waitlist entry (an id drawn like an appointment's; the waitlist is read once per response).
func (r *Resolver) node(ctx context.Context, id string) (relay.Node, error) {
	if a, err := r.loadersFrom(ctx).appointments.Load(ctx, id); err != nil || a != nil {
		return a, err
	}
	switch t, err := r.Service.SearchTimeSlot(ctx, id); apphub.ErrorCode(err) {
	case "":
		return &t, nil
	case apphub.ENOTFOUND, apphub.EFORBIDDEN, apphub.EUNAUTHENTICATED:
	default:
		return nil, err
	}
	switch cal, err := r.Service.BrowseCalendar(ctx); apphub.ErrorCode(err) {
	case "":
		if res, ok := cal.Resource(id); ok {
			return res, nil
		}
		if p, ok := cal.Place(id); ok {
			return p, nil
		}
		if c, ok := cal.Category(id); ok {
			return c, nil
		}
	case apphub.EUNAUTHENTICATED: // the calendar is not public on this hub
	default:
		return nil, err
	}
	switch h, err := r.Service.ReadHold(ctx, id); apphub.ErrorCode(err) {
	case "":
		return &h, nil
	case apphub.ENOTFOUND:
	default:
		return nil, err
	}
	if v, err := r.waitlistEntry(ctx, id); err != nil || v != nil {
		return v, err
	}
	return nil, nil
}
