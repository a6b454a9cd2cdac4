package tmfrest_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/tmfrest"
)

// A waitlist offer's payload names the customer and the technicians in relatedParty and the
// equipment in relatedEntity, as an appointment does, with the time offered and until when.
func TestWaitlistOfferJSON(t *testing.T) {
	cal, err := demo.Calendar()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)
	e := apphub.WaitlistEntry{ID: "entry-1", PartyID: "cust-a", Category: demo.BuildingFibre, Place: "75011"}
	o := apphub.WaitlistOffer{ID: "offer-1", EntryID: e.ID, AppointmentID: "appt-1", Resource: "tech-paris-002",
		Crew: []string{"tech-paris-002", "tech-paris-006", "splicer-paris-2"}, Start: start, End: start.Add(3 * time.Hour),
		ExpiresAt: start.Add(-time.Hour)}
	raw, err := tmfrest.WaitlistOfferJSON(e, o, cal)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID, WaitlistEntryID, AppointmentID, Category, Place, ExpirationDate string
		ValidFor                                                            struct{ StartDateTime, EndDateTime string }
		RelatedParty, RelatedEntity                                         []map[string]string
		Type                                                                string `json:"@type"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	roles := func(refs []map[string]string) (out []string) {
		for _, r := range refs {
			out = append(out, r["id"]+":"+r["role"])
		}
		return out
	}
	got2 := fmt.Sprintf("%s %s %s %s %s until %s, %s–%s, parties %v, entities %v, %s", got.ID, got.WaitlistEntryID, got.AppointmentID,
		got.Category, got.Place, got.ExpirationDate, got.ValidFor.StartDateTime, got.ValidFor.EndDateTime, roles(got.RelatedParty),
		roles(got.RelatedEntity), got.Type)
	want := "offer-1 entry-1 appt-1 buildingFibre 75011 until 2027-03-02T08:00:00.000Z, 2027-03-02T09:00:00.000Z–2027-03-02T12:00:00.000Z, " +
		"parties [cust-a:customer tech-paris-002:resource tech-paris-006:resource], entities [splicer-paris-2:equipment], WaitlistOffer"
	if got2 != want {
		t.Fatalf("offer\n got %s\nwant %s\n%s", got2, want, raw)
	}
}
