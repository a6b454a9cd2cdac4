package rediscache

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

func TestClaimsEncoding(t *testing.T) {
	day := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	k := apphub.ResourceDay{Resource: "tech-paris-007", Day: day}
	claims := []apphub.Claim{
		{Resource: "tech-paris-007", Start: day, Seat: 0},
		{Resource: "tech-paris-007", Start: day.Add(23*time.Hour + 45*time.Minute), Seat: 2},
		{Resource: "tech-paris-007", Start: day.Add(-15 * time.Minute), Seat: 1}, // outside the day: kept anyway
	}
	enc := encodeClaims(k, claims)
	if len(enc) > 1+4*len(claims) {
		t.Errorf("encoding takes %d bytes for %d claims", len(enc), len(claims))
	}
	got, err := decodeClaims(k, enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(claims) {
		t.Fatalf("got %v", got)
	}
	for i := range claims {
		if got[i].Resource != claims[i].Resource || !got[i].Start.Equal(claims[i].Start) || got[i].Seat != claims[i].Seat || got[i].Start.Location() != time.UTC {
			t.Errorf("claim %d = %+v, want %+v", i, got[i], claims[i])
		}
	}
	if empty, err := decodeClaims(k, encodeClaims(k, nil)); err != nil || len(empty) != 0 {
		t.Errorf("empty day = %v, %v", empty, err)
	}
	for _, bad := range []string{"", "\x02", "\x01\x80"} {
		if _, err := decodeClaims(k, bad); err == nil {
			t.Errorf("decodeClaims(%q) accepted", bad)
		}
	}
}

// The bus's availability entries: the (zone, day) keys come back as sent; an entry written in
// the format of before apphub.ZoneDay (the zone under "Resource") is read; and an entry written
// now is read by a hub of that format.
func TestZonesEncoding(t *testing.T) {
	day := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	zones := []apphub.ZoneDay{{Zone: "paris-11", Day: day}, {Zone: "paris-12", Day: day.Add(24 * time.Hour)}}
	data, err := encodeZones(zones)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decodeZones(data); err != nil || !slices.Equal(got, zones) {
		t.Errorf("round trip: %v, %v; want %v", got, err, zones)
	}
	previous := `[{"Resource":"paris-11","Day":"2026-03-29T00:00:00Z"},{"Resource":"paris-12","Day":"2026-03-30T00:00:00Z"}]`
	if got, err := decodeZones([]byte(previous)); err != nil || !slices.Equal(got, zones) {
		t.Errorf("an entry of the previous format: %v, %v; want %v", got, err, zones)
	}
	var old []struct {
		Resource string
		Day      time.Time
	}
	if err := json.Unmarshal(data, &old); err != nil || len(old) != 2 || old[0].Resource != "paris-11" || !old[1].Day.Equal(zones[1].Day) {
		t.Errorf("read as the previous format: %+v, %v", old, err)
	}
}
