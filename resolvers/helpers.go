package resolvers

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/graph/model"
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

// maxPage bounds a page of appointments.
const maxPage = 100

func (r *Resolver) appointments(ctx context.Context, f *model.AppointmentFilter, first int, after string) (*model.AppointmentConnection, error) {
	if first < 0 || first > maxPage {
		return nil, apphub.FieldError("first", "must be between 0 and %d", maxPage)
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
	start := 0
	if after != "" {
		t, id, err := decodeCursor(after)
		if err != nil {
			return nil, err
		}
		// The list is ordered by (start, id): the page begins after the cursor's position.
		start, _ = slices.BinarySearchFunc(all, struct{}{}, func(a apphub.Appointment, _ struct{}) int {
			if c := a.Start.Compare(t); c != 0 {
				return c
			}
			if strings.Compare(a.ID, id) <= 0 {
				return -1
			}
			return 1
		})
	}
	end := min(start+first, len(all))
	conn := &model.AppointmentConnection{Edges: []*model.AppointmentEdge{}, TotalCount: len(all),
		PageInfo: &model.PageInfo{HasNextPage: end < len(all)}}
	for i := start; i < end; i++ {
		a := &all[i]
		conn.Edges = append(conn.Edges, &model.AppointmentEdge{Cursor: encodeCursor(a), Node: a})
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.EndCursor = &conn.Edges[n-1].Cursor
	}
	return conn, nil
}
