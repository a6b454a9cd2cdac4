package booking

import (
	"context"

	"github.com/apphub/apphub"
)

// BusyCache keeps busy time (claims) per apphub.DayKey outside MongoDB, derived and rebuildable: it
// never decides a booking. Busy answers from the cache where it is current and calls load for
// the keys it lacks, keeping what load returns unless a booking touched those keys meanwhile.
// Touch is called by the booking path after its MongoDB commit and before it answers; once it
// returned, no Busy that starts afterwards may answer without that commit's claims.
// Implementations must fall back to load when their store is unreachable, and Touch must then
// make sure stale entries are not used once the store is back.
type BusyCache interface {
	Busy(ctx context.Context, keys []apphub.DayKey, load func(ctx context.Context, keys []apphub.DayKey) (map[apphub.DayKey][]apphub.Claim, error)) (map[apphub.DayKey][]apphub.Claim, error)
	Touch(ctx context.Context, keys []apphub.DayKey)
}

// Publisher receives the events of every commit this instance makes, in version order per
// appointment, and the calendar's changes. It must not block the request for long: delivery to
// other instances is its business.
type Publisher interface {
	PublishEvents(ctx context.Context, events []apphub.Event)
	PublishCalendarChanged(ctx context.Context, version string)
}

// noCache reads MongoDB every time.
type noCache struct{}

func (noCache) Busy(ctx context.Context, keys []apphub.DayKey, load func(context.Context, []apphub.DayKey) (map[apphub.DayKey][]apphub.Claim, error)) (map[apphub.DayKey][]apphub.Claim, error) {
	return load(ctx, keys)
}
func (noCache) Touch(context.Context, []apphub.DayKey) {}

type noPublisher struct{}

func (noPublisher) PublishEvents(context.Context, []apphub.Event)  {}
func (noPublisher) PublishCalendarChanged(context.Context, string) {}

// touch tells the cache which (resource, day) keys the claims with these ids are on: called
// after their MongoDB change and before the answer.
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
	if len(keys) > 0 {
		s.cache.Touch(context.WithoutCancel(ctx), keys)
	}
}
