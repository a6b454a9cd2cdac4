package booking

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/apphub/apphub"
)

// CalendarLinkTTL is how long a link to an appointment's calendar file works.
const CalendarLinkTTL = 15 * time.Minute

// CalendarLink is a link to an appointment's calendar file that works without a credential
// until ExpiresAt: a calendar app fetches a URL, it does not send the customer's token.
type CalendarLink struct {
	Token     string // appointment id and expiry, and their HMAC under the installation's key
	ExpiresAt time.Time
}

// CalendarLink gives whoever may read appointment id a link to its calendar file.
func (s *Service) CalendarLink(ctx context.Context, id string) (CalendarLink, error) {
	if _, err := s.Appointment(ctx, id); err != nil {
		return CalendarLink{}, err
	}
	key, err := s.calendarLinkKey(ctx)
	if err != nil {
		return CalendarLink{}, err
	}
	expires := s.now().Add(CalendarLinkTTL).Truncate(time.Second)
	payload := id + "." + strconv.FormatInt(expires.Unix(), 10)
	token := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(linkMAC(key, payload))
	return CalendarLink{Token: token, ExpiresAt: expires}, nil
}

// AppointmentByLink returns the appointment a calendar link names, and the calendar that
// describes it, while the link works: the link is the credential. Any other token, and a link
// past its expiry, finds nothing (ENOTFOUND).
func (s *Service) AppointmentByLink(ctx context.Context, token string) (apphub.Appointment, *apphub.Calendar, error) {
	gone := apphub.Errorf(apphub.ENOTFOUND, "this calendar link is not valid or has expired: ask the app for a new one")
	enc, sig, ok := strings.Cut(token, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(enc)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil {
		return apphub.Appointment{}, nil, gone
	}
	key, err := s.calendarLinkKey(ctx)
	if err != nil {
		return apphub.Appointment{}, nil, err
	}
	id, exp, _ := strings.Cut(string(payload), ".")
	expires, err := strconv.ParseInt(exp, 10, 64)
	if !hmac.Equal(mac, linkMAC(key, string(payload))) || err != nil || !s.now().Before(time.Unix(expires, 0)) {
		return apphub.Appointment{}, nil, gone
	}
	cur, err := s.latest(ctx, id)
	if err != nil {
		return apphub.Appointment{}, nil, err
	}
	if !cur.Exists() {
		return apphub.Appointment{}, nil, gone
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return apphub.Appointment{}, nil, err
	}
	return cur.State, cal, nil
}

func linkMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("calendar-link\x00" + payload)) // the key signs nothing else, but say what this is
	return m.Sum(nil)
}

// calendarLinkKey is the installation's key of calendar links, read from the store once.
func (s *Service) calendarLinkKey(ctx context.Context) ([]byte, error) {
	s.linkMu.Lock()
	defer s.linkMu.Unlock()
	if s.linkKey == nil {
		key, err := s.store.Secret(ctx, "calendar-links")
		if err != nil {
			return nil, err
		}
		s.linkKey = key
	}
	return s.linkKey, nil
}
