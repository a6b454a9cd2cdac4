package main

import (
	"net/http"
	"strings"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/ics"
)

// calendarFile serves the calendar file a link names (GraphQL's Appointment.calendarFile): a
// calendar app fetches it with no credential, so the link is the credential, and it expires.
func calendarFile(svc *booking.Service, base func(*http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		token, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		a, cal, err := svc.AppointmentByLink(r.Context(), token)
		var body []byte
		if err == nil {
			body, err = ics.File(cal, a, base(r))
		}
		switch apphub.ErrorCode(err) {
		case "":
			w.Header().Set("Content-Type", ics.ContentType)
			w.Header().Set("Content-Disposition", `attachment; filename="`+ics.Filename(a)+`"`)
			w.Write(body)
		case apphub.ENOTFOUND:
			http.Error(w, apphub.ErrorMessage(err), http.StatusNotFound)
		case apphub.EUNAVAILABLE:
			http.Error(w, "the hub cannot read its store now; try again", http.StatusServiceUnavailable)
		default:
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}
}

// requestBase is the hub's public URL when configured, else the scheme and host the request
// reached it at.
func requestBase(publicURL string) func(*http.Request) string {
	return func(r *http.Request) string {
		if publicURL != "" {
			return strings.TrimRight(publicURL, "/")
		}
		if r.TLS != nil {
			return "https://" + r.Host
		}
		return "http://" + r.Host
	}
}
