package slots

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// A Scope names everything a search reads besides the calendar: the answer is the same with
// only the busy time of its resources on its days (through the look-ahead), its offers
// respect its timing bounds, and every resource offered at a place lists the place's zone
// among its ResourceZones (what a change of that resource's busy time touches).
func TestScopeCoversWhatSearchReads(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 14))
		c := randomCase(rng)
		// Claims far from the window too: before it, and over the look-ahead, where whole
		// days taken move the next dates.
		full := apphub.DayOf(c.query.To).AddDate(0, 0, rng.IntN(3))
		fullDays := rng.IntN(12)
		for _, res := range c.data.Resources {
			for range 30 {
				start := c.query.From.Truncate(15 * time.Minute).Add(time.Duration(rng.IntN(4*24*110)-4*24*10) * 15 * time.Minute)
				c.claims = append(c.claims, refClaim{resource: res.ID, start: start.UTC(), seat: rng.IntN(4)})
			}
			for q := full; q.Before(full.AddDate(0, 0, fullDays)); q = q.Add(15 * time.Minute) {
				for seat := range 4 {
					c.claims = append(c.claims, refClaim{resource: res.ID, start: q, seat: seat})
				}
			}
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			cal, err := apphub.NewCalendar(c.data)
			if err != nil {
				t.Fatalf("generated calendar is invalid: %v", err)
			}
			sc, err := NewScope(cal, c.query)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Resource() != c.query.Resource {
				t.Errorf("scope resource %q, query's %q", sc.Resource(), c.query.Resource)
			}
			if zone := ZoneOf(cal, c.query.Place); sc.Zone() != zone {
				t.Errorf("scope zone %q, ZoneOf %q", sc.Zone(), zone)
			}
			all, window, ahead := &Busy{}, &Busy{}, &Busy{}
			for _, cl := range c.claims {
				all.Add(cl.resource, cl.start, cl.seat)
				if !slices.Contains(sc.Resources(), cl.resource) {
					continue
				}
				if day := apphub.DayOf(cl.start); slices.ContainsFunc(sc.Days(false), day.Equal) {
					window.Add(cl.resource, cl.start, cl.seat)
				}
				if day := apphub.DayOf(cl.start); slices.ContainsFunc(sc.Days(true), day.Equal) {
					ahead.Add(cl.resource, cl.start, cl.seat)
				}
			}
			want, err := SearchSlots(cal, all, c.query)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := SearchSlots(cal, ahead, c.query); !reflect.DeepEqual(got, want) {
				t.Fatalf("with the scope's busy time through the look-ahead\n got %+v\nwant %+v", got, want)
			}
			if got, _ := SearchSlots(cal, window, c.query); !reflect.DeepEqual(got.Days, want.Days) || !reflect.DeepEqual(got.Reasons, want.Reasons) {
				t.Fatalf("with the scope's busy time of the window\n got %+v\nwant %+v", got, want)
			}
			earliest, latest := sc.Timing()
			for _, d := range want.Days {
				for _, s := range d.Slots {
					if s.Start.Before(earliest) || (!latest.IsZero() && s.Start.After(latest)) {
						t.Errorf("slot at %v outside the timing bounds [%v, %v]", s.Start, earliest, latest)
					}
					for _, r := range s.Resources {
						if !slices.Contains(sc.Resources(), r.ResourceID) {
							t.Errorf("slot at %v offers %s, not in the scope's resources %v", s.Start, r.ResourceID, sc.Resources())
						}
						if sc.Zone() != "" && !slices.Contains(ResourceZones(cal, r.ResourceID), sc.Zone()) {
							t.Errorf("%s is offered in zone %s, which its ResourceZones %v miss", r.ResourceID, sc.Zone(), ResourceZones(cal, r.ResourceID))
						}
					}
				}
			}
		})
	}
}
