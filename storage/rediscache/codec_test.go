package rediscache

import (
	"testing"
	"time"

	"github.com/apphub/apphub"
)

func TestClaimsEncoding(t *testing.T) {
	day := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	k := apphub.DayKey{Resource: "tech-paris-007", Day: day}
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
