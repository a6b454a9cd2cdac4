package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub/demo"
)

func TestAvailabilityMix(t *testing.T) {
	data := demo.Data()
	now := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC) // the eve of Paris's change to summer time
	all, err := availabilityMix(data, now, 14, []int{7, 14})
	if err != nil {
		t.Fatal(err)
	}
	// 101 postcodes × 4 categories at home (a crew job among them) or by phone + 6 stores ×
	// storeVisit, × 14 start days × 2 windows × with and without resources.
	if want := (101*4 + 6) * 14 * 2 * 2; len(all) != want {
		t.Fatalf("%d searches, want %d", len(all), want)
	}
	seen := map[string]bool{}
	for _, s := range all {
		doc := s.document(false)
		if seen[doc] {
			t.Fatalf("twice: %s", doc)
		}
		seen[doc] = true
		if isStore := strings.HasPrefix(s.place, "store-"); isStore != (s.category == demo.StoreVisit) {
			t.Fatalf("%s at %s", s.category, s.place)
		}
		if h, m, _ := s.from.Clock(); h != 0 || m != 0 || !s.from.After(now) || s.to.Sub(s.from) < 7*24*time.Hour-time.Hour {
			t.Fatalf("window %s to %s", s.from, s.to)
		}
	}
	tests := []struct {
		s    search
		want string
	}{
		{search{"repair", "75011", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC), false},
			`{ availability(input: {category: "repair", place: "75011", from: "2026-03-29T00:00:00Z", to: "2026-04-05T00:00:00Z"}) { days { date slots { start end capacity } } } }`},
		{search{"storeVisit", "store-paris-opera", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC), true},
			`{ availability(input: {category: "storeVisit", place: "store-paris-opera", from: "2026-03-29T00:00:00Z", to: "2026-04-05T00:00:00Z"}) { days { date slots { start end capacity resources { capacity resource { id } } } } } }`},
	}
	for _, tt := range tests {
		if got := tt.s.document(false); got != tt.want {
			t.Errorf("document\n got %s\nwant %s", got, tt.want)
		}
	}
}

func TestGridMix(t *testing.T) {
	data := demo.Data()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, n := range []int{1, 100, 160} {
		grids, err := gridMix(data, now, "repair", "75011", n, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(grids) != n {
			t.Fatalf("%d grids, want %d", len(grids), n)
		}
		if first := grids[0]; first.place != "75011" || first.resources || first.to.Sub(first.from) != 14*24*time.Hour {
			t.Errorf("first grid %+v", first)
		}
		seen := map[string]bool{}
		for _, g := range grids {
			doc := g.document(true)
			if seen[doc] || !strings.HasPrefix(doc, "subscription { availabilityChanged(") {
				t.Fatalf("twice or not a subscription: %s", doc)
			}
			seen[doc] = true
			// The days bookings are made on (2 to 6 after today) are in every grid.
			if g.from.After(localDay(now, paris, 2)) || g.to.Before(localDay(now, paris, 7)) {
				t.Fatalf("grid %s to %s misses days 2 to 6", g.from, g.to)
			}
		}
	}
	if _, err := gridMix(data, now, "repair", "75011", 161, 1); err == nil {
		t.Error("161 grids of a zone of 5 postcodes: no error")
	}
}

func TestDrawer(t *testing.T) {
	var bodies [][]byte
	for i := range 50 {
		bodies = append(bodies, fmt.Appendf(nil, "%d", i))
	}
	d := newDrawer(bodies, 7)
	seen := map[string]bool{}
	for n := range len(bodies) {
		b := string(d.nth(n))
		if seen[b] {
			t.Fatalf("sequential body %s twice", b)
		}
		seen[b] = true
	}
	if d.distinct() != len(bodies) {
		t.Fatalf("distinct %d after each once", d.distinct())
	}

	// Random draws: the same seed and worker draw the same; different workers differ.
	a, b, c := newDrawer(bodies, 7), newDrawer(bodies, 7), newDrawer(bodies, 7)
	ra, rb, rc := a.rng(0), b.rng(0), c.rng(1)
	same, differ := true, false
	for range 200 {
		x, y, z := string(a.random(ra)), string(b.random(rb)), string(c.random(rc))
		same = same && x == y
		differ = differ || x != z
	}
	if !same || !differ {
		t.Errorf("seeded draws: same seed same draws %v, other worker other draws %v", same, differ)
	}
	if n := a.distinct(); n < 40 || n > 50 {
		t.Errorf("%d distinct of 50 after 200 draws", n)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 0.5, 0},
		{ms(3), 0.99, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{ms(hundred...), 0.5, 50 * time.Millisecond},
		{ms(hundred...), 0.99, 99 * time.Millisecond},
		{ms(hundred...), 1, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
		}
	}
}

// TestPacedFromDue checks that a paced run counts latency from each request's due time: a
// server that takes 20 ms with one connection at 100 req/s falls behind, and the requests
// waiting for the connection are charged for the wait and counted as queued.
func TestPacedFromDue(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
	}))
	defer srv.Close()
	tests := []struct {
		conns       int
		queued      bool
		p99Min      time.Duration
		p99Max      time.Duration
		maxLagAbove time.Duration
	}{
		// 50 requests due over 0.5 s need 1 s: the last waits about 0.5 s.
		{conns: 1, queued: true, p99Min: 300 * time.Millisecond, p99Max: 2 * time.Second, maxLagAbove: 300 * time.Millisecond},
		{conns: 8, queued: false, p99Min: 20 * time.Millisecond, p99Max: 500 * time.Millisecond},
	}
	for _, tt := range tests {
		rep, err := run(context.Background(), config{URLs: []string{srv.URL}, Conns: tt.conns, Rate: 100,
			Duration: 500 * time.Millisecond, Timeout: 5 * time.Second, Bodies: [][]byte{[]byte("a"), []byte("b")}, Method: http.MethodPost})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Requests != 50 || rep.Errors != 0 || (rep.Queued > 0) != tt.queued || rep.P99 < tt.p99Min || rep.P99 > tt.p99Max ||
			rep.MaxLag < tt.maxLagAbove || rep.Bodies != 2 || rep.Distinct != 2 {
			t.Errorf("%d connections: %+v", tt.conns, rep)
		}
		t.Logf("%d connections:\n%s", tt.conns, rep)
	}

	// Sequential: each body once, one at a time.
	rep, err := run(context.Background(), config{URLs: []string{srv.URL}, Sequential: 3, Timeout: 5 * time.Second,
		Bodies: [][]byte{[]byte("a"), []byte("b"), []byte("c")}, Method: http.MethodPost})
	if err != nil || rep.Requests != 3 || rep.Distinct != 3 || rep.Elapsed < 60*time.Millisecond {
		t.Errorf("sequential: %+v, %v", rep, err)
	}
	if _, err := run(context.Background(), config{URLs: []string{srv.URL}, Sequential: 4, Bodies: [][]byte{[]byte("a")}}); err == nil {
		t.Error("4 sequential requests of 1 body: no error")
	}
}
