package slots

import (
	"slices"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// What a job joins comes with every slot: a technician working 08:00–18:00 with a job at
// 10:00–11:00 is offered 09:00 (a job after it), 11:00 (a job before it), 08:00 (the start of
// its day) and 17:00 (its end); a recommendation puts the slots beside the job first. With a
// buffer of 15 minutes each side, the neighbours are a quarter of an hour further out.
func TestJoinedSides(t *testing.T) {
	tests := []struct {
		name   string
		buffer time.Duration
		want   map[string]uint8
		best   []string
	}{
		{
			name: "no buffers",
			want: map[string]uint8{"08:00": apphub.JoinedEdgeBefore, "09:00": apphub.JoinedJobAfter, "11:00": apphub.JoinedJobBefore,
				"12:00": 0, "17:00": apphub.JoinedEdgeAfter},
			best: []string{"09:00", "11:00", "08:00", "17:00"},
		},
		{
			name:   "buffers of 15 minutes: a job's lead time reaches the other's",
			buffer: 15 * time.Minute,
			// The job claims 09:45–11:15. 08:15 claims from 08:00 (the day's start); 08:30
			// claims to 09:45, where the job's claims begin; 11:30 claims from 11:15, where
			// they end.
			want: map[string]uint8{"08:15": apphub.JoinedEdgeBefore, "11:30": apphub.JoinedJobBefore, "08:30": apphub.JoinedJobAfter,
				"12:00": 0, "16:45": apphub.JoinedEdgeAfter},
			best: []string{"08:30", "11:30", "08:15", "16:45"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tech := technician("tech-1", "Europe/Paris", "paris", weekdays("08:00", "18:00")...)
			tech.BufferBefore, tech.BufferAfter = tc.buffer, tc.buffer
			cat := hourly
			cat.Step = 15 * time.Minute
			cal := newCalendar(t, []apphub.Resource{tech}, []apphub.Category{cat})
			day := at(t, "2026-05-05T00:00+02:00")
			job, err := Bookable(cal, &Busy{}, BookRequest{Category: cat.ID, Resource: "tech-1", Place: "75011", Start: at(t, "2026-05-05T10:00+02:00"), Now: day.Add(-48 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			busy := &Busy{}
			for _, c := range job.Cells {
				busy.Add(c.ResourceID, c.Start, c.Seat)
			}
			res, err := SearchSlots(cal, busy, Query{Category: cat.ID, Place: "75011", From: day, To: day.Add(24 * time.Hour), Now: day.Add(-48 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]uint8{}
			for _, s := range res.Days[0].Slots {
				got[s.Start.In(mustLoad(t, "Europe/Paris")).Format("15:04")] = s.Resources[0].Joined
			}
			for at, want := range tc.want {
				if j, ok := got[at]; !ok || j != want {
					t.Errorf("%s: joined %04b (offered %v), want %04b", at, j, ok, want)
				}
			}
			var best []string
			for _, r := range apphub.Recommend(res.Days, mustLoad(t, "Europe/Paris"), nil)[:len(tc.best)] {
				best = append(best, r.Slot.Start.In(mustLoad(t, "Europe/Paris")).Format("15:04"))
			}
			if !slices.Equal(best, tc.best) {
				t.Errorf("recommended first %v, want %v", best, tc.best)
			}
		})
	}
}
