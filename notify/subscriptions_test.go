package notify_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/notify"
)

// A registration answered before a commit receives that commit's events, however soon the
// commit follows it: the notifier reads the registrations after it has received an event, so
// the list it uses holds every registration answered before the event's commit. Here the
// notifier has just read the list when each listener registers, and the next change is
// committed at once, well within the second an older notifier reused its list for.
func TestRegistrationReceivesEventsCommittedRightAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := newListener(t, nil)
	e.subscribe(first.srv.URL, "")
	read := make(chan struct{}, 16)
	n, _ := e.notifier(e.options(func(o *notify.Options) {
		o.Subscriptions = func(ctx context.Context) ([]apphub.EventSubscription, error) {
			subs, err := e.svc.Subscriptions(ctx)
			select {
			case read <- struct{}{}:
			default:
			}
			return subs, err
		}
	}))
	e.consume(n)

	ctx := asAdmin()
	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	a, err := e.svc.Book(ctx, booking.NewAppointment{Start: start, End: start.Add(time.Hour), Description: "fibre <b>&</b> install"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-read: // the notifier holds a list read just now
	case <-time.After(10 * time.Second):
		t.Fatal("the notifier never read the subscriptions")
	}

	// Each step registers a listener, then commits the next version at once.
	steps := []struct {
		change func(id string) (apphub.Appointment, error)
	}{
		{func(id string) (apphub.Appointment, error) {
			return e.svc.Change(ctx, booking.Change{ID: id, Status: apphub.StatusConfirmed})
		}},
		{func(id string) (apphub.Appointment, error) {
			s := start.Add(24 * time.Hour)
			return e.svc.Reschedule(ctx, booking.Reschedule{ID: id, Start: s, End: s.Add(time.Hour)})
		}},
		{func(id string) (apphub.Appointment, error) {
			return e.svc.Change(ctx, booking.Change{ID: id, Status: apphub.StatusCancelled, StatusReason: "fixed"})
		}},
	}
	var late []*listener // late[i] registered just before version i+2 was committed
	for _, step := range steps {
		l := newListener(t, nil)
		e.subscribe(l.srv.URL, "")
		late = append(late, l)
		if a, err = step.change(a.ID); err != nil {
			t.Fatal(err)
		}
	}

	eventually(t, 10*time.Second, "every event at the first listener", func() bool { return len(first.accepted()) >= 4 })
	checkLifecycle(t, first.accepted(), a.ID, "")
	// late[i] must get versions i+2 to 4; what it got of older versions does not matter.
	missing := func(i int) []int {
		var got, out []int
		for _, r := range late[i].accepted() {
			got = append(got, r.version())
		}
		for v := i + 2; v <= 4; v++ {
			if !slices.Contains(got, v) {
				out = append(out, v)
			}
		}
		return out
	}
	deadline := time.Now().Add(5 * time.Second)
	for i := range late {
		for len(missing(i)) > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if m := missing(i); len(m) > 0 {
			t.Errorf("the listener registered before version %d did not get versions %v", i+2, m)
		}
	}
}
