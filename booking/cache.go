package booking

import (
	"context"
	"slices"

	"github.com/apphub/apphub"
)

// BusyCache keeps busy time (claims) per apphub.DayKey outside MongoDB, derived and rebuildable: it
// never decides a booking. Busy answers from the cache where it is current and calls load for
// the keys it lacks, keeping what load returns unless a booking touched those keys meanwhile.
// Touch is called by the booking path after its MongoDB commit and before it answers, with the
// (resource, day) keys of the claims changed and the (zone, day) keys of the zones those
// resources serve; once it returned, no Busy that starts afterwards may answer without that
// commit's claims, and no Version that starts afterwards gives a version given before.
// Implementations must fall back to load when their store is unreachable (Version then fails),
// and Touch must then make sure stale entries are not used once the store is back.
type BusyCache interface {
	Busy(ctx context.Context, keys []apphub.DayKey, load func(ctx context.Context, keys []apphub.DayKey) (map[apphub.DayKey][]apphub.Claim, error)) (map[apphub.DayKey][]apphub.Claim, error)
	Touch(ctx context.Context, keys, zones []apphub.DayKey)
	Version(ctx context.Context, keys, zones []apphub.DayKey) (string, error)
}

// Publisher receives the events of every commit this instance makes, in version order per
// appointment, the (zone, UTC day) keys whose busy time a booking, hold or release changed
// (after the cache was told), and the calendar's changes. It must not block the request for
// long: delivery to other instances is its business. PublishEvents reports whether the events
// reached the other instances; until they did, the commit stays in flight and is published
// again (Relay).
type Publisher interface {
	PublishEvents(ctx context.Context, events []apphub.Event) error
	PublishAvailabilityChanged(ctx context.Context, zones []apphub.DayKey)
	PublishCalendarChanged(ctx context.Context, version string)
}

// noCache reads MongoDB every time.
type noCache struct{}

func (noCache) Busy(ctx context.Context, keys []apphub.DayKey, load func(context.Context, []apphub.DayKey) (map[apphub.DayKey][]apphub.Claim, error)) (map[apphub.DayKey][]apphub.Claim, error) {
	return load(ctx, keys)
}
func (noCache) Touch(context.Context, []apphub.DayKey, []apphub.DayKey) {}

// Version fails: without a shared cache no instance can tell another's bookings apart.
func (noCache) Version(context.Context, []apphub.DayKey, []apphub.DayKey) (string, error) {
	return "", apphub.Errorf(apphub.EUNAVAILABLE, "no availability cache")
}

type noPublisher struct{}

func (noPublisher) PublishEvents(context.Context, []apphub.Event) error         { return nil }
func (noPublisher) PublishAvailabilityChanged(context.Context, []apphub.DayKey) {}
func (noPublisher) PublishCalendarChanged(context.Context, string)              {}

// touch tells the cache which (resource, day) keys the claims with these ids are on, and the
// (zone, day) keys of the zones their resources serve, then publishes those zones for live
// slot grids: called after their MongoDB change and before the answer.
func (s *Service) touch(ctx context.Context, claimIDs ...[]string) {
	seen := make(map[apphub.DayKey]bool)
	var keys []apphub.DayKey
	for _, ids := range claimIDs {
		for _, id := range ids {
			resource, start, _, err := apphub.ParseClaimID(id)
			if err != nil {
				continue
			}
			if k := (apphub.DayKey{Resource: resource, Day: apphub.DayOf(start)}); !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var zones []apphub.DayKey
	if cal, err := s.Calendar(ctx); err != nil {
		// Only a service that never loaded its calendar gets here, and it booked nothing.
		s.logger.ErrorContext(ctx, "busy cache: the zones of a change are unknown", "err", err)
	} else {
		for _, k := range keys {
			for _, z := range zonesOf(cal, k.Resource) {
				zones = append(zones, apphub.DayKey{Resource: z, Day: k.Day})
			}
		}
	}
	s.cache.Touch(ctx, keys, zones)
	s.publisher.PublishAvailabilityChanged(ctx, zones)
}

// zonesOf lists the zones a search may find a resource in: those it serves and its place's.
func zonesOf(cal *apphub.Calendar, resourceID string) []string {
	res, found := cal.Resource(resourceID)
	if !found {
		return nil
	}
	zones := res.Zones
	if p, found := cal.Place(res.PlaceID); found && p.Zone != "" {
		zones = append(slices.Clip(zones), p.Zone)
	}
	return zones
}
