package resolvers

import (
	"context"
	"reflect"
	"slices"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/graph/model"
	"github.com/apphub/apphub/slots"
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
	match := func(a *apphub.Appointment, appointmentID string) bool {
		switch {
		case id != "":
			return appointmentID == id
		case partyID != "":
			return a.PartyID == partyID
		default:
			return a.Resource == resource
		}
	}
	// The bus carries every appointment's events: the subscriber gets only those booking lets
	// it read (the current state, read below through booking, is checked there).
	caller := apphub.PrincipalFromContext(ctx)
	// Subscribe before reading the current state, so that nothing falls between the two.
	events := r.Events.Subscribe(ctx)
	var current []apphub.Appointment
	if id != "" {
		a, err := r.Service.Appointment(ctx, id)
		if err != nil {
			return nil, err
		}
		current = []apphub.Appointment{a}
	} else {
		all, err := r.Service.FindAppointments(ctx, booking.AppointmentQuery{PartyID: partyID, Resource: resource})
		if err != nil {
			return nil, err
		}
		current = all
	}

	out := make(chan *model.AppointmentChange, 16)
	go func() {
		defer close(out)
		// What this subscriber has been sent, so that it never gets a version twice or out of
		// order; a gap is filled from the revisions in MongoDB.
		seq := apphub.NewEventSequencer(r.Service.Events, 0, nil)
		send := func(c *model.AppointmentChange) bool {
			select {
			case out <- c:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for i := range current {
			a := &current[i]
			seq.Mark(a.ID, a.Version, kindCurrent)
			if !send(&model.AppointmentChange{Kind: kindCurrent, Version: a.Version, Fields: []string{}, Appointment: a}) {
				return
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				if !match(&ev.State, ev.AppointmentID) {
					continue
				}
				evs, err := seq.Next(ctx, ev)
				if err != nil {
					r.Logger.WarnContext(ctx, "subscription could not fill a gap from MongoDB", "appointment", ev.AppointmentID, "err", err)
				}
				for _, e := range evs {
					if !r.Service.MayRead(ctx, caller, e.State) {
						continue
					}
					fields := e.Fields
					if fields == nil {
						fields = []string{}
					}
					if !send(&model.AppointmentChange{Kind: e.Kind, Version: e.Version, Fields: fields, Appointment: &e.State}) {
						return
					}
				}
			}
		}
	}()
	return out, nil
}

// zoneOf returns the work zone of a postcode or managed place, "" when there is none to tell
// (a search by resource): its grid then follows every zone's changes.
func (r *Resolver) zoneOf(ctx context.Context, place string) string {
	cal, _, err := r.Service.CalendarAndVersion(ctx)
	if err != nil {
		return ""
	}
	return slots.ZoneOf(cal, place)
}

// availabilityRefresh bounds how often a slot grid is recomputed while events pour in.
const availabilityRefresh = 50 * time.Millisecond

func (r *subscriptionResolver) availabilityChanged(ctx context.Context, input model.AvailabilityInput) (<-chan *model.Availability, error) {
	if r.Events == nil {
		return nil, apphub.Errorf(apphub.EUNAVAILABLE, "live updates are not available")
	}
	changes := r.Events.SubscribeAvailability(ctx)
	query := &queryResolver{r.Resolver}
	first, err := query.Availability(ctx, input)
	if err != nil {
		return nil, err
	}
	zone := r.zoneOf(ctx, deref(input.Place))
	concerns := func(zones []apphub.ZoneDay) bool {
		return zone == "" || len(zones) == 0 || slices.ContainsFunc(zones, func(z apphub.ZoneDay) bool { return z.Zone == zone })
	}
	out := make(chan *model.Availability, 4)
	go func() {
		defer close(out)
		last := first
		select {
		case out <- first:
		case <-ctx.Done():
			return
		}
		for {
			// Wait for a change of the zone, then let a burst of them settle before recomputing.
			select {
			case <-ctx.Done():
				return
			case zones, ok := <-changes:
				if !ok {
					return
				}
				if !concerns(zones) {
					continue
				}
			}
			timer := time.NewTimer(availabilityRefresh)
		drain:
			for {
				select {
				case <-ctx.Done():
					timer.Stop()
					return
				case _, ok := <-changes:
					if !ok {
						timer.Stop()
						return
					}
				case <-timer.C:
					break drain
				}
			}
			next, err := query.Availability(ctx, input)
			if err != nil {
				r.Logger.WarnContext(ctx, "availability subscription could not recompute", "err", err)
				continue
			}
			if reflect.DeepEqual(next.Days, last.Days) && reflect.DeepEqual(next.Reasons, last.Reasons) {
				continue
			}
			last = next
			select {
			case out <- next:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
