// Package resolvers is the GraphQL transport: hand-written resolvers that convert GraphQL
// input, call the booking service and convert its answer back. Domain error codes are mapped
// to `extensions.code` (queries) or typed payload errors (mutations) here, once. Who calls is
// the principal in the request's context (put there by the HTTP middleware, or by a
// websocket's connection_init, see auth.go); booking decides what it may do.
package resolvers

import (
	"context"
	"log/slog"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// Service is what the resolvers need from the booking service.
type Service interface {
	Installation(ctx context.Context) (apphub.Installation, error)
	CalendarAndVersion(ctx context.Context) (*apphub.Calendar, string, error)
	BrowseCalendar(ctx context.Context) (*apphub.Calendar, error)
	SaveCalendar(ctx context.Context, changes apphub.CalendarData, progress func(done, total int)) error
	Search(ctx context.Context, q booking.SlotQuery) (*booking.SlotResult, error)
	IsCurrent(ctx context.Context, q booking.SlotQuery, version string) (bool, error)

	Hold(ctx context.Context, req booking.HoldRequest) (apphub.Hold, error)
	ReadHold(ctx context.Context, token string) (apphub.Hold, error)
	Book(ctx context.Context, req booking.NewAppointment) (apphub.Appointment, error)
	Reschedule(ctx context.Context, req booking.Reschedule) (apphub.Appointment, error)
	SetStatus(ctx context.Context, req booking.StatusChange) (apphub.Appointment, error)
	Update(ctx context.Context, u booking.Update) (apphub.Appointment, error)

	Appointment(ctx context.Context, id string) (apphub.Appointment, error)
	FindAppointments(ctx context.Context, q booking.AppointmentQuery) ([]apphub.Appointment, error)
	History(ctx context.Context, id string) ([]apphub.Revision, error)
	CalendarLink(ctx context.Context, id string) (booking.CalendarLink, error)
	Events(ctx context.Context, id string, after int) ([]apphub.Event, error)

	SearchTimeSlots(ctx context.Context) ([]apphub.SearchTimeSlot, error)
	SearchTimeSlot(ctx context.Context, id string) (apphub.SearchTimeSlot, error)

	// MayRead reports whether p may see a: the subscriptions send only such events.
	MayRead(ctx context.Context, p apphub.Principal, a apphub.Appointment) bool

	CreateAPIKey(ctx context.Context, req booking.NewAPIKey) (string, apphub.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) (apphub.APIKey, error)
	APIKeys(ctx context.Context) ([]apphub.APIKey, error)

	// The waitlist: booking decides who sees which entries (another party's is not found).
	JoinWaitlist(ctx context.Context, req booking.JoinWaitlist) (booking.WaitlistView, error)
	WaitlistEntries(ctx context.Context) ([]booking.WaitlistView, error)
	WaitlistEntry(ctx context.Context, id string) (booking.WaitlistView, error)
	LeaveWaitlist(ctx context.Context, id string) (booking.WaitlistView, error)
	AcceptOffer(ctx context.Context, entryID string) (apphub.Appointment, error)
	DeclineOffer(ctx context.Context, entryID string) (booking.WaitlistView, error)
}

// CalendarPath is where the hub serves calendar files by link: CalendarPath + token + ".ics".
const CalendarPath = "/calendar/"

// Resolver is the root resolver.
type Resolver struct {
	Service Service
	Version string
	// PublicURL is the hub's public URL (--public-url), which links start with; "" makes them
	// relative to the hub.
	PublicURL string
	// Events feeds the subscriptions; without it they answer UNAVAILABLE.
	Events EventSource
	Logger *slog.Logger

	// What the subscriptions share (live.go).
	live liveState
}
