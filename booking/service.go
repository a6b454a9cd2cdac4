package booking

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/apphub/apphub"
)

// Store is what the booking service needs from its database.
type Store interface {
	Installation(ctx context.Context) (apphub.Installation, error)
	CalendarVersion(ctx context.Context) (string, error)
	LoadCalendar(ctx context.Context) (apphub.CalendarData, string, error)
	SaveCalendar(ctx context.Context, d apphub.CalendarData, progress func(done, total int)) error
}

// Options tune a Service; the zero value of a field means its default.
type Options struct {
	// CalendarCheck is how often the service asks the store whether the calendar changed on
	// another instance (one _id lookup). Default 2s.
	CalendarCheck time.Duration
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the one place for business rules: every transport calls it.
type Service struct {
	store  Store
	now    func() time.Time
	logger *slog.Logger

	calendarCheck time.Duration
	calMu         sync.Mutex // serializes calendar loads; readers take the snapshot under it
	cal           *apphub.Calendar
	calVersion    string
	calCheckedAt  time.Time
}

// NewService returns a service on store.
func NewService(store Store, opts Options) *Service {
	s := &Service{store: store, now: opts.Now, logger: opts.Logger, calendarCheck: opts.CalendarCheck}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.calendarCheck <= 0 {
		s.calendarCheck = 2 * time.Second
	}
	return s
}

// Installation returns the identity of the hub's data.
func (s *Service) Installation(ctx context.Context) (apphub.Installation, error) {
	return s.store.Installation(ctx)
}
