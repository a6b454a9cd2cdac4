package apphub_test

import (
	"slices"
	"testing"

	"github.com/apphub/apphub"
)

func TestEventsOf(t *testing.T) {
	tests := []struct {
		change string
		fields []string
		want   []string
		attrs  []string
	}{
		{apphub.ChangeCreated, nil, []string{apphub.EventCreated}, nil},
		{apphub.ChangeDeleted, nil, []string{apphub.EventDeleted}, nil},
		{apphub.ChangeVoided, nil, nil, nil},
		{apphub.ChangeStatus, []string{"status"}, []string{apphub.EventStateChanged}, nil},
		{apphub.ChangeRescheduled, []string{"validFor"}, []string{apphub.EventAttributeChanged}, []string{"validFor"}},
		{apphub.ChangeUpdated, []string{"status", "description"}, []string{apphub.EventStateChanged, apphub.EventAttributeChanged}, []string{"description"}},
	}
	for _, tt := range tests {
		evs := apphub.EventsOf(apphub.Revision{AppointmentID: "a", Version: 3, Change: tt.change, Fields: tt.fields})
		var kinds []string
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
			if e.Version != 3 || e.AppointmentID != "a" {
				t.Errorf("%s: event %+v lost the revision's identity", tt.change, e)
			}
			if e.Kind == apphub.EventAttributeChanged && !slices.Equal(e.Fields, tt.attrs) {
				t.Errorf("%s: fields %v, want %v", tt.change, e.Fields, tt.attrs)
			}
		}
		if !slices.Equal(kinds, tt.want) {
			t.Errorf("%s %v: events %v, want %v", tt.change, tt.fields, kinds, tt.want)
		}
	}
}

func TestCheckTransition(t *testing.T) {
	all := []string{apphub.StatusInitialized, apphub.StatusConfirmed, apphub.StatusCancelled, apphub.StatusCompleted, apphub.StatusFailed}
	allowed := map[[2]string]bool{
		{"initialized", "confirmed"}: true, {"initialized", "cancelled"}: true,
		{"confirmed", "completed"}: true, {"confirmed", "failed"}: true, {"confirmed", "cancelled"}: true,
	}
	for _, from := range all {
		for _, to := range all {
			err := apphub.CheckTransition(from, to)
			switch {
			case from == to || allowed[[2]string{from, to}]:
				if err != nil {
					t.Errorf("%s→%s refused: %v", from, to, err)
				}
			case apphub.ErrorReason(err) != apphub.ReasonInvalidTransition || apphub.ErrorCode(err) != apphub.ECONFLICT:
				t.Errorf("%s→%s: %v, want an INVALID_TRANSITION conflict", from, to, err)
			}
		}
	}
	if apphub.ErrorCode(apphub.CheckTransition("initialized", "accepted")) != apphub.EINVALID {
		t.Error("an unknown status must be a validation error")
	}
}
