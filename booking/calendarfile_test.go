package booking_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// A calendar link is given to whoever may read the appointment, works without a credential on
// every instance until it expires, and nothing else opens anything: another party gets no
// link, and a forged, altered or expired one finds nothing.
func TestCalendarLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	other := e.another(t, booking.Options{})
	a, err := e.svc.Book(as(custA), booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}
	link, err := e.svc.CalendarLink(as(custA), a.ID)
	if err != nil || !link.ExpiresAt.Equal(e.clock.Now().Add(booking.CalendarLinkTTL).Truncate(time.Second)) {
		t.Fatalf("link: %+v %v", link, err)
	}
	for _, svc := range []*booking.Service{e.svc, other} {
		got, cal, err := svc.AppointmentByLink(as(nobody), link.Token)
		if err != nil || got.ID != a.ID || got.Version != a.Version || cal == nil {
			t.Fatalf("by link: %+v %v", got, err)
		}
	}
	if _, err := e.svc.CalendarLink(as(custB), a.ID); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Errorf("another party's link: %v", err)
	}
	if _, err := e.svc.CalendarLink(as(nobody), a.ID); apphub.ErrorCode(err) != apphub.EUNAUTHENTICATED {
		t.Errorf("nobody's link: %v", err)
	}
	enc, sig, _ := strings.Cut(link.Token, ".")
	for name, token := range map[string]string{
		"empty":            "",
		"no signature":     enc,
		"another's sig":    enc + "." + strings.Repeat("A", len(sig)),
		"a flipped letter": enc[:len(enc)-1] + string(enc[len(enc)-1]^1) + "." + sig,
		"not base64":       "!!." + sig,
	} {
		if _, _, err := e.svc.AppointmentByLink(as(nobody), token); apphub.ErrorCode(err) != apphub.ENOTFOUND {
			t.Errorf("%s: %v", name, err)
		}
	}
	e.clock.Advance(booking.CalendarLinkTTL)
	if _, _, err := e.svc.AppointmentByLink(as(nobody), link.Token); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Errorf("an expired link: %v", err)
	}
}
