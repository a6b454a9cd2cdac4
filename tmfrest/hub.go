package tmfrest

import (
	"crypto/rand"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// listenerEvents are the 8 TMF646 notification listeners, by path name; the swagger names
// each one's body after its event type (the path name with a capital).
var listenerEvents = []string{
	"appointmentCreateEvent", "appointmentAttributeValueChangeEvent", "appointmentStateChangeEvent", "appointmentDeleteEvent",
	"searchTimeSlotCreateEvent", "searchTimeSlotAttributeValueChangeEvent", "searchTimeSlotStateChangeEvent", "searchTimeSlotDeleteEvent",
}

func (h *Handler) hubHref(base, id string) string { return base + BasePath + "hub/" + id }

// subscriptionObject is the EventSubscription: the id, then the registration as sent.
func subscriptionObject(s apphub.EventSubscription) object {
	obj := object{{"id", jsonString(s.ID)}}
	if raw, ok := s.Attributes["callback"]; ok {
		obj.set("callback", raw)
	} else {
		obj.set("callback", jsonString(s.Callback))
	}
	if raw, ok := s.Attributes["query"]; ok {
		obj.set("query", raw)
	}
	hubs := len(obj)
	for _, name := range slices.Sorted(maps.Keys(s.Attributes)) {
		if name != "id" && name != "callback" && name != "query" {
			obj.setFirst(hubs, name, s.Attributes[name])
		}
	}
	return obj
}

// register is POST /hub: a listener asks for the hub's events; notify delivers them.
func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	obj, err := h.readObject(r, "EventSubscriptionInput")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	callback, _ := obj.get("callback")
	query, _ := obj.get("query")
	req := booking.NewSubscription{Attributes: without(obj, []string{"id"}), IdempotencyKey: r.Header.Get("Idempotency-Key")}
	req.Callback, _ = stringOf(callback)
	req.Query, _ = stringOf(query)
	if _, err := parseQuery(req.Query); err != nil {
		h.fail(w, r, apphub.FieldError("query", "is not a filter this hub understands: %s", apphub.ErrorMessage(err)))
		return
	}
	s, err := h.svc.Subscribe(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", h.hubHref(h.baseURL(r), s.ID))
	writeJSON(w, http.StatusCreated, subscriptionObject(s))
}

func (h *Handler) unregister(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.Unsubscribe(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listen is a client-side listener endpoint, exposed by the hub too: it checks the event
// against its schema and accepts it (201). The swagger's answer is an EventSubscription: the
// event's id and the listener that took it.
func (h *Handler) listen(event string) http.HandlerFunc {
	def := strings.ToUpper(event[:1]) + event[1:]
	return func(w http.ResponseWriter, r *http.Request) {
		obj, err := h.readObject(r, def)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		id := strings.ToLower(rand.Text())
		if raw, ok := obj.get("eventId"); ok && nonEmptyString(raw) {
			id, _ = stringOf(raw)
		}
		h.logger.DebugContext(r.Context(), "TMF646 event received", "event", def, "eventId", id)
		writeJSON(w, http.StatusCreated, object{{"id", jsonString(id)}, {"callback", jsonString(h.baseURL(r) + BasePath + "listener/" + event)}})
	}
}

// routes registers the 20 operations of TMF646 v4.0.0 (and the slot hrefs a search returns).
func (h *Handler) routes() {
	b := BasePath
	h.handle("GET "+b+"appointment", h.listAppointments)
	h.handle("POST "+b+"appointment", h.createAppointment)
	h.handle("GET "+b+"appointment/{id}", h.getAppointment)
	h.handle("PATCH "+b+"appointment/{id}", h.patchAppointment)
	h.handle("DELETE "+b+"appointment/{id}", h.deleteAppointment)

	h.handle("GET "+b+"searchTimeSlot", h.listSearchTimeSlots)
	h.handle("POST "+b+"searchTimeSlot", h.createSearchTimeSlot)
	h.handle("GET "+b+"searchTimeSlot/{id}", h.getSearchTimeSlot)
	h.handle("PATCH "+b+"searchTimeSlot/{id}", h.patchSearchTimeSlot)
	h.handle("DELETE "+b+"searchTimeSlot/{id}", h.deleteSearchTimeSlot)
	h.handle("GET "+b+"searchTimeSlot/{id}/availableTimeSlot/{slotId}", h.getTimeSlot)

	h.handle("POST "+b+"hub", h.register)
	h.handle("DELETE "+b+"hub/{id}", h.unregister)
	for _, event := range listenerEvents {
		h.handle("POST "+b+"listener/"+event, h.listen(event))
	}
}

// baseURL is the public base URL hrefs start with: the configured one, or the request's scheme
// and host (behind a trusted proxy, the forwarded ones).
func (h *Handler) baseURL(r *http.Request) string {
	if h.opts.PublicURL != "" {
		return h.opts.PublicURL
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if h.opts.TrustForwardedHeaders {
		first := func(v string) string { f, _, _ := strings.Cut(v, ","); return strings.TrimSpace(f) }
		if p := strings.ToLower(first(r.Header.Get("X-Forwarded-Proto"))); p == "http" || p == "https" {
			scheme = p
		}
		if fh := first(r.Header.Get("X-Forwarded-Host")); fh != "" && !strings.ContainsAny(fh, "/?#@\\ ") {
			host = fh
		}
	}
	return scheme + "://" + host
}
