package booking_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// A request replayed with its idempotency key gets the original answer exactly: every typed
// refusal with its code, reason, message, field and alternatives — also when the calendar's
// state changed since, so that the replay could no longer compute the same answer.
func TestReplayedRefusalsAreTheOriginalAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := apphub.NewContextWithPrincipal(context.Background(), apphub.Principal{PartyID: "channel-web", Roles: []string{apphub.RolePartner}})
	booked, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("14:00")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		reason string // "" for a validation error with a field
		call   func(key string) error
	}{
		{"validation with a field", "", func(key string) error {
			_, err := e.svc.Book(ctx, booking.NewAppointment{Start: at("10:00"), End: at("09:00"), IdempotencyKey: key})
			return err
		}},
		{"slot taken, with alternatives", apphub.ReasonFullyBooked, func(key string) error {
			_, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("10:00"), IdempotencyKey: key, WithAlternatives: true})
			return err
		}},
		{"outside hours, with alternatives", apphub.ReasonOutsideHours, func(key string) error {
			_, err := e.svc.Hold(ctx, booking.HoldRequest{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("20:00"), IdempotencyKey: key, WithAlternatives: true})
			return err
		}},
		{"hold expired", apphub.ReasonHoldExpired, func(key string) error {
			_, err := e.svc.Book(ctx, booking.NewAppointment{HoldToken: "no-such-hold", IdempotencyKey: key})
			return err
		}},
		{"version conflict", apphub.ReasonVersionConflict, func(key string) error {
			_, err := e.svc.SetStatus(ctx, booking.StatusChange{ID: booked.ID, ExpectedVersion: 7, Status: apphub.StatusConfirmed, IdempotencyKey: key})
			return err
		}},
		{"invalid transition", apphub.ReasonInvalidTransition, func(key string) error {
			_, err := e.svc.SetStatus(ctx, booking.StatusChange{ID: booked.ID, Status: apphub.StatusCompleted, IdempotencyKey: key})
			return err
		}},
		{"reschedule refused, with alternatives", apphub.ReasonFullyBooked, func(key string) error {
			_, err := e.svc.Reschedule(ctx, booking.Reschedule{ID: other.ID, Start: at("10:00"), IdempotencyKey: key, WithAlternatives: true})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := tt.call(tt.name)
			original, ok := errors.AsType[*apphub.Error](first)
			if !ok || original.Reason != tt.reason || (tt.reason == "" && original.Field == "") {
				t.Fatalf("first answer %v, want reason %q", first, tt.reason)
			}
			if tt.reason != apphub.ReasonHoldExpired && tt.reason != apphub.ReasonVersionConflict && tt.reason != apphub.ReasonInvalidTransition && tt.reason != "" && len(original.Alternatives) == 0 {
				t.Fatalf("a refused slot offers no alternatives: %v", first)
			}
			// Change what an answer computed now would say: take the first alternative.
			for _, alt := range original.Alternatives[:min(1, len(original.Alternatives))] {
				if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: alt.Resources[0].ResourceID, Place: "75011", Start: alt.Start}); err != nil {
					t.Fatal(err)
				}
			}
			again, ok := errors.AsType[*apphub.Error](tt.call(tt.name))
			if !ok {
				t.Fatalf("replay is not a refusal")
			}
			want := apphub.Error{Code: original.Code, Reason: original.Reason, Message: original.Message, Field: original.Field, Alternatives: original.Alternatives}
			got := apphub.Error{Code: again.Code, Reason: again.Reason, Message: again.Message, Field: again.Field, Alternatives: again.Alternatives}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("replay answered\n%+v\nwant the original\n%+v", got, want)
			}
		})
	}
}
