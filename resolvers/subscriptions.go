package resolvers

import (
	"context"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/graph/model"
)

// EventSource delivers the events of every instance's commits and the (zone, UTC day) keys
// whose availability changed, an empty list meaning anything may have (the Redis bus, fanned
// out in process). The channels close when ctx ends.
type EventSource interface {
	Subscribe(ctx context.Context) <-chan apphub.Event
	SubscribeAvailability(ctx context.Context) <-chan []apphub.ZoneDay
}

// kindCurrent marks the state sent when a subscription starts.
const kindCurrent = "CURRENT"

func (r *subscriptionResolver) appointmentChanged(ctx context.Context, id, partyID, resource string) (<-chan *model.AppointmentChange, error) {
	set := 0
	for _, v := range []string{id, partyID, resource} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return nil, apphub.FieldError("id", "give exactly one of id, partyId and resource")
	}
	if r.Events == nil {
		return nil, apphub.Errorf(apphub.EUNAVAILABLE, "live updates are not available")
	}
	// The bus carries every appointment's events: the subscriber gets only those booking lets
	// it read (the current state, read below through booking, is checked there).
	signal, claim := streamSignalOf(ctx)
	s := &statusSub{r: r.Resolver, ctx: ctx, caller: apphub.PrincipalFromContext(ctx), signal: signal,
		out: make(chan *model.AppointmentChange, 16), seq: apphub.NewEventSequencer(r.Service.Events, 0, nil)}
	// Registered before reading the current state, so that nothing falls between the two: the
	// events that arrive meanwhile wait until the current state is sent.
	hub := &r.live.status
	hub.add(r.Resolver, s, id, partyID, resource)
	var current []apphub.Appointment
	if id != "" {
		a, err := r.Service.Appointment(ctx, id)
		if err != nil {
			hub.remove(s, id, partyID, resource)
			return nil, err
		}
		current = []apphub.Appointment{a}
	} else {
		all, err := r.Service.FindAppointments(ctx, booking.AppointmentQuery{PartyID: partyID, Resource: resource})
		if err != nil {
			hub.remove(s, id, partyID, resource)
			return nil, err
		}
		current = all
	}
	s.start(current)
	context.AfterFunc(ctx, func() {
		hub.remove(s, id, partyID, resource)
		s.leave()
	})
	claim()
	return s.out, nil
}

// availabilityRefresh bounds how often a slot grid is recomputed while events pour in.
const availabilityRefresh = 50 * time.Millisecond

func (r *subscriptionResolver) availabilityChanged(ctx context.Context, input model.AvailabilityInput) (<-chan *model.Availability, error) {
	if r.Events == nil {
		return nil, apphub.Errorf(apphub.EUNAVAILABLE, "live updates are not available")
	}
	rk, err := rankingOf(input)
	if err != nil {
		return nil, err
	}
	// The caller's own search: whether it may, and whether the input is valid, with the
	// service's errors. The service answers it from the answer it keeps, at little cost.
	q := slotQuery(input)
	res, err := r.Service.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	ch, w, err := r.watchGrid(ctx, q, rk, res)
	if err != nil {
		return nil, err
	}
	_, claim := streamSignalOf(ctx)
	claim()
	if op, ok := ctx.Value(gridOpKey{}).(*gridOp); ok {
		// Run by gridResponses: gqlgen gets a grid only when its response has to be built.
		return op.watch(w, ch), nil
	}
	return ch, nil
}
