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
	if err := requireRole(apphub.PrincipalFromContext(ctx), apphub.RoleAdmin); err != nil {
		return err
	}
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
		s.KickWaitlist() // new shifts or capacity free time too
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
		s.KickWaitlist()
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
