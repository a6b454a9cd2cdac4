package booking

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/apphub/apphub"
)

// A change is committed by its revision insert; its projection, the busy time it changed and
// its events follow. A writer that stops in between (a crash, a kill) leaves a pending record,
// inserted before the revision: lists read those records and show the committed state at
// once, and the relay of any instance finishes the change — projection, cache, events — so
// that subscribers and hub registrations get every committed change, at least once. The
// revisions are the event log: a record names the revision to publish, which a time checkpoint
// could not (a revision stamped earlier may be inserted later).

// RelayReport says what one pass of the relay did.
type RelayReport struct {
	Finished  int // committed changes whose events the relay published
	Abandoned int // records of changes never committed, removed after the grace
	Waiting   int // changes whose events could not be published yet
}

// Relay finishes the changes other writers left in flight: records older than RelayAfter
// whose revision exists are projected, touched and published, then deleted; records whose
// revision never came are deleted after the grace (their writer gave up long before).
func (s *Service) Relay(ctx context.Context) (RelayReport, error) {
	s.relayMu.Lock()
	defer s.relayMu.Unlock()
	var rep RelayReport
	pending, err := s.store.ListPending(ctx)
	if err != nil {
		return rep, err
	}
	// In version order per appointment, so that events go out in order.
	slices.SortFunc(pending, func(a, b apphub.Pending) int {
		return cmp.Or(strings.Compare(a.AppointmentID, b.AppointmentID), cmp.Compare(a.Version, b.Version))
	})
	now := s.now()
	for _, p := range pending {
		if _, mine := s.inflight.Load(p.ID()); mine || now.Sub(p.CreatedAt) < s.relayAfter {
			continue
		}
		rev, err := s.store.GetRevision(ctx, p.AppointmentID, p.Version)
		switch apphub.ErrorCode(err) {
		case "":
		case apphub.ENOTFOUND:
			if now.Sub(p.CreatedAt) > s.grace {
				s.dropPending(ctx, p)
				rep.Abandoned++
			}
			continue
		default:
			return rep, err
		}
		if rev.Change != apphub.ChangeVoided {
			// Roll the projection forward, then look again: a writer of a later version may
			// have projected it between our read and our write.
			for range 2 {
				if _, err := s.latest(ctx, p.AppointmentID); err != nil && apphub.ErrorCode(err) != apphub.ENOTFOUND {
					return rep, err
				}
			}
			s.touch(ctx, rev.State.Claims)
			if err := s.publisher.PublishEvents(ctx, apphub.EventsOf(rev)); err != nil {
				rep.Waiting++
				continue
			}
			rep.Finished++
			s.logger.InfoContext(ctx, "relay: a change left in flight was finished", "appointment", p.AppointmentID, "version", p.Version)
		}
		s.dropPending(ctx, p)
	}
	return rep, nil
}

// RunRelay runs the relay at once and then every interval until ctx ends.
func (s *Service) RunRelay(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Relay(ctx); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "relay pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// allAppointments returns every appointment: the projections, with the changes in flight
// rolled in, so that a change committed and not yet projected shows at once. The list is the
// caller's own; the read behind it is shared with the callers of the same moment (nextRead).
func (s *Service) allAppointments(ctx context.Context) ([]apphub.Appointment, error) {
	all, err := s.appointmentReads.do(ctx, s.readAppointments)
	return slices.Clone(all), err
}

// readAppointments reads what allAppointments returns.
func (s *Service) readAppointments(ctx context.Context) ([]apphub.Appointment, error) {
	all, err := s.store.ListAppointments(ctx)
	if err != nil {
		return nil, err
	}
	pending, err := s.store.ListPending(ctx)
	if err != nil || len(pending) == 0 {
		return all, err
	}
	at := make(map[string]int, len(all))
	for i, a := range all {
		at[a.ID] = i
	}
	gone := make(map[string]bool)
	for _, p := range pending {
		if _, done := gone[p.AppointmentID]; done {
			continue
		}
		cur, _, err := s.current(ctx, p.AppointmentID)
		switch {
		case apphub.ErrorCode(err) == apphub.ENOTFOUND:
			gone[p.AppointmentID] = true
			continue
		case err != nil:
			return nil, err
		}
		gone[p.AppointmentID] = !cur.Exists()
		if i, ok := at[p.AppointmentID]; ok {
			all[i] = cur.State
		} else if cur.Exists() {
			at[p.AppointmentID] = len(all)
			all = append(all, cur.State)
		}
	}
	return slices.DeleteFunc(all, func(a apphub.Appointment) bool { return gone[a.ID] }), nil
}
