package apphub_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

func TestEventSequencer(t *testing.T) {
	const (
		created = apphub.EventCreated
		state   = apphub.EventStateChanged
		attrs   = apphub.EventAttributeChanged
		current = "CURRENT"
	)
	ev := func(id string, version int, kind string) apphub.Event {
		return apphub.Event{AppointmentID: id, Version: version, Kind: kind}
	}
	// The revisions of "a" (versions 1 to 6; version 3 a state and an attribute change) and "b".
	revisions := []apphub.Event{ev("a", 1, created), ev("a", 2, attrs), ev("a", 3, state), ev("a", 3, attrs),
		ev("a", 4, state), ev("a", 5, attrs), ev("a", 6, state), ev("b", 1, created), ev("b", 2, state)}

	type step struct {
		wait    time.Duration // the clock advances this much first
		mark    bool          // Mark the event instead of Next
		ev      apphub.Event
		want    []string // "a3 AppointmentStateChangeEvent", in order
		wantErr bool
	}
	tests := []struct {
		name      string
		noResync  bool
		resyncErr bool
		forget    time.Duration
		steps     []step
		resyncs   []string // "a after 1"
		dropped   uint64   // by Next, in all
	}{
		{name: "in order", steps: []step{
			{ev: ev("a", 1, created), want: []string{"a1 " + created}},
			{ev: ev("a", 2, attrs), want: []string{"a2 " + attrs}},
			{ev: ev("b", 1, created), want: []string{"b1 " + created}},
			{ev: ev("a", 3, state), want: []string{"a3 " + state}},
		}},
		{name: "duplicate version and kind dropped", steps: []step{
			{ev: ev("a", 1, created), want: []string{"a1 " + created}},
			{ev: ev("a", 2, attrs), want: []string{"a2 " + attrs}},
			{ev: ev("a", 2, attrs)},
			{ev: ev("a", 1, created)},
			{ev: ev("b", 1, created), want: []string{"b1 " + created}},
		}, dropped: 2},
		{name: "a revision with two kinds delivers both", steps: []step{
			{ev: ev("a", 2, attrs), want: []string{"a2 " + attrs}},
			{ev: ev("a", 3, state), want: []string{"a3 " + state}},
			{ev: ev("a", 3, attrs), want: []string{"a3 " + attrs}},
			{ev: ev("a", 3, state)},
			{ev: ev("a", 2, attrs)},
		}, dropped: 2},
		{name: "a gap is filled from resync, in order", steps: []step{
			{ev: ev("a", 1, created), want: []string{"a1 " + created}},
			{ev: ev("a", 4, state), want: []string{"a2 " + attrs, "a3 " + state, "a3 " + attrs, "a4 " + state}},
			{ev: ev("a", 3, attrs)},
			{ev: ev("a", 4, state)},
			{ev: ev("a", 5, attrs), want: []string{"a5 " + attrs}},
		}, resyncs: []string{"a after 1"}, dropped: 3},
		{name: "a gap ending in a revision with two kinds", steps: []step{
			{ev: ev("a", 1, created), want: []string{"a1 " + created}},
			{ev: ev("a", 3, attrs), want: []string{"a2 " + attrs, "a3 " + state, "a3 " + attrs}},
			{ev: ev("a", 3, state)},
		}, resyncs: []string{"a after 1"}, dropped: 2},
		{name: "a failed resync delivers the newer event anyway", resyncErr: true, steps: []step{
			{ev: ev("a", 1, created), want: []string{"a1 " + created}},
			{ev: ev("a", 4, state), want: []string{"a4 " + state}, wantErr: true},
			{ev: ev("a", 3, state)},
			{ev: ev("a", 5, attrs), want: []string{"a5 " + attrs}},
		}, resyncs: []string{"a after 1"}, dropped: 1},
		{name: "without resync a gap is not filled", noResync: true, steps: []step{
			{ev: ev("a", 1, created), want: []string{"a1 " + created}},
			{ev: ev("a", 4, state), want: []string{"a4 " + state}},
		}},
		{name: "an appointment seen first at a later version starts there", steps: []step{
			{ev: ev("a", 4, state), want: []string{"a4 " + state}},
			{ev: ev("a", 3, attrs)},
			{ev: ev("a", 5, attrs), want: []string{"a5 " + attrs}},
		}, dropped: 1},
		{name: "a marked version drops its kind and what is older", steps: []step{
			{mark: true, ev: ev("a", 3, current)},
			{ev: ev("a", 2, attrs)},
			{ev: ev("a", 3, state), want: []string{"a3 " + state}},
			{ev: ev("a", 3, state)},
			{ev: ev("a", 5, attrs), want: []string{"a4 " + state, "a5 " + attrs}},
		}, resyncs: []string{"a after 3"}, dropped: 3},
		{name: "an appointment idle for the forget period is forgotten", forget: time.Hour, steps: []step{
			{ev: ev("a", 1, created), want: []string{"a1 " + created}},
			{ev: ev("b", 1, created), want: []string{"b1 " + created}},
			{wait: 50 * time.Minute, ev: ev("b", 2, state), want: []string{"b2 " + state}},
			{wait: 11 * time.Minute, ev: ev("a", 4, state), want: []string{"a4 " + state}},
			{ev: ev("a", 3, state)},
			{wait: 48 * time.Minute, ev: ev("b", 2, state)},
			{wait: 2 * time.Minute, ev: ev("b", 2, state), want: []string{"b2 " + state}},
		}, dropped: 2},
		{name: "an appointment with events keeps being remembered", forget: time.Hour, steps: []step{
			{ev: ev("a", 1, created), want: []string{"a1 " + created}},
			{wait: 40 * time.Minute, ev: ev("a", 2, attrs), want: []string{"a2 " + attrs}},
			{wait: 40 * time.Minute, ev: ev("a", 4, state), want: []string{"a3 " + state, "a3 " + attrs, "a4 " + state}},
			{wait: 59 * time.Minute, ev: ev("a", 4, state)},
		}, resyncs: []string{"a after 2"}, dropped: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			var resyncs []string
			resync := func(_ context.Context, id string, after int) ([]apphub.Event, error) {
				resyncs = append(resyncs, fmt.Sprintf("%s after %d", id, after))
				if tt.resyncErr {
					return nil, errors.New("MongoDB is down")
				}
				var out []apphub.Event
				for _, e := range revisions {
					if e.AppointmentID == id && e.Version > after {
						out = append(out, e)
					}
				}
				return out, nil
			}
			if tt.noResync {
				resync = nil
			}
			seq := apphub.NewEventSequencer(resync, tt.forget, func() time.Time { return now })
			for i, st := range tt.steps {
				now = now.Add(st.wait)
				if st.mark {
					seq.Mark(st.ev.AppointmentID, st.ev.Version, st.ev.Kind)
					continue
				}
				out, err := seq.Next(ctx, st.ev)
				if (err != nil) != st.wantErr {
					t.Fatalf("step %d: error %v, want one: %v", i, err, st.wantErr)
				}
				var got []string
				for _, e := range out {
					got = append(got, fmt.Sprintf("%s%d %s", e.AppointmentID, e.Version, e.Kind))
				}
				if !slices.Equal(got, st.want) {
					t.Fatalf("step %d (%s v%d %s): delivered %q, want %q", i, st.ev.AppointmentID, st.ev.Version, st.ev.Kind, got, st.want)
				}
			}
			if !slices.Equal(resyncs, tt.resyncs) {
				t.Errorf("resyncs %q, want %q", resyncs, tt.resyncs)
			}
			if seq.Dropped() != tt.dropped {
				t.Errorf("dropped %d, want %d", seq.Dropped(), tt.dropped)
			}
		})
	}
}
