package apphub_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

var paris, _ = time.LoadLocation("Europe/Paris")

// slotAt is an hour-long slot at hh:mm on 2027-03-0d, Paris time, with its resources.
func slotAt(d int, hhmm string, resources ...apphub.SlotResource) apphub.Slot {
	t, _ := time.ParseInLocation("2006-01-02 15:04", fmt.Sprintf("2027-03-%02d %s", d, hhmm), paris)
	return apphub.Slot{Start: t.UTC(), End: t.Add(time.Hour).UTC(), Resources: resources, Capacity: len(resources)}
}

func res(id string, joined uint8) apphub.SlotResource {
	return apphub.SlotResource{ResourceID: id, Capacity: 1, Joined: joined}
}

func codesOf(r apphub.Recommendation) []string {
	var out []string
	for _, x := range r.Reasons {
		out = append(out, x.Code)
	}
	return out
}

func TestRecommend(t *testing.T) {
	days := []apphub.SlotDay{
		{Date: "2027-03-01", Slots: []apphub.Slot{
			slotAt(1, "08:00", res("a", apphub.JoinedEdgeBefore)),
			slotAt(1, "10:00", res("a", 0), res("b", apphub.JoinedJobAfter)),
			slotAt(1, "13:00", res("a", apphub.JoinedJobBefore|apphub.JoinedJobAfter)),
			slotAt(1, "15:00", res("a", 0)),
		}},
		{Date: "2027-03-03", Slots: []apphub.Slot{
			slotAt(3, "10:00", res("a", 0)),
			slotAt(3, "17:00", res("b", apphub.JoinedJobBefore|apphub.JoinedEdgeAfter)),
		}},
	}
	type ranked struct {
		at       string
		resource string
		score    int
		reasons  []string
	}
	tests := []struct {
		name      string
		preferred []apphub.PreferredTime
		want      []ranked
	}{
		{
			name: "between two jobs first, next to one, a day's edge, the rest earliest first",
			want: []ranked{
				{"03-01 13:00", "a", 60 + 20, []string{apphub.RecommendNextToJob, apphub.RecommendCompactDay, apphub.RecommendEarliest}},
				{"03-01 10:00", "b", 30 + 20, []string{apphub.RecommendNextToJob, apphub.RecommendEarliest}},
				{"03-03 17:00", "b", 40 - 2, []string{apphub.RecommendNextToJob, apphub.RecommendCompactDay}},
				{"03-01 08:00", "a", 10 + 20, []string{apphub.RecommendEarliest}},
				{"03-01 15:00", "a", 20, []string{apphub.RecommendEarliest}},
				{"03-03 10:00", "a", -2, nil},
			},
		},
		{
			name:      "a preferred time outweighs the rest: Wednesday mornings",
			preferred: []apphub.PreferredTime{{Weekdays: []time.Weekday{time.Wednesday}, From: "09:00", To: "12:00"}},
			want: []ranked{
				{"03-03 10:00", "a", -2 + 120, []string{apphub.RecommendPreferredTime}},
				{"03-01 13:00", "a", 80, []string{apphub.RecommendNextToJob, apphub.RecommendCompactDay, apphub.RecommendEarliest}},
				{"03-01 10:00", "b", 50, []string{apphub.RecommendNextToJob, apphub.RecommendEarliest}},
				{"03-03 17:00", "b", 38, []string{apphub.RecommendNextToJob, apphub.RecommendCompactDay}},
				{"03-01 08:00", "a", 30, []string{apphub.RecommendEarliest}},
				{"03-01 15:00", "a", 20, []string{apphub.RecommendEarliest}},
			},
		},
		{
			name:      "a job must end within the preferred time: 13:00–14:00 is, 15:00–16:00 is not",
			preferred: []apphub.PreferredTime{{From: "12:00", To: "14:00"}, {From: "15:00", To: "15:30"}},
			want: []ranked{
				{"03-01 13:00", "a", 200, []string{apphub.RecommendPreferredTime, apphub.RecommendNextToJob, apphub.RecommendCompactDay, apphub.RecommendEarliest}},
				{"03-01 10:00", "b", 50, nil}, {"03-03 17:00", "b", 38, nil}, {"03-01 08:00", "a", 30, nil}, {"03-01 15:00", "a", 20, nil}, {"03-03 10:00", "a", -2, nil},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := apphub.Recommend(days, paris, tc.preferred)
			if len(got) != len(tc.want) {
				t.Fatalf("%d recommendations, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				at := g.Slot.Start.In(paris).Format("01-02 15:04")
				if at != w.at || g.Resource != w.resource || g.Score != w.score || (w.reasons != nil && !slices.Equal(codesOf(g), w.reasons)) {
					t.Errorf("#%d: %s %s %d %v, want %s %s %d %v", i, at, g.Resource, g.Score, codesOf(g), w.at, w.resource, w.score, w.reasons)
				}
			}
		})
	}
}

// A crew's slot is as good as what all its members' jobs join, and names no resource: it is
// booked with its crew.
func TestRecommendCrew(t *testing.T) {
	together := slotAt(1, "09:00", res("s1", apphub.JoinedJobBefore|apphub.JoinedEdgeAfter), res("t1", apphub.JoinedJobBefore))
	together.Crew = []string{"t1", "s1"}
	apart := slotAt(1, "11:00", res("s1", apphub.JoinedJobBefore), res("t1", apphub.JoinedJobAfter))
	apart.Crew = []string{"t1", "s1"}
	got := apphub.Recommend([]apphub.SlotDay{{Date: "2027-03-01", Slots: []apphub.Slot{apart, together}}}, paris, nil)
	if got[0].Slot.Start != together.Start || got[0].Resource != "" || got[0].Score != 30+20 || got[1].Score != 20 {
		t.Fatalf("crew ranking: %+v", got)
	}
}

// Properties over random answers: the ranking is the same whatever the order of the slots and
// of their resources; it is sorted by score; and a slot whose resource has a job right before
// or after outranks an otherwise equal slot of the same day without one.
func TestRecommendProperties(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var days []apphub.SlotDay
		for d := 1; d <= 1+rng.IntN(4); d++ {
			day := apphub.SlotDay{Date: fmt.Sprintf("2027-03-%02d", d)}
			for h := 8; h < 18; h++ {
				if rng.IntN(2) == 0 {
					continue
				}
				var rs []apphub.SlotResource
				for _, id := range []string{"a", "b", "c"} {
					if rng.IntN(2) == 0 {
						rs = append(rs, res(id, uint8(rng.IntN(16))))
					}
				}
				if len(rs) > 0 {
					day.Slots = append(day.Slots, slotAt(d, fmt.Sprintf("%02d:00", h), rs...))
				}
			}
			days = append(days, day)
		}
		var preferred []apphub.PreferredTime
		if rng.IntN(2) == 0 {
			preferred = []apphub.PreferredTime{{Weekdays: []time.Weekday{time.Weekday(rng.IntN(7))}, From: "10:00", To: "13:00"}}
		}
		want := apphub.Recommend(days, paris, preferred)

		shuffled := make([]apphub.SlotDay, len(days))
		for i, d := range days {
			shuffled[i] = apphub.SlotDay{Date: d.Date, Slots: slices.Clone(d.Slots)}
			rng.Shuffle(len(shuffled[i].Slots), func(a, b int) {
				shuffled[i].Slots[a], shuffled[i].Slots[b] = shuffled[i].Slots[b], shuffled[i].Slots[a]
			})
			for k := range shuffled[i].Slots {
				rs := slices.Clone(shuffled[i].Slots[k].Resources)
				rng.Shuffle(len(rs), func(a, b int) { rs[a], rs[b] = rs[b], rs[a] })
				shuffled[i].Slots[k].Resources = rs
			}
		}
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		got := apphub.Recommend(shuffled, paris, preferred)
		for i := range want {
			if got[i].Slot.Start != want[i].Slot.Start || got[i].Resource != want[i].Resource || got[i].Score != want[i].Score ||
				!reflect.DeepEqual(got[i].Reasons, want[i].Reasons) {
				t.Fatalf("seed %d: #%d %+v after shuffling, %+v before", seed, i, got[i], want[i])
			}
		}
		if !slices.IsSortedFunc(want, func(a, b apphub.Recommendation) int { return b.Score - a.Score }) {
			t.Fatalf("seed %d: not sorted by score", seed)
		}
		// A job next door is worth more than anything but a preferred time and the first day.
		for _, a := range want {
			for _, b := range want {
				ja, jb := joinedOf(a), joinedOf(b)
				sameDay := a.Slot.Start.In(paris).YearDay() == b.Slot.Start.In(paris).YearDay()
				if sameDay && len(preferred) == 0 && ja&^jb == apphub.JoinedJobBefore && jb&^ja == 0 && a.Score <= b.Score {
					t.Fatalf("seed %d: %+v (a job before it) does not outrank %+v", seed, a, b)
				}
			}
		}
	}
}

func joinedOf(r apphub.Recommendation) uint8 {
	for _, x := range r.Slot.Resources {
		if x.ResourceID == r.Resource {
			return x.Joined
		}
	}
	return 0
}

func TestValidatePreferredTimes(t *testing.T) {
	for _, tc := range []struct {
		prefs []apphub.PreferredTime
		field string
	}{
		{[]apphub.PreferredTime{{From: "09:00", To: "12:00"}, {Weekdays: []time.Weekday{time.Saturday}, From: "10:00", To: "24:00"}}, ""},
		{[]apphub.PreferredTime{{From: "12:00", To: "09:00"}}, "preferredTimes[0].end"},
		{[]apphub.PreferredTime{{From: "09:00", To: "10:00"}, {From: "9h", To: "10:00"}}, "preferredTimes[1].start"},
		{[]apphub.PreferredTime{{Weekdays: []time.Weekday{7}, From: "09:00", To: "10:00"}}, "preferredTimes[0].weekdays"},
	} {
		err := apphub.ValidatePreferredTimes(tc.prefs)
		if e, _ := err.(*apphub.Error); (tc.field == "" && err != nil) || (tc.field != "" && (e == nil || e.Field != tc.field)) {
			t.Errorf("%+v: %v, want field %q", tc.prefs, err, tc.field)
		}
	}
}
