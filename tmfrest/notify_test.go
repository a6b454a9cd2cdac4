package tmfrest_test

import (
	"testing"

	"github.com/apphub/apphub/tmfrest"
)

func TestMatchQuery(t *testing.T) {
	env := []byte(`{"eventId":"e1","eventType":"AppointmentStateChangeEvent","event":{"appointment":{"id":"a1","status":"confirmed","relatedParty":[{"id":"42"}]}}}`)
	tests := []struct {
		query string
		want  bool
	}{
		{"", true},
		{"eventType=AppointmentStateChangeEvent", true},
		{"eventType=AppointmentCreateEvent", false},
		{"eventType=AppointmentCreateEvent,AppointmentStateChangeEvent", true},
		{"event.appointment.status=confirmed", true},
		{"eventType=AppointmentStateChangeEvent&event.appointment.status=cancelled", false},
		{"event.appointment.relatedParty.id=42", true},
	}
	for _, tt := range tests {
		got, err := tmfrest.MatchQuery(tt.query, env)
		if err != nil || got != tt.want {
			t.Errorf("MatchQuery(%q) = %v, %v; want %v", tt.query, got, err, tt.want)
		}
	}
	if _, err := tmfrest.MatchQuery("$where=1", env); err == nil {
		t.Error("an operator in a query was accepted")
	}
}
