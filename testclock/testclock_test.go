package testclock

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // UTC, RFC 3339; "" for an error
	}{
		{"2026-12-31T22:00:00Z", "2026-12-31T22:00:00Z"},
		{"2027-03-27T23:50:00+01:00", "2027-03-27T22:50:00Z"},
		{"2027-03-27T23:50 Europe/Paris", "2027-03-27T22:50:00Z"},     // winter time, the night before the change
		{"2027-03-12T17:00 America/New_York", "2027-03-12T22:00:00Z"}, // EST
		{"2027-07-01 09:30:15 Asia/Shanghai", "2027-07-01T01:30:15Z"}, // with seconds and a space
		{"2027-03-28T02:30 Europe/Paris", "2027-03-28T01:30:00Z"},     // in the gap: Go's normalisation
		{" 2027-10-31T02:30 Europe/Paris ", "2027-10-31T00:30:00Z"},   // in the fold: the first instant
		{"2027-03-27T23:50", ""},                                      // no zone
		{"2027-03-27T23:50 Mars/Olympus", ""},                         // unknown zone
		{"tomorrow Europe/Paris", ""},                                 // not a time
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("Parse(%q) = %v, want an error", tt.in, got)
		case tt.want != "" && (err != nil || got.Format(time.RFC3339) != tt.want):
			t.Errorf("Parse(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

// The clock advances like a real one from its base, and a Clock leads it by what it was told.
func TestClockAdvances(t *testing.T) {
	a := Now()
	time.Sleep(2 * time.Millisecond)
	if b := Now(); !b.After(a) || b.Before(Base()) {
		t.Fatalf("Now went from %v to %v (base %v)", a, b, Base())
	}
	c := New()
	c.Advance(time.Hour)
	if lead := c.Now().Sub(Now()); lead < 59*time.Minute || lead > time.Hour {
		t.Fatalf("a Clock advanced by an hour leads by %v", lead)
	}
}
