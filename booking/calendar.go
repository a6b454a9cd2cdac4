package booking

import (
	"context"
	"time"

	"github.com/apphub/apphub"
)

// Calendar returns the current calendar snapshot. It is kept in memory: at most every
// CalendarCheck the service looks up the calendar's version and reloads when another
// instance changed it. When that look-up fails, the snapshot in memory keeps serving.
func (s *Service) Calendar(ctx context.Context) (*apphub.Calendar, error) {
	cal, _, err := s.CalendarAndVersion(ctx)
	return cal, err
}

// CalendarAndVersion is Calendar with the version token of the snapshot, read together.
func (s *Service) CalendarAndVersion(ctx context.Context) (*apphub.Calendar, string, error) {
	s.calMu.Lock()
	defer s.calMu.Unlock()
	cal, err := s.calendarLocked(ctx)
	return cal, s.calVersion, err
}

func (s *Service) calendarLocked(ctx context.Context) (*apphub.Calendar, error) {
	now := s.now()
	if s.cal != nil && now.Sub(s.calCheckedAt) < s.calendarCheck {
		return s.cal, nil
	}
	if s.cal != nil {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		version, err := s.store.CalendarVersion(cctx)
		cancel()
		if err != nil {
			s.logger.WarnContext(ctx, "calendar version check failed; serving the calendar in memory", "err", err)
			s.calCheckedAt = now
			return s.cal, nil
		}
		if version == s.calVersion {
			s.calCheckedAt = now
			return s.cal, nil
		}
	}
	return s.reloadCalendarLocked(ctx, now)
}

func (s *Service) reloadCalendarLocked(ctx context.Context, now time.Time) (*apphub.Calendar, error) {
	d, version, err := s.store.LoadCalendar(ctx)
	if err != nil {
		if s.cal != nil {
			s.logger.WarnContext(ctx, "calendar reload failed; serving the calendar in memory", "err", err)
			return s.cal, nil
		}
		return nil, err
	}
	cal, err := apphub.NewCalendar(d)
	if err != nil {
		// Only validated data is written, so this is a bug or a hand edit of the database.
		return nil, apphub.WrapError(apphub.EINTERNAL, err, "the stored calendar is invalid")
	}
	s.cal, s.calVersion, s.calCheckedAt = cal, version, now
	return cal, nil
}

// SaveCalendar validates changes together with the stored calendar (each item's fields, and
// the references between items) and writes them. Nothing is written when anything is invalid.
// progress, if not nil, is called after each item written.
func (s *Service) SaveCalendar(ctx context.Context, changes apphub.CalendarData, progress func(done, total int)) error {
	if err := validateItems(changes); err != nil {
		return err
	}
	current, _, err := s.store.LoadCalendar(ctx)
	if err != nil {
		return err
	}
	if _, err := apphub.NewCalendar(current.Merge(changes)); err != nil {
		return err
	}
	if err := s.store.SaveCalendar(ctx, changes, progress); err != nil {
		return err
	}
	s.calMu.Lock()
	_, err = s.reloadCalendarLocked(ctx, s.now())
	version := s.calVersion
	s.calMu.Unlock()
	if err == nil {
		s.publisher.PublishCalendarChanged(ctx, version)
	}
	return err
}

// CalendarChanged tells the service that another instance changed the calendar: the next
// call reloads it instead of waiting for its periodic check.
func (s *Service) CalendarChanged(version string) {
	s.calMu.Lock()
	defer s.calMu.Unlock()
	if version != s.calVersion {
		s.calCheckedAt = time.Time{}
	}
}

// validateItems checks each item on its own, so that an error names the field of the item the
// caller sent rather than its position in the merged calendar.
func validateItems(d apphub.CalendarData) error {
	for i := range d.Resources {
		if err := d.Resources[i].Validate(); err != nil {
			return err
		}
	}
	for i := range d.Categories {
		if err := d.Categories[i].Validate(); err != nil {
			return err
		}
	}
	for i := range d.Zones {
		if err := d.Zones[i].Validate(); err != nil {
			return err
		}
	}
	for i := range d.Places {
		if err := d.Places[i].Validate(); err != nil {
			return err
		}
	}
	for i := range d.HolidayCalendars {
		if err := d.HolidayCalendars[i].Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Search returns the free slots for q on the current calendar and the claims in MongoDB (one
// scan). q.Now defaults to the service's clock. Every claim present counts as busy: a hold's
// until the reaper frees it, so that search never offers time a booking would be refused.
func (s *Service) Search(ctx context.Context, q SlotQuery) (*SlotResult, error) {
	cal, err := s.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	if q.Now.IsZero() {
		q.Now = s.now()
	}
	// Only the resources that may serve the search matter; their busy time over the window,
	// widened by what a slot starting in it may occupy, comes from the cache.
	e, err := newEngine(cal, nil, q.Category, q.Place, q.Resource, q.Now)
	if err != nil {
		return nil, err
	}
	var keys []apphub.DayKey
	last := apphub.DayOf(q.To.Add(apphub.MaxShift + apphub.MaxBuffer))
	for _, r := range e.resources {
		for d := apphub.DayOf(q.From.Add(-apphub.MaxBuffer)); !d.After(last); d = d.Add(24 * time.Hour) {
			keys = append(keys, apphub.DayKey{Resource: r.res.ID, Day: d})
		}
	}
	days, err := s.cache.Busy(ctx, keys, s.loadBusy)
	if err != nil {
		return nil, err
	}
	busy := &Busy{}
	for _, claims := range days {
		for _, c := range claims {
			busy.Add(c.Resource, c.Start, c.Seat)
		}
	}
	return SearchSlots(cal, busy, q)
}

// loadBusy reads the claims of keys from MongoDB: one scan over the days they span.
func (s *Service) loadBusy(ctx context.Context, keys []apphub.DayKey) (map[apphub.DayKey][]apphub.Claim, error) {
	out := make(map[apphub.DayKey][]apphub.Claim, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	from, to := keys[0].Day, keys[0].Day
	for _, k := range keys {
		out[k] = nil
		from, to = minTime(from, k.Day), maxTime(to, k.Day)
	}
	claims, err := s.store.ScanClaims(ctx, from, to.Add(24*time.Hour))
	if err != nil {
		return nil, err
	}
	for _, c := range claims {
		k := apphub.DayKey{Resource: c.Resource, Day: apphub.DayOf(c.Start)}
		if cs, wanted := out[k]; wanted {
			out[k] = append(cs, c)
		}
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
