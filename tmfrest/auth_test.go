package tmfrest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/testclock"
	"github.com/apphub/apphub/tmfrest"
)

// Who may do what is booking's to decide (its tests cover the table); these tests check what
// TMF646 makes of it: the statuses, the challenge, the Error bodies, and whose appointment a
// POST makes.

var (
	acme     = apphub.Principal{PartyID: "acme", Roles: []string{apphub.RolePartner}}
	globex   = apphub.Principal{PartyID: "globex", Roles: []string{apphub.RolePartner}}
	customer = apphub.Principal{PartyID: "c-1", Roles: []string{apphub.RoleCustomer}}
)

// A caller nobody verified gets 401 with the Bearer challenge; a role that may not do
// something 403; both are TMF Error bodies that match the swagger (h.do checks every error
// answer against the Error schema, its status, reason and @type).
func TestAuthErrors(t *testing.T) {
	t.Parallel()
	h := startHub(t, tmfrest.Options{})
	anonymous, cust := h.as(apphub.Principal{}), h.as(customer)
	record := `{` + validFor + `,"relatedParty":[{"id":"c-1","role":"customer","@referredType":"Individual"}]}`
	id := h.as(acme).create("appointment", record)["id"].(string)

	for _, tc := range []struct {
		name, method, path, body string
		client                   *testHub
		status                   int
	}{
		{"anonymous list", "GET", api + "appointment", "", anonymous, http.StatusUnauthorized},
		{"anonymous create", "POST", api + "appointment", record, anonymous, http.StatusUnauthorized},
		{"anonymous read", "GET", api + "appointment/" + id, "", anonymous, http.StatusUnauthorized},
		{"anonymous hub registration", "POST", api + "hub", `{"callback":"https://listener.example.com/cb"}`, anonymous, http.StatusUnauthorized},
		{"anonymous search", "POST", api + "searchTimeSlot", `{"requestedTimeSlot":[]}`, anonymous, http.StatusUnauthorized},
		{"customer registers a listener", "POST", api + "hub", `{"callback":"https://listener.example.com/cb"}`, cust, http.StatusForbidden},
		{"customer deletes its appointment", "DELETE", api + "appointment/" + id, "", cust, http.StatusForbidden},
		{"customer confirms its appointment", "PATCH", api + "appointment/" + id, `{"status":"confirmed"}`, cust, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *tc.client
			c.t = t
			r := c.want(c.do(tc.method, tc.path, tc.body), tc.status)
			e := r.object(t)
			challenge := r.header.Get("WWW-Authenticate")
			switch tc.status {
			case http.StatusUnauthorized:
				if challenge != `Bearer realm="apphub"` || e["code"] != apphub.EUNAUTHENTICATED || e["reason"] != "Unauthorized" {
					t.Fatalf("challenge %q, body %s", challenge, r.body)
				}
			case http.StatusForbidden:
				if challenge != "" || e["code"] != apphub.EFORBIDDEN || e["reason"] != "Forbidden" {
					t.Fatalf("challenge %q, body %s", challenge, r.body)
				}
			}
		})
	}
	if a := h.get("appointment", id); a["status"] != "initialized" {
		t.Fatalf("the refused requests changed the appointment: %v", a)
	}
}

// The relatedParty with role customer (in any case) is whose appointment a partner makes, for a
// record as for a booking; another partner does not see it (404, as an id nobody has), the
// customer does. A customer's appointment is its own whatever it names.
func TestCustomerFromRelatedParty(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	owner := func(id string) string {
		t.Helper()
		a, err := h.svc.Appointment(asOperator(context.Background()), id)
		if err != nil {
			t.Fatal(err)
		}
		return a.PartyID
	}
	forC7 := `{` + validFor + `,"relatedParty":[{"id":"56","role":"technician","@referredType":"Individual"},{"id":"c-7","role":"Customer","@referredType":"Individual"}]}`
	record := h.as(acme).create("appointment", forC7)["id"].(string)
	if got := owner(record); got != "c-7" {
		t.Fatalf("a partner's record for c-7 belongs to %q", got)
	}
	stranger := h.as(globex)
	stranger.want(stranger.do("GET", api+"appointment/"+record, ""), http.StatusNotFound)
	c7 := h.as(apphub.Principal{PartyID: "c-7", Roles: []string{apphub.RoleCustomer}})
	c7.want(c7.do("GET", api+"appointment/"+record, ""), http.StatusOK)

	// A booking on the demo calendar: appointmentBody names customer c-1.
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	task := h.create("searchTimeSlot", searchBody("repair", "75011", from, from.Add(7*24*time.Hour)))
	slot := task["availableTimeSlot"].([]any)[0].(map[string]any)
	vf := slot["validFor"].(map[string]any)
	tech := slot["relatedParty"].(map[string]any)["id"].(string)
	booked := h.as(acme).create("appointment", appointmentBody(tech, vf["startDateTime"].(string), vf["endDateTime"].(string)))["id"].(string)
	if got := owner(booked); got != "c-1" {
		t.Fatalf("a partner's booking for c-1 belongs to %q", got)
	}

	mine := h.as(customer).create("appointment", forC7)["id"].(string)
	if got := owner(mine); got != customer.PartyID {
		t.Fatalf("a customer's appointment naming c-7 belongs to %q", got)
	}
}

// A hub registration belongs to who made it: another partner cannot remove it (404), an
// operator can.
func TestHubRegistrationRecordsTheCaller(t *testing.T) {
	t.Parallel()
	h := startHub(t, tmfrest.Options{})
	s := h.as(acme).create("hub", `{"callback":"https://listener.example.com/tmf-api/appointment/v4"}`)
	subs, err := h.svc.Subscriptions(asOperator(t.Context()))
	if err != nil || len(subs) != 1 || subs[0].Owner.Ref() != acme.Ref() {
		t.Fatalf("stored %+v, %v", subs, err)
	}
	other := h.as(globex)
	other.want(other.do("DELETE", api+"hub/"+s["id"].(string), ""), http.StatusNotFound)
	h.want(h.do("DELETE", api+"hub/"+s["id"].(string), ""), http.StatusNoContent) // an operator may
}
