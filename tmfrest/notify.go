package tmfrest

import (
	"encoding/json"

	"github.com/apphub/apphub"
)

// AppointmentJSON is the representation of a that GET /appointment/{id} answers, with hrefs
// under baseURL (scheme and host, no trailing slash): the body of a notification's event. cal
// tells a crew's technicians (in relatedParty) from its equipment (in relatedEntity).
func AppointmentJSON(baseURL string, a apphub.Appointment, cal *apphub.Calendar) (json.RawMessage, error) {
	return (&Handler{}).appointmentObject(baseURL, a, cal).MarshalJSON()
}

// MatchQuery reports whether a notification envelope matches a hub subscription's query, in
// the grammar of list filters (eventType=AppointmentStateChangeEvent&event.appointment.status=confirmed).
// An empty query matches everything; a query that does not parse is an EINVALID error.
func MatchQuery(query string, envelope []byte) (bool, error) {
	q, err := parseQuery(query)
	if err != nil {
		return false, err
	}
	obj, err := parseObject(envelope)
	if err != nil {
		return false, err
	}
	return q.matches(&item{obj: obj}), nil
}
