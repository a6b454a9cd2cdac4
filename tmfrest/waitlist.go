package tmfrest

import (
	"encoding/json"

	"github.com/apphub/apphub"
)

// WaitlistOfferJSON is the payload of the hub's extension event WaitlistOfferEvent
// (docs/tmf646.md, "Waitlist offers"): the time offered to a waitlist entry, until when, and
// who would come — the customer and the technicians in relatedParty, equipment in
// relatedEntity, as an appointment shows them. cal tells technicians from equipment.
func WaitlistOfferJSON(e apphub.WaitlistEntry, o apphub.WaitlistOffer, cal *apphub.Calendar) (json.RawMessage, error) {
	parties := []json.RawMessage{mustObject(object{{"id", jsonString(e.PartyID)}, {"role", jsonString("customer")}, {"@referredType", jsonString("Individual")}})}
	var entities []json.RawMessage
	crewParties, crewEntities := crewRefs(apphub.Appointment{Crew: (&apphub.Appointment{Resource: o.Resource, Crew: o.Crew}).Members()}, cal)
	for _, r := range crewParties {
		parties = append(parties, r.raw)
	}
	for _, r := range crewEntities {
		entities = append(entities, r.raw)
	}
	rep := object{
		{"id", jsonString(o.ID)},
		{"waitlistEntryId", jsonString(e.ID)},
		{"appointmentId", jsonString(o.AppointmentID)},
		{"category", jsonString(e.Category)},
		{"place", jsonString(e.Place)},
		{"validFor", mustObject(object{{"startDateTime", jsonString(formatTime(o.Start))}, {"endDateTime", jsonString(formatTime(o.End))}})},
		{"expirationDate", jsonString(formatTime(o.ExpiresAt))},
		{"relatedParty", joinArray(parties)},
	}
	if len(entities) > 0 {
		rep = append(rep, member{"relatedEntity", joinArray(entities)})
	}
	rep = append(rep, member{"@type", jsonString("WaitlistOffer")})
	return rep.MarshalJSON()
}

func mustObject(o object) json.RawMessage {
	raw, _ := o.MarshalJSON() // an object of JSON values always marshals
	return raw
}
