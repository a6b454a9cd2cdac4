package booking_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// ChangeWith builds a change from the current state and commits it as one revision: without a
// pinned version it is built again on the new state when a concurrent change wins; with one, it
// fails with VERSION_CONFLICT; a refusal of its builder or of a status move writes nothing and
// takes no time.
func TestChangeWith(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	a, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("concurrent changes are built again on the new state", func(t *testing.T) {
		wins, errs := race(8, func(i int) error {
			_, err := e.svc.ChangeWith(ctx, a.ID, func(cur apphub.Appointment) (booking.Change, error) {
				return booking.Change{Update: booking.Update{Attributes: map[string]json.RawMessage{fmt.Sprintf("x%d", i): json.RawMessage(`1`)}}}, nil
			})
			return err
		})
		onlyRefusals(t, errs, apphub.ReasonVersionConflict) // only when one kept losing, as a conflict
		for _, err := range errs {
			if apphub.ErrorCode(err) != apphub.ECONFLICT {
				t.Fatalf("a change that named no version failed with %v", err)
			}
		}
		cur, _ := e.svc.Appointment(ctx, a.ID)
		if wins == 0 || cur.Version != 1+wins || len(cur.Attributes) != wins {
			t.Fatalf("%d changes went through; the appointment is at version %d with %d attributes", wins, cur.Version, len(cur.Attributes))
		}
	})

	t.Run("a pinned version loses to a concurrent change", func(t *testing.T) {
		before, _ := e.svc.Appointment(ctx, a.ID)
		_, err := e.svc.ChangeWith(ctx, a.ID, func(cur apphub.Appointment) (booking.Change, error) {
			if cur.Version == before.Version {
				// Another writer commits between this build and its commit.
				if _, err := e.svc.Update(ctx, booking.Update{ID: a.ID, Attributes: map[string]json.RawMessage{"other": json.RawMessage(`2`)}}); err != nil {
					t.Fatal(err)
				}
			}
			return booking.Change{ExpectedVersion: cur.Version, Update: booking.Update{Attributes: map[string]json.RawMessage{"mine": json.RawMessage(`3`)}}}, nil
		})
		if apphub.ErrorCode(err) != apphub.EPRECONDITION || apphub.ErrorReason(err) != apphub.ReasonVersionConflict {
			t.Fatalf("err = %v, want a VERSION_CONFLICT precondition", err)
		}
		if cur, _ := e.svc.Appointment(ctx, a.ID); cur.Version != before.Version+1 || cur.Attributes["mine"] != nil {
			t.Fatalf("after the lost change: version %d, attributes %v", cur.Version, cur.Attributes)
		}
	})

	t.Run("refusals write nothing and take no time", func(t *testing.T) {
		before, _ := e.svc.Appointment(ctx, a.ID)
		refuse := apphub.FieldError("validFor", "no")
		if _, err := e.svc.ChangeWith(ctx, a.ID, func(apphub.Appointment) (booking.Change, error) { return booking.Change{}, refuse }); err != refuse {
			t.Fatalf("err = %v, want the builder's", err)
		}
		_, err := e.svc.ChangeWith(ctx, a.ID, func(apphub.Appointment) (booking.Change, error) {
			return booking.Change{Start: at("14:00"), Status: apphub.StatusCompleted}, nil
		})
		if apphub.ErrorReason(err) != apphub.ReasonInvalidTransition {
			t.Fatalf("err = %v, want INVALID_TRANSITION", err)
		}
		if cur, _ := e.svc.Appointment(ctx, a.ID); cur.Version != before.Version || !cur.Start.Equal(at("10:00")) {
			t.Fatalf("after the refusals: version %d, start %v", cur.Version, cur.Start)
		}
		res, err := e.svc.Search(ctx, booking.SlotQuery{Category: "repair", Resource: "tech-1", From: at("14:00"), To: at("14:01")})
		if err != nil || len(res.Days) != 1 {
			t.Fatalf("14:00 is no longer offered after a refused change: %+v, %v", res, err)
		}
	})
}
