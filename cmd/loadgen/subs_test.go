package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		msg       string
		typ, key  string
		wantError bool
	}{
		{`{"type":"connection_ack"}`, "connection_ack", "", false},
		{`{"type":"ping"}`, "ping", "", false},
		{`{"payload":{"data":{"appointmentChanged":{"kind":"AppointmentCreateEvent","version":1,"appointment":{"id":"a1","status":"INITIALIZED"}}}},"id":"1","type":"next"}`, "next", "a1/1", false},
		{`{"payload":{"data":{"availabilityChanged":{"days":[]}}},"id":"1","type":"next"}`, "next", "", false},
		{`{"payload":{"data":null,"errors":[{"message":"forbidden"}]},"id":"1","type":"next"}`, "error", "", true},
		{`{"payload":[{"message":"rate limited"}],"id":"1","type":"error"}`, "error", "", false},
		// A grid is not decoded: its size says what it is.
		{`{"payload":{"data":` + strings.Repeat(" ", bigMessage) + `}}`, "next", "", false},
		{`not json`, "", "", true},
	}
	for _, tt := range tests {
		typ, key, err := classify([]byte(tt.msg))
		if typ != tt.typ || key != tt.key || (err != nil) != tt.wantError {
			t.Errorf("classify(%.60s) = %q, %q, %v", tt.msg, typ, key, err)
		}
	}
}

func TestDelays(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	grid := change{client: -1, sent: at(0), answered: at(40)}
	subs := func(rs ...[]receipt) []*subscriber {
		var out []*subscriber
		for _, r := range rs {
			out = append(out, &subscriber{got: r})
		}
		return out
	}
	tests := []struct {
		name     string
		subs     []*subscriber
		c        change
		next     time.Time
		lat      []time.Duration
		missing  int
		fromSent []time.Duration
	}{
		{"after the answer", subs([]receipt{{at: at(-500)}, {at: at(140)}}), grid, time.Time{},
			[]time.Duration{100 * time.Millisecond}, 0, []time.Duration{140 * time.Millisecond}},
		{"before the answer counts as 0", subs([]receipt{{at: at(10)}}), grid, time.Time{},
			[]time.Duration{0}, 0, []time.Duration{10 * time.Millisecond}},
		{"only messages before the change", subs([]receipt{{at: at(-1)}}, nil), grid, time.Time{}, nil, 2, nil},
		{"too late", subs([]receipt{{at: at(3041)}}), grid, time.Time{}, nil, 1, nil},
		{"belongs to the next change", subs([]receipt{{at: at(600)}}), grid, at(500), nil, 1, nil},
		{"by key, to its client only", subs(nil, []receipt{{at: at(20), key: "a/1"}, {at: at(90), key: "a/2"}}),
			change{client: 1, key: "a/2", sent: at(60), answered: at(80)}, time.Time{},
			[]time.Duration{10 * time.Millisecond}, 0, []time.Duration{30 * time.Millisecond}},
	}
	for _, tt := range tests {
		lat, fromSent, missing := delays(tt.subs, tt.c, tt.next, 3*time.Second)
		if !slices.Equal(lat, tt.lat) || !slices.Equal(fromSent, tt.fromSent) || missing != tt.missing {
			t.Errorf("%s: %v, %v, %d missing; want %v, %v, %d", tt.name, lat, fromSent, missing, tt.lat, tt.fromSent, tt.missing)
		}
	}
}

func TestWSURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080/graphql": "ws://127.0.0.1:8080/graphql",
		"https://hub.example/graphql":   "wss://hub.example/graphql",
		"ws://127.0.0.1/graphql":        "ws://127.0.0.1/graphql",
	} {
		if got := wsURL(in); got != want {
			t.Errorf("wsURL(%s) = %s, want %s", in, got, want)
		}
	}
}
