package tmfrest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// A searchTimeSlot is a task resource. A POST runs the search the task asks for
// (tmfrest/booking.go) and stores the task as done, with the slots found; a task that asks for
// no search keeps the slots the client sent. The hub owns each available slot's id and href;
// every other attribute is the client's raw JSON.

// searchServerOwned are the attributes of a search task the hub sets; availableTimeSlot is
// the hub's too, but a client may send slots (see createSearchTimeSlot).
var searchServerOwned = []string{"id", "href", "status", "searchDate", "searchResult"}

// searchFixed may not be changed by a PATCH (400): SearchTimeSlot_Update leaves them out.
var searchFixed = []string{"id", "href", "searchDate", "searchResult"}

func (h *Handler) searchHref(base, id string) string { return base + BasePath + "searchTimeSlot/" + id }

// searchObject is the full representation of t: requestedTimeSlot and availableTimeSlot are
// always arrays, so that every element of a list has the same mandatory attributes.
func (h *Handler) searchObject(base string, t apphub.SearchTimeSlot) object {
	href := h.searchHref(base, t.ID)
	obj := object{
		{"id", jsonString(t.ID)},
		{"href", jsonString(href)},
		{"@type", jsonString("SearchTimeSlot")},
		{"status", jsonString(t.Status)},
		{"searchDate", jsonString(formatTime(t.SearchDate))},
		{"searchResult", jsonString(t.Result)},
		{"requestedTimeSlot", json.RawMessage("[]")},
		{"availableTimeSlot", json.RawMessage("[]")},
	}
	hubs := len(obj)
	for _, name := range slices.Sorted(maps.Keys(t.Attributes)) {
		switch raw := t.Attributes[name]; {
		case slices.Contains(searchServerOwned, name):
		case name == "availableTimeSlot":
			obj.setFirst(hubs, name, renderSlots(href, raw))
		default:
			obj.setFirst(hubs, name, raw)
		}
	}
	return obj
}

// renderSlots gives each stored slot its href, {task href}/availableTimeSlot/{slot id}.
func renderSlots(taskHref string, raw json.RawMessage) json.RawMessage {
	var slots []json.RawMessage
	if json.Unmarshal(raw, &slots) != nil {
		return raw
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, s := range slots {
		if i > 0 {
			buf.WriteByte(',')
		}
		slot, err := parseObject(s)
		if err != nil {
			buf.Write(s)
			continue
		}
		id, _ := slot.get("id")
		sid, _ := stringOf(id)
		out := object{{"id", id}, {"href", jsonString(taskHref + "/availableTimeSlot/" + sid)}}
		for _, m := range slot {
			if m.name != "id" && m.name != "href" {
				out = append(out, m)
			}
		}
		b, _ := out.MarshalJSON()
		buf.Write(b)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// storedSlots prepares slots for storage: each gets an id unless it has one, and loses its
// href, which depends on the URL the task is read at.
func storedSlots(raw json.RawMessage) (json.RawMessage, error) {
	var slots []json.RawMessage
	if err := json.Unmarshal(raw, &slots); err != nil {
		return nil, apphub.FieldError("availableTimeSlot", "must be an array")
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, s := range slots {
		slot, err := parseObject(s)
		if err != nil {
			return nil, apphub.FieldError("availableTimeSlot", "must hold TimeSlot objects")
		}
		if id, ok := slot.get("id"); !ok || !nonEmptyString(id) {
			slot.del("id")
			slot = append(object{{"id", jsonString(strings.ToLower(rand.Text()[:16]))}}, slot...)
		}
		slot.del("href")
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := slot.MarshalJSON()
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

func stringIs(raw json.RawMessage, want string) bool {
	s, ok := stringOf(raw)
	return ok && s == want
}

func nonEmptyString(raw json.RawMessage) bool {
	s, ok := stringOf(raw)
	return ok && s != ""
}

// checkSlotTimes refuses empty or malformed date-times in the time slots (requested or
// available): unlike a contact medium's, these say when something can happen.
func checkSlotTimes(obj object) error {
	for _, name := range []string{"requestedTimeSlot", "availableTimeSlot"} {
		raw, ok := obj.get(name)
		if !ok {
			continue
		}
		var slots []struct {
			ValidFor map[string]json.RawMessage `json:"validFor"`
		}
		if json.Unmarshal(raw, &slots) != nil {
			continue // the schema has said what is wrong
		}
		for _, s := range slots {
			for _, end := range []string{"startDateTime", "endDateTime"} {
				v, ok := s.ValidFor[end]
				if !ok {
					continue
				}
				if str, _ := stringOf(v); str == "" {
					return apphub.FieldError(name+".validFor."+end, "must be an RFC 3339 date-time")
				}
			}
		}
	}
	return nil
}

// checkTask checks what the hub reads of a task beyond the swagger: at most
// booking.MaxSearchWindows requested windows, a category (an extension attribute, which the
// schema does not type) that is a string, and the order asked for (rank and preferredTime,
// extensions too). A task that is only stored keeps the same rules as one that is searched, so
// that a PATCH cannot make a task no POST could.
func checkTask(obj object) error {
	if raw, ok := obj.get("category"); ok {
		if _, ok := stringOf(raw); !ok {
			return apphub.FieldError("category", "must be a string")
		}
	}
	if _, _, err := taskRank(obj.get); err != nil {
		return err
	}
	raw, ok := obj.get("requestedTimeSlot")
	if !ok {
		return nil
	}
	var windows []json.RawMessage
	if json.Unmarshal(raw, &windows) != nil {
		return nil // the schema has said what is wrong
	}
	if len(windows) > booking.MaxSearchWindows {
		return apphub.FieldError("requestedTimeSlot", "a search task may ask for at most %d windows, got %d", booking.MaxSearchWindows, len(windows))
	}
	return nil
}

// searchAttributes are the attributes a task stores, from a POST or a patched representation.
func searchAttributes(obj object) (map[string]json.RawMessage, error) {
	attrs := without(obj, searchServerOwned)
	if raw, ok := attrs["availableTimeSlot"]; ok {
		slots, err := storedSlots(raw)
		if err != nil {
			return nil, err
		}
		attrs["availableTimeSlot"] = slots
	}
	return attrs, nil
}

func (h *Handler) createSearchTimeSlot(w http.ResponseWriter, r *http.Request) {
	obj, err := h.readObject(r, "SearchTimeSlot_Create")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// SearchTimeSlot_Create leaves availableTimeSlot out; slots a client sends are checked as
	// the full resource's.
	if raw, ok := obj.get("availableTimeSlot"); ok {
		v, err := decodeValue(raw)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if err := h.schemas.Validate("SearchTimeSlot", map[string]any{"availableTimeSlot": v}); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if err := checkTask(obj); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := checkSlotTimes(obj); err != nil {
		h.fail(w, r, err)
		return
	}
	attrs, err := searchAttributes(obj)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	slots, reasons, next, searched, err := h.searchSlots(r.Context(), attrs)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if searched {
		raw, _ := json.Marshal(slots)
		if slots == nil {
			raw = []byte("[]")
		}
		if attrs["availableTimeSlot"], err = storedSlots(raw); err != nil {
			h.fail(w, r, err)
			return
		}
		if len(reasons) > 0 {
			attrs["unavailabilityReason"], _ = json.Marshal(reasonsJSON(reasons))
			attrs["nextAvailableDate"], _ = json.Marshal(append([]string{}, next...))
		}
	}
	t, err := h.svc.CreateSearchTimeSlot(r.Context(), booking.NewSearchTimeSlot{Attributes: attrs, IdempotencyKey: r.Header.Get("Idempotency-Key")})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base := h.baseURL(r)
	w.Header().Set("Location", h.searchHref(base, t.ID))
	writeResource(w, http.StatusCreated, t.Version, h.searchObject(base, t))
}

func (h *Handler) getSearchTimeSlot(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.svc.SearchTimeSlot(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, t.Version, project(h.searchObject(h.baseURL(r), t), q.fields))
}

// getTimeSlot answers a slot's href: the slot as its task lists it.
func (h *Handler) getTimeSlot(w http.ResponseWriter, r *http.Request) {
	t, err := h.svc.SearchTimeSlot(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	raw, _ := h.searchObject(h.baseURL(r), t).get("availableTimeSlot")
	var slots []json.RawMessage
	json.Unmarshal(raw, &slots)
	for _, s := range slots {
		slot, err := parseObject(s)
		if err != nil {
			continue
		}
		if id, _ := slot.get("id"); stringIs(id, r.PathValue("slotId")) {
			writeResource(w, http.StatusOK, t.Version, slot)
			return
		}
	}
	h.fail(w, r, apphub.Errorf(apphub.ENOTFOUND, "searchTimeSlot %q has no available time slot %q", t.ID, r.PathValue("slotId")))
}

func (h *Handler) listSearchTimeSlots(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	all, err := h.svc.SearchTimeSlots(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base := h.baseURL(r)
	items := make([]*item, len(all))
	for i, t := range all {
		items[i] = &item{obj: h.searchObject(base, t)}
	}
	writeList(w, q, items)
}

func (h *Handler) patchSearchTimeSlot(w http.ResponseWriter, r *http.Request) {
	media, body, err := readBody(r, mediaJSON, mediaMergePatch, mediaJSONPatch)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base, im := h.baseURL(r), r.Header.Get("If-Match")
	t, err := h.svc.UpdateSearchTimeSlotWith(r.Context(), r.PathValue("id"), func(cur apphub.SearchTimeSlot) (booking.SearchTimeSlotUpdate, error) {
		if im != "" && !ifMatch(im, cur.Version) {
			return booking.SearchTimeSlotUpdate{}, apphub.StaleVersion("searchTimeSlot", cur.Version)
		}
		u, err := h.patchedSearch(media, body, cur, h.searchObject(base, cur))
		if im != "" {
			u.ExpectedVersion = cur.Version
		}
		return u, err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, t.Version, h.searchObject(base, t))
}

// patchedSearch is the update that makes cur's representation (before) what the patch makes of
// it. Only the attributes the patch changed are sent, so that untouched ones keep their text
// and the defaults the representation adds ([] slots) are not stored for nothing.
func (h *Handler) patchedSearch(media string, body []byte, cur apphub.SearchTimeSlot, before object) (booking.SearchTimeSlotUpdate, error) {
	beforeJSON, err := before.MarshalJSON()
	if err != nil {
		return booking.SearchTimeSlotUpdate{}, apphub.WrapError(apphub.EINTERNAL, err, "internal error")
	}
	afterJSON, err := applyPatch(media, beforeJSON, body)
	if err != nil {
		return booking.SearchTimeSlotUpdate{}, err
	}
	after, err := h.decodeBody(afterJSON, "SearchTimeSlot")
	if err != nil {
		return booking.SearchTimeSlotUpdate{}, err
	}
	if err := checkFixed(before, after, searchFixed); err != nil {
		return booking.SearchTimeSlotUpdate{}, err
	}
	if err := checkTask(after); err != nil {
		return booking.SearchTimeSlotUpdate{}, err
	}
	if err := checkSlotTimes(after); err != nil {
		return booking.SearchTimeSlotUpdate{}, err
	}
	u := booking.SearchTimeSlotUpdate{Status: cur.Status, Changes: attributeDiff(before, after, searchServerOwned)}
	if raw, ok := after.get("status"); ok {
		u.Status, _ = stringOf(raw)
	}
	if raw := u.Changes["availableTimeSlot"]; raw != nil {
		if u.Changes["availableTimeSlot"], err = storedSlots(raw); err != nil {
			return booking.SearchTimeSlotUpdate{}, err
		}
	}
	return u, nil
}

func (h *Handler) deleteSearchTimeSlot(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	expected := 0
	if im := r.Header.Get("If-Match"); im != "" {
		t, err := h.svc.SearchTimeSlot(r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !ifMatch(im, t.Version) {
			h.fail(w, r, apphub.StaleVersion("searchTimeSlot", t.Version))
			return
		}
		expected = t.Version
	}
	if err := h.svc.DeleteSearchTimeSlot(r.Context(), id, expected); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// reasonsJSON spells the engine's reasons for a search that found nothing.
func reasonsJSON(reasons []apphub.Reason) []map[string]string {
	out := make([]map[string]string, len(reasons))
	for i, r := range reasons {
		out[i] = map[string]string{"code": r.Code, "message": r.Message}
	}
	return out
}
