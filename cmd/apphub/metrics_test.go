package main

import (
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/testclock"
)

// /metrics says where the answers of searches came from: the first search of a query on A is
// computed (and timed), the same again on A comes from memory, on B from Redis.
func TestSearchAnswerMetrics(t *testing.T) {
	t.Parallel()
	a, b := twoHubs(t)
	from := testclock.Now().Add(72 * time.Hour).Truncate(time.Hour)
	vars := map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(7 * 24 * time.Hour).Format(time.RFC3339)}
	search := func(h *testHub) {
		if d := gql(t, h.url, h.token(t, "searcher", apphub.RoleCustomer), availabilityDoc, vars); dig(d, "availability", "days") == nil {
			t.Fatalf("no days: %v", d)
		}
	}
	series := func(h *testHub) [4]float64 {
		return [4]float64{metric(t, h, `apphub_search_answers_total{source="computed"}`), metric(t, h, `apphub_search_answers_total{source="memory"}`),
			metric(t, h, `apphub_search_answers_total{source="redis"}`), metric(t, h, "apphub_search_compute_seconds_count")}
	}
	for _, step := range []struct {
		name     string
		on       *testHub
		onA, onB [4]float64 // computed, memory, redis, timed computations
	}{
		{name: "first on A", on: a, onA: [4]float64{1, 0, 0, 1}},
		{name: "again on A", on: a, onA: [4]float64{1, 1, 0, 1}},
		{name: "first on B", on: b, onA: [4]float64{1, 1, 0, 1}, onB: [4]float64{0, 0, 1, 0}},
	} {
		search(step.on)
		if gotA, gotB := series(a), series(b); gotA != step.onA || gotB != step.onB {
			t.Fatalf("%s: A counts (computed, memory, redis, timed) %v, want %v; B %v, want %v", step.name, gotA, step.onA, gotB, step.onB)
		}
	}
}
