package tmfrest

import (
	"bytes"
	"encoding/json"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/ics"
)

// An appointment's TMF646 representation is built from two sources. The client's attributes
// are kept as the raw JSON it sent (apphub.Appointment.Attributes) and are written back as
// they are. The booking facts (status, time, description, notes, contact media) are typed
// fields that GraphQL reads and changes too: a raw attribute is written back only while it
// still agrees with its typed field; once another interface changed the field, the
// representation is rendered from the field.

// appointmentServerOwned are the attributes the hub sets: on POST the client's are ignored.
var appointmentServerOwned = []string{"id", "href", "status", "creationDate", "lastUpdate"}

// appointmentFixed may not be changed by a PATCH (400); lastUpdate is ignored.
var appointmentFixed = []string{"id", "href", "creationDate"}

func (h *Handler) appointmentHref(base, id string) string {
	return base + BasePath + "appointment/" + id
}

// appointmentObject is the full representation of a. cal tells a crew's technicians from its
// equipment (Handler.calendarFor); it is not read for other appointments.
func (h *Handler) appointmentObject(base string, a apphub.Appointment, cal *apphub.Calendar) object {
	obj := object{
		{"id", jsonString(a.ID)},
		{"href", jsonString(h.appointmentHref(base, a.ID))},
		{"@type", jsonString("Appointment")},
		{"status", jsonString(a.Status)},
		{"creationDate", jsonString(formatTime(a.CreatedAt))},
		{"lastUpdate", jsonString(formatTime(a.UpdatedAt))},
	}
	attrs := a.Attributes
	if raw, ok := attrs["validFor"]; ok && validForIs(raw, a.Start, a.End) {
		obj.set("validFor", raw)
	} else if !a.Start.IsZero() || !a.End.IsZero() {
		obj.set("validFor", timePeriod(a.Start, a.End))
	}
	if raw, ok := attrs["description"]; ok && descriptionOf(raw) == a.Description {
		obj.set("description", raw)
	} else if a.Description != "" {
		obj.set("description", jsonString(a.Description))
	}
	if raw, ok := attrs["note"]; ok && notesEqual(notesOf(raw), a.Notes) {
		obj.set("note", raw)
	} else if len(a.Notes) > 0 {
		obj.set("note", renderNotes(a.Notes))
	}
	if raw, ok := attrs["contactMedium"]; ok && slices.Equal(contactMediaOf(raw), a.ContactMedia) {
		obj.set("contactMedium", raw)
	} else if len(a.ContactMedia) > 0 {
		obj.set("contactMedium", renderContactMedia(a.ContactMedia))
	}
	if a.Category != "" {
		obj.set("category", jsonString(a.Category))
	}
	// A crew's members are added to what the client sent (docs/tmf646.md, "Crews"); a job of
	// one resource booked elsewhere (GraphQL) names its resource when the client named no
	// party, so that partners see who comes.
	parties, entities := crewRefs(a, cal)
	if len(a.Crew) == 0 && a.Resource != "" {
		raw, _ := object{{"id", jsonString(a.Resource)}, {"role", jsonString(roleResource)}, {"@referredType", jsonString(referredPartyRole)}}.MarshalJSON()
		parties = []ref{{a.Resource, raw}}
	}
	if _, sent := attrs["relatedParty"]; !sent && len(parties) > 0 {
		obj.set("relatedParty", refArray(parties))
	}
	if _, sent := attrs["relatedEntity"]; !sent && len(entities) > 0 {
		obj.set("relatedEntity", refArray(entities))
	}
	hubs := len(obj)
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		switch {
		case slices.Contains(appointmentServerOwned, name):
		case name == "validFor" || name == "description" || name == "note" || name == "contactMedium":
		case name == "category" && a.Category != "":
		case name == "relatedParty" && len(a.Crew) > 0:
			obj.setFirst(hubs, name, withRefs(attrs[name], parties))
		case name == "relatedEntity":
			obj.setFirst(hubs, name, withRefs(attrs[name], entities))
		default:
			obj.setFirst(hubs, name, attrs[name])
		}
	}
	return obj
}

func timePeriod(start, end time.Time) json.RawMessage {
	var tp object
	if !start.IsZero() {
		tp = append(tp, member{"startDateTime", jsonString(formatTime(start))})
	}
	if !end.IsZero() {
		tp = append(tp, member{"endDateTime", jsonString(formatTime(end))})
	}
	b, _ := tp.MarshalJSON()
	return b
}

// validForIs reports whether a raw validFor names the instants start and end.
func validForIs(raw json.RawMessage, start, end time.Time) bool {
	s, e, err := parseValidFor(raw)
	return err == nil && s.Equal(start) && e.Equal(end)
}

// parseValidFor reads the time an appointment takes: both ends are required, as RFC 3339
// date-times, the end after the start.
func parseValidFor(raw json.RawMessage) (start, end time.Time, err error) {
	var tp struct {
		Start *string `json:"startDateTime"`
		End   *string `json:"endDateTime"`
	}
	if raw == nil || string(bytes.TrimSpace(raw)) == "null" || json.Unmarshal(raw, &tp) != nil {
		return start, end, apphub.FieldError("validFor", "is required: an object with startDateTime and endDateTime")
	}
	var ok bool
	if tp.Start == nil {
		return start, end, apphub.FieldError("validFor.startDateTime", "is required")
	}
	if start, ok = parseTime(*tp.Start); !ok {
		return start, end, apphub.FieldError("validFor.startDateTime", "%q is not an RFC 3339 date-time", *tp.Start)
	}
	if tp.End == nil {
		return start, end, apphub.FieldError("validFor.endDateTime", "is required")
	}
	if end, ok = parseTime(*tp.End); !ok {
		return start, end, apphub.FieldError("validFor.endDateTime", "%q is not an RFC 3339 date-time", *tp.End)
	}
	if !end.After(start) {
		return start, end, apphub.FieldError("validFor.endDateTime", "must be after the start")
	}
	return start, end, nil
}

func descriptionOf(raw json.RawMessage) string {
	s, _ := stringOf(raw)
	return s
}

// notesOf derives the typed notes of a raw note attribute (date-times at the store's
// millisecond); the raw attribute keeps everything else.
func notesOf(raw json.RawMessage) []apphub.Note {
	var in []struct {
		Author string `json:"author"`
		Date   string `json:"date"`
		Text   string `json:"text"`
	}
	if json.Unmarshal(raw, &in) != nil {
		return nil
	}
	var out []apphub.Note
	for _, n := range in {
		date, _ := parseTime(n.Date)
		out = append(out, apphub.Note{Author: n.Author, Date: date, Text: n.Text})
	}
	return out
}

func notesEqual(a, b []apphub.Note) bool {
	return slices.EqualFunc(a, b, func(x, y apphub.Note) bool {
		return x.Author == y.Author && x.Text == y.Text && x.Date.Equal(y.Date)
	})
}

func renderNotes(notes []apphub.Note) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, n := range notes {
		if i > 0 {
			buf.WriteByte(',')
		}
		o := object{}
		if n.Author != "" {
			o = append(o, member{"author", jsonString(n.Author)})
		}
		if !n.Date.IsZero() {
			o = append(o, member{"date", jsonString(formatTime(n.Date))})
		}
		o = append(o, member{"text", jsonString(n.Text)})
		b, _ := o.MarshalJSON()
		buf.Write(b)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// characteristicKeys are the MediumCharacteristic attributes that hold a contact's value, in
// the order a typed contact medium takes its value from.
var characteristicKeys = []string{"phoneNumber", "emailAddress", "faxNumber", "socialNetworkId"}

func contactMediaOf(raw json.RawMessage) []apphub.ContactMedium {
	var in []struct {
		MediumType     string         `json:"mediumType"`
		Preferred      bool           `json:"preferred"`
		Characteristic map[string]any `json:"characteristic"`
	}
	if json.Unmarshal(raw, &in) != nil {
		return nil
	}
	var out []apphub.ContactMedium
	for _, c := range in {
		cm := apphub.ContactMedium{Type: c.MediumType, Preferred: c.Preferred}
		for _, k := range characteristicKeys {
			if v, ok := c.Characteristic[k].(string); ok && v != "" {
				cm.Value = v
				break
			}
		}
		out = append(out, cm)
	}
	return out
}

func renderContactMedia(media []apphub.ContactMedium) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, c := range media {
		if i > 0 {
			buf.WriteByte(',')
		}
		key := "phoneNumber"
		switch t := strings.ToLower(c.Type); {
		case strings.Contains(t, "email"):
			key = "emailAddress"
		case strings.Contains(t, "fax"):
			key = "faxNumber"
		}
		ch, _ := object{{key, jsonString(c.Value)}}.MarshalJSON()
		o := object{{"mediumType", jsonString(c.Type)}, {"preferred", json.RawMessage(strconv.FormatBool(c.Preferred))}, {"characteristic", ch}}
		b, _ := o.MarshalJSON()
		buf.Write(b)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// mirror fills the typed fields that GraphQL shows from the raw attributes.
func mirror(attrs map[string]json.RawMessage) (description string, notes []apphub.Note, media []apphub.ContactMedium) {
	return descriptionOf(attrs["description"]), notesOf(attrs["note"]), contactMediaOf(attrs["contactMedium"])
}

// without returns the members of obj not named in names, as a map.
func without(obj object, names []string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for _, m := range obj {
		if !slices.Contains(names, m.name) {
			out[m.name] = m.value
		}
	}
	return out
}

// readObject reads a JSON request body and decodes it as decodeBody does.
func (h *Handler) readObject(r *http.Request, def string) (object, error) {
	_, body, err := readBody(r, mediaJSON)
	if err != nil {
		return nil, err
	}
	return h.decodeBody(body, def)
}

// decodeBody parses a request body that must be a JSON object and validates it against the
// swagger definition def.
func (h *Handler) decodeBody(body []byte, def string) (object, error) {
	obj, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	v, err := decodeValue(body)
	if err != nil {
		return nil, err
	}
	if err := h.schemas.Validate(def, v); err != nil {
		return nil, err
	}
	return obj, nil
}

func (h *Handler) createAppointment(w http.ResponseWriter, r *http.Request) {
	obj, err := h.readObject(r, "Appointment_Create")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	raw, _ := obj.get("validFor")
	start, end, err := parseValidFor(raw)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	attrs := without(obj, appointmentServerOwned)
	req := booking.NewAppointment{Start: start, End: end, Attributes: attrs, IdempotencyKey: r.Header.Get("Idempotency-Key"),
		Customer: customerOf(attrs["relatedParty"])} // a record's too: it has an owner as a booking has
	req.Description, req.Notes, req.ContactMedia = mirror(attrs)
	if err := h.bookingRequest(r.Context(), attrs, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.svc.Book(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cal, err := h.calendarFor(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base := h.baseURL(r)
	w.Header().Set("Location", h.appointmentHref(base, a.ID))
	writeResource(w, http.StatusCreated, a.Version, h.appointmentObject(base, a, cal))
}

func (h *Handler) getAppointment(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.svc.Appointment(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsCalendar(r) {
		h.writeCalendarFile(w, r, a)
		return
	}
	cal, err := h.calendarFor(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, a.Version, project(h.appointmentObject(h.baseURL(r), a, cal), q.fields))
}

// wantsCalendar reports whether the request asks for the appointment as an iCalendar file
// (RFC 5545): Accept names text/calendar before any JSON type (or */*).
func wantsCalendar(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		switch mt {
		case "text/calendar":
			return true
		case "application/json", "application/*", "*/*":
			return false
		}
	}
	return false
}

// writeCalendarFile answers an appointment as its calendar file, for a partner (or an app
// with the customer's credential) to hand to a calendar app.
func (h *Handler) writeCalendarFile(w http.ResponseWriter, r *http.Request, a apphub.Appointment) {
	cal, err := h.svc.Calendar(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := ics.File(cal, a, h.baseURL(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ics.ContentType)
	w.Header().Set("Content-Disposition", `inline; filename="`+ics.Filename(a)+`"`)
	w.Header().Set("ETag", etagOf(a.Version))
	w.Write(body)
}

func (h *Handler) listAppointments(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	all, err := h.svc.Appointments(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cal, err := h.calendarFor(r.Context(), all...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base := h.baseURL(r)
	items := make([]*item, len(all))
	for i, a := range all {
		items[i] = &item{obj: h.appointmentObject(base, a, cal)}
	}
	writeList(w, q, items)
}

func (h *Handler) deleteAppointment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	expected := 0
	if im := r.Header.Get("If-Match"); im != "" {
		a, err := h.svc.Appointment(r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !ifMatch(im, a.Version) {
			h.fail(w, r, apphub.StaleVersion("appointment", a.Version))
			return
		}
		expected = a.Version
	}
	if err := h.svc.Delete(r.Context(), id, expected); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// patchAppointment applies a merge patch or a JSON Patch to the representation, validates the
// result against the swagger and turns the differences into one booking change (a new time,
// other attributes, the status), committed as one revision. booking runs it again on the new
// state when a concurrent change wins, unless If-Match named the version.
func (h *Handler) patchAppointment(w http.ResponseWriter, r *http.Request) {
	media, body, err := readBody(r, mediaJSON, mediaMergePatch, mediaJSONPatch)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base, im := h.baseURL(r), r.Header.Get("If-Match")
	a, err := h.svc.ChangeWith(r.Context(), r.PathValue("id"), func(cur apphub.Appointment) (booking.Change, error) {
		if im != "" && !ifMatch(im, cur.Version) {
			return booking.Change{}, apphub.StaleVersion("appointment", cur.Version)
		}
		cal, err := h.calendarFor(r.Context(), cur)
		if err != nil {
			return booking.Change{}, err
		}
		c, err := h.patchedChange(media, body, cur, h.appointmentObject(base, cur, cal), cal)
		if im != "" {
			c.ExpectedVersion = cur.Version
		}
		return c, err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cal, err := h.calendarFor(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, a.Version, h.appointmentObject(base, a, cal))
}

// patchedChange is the booking change that makes cur's representation (before, built with cal)
// what the patch makes of it.
func (h *Handler) patchedChange(media string, body []byte, cur apphub.Appointment, before object, cal *apphub.Calendar) (booking.Change, error) {
	beforeJSON, err := before.MarshalJSON()
	if err != nil {
		return booking.Change{}, apphub.WrapError(apphub.EINTERNAL, err, "internal error")
	}
	afterJSON, err := applyPatch(media, beforeJSON, body)
	if err != nil {
		return booking.Change{}, err
	}
	after, err := h.decodeBody(afterJSON, "Appointment")
	if err != nil {
		return booking.Change{}, err
	}
	if err := checkFixed(before, after, appointmentFixed); err != nil {
		return booking.Change{}, err
	}
	rawValidFor, _ := after.get("validFor")
	start, end, err := parseValidFor(rawValidFor)
	if err != nil {
		return booking.Change{}, err
	}
	c := booking.Change{ID: cur.ID, Update: booking.Update{Attributes: attributeDiff(before, after, appointmentServerOwned)}}
	// The references the hub wrote for a crew are the booking's: they are not stored as the
	// client's, so that they follow the crew.
	parties, entities := crewRefs(cur, cal)
	for name, refs := range map[string][]ref{"relatedParty": parties, "relatedEntity": entities} {
		if patched, changed := c.Update.Attributes[name]; changed {
			stored, had := cur.Attributes[name]
			if v, ok := clientRefs(patched, stored, had, refs); ok {
				c.Update.Attributes[name] = v
			} else {
				delete(c.Update.Attributes, name)
			}
		}
	}
	if !start.Equal(cur.Start) || !end.Equal(cur.End) {
		c.Start, c.End = start, end
	}
	if raw, ok := after.get("status"); ok {
		if status, _ := stringOf(raw); status != cur.Status {
			c.Status = status
		}
	}
	// The typed fields follow the attributes the patch changed, read from the whole result.
	description, notes, contacts := mirror(without(after, appointmentServerOwned))
	if _, ok := c.Update.Attributes["description"]; ok {
		c.Update.Description = &description
	}
	if _, ok := c.Update.Attributes["note"]; ok {
		c.Update.Notes = &notes
	}
	if _, ok := c.Update.Attributes["contactMedium"]; ok {
		c.Update.ContactMedia = &contacts
	}
	return c, nil
}

// checkFixed refuses a patch that changed (or removed) an attribute that cannot change.
func checkFixed(before, after object, fixed []string) error {
	for _, name := range fixed {
		b, inBefore := before.get(name)
		a, inAfter := after.get(name)
		if inBefore != inAfter || (inBefore && !sameString(a, b)) {
			return apphub.FieldError(name, "cannot be changed")
		}
	}
	return nil
}

// sameString compares two raw JSON strings by value (the client may escape differently).
func sameString(a, b json.RawMessage) bool {
	sa, ok1 := stringOf(a)
	sb, ok2 := stringOf(b)
	return ok1 && ok2 && sa == sb
}

// attributeDiff lists the client attributes a patch changed: the new raw value, or nil for
// one it removed. Attributes it left as they were are not listed, so that their stored text
// stays as the client first sent it.
func attributeDiff(before, after object, serverOwned []string) map[string]json.RawMessage {
	diff := map[string]json.RawMessage{}
	old := without(before, serverOwned)
	for name, value := range without(after, serverOwned) {
		if b, ok := old[name]; !ok || !rawEqual(b, value) {
			diff[name] = value
		}
		delete(old, name)
	}
	for name := range old {
		diff[name] = nil
	}
	return diff
}

// writeResource answers with one resource and its ETag.
func writeResource(w http.ResponseWriter, status, version int, obj object) {
	w.Header().Set("ETag", etagOf(version))
	writeJSON(w, status, obj)
}

// writeList answers a list query over items: always a JSON array, with X-Total-Count (matches
// before paging) and X-Result-Count (items in this body); 206 when paging left some out.
func writeList(w http.ResponseWriter, q listQuery, items []*item) {
	page, total := q.apply(items)
	list := make([]object, len(page))
	for i, it := range page {
		list[i] = project(it.obj, q.fields)
	}
	status := http.StatusOK
	if len(page) < total {
		status = http.StatusPartialContent
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	w.Header().Set("X-Result-Count", strconv.Itoa(len(page)))
	writeJSON(w, status, list)
}
