package booking

import (
	"context"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/slots"
)

// BusyCache keeps busy time (claims) per apphub.ResourceDay outside MongoDB, derived and rebuildable: it
// never decides a booking. Busy answers from the cache where it is current and calls load for
// the keys it lacks, keeping what load returns unless a booking touched those keys meanwhile.
// Touch is called by the booking path after its MongoDB commit and before it answers, with the
// (resource, day) keys of the claims changed and the (zone, day) keys of the zones those
// resources serve; once it returned, no Busy that starts afterwards may answer without that
// commit's claims, and no Version that starts afterwards gives a version given before.
// Implementations must fall back to load when their store is unreachable (Version then fails),
// and Touch must then make sure stale entries are not used once the store is back.
type BusyCache interface {
	Busy(ctx context.Context, keys []apphub.ResourceDay, load func(ctx context.Context, keys []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error)) (map[apphub.ResourceDay][]apphub.Claim, error)
	Touch(ctx context.Context, keys []apphub.ResourceDay, zones []apphub.ZoneDay)
	// Versions returns a token for the state of each of keys, then of each of zones, in
	// that order: it changes whenever the key is touched, on any instance, and never comes
	// back. A caller that reads them before the busy time may keep what it derives under them.
	Versions(ctx context.Context, keys []apphub.ResourceDay, zones []apphub.ZoneDay) ([]string, error)
}

// Publisher receives the events of every commit this instance makes, in version order per
// appointment, the (zone, UTC day) keys whose busy time a booking, hold or release changed
// (after the cache was told), and the calendar's changes. It must not block the request for
// long: delivery to other instances is its business. PublishEvents reports whether the events
// reached the other instances; until they did, the commit stays in flight and is published
// again (Relay).
type Publisher interface {
	PublishEvents(ctx context.Context, events []apphub.Event) error
	PublishAvailabilityChanged(ctx context.Context, zones []apphub.ZoneDay)
	PublishCalendarChanged(ctx context.Context, version string)
}

// noCache reads MongoDB every time.
type noCache struct{}

func (noCache) Busy(ctx context.Context, keys []apphub.ResourceDay, load func(context.Context, []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error)) (map[apphub.ResourceDay][]apphub.Claim, error) {
	return load(ctx, keys)
}
func (noCache) Touch(context.Context, []apphub.ResourceDay, []apphub.ZoneDay) {}

// Versions fails: without a shared cache no instance can tell another's bookings apart.
func (noCache) Versions(context.Context, []apphub.ResourceDay, []apphub.ZoneDay) ([]string, error) {
	return nil, apphub.Errorf(apphub.EUNAVAILABLE, "no availability cache")
}

type noPublisher struct{}

func (noPublisher) PublishEvents(context.Context, []apphub.Event) error          { return nil }
func (noPublisher) PublishAvailabilityChanged(context.Context, []apphub.ZoneDay) {}
func (noPublisher) PublishCalendarChanged(context.Context, string)               {}

// touch tells the cache which (resource, day) keys the claims with these ids are on, and the
// (zone, day) keys of the zones their resources serve, then publishes those zones for live
// slot grids: called after their MongoDB change and before the answer.
func (s *Service) touch(ctx context.Context, claimIDs ...[]string) {
	seen := make(map[apphub.ResourceDay]bool)
	var keys []apphub.ResourceDay
	for _, ids := range claimIDs {
		for _, id := range ids {
			resource, start, _, err := apphub.ParseClaimID(id)
			if err != nil {
				continue
			}
			if k := (apphub.ResourceDay{Resource: resource, Day: apphub.DayOf(start)}); !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var zones []apphub.ZoneDay
	if cal, err := s.Calendar(ctx); err != nil {
		// Only a service that never loaded its calendar gets here, and it booked nothing.
		s.logger.ErrorContext(ctx, "busy cache: the zones of a change are unknown", "err", err)
	} else {
		for _, k := range keys {
			for _, z := range slots.ResourceZones(cal, k.Resource) {
				zones = append(zones, apphub.ZoneDay{Zone: z, Day: k.Day})
			}
		}
	}
	s.cache.Touch(ctx, keys, zones)
	s.publisher.PublishAvailabilityChanged(ctx, zones)
}
