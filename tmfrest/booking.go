package tmfrest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// The hub's extensions of TMF646 (docs/tmf646.md, "Booking: the hub's extension" and "searchTimeSlot"): a search
// task runs the slot engine, and an appointment that names a managed resource or place is
// booked against its calendar.

type relatedRef struct {
	ID       string `json:"id"`
	Role     string `json:"role"`
	PostCode string `json:"postCode"`
}

type requestedSlot struct {
	ValidFor struct {
		Start string `json:"startDateTime"`
		End   string `json:"endDateTime"`
	} `json:"validFor"`
}

// categoryOf finds the category an object names: a top-level `category`, or a relatedEntity
// with role category.
func categoryOf(attrs map[string]json.RawMessage) string {
	if c, ok := stringOf(attrs["category"]); ok && c != "" {
		return c
	}
	var entities []relatedRef
	json.Unmarshal(attrs["relatedEntity"], &entities)
	for _, e := range entities {
		if e.Role == "category" {
			return e.ID
		}
	}
	return ""
}

// placeOf finds the place an object names: a managed place's id, or a postcode.
func placeOf(cal *apphub.Calendar, raw json.RawMessage) string {
	var p relatedRef
	var list []relatedRef
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		p = list[0] // SearchTimeSlot and Appointment differ in the shape; take the first place
	} else {
		json.Unmarshal(raw, &p)
	}
	if _, ok := cal.Place(p.ID); ok && p.ID != "" {
		return p.ID
	}
	return p.PostCode
}

// namedResource is a managed resource an appointment names, and the attribute that names it.
type namedResource struct{ id, field string }

// namedResources lists, without repeats, the managed resources an appointment names: the
// parties of relatedParty that are (whatever their role), then the entities of relatedEntity
// that are equipment (docs/tmf646.md, "Crews": where an appointment shows its equipment).
func namedResources(cal *apphub.Calendar, attrs map[string]json.RawMessage) []namedResource {
	var out []namedResource
	add := func(id, field string) {
		if !slices.ContainsFunc(out, func(n namedResource) bool { return n.id == id }) {
			out = append(out, namedResource{id, field})
		}
	}
	var parties, entities []relatedRef
	json.Unmarshal(attrs["relatedParty"], &parties)
	for _, p := range parties {
		if _, ok := cal.Resource(p.ID); ok {
			add(p.ID, "relatedParty")
		}
	}
	json.Unmarshal(attrs["relatedEntity"], &entities)
	for _, e := range entities {
		if e.Role != "category" && isEquipment(cal, e.ID) {
			add(e.ID, "relatedEntity")
		}
	}
	return out
}

// customerOf returns the id of the relatedParty entry with role customer (in any case): the
// customer the appointment is for, which booking makes its owner when the caller may book for
// others (an agent, a partner, an admin; a customer always books for itself).
func customerOf(raw json.RawMessage) string {
	var parties []relatedRef
	json.Unmarshal(raw, &parties)
	for _, p := range parties {
		if strings.EqualFold(p.Role, "customer") && p.ID != "" {
			return p.ID
		}
	}
	return ""
}

// bookingRequest decides whether an appointment books: when it names a managed resource (in
// relatedParty, any role; equipment in relatedEntity too) or a managed place, it is booked with
// its category; otherwise it is a record. A postcode alone never books. The first resource named
// is the one to book; for a crew job, a member the crew must include, and naming more than one
// is refused: booking cannot promise them all.
func (h *Handler) bookingRequest(ctx context.Context, attrs map[string]json.RawMessage, req *booking.NewAppointment) error {
	cal, err := h.svc.Calendar(ctx)
	if err != nil {
		return err
	}
	named := namedResources(cal, attrs)
	place := placeOf(cal, attrs["relatedPlace"])
	_, managedPlace := cal.Place(place)
	if len(named) == 0 && !managedPlace {
		return nil
	}
	req.Category = categoryOf(attrs)
	if req.Category == "" {
		return apphub.FieldError("category", "is required to book a managed resource or place")
	}
	if cat, ok := cal.Category(req.Category); ok && len(cat.Requirements) > 0 && len(named) > 1 {
		return apphub.FieldError(named[1].field, "names %s and %s: a crew job names at most one member it must include, and the hub chooses the others", named[0].id, named[1].id)
	}
	if len(named) > 0 {
		req.Resource = named[0].id
	}
	req.Place = place
	return nil
}

// searchSlots runs the search a task asks for, when it names a category and requested windows;
// it returns the slots to store (one per slot and resource, so that each names the resource to
// book; earliest first, or best first with their scores when the task asks for rank
// recommended) and, when there are none, the reasons and the next dates that have slots.
func (h *Handler) searchSlots(ctx context.Context, attrs map[string]json.RawMessage) (slots []any, reasons []apphub.Reason, next []string, searched bool, err error) {
	task := booking.SearchTask{Category: categoryOf(attrs)}
	var windows []requestedSlot
	json.Unmarshal(attrs["requestedTimeSlot"], &windows)
	if task.Category == "" || len(windows) == 0 {
		return nil, nil, nil, false, nil
	}
	task.Recommended, task.Preferred, err = taskRank(func(name string) (json.RawMessage, bool) {
		raw, ok := attrs[name]
		return raw, ok
	})
	if err != nil {
		return nil, nil, nil, false, err
	}
	for i, w := range windows {
		from, err1 := time.Parse(time.RFC3339, w.ValidFor.Start)
		to, err2 := time.Parse(time.RFC3339, w.ValidFor.End)
		if err1 != nil || err2 != nil {
			return nil, nil, nil, false, apphub.FieldError("requestedTimeSlot", "window %d needs validFor.startDateTime and endDateTime", i)
		}
		task.Windows = append(task.Windows, booking.Window{From: from, To: to})
	}
	cal, err := h.svc.Calendar(ctx)
	if err != nil {
		return nil, nil, nil, false, err
	}
	task.Place = placeOf(cal, attrs["relatedPlace"])
	res, err := h.svc.RunSearchTask(ctx, task)
	if err != nil {
		return nil, nil, nil, false, taskError(err)
	}
	if cat, ok := cal.Category(task.Category); ok && len(cat.Requirements) > 0 {
		return crewSlots(cal, res.Slots, task.Recommended), res.Reasons, res.NextDates, true, nil
	}
	for _, s := range res.Slots {
		party := map[string]any{"id": s.Resource, "@referredType": referredPartyRole}
		if r, ok := cal.Resource(s.Resource); ok {
			party["name"], party["role"] = r.Name, r.Kind
		}
		slot := map[string]any{
			"validFor":     map[string]string{"startDateTime": formatTime(s.Start), "endDateTime": formatTime(s.End)},
			"relatedParty": party,
			"@type":        "TimeSlot",
		}
		if task.Recommended {
			withRank(slot, s.Score, s.Reasons)
		}
		slots = append(slots, slot)
	}
	return slots, res.Reasons, res.NextDates, true, nil
}

// taskFields are the attributes of a search task that booking's refusals of it name by its own
// words.
var taskFields = map[string]string{"windows": "requestedTimeSlot", "place": "relatedPlace"}

// taskError names, in booking's refusal of a task, the attribute the client sent.
func taskError(err error) error {
	e, ok := errors.AsType[*apphub.Error](err)
	if !ok || taskFields[e.Field] == "" {
		return err
	}
	named := *e
	named.Field = taskFields[e.Field]
	return &named
}
