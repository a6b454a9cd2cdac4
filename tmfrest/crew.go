package tmfrest

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// A crew job (a category with requirements) books several resources at once: technicians and
// equipment. TMF646 has a place for each (docs/tmf646.md, "Crews"): an appointment names its
// technicians in relatedParty and its equipment in relatedEntity; a time slot, whose
// relatedParty is one object, names its lead there and the whole crew in the extension
// attribute crew. Telling the two apart takes the calendar (a resource's kind).

// Roles and referred types of the references the hub writes for a crew's members.
const (
	roleResource      = "resource"  // an appointment's technician, as for a job of one resource
	roleEquipment     = "equipment" // an appointment's equipment, in relatedEntity
	referredPartyRole = "PartyRole"
	referredResource  = "Resource" // TMF639: equipment is a resource, not a party
	crewSlotAttribute = "crew"     // a time slot's members, an extension of TimeSlot
)

// ref is a reference the hub writes, with the id it names.
type ref struct {
	id  string
	raw json.RawMessage
}

// isEquipment reports whether the calendar knows id as equipment. A resource it does not know
// (removed since the booking) is shown as a party, as a job of one resource shows its resource.
func isEquipment(cal *apphub.Calendar, id string) bool {
	if cal == nil {
		return false
	}
	r, ok := cal.Resource(id)
	return ok && r.Kind == apphub.KindEquipment
}

// crewRefs are the references a crew appointment's representation holds for its members, in
// crew order (the lead first): each technician (any kind but equipment) as a RelatedParty with
// role resource, each piece of equipment as a RelatedEntity with role equipment. Nil for a
// job of one resource.
func crewRefs(a apphub.Appointment, cal *apphub.Calendar) (parties, entities []ref) {
	for _, id := range a.Crew {
		if isEquipment(cal, id) {
			raw, _ := object{{"id", jsonString(id)}, {"role", jsonString(roleEquipment)}, {"@referredType", jsonString(referredResource)}}.MarshalJSON()
			entities = append(entities, ref{id, raw})
			continue
		}
		raw, _ := object{{"id", jsonString(id)}, {"role", jsonString(roleResource)}, {"@referredType", jsonString(referredPartyRole)}}.MarshalJSON()
		parties = append(parties, ref{id, raw})
	}
	return parties, entities
}

// refArray is refs as a JSON array.
func refArray(refs []ref) json.RawMessage {
	return withRefs(json.RawMessage("[]"), refs)
}

// withRefs appends to the client's array raw the references it does not name by id; the
// client's elements keep their text. Anything but an array is left as it is (the schema has
// refused it on the way in).
func withRefs(raw json.RawMessage, refs []ref) json.RawMessage {
	if len(refs) == 0 {
		return raw
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil || elems == nil {
		return raw
	}
	named := map[string]bool{}
	for _, e := range elems {
		var r relatedRef
		if json.Unmarshal(e, &r) == nil {
			named[r.ID] = true
		}
	}
	for _, r := range refs {
		if !named[r.id] {
			elems = append(elems, r.raw)
		}
	}
	return joinArray(elems)
}

// withoutRefs drops from the array raw the elements that are references the hub wrote (the
// same members and values, in any order): a patched representation gives them back, and they
// are the booking's, not the client's, so that a crew that changes later does not leave its
// old members behind.
func withoutRefs(raw json.RawMessage, refs []ref) json.RawMessage {
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil || elems == nil {
		return raw
	}
	hubs := make([]map[string]string, len(refs))
	for i, r := range refs {
		json.Unmarshal(r.raw, &hubs[i])
	}
	kept := elems[:0]
	for _, e := range elems {
		var m map[string]string // a hub's reference has string members only
		if json.Unmarshal(e, &m) != nil || !slices.ContainsFunc(hubs, func(h map[string]string) bool { return maps.Equal(h, m) }) {
			kept = append(kept, e)
		}
	}
	return joinArray(kept)
}

func joinArray(elems []json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, e := range elems {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(e)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// clientRefs is the change a patch makes to the client's relatedParty or relatedEntity, without
// the references the hub wrote for the crew: the value to store, or ok false when the client's
// attribute stays as it is.
func clientRefs(patched, stored json.RawMessage, had bool, refs []ref) (json.RawMessage, bool) {
	switch {
	case len(refs) == 0:
		return patched, true // nothing of the hub's in it
	case patched == nil:
		return nil, had // removed
	}
	v := withoutRefs(patched, refs)
	if had && rawEqual(v, stored) || !had && rawEqual(v, json.RawMessage("[]")) {
		return nil, false
	}
	return v, true
}

// calendarFor returns the calendar when one of as is a crew job (its representation needs the
// members' kinds), else nil: the representation of other appointments does not read it.
func (h *Handler) calendarFor(ctx context.Context, as ...apphub.Appointment) (*apphub.Calendar, error) {
	if !slices.ContainsFunc(as, func(a apphub.Appointment) bool { return len(a.Crew) > 0 }) {
		return nil, nil
	}
	return h.svc.Calendar(ctx)
}

// slotRef is a time slot's reference to a resource: id, name, role (the resource's kind) and
// @referredType (PartyRole; Resource for equipment).
func slotRef(cal *apphub.Calendar, id string) map[string]any {
	ref := map[string]any{"id": id, "@referredType": referredPartyRole}
	if r, ok := cal.Resource(id); ok {
		ref["name"], ref["role"] = r.Name, r.Kind
		if r.Kind == apphub.KindEquipment {
			ref["@referredType"] = referredResource
		}
	}
	return ref
}

// crewSlots turns a crew category's task slots into time slots. Each names the crew's first
// technician (its lead, unless the crew is all equipment) in relatedParty, which books a crew
// that includes it, and every member in crew; with its score and reasons when recommended.
func crewSlots(cal *apphub.Calendar, found []booking.TaskSlot, recommended bool) []any {
	out := make([]any, 0, len(found))
	for _, f := range found {
		members := make([]any, len(f.Crew))
		lead := -1
		for j, id := range f.Crew {
			members[j] = slotRef(cal, id)
			if lead < 0 && !isEquipment(cal, id) {
				lead = j
			}
		}
		slot := map[string]any{
			"validFor":        map[string]string{"startDateTime": formatTime(f.Start), "endDateTime": formatTime(f.End)},
			"relatedParty":    members[max(lead, 0)],
			crewSlotAttribute: members,
			"@type":           "TimeSlot",
		}
		if recommended {
			withRank(slot, f.Score, f.Reasons)
		}
		out = append(out, slot)
	}
	return out
}
