package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apphub/apphub/booking"
)

// timedService is the booking service with its searches timed, whichever transport asks.
type timedService struct {
	*booking.Service
	searches prometheus.Histogram
}

func newTimedService(svc *booking.Service, reg prometheus.Registerer) *timedService {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "apphub_search_duration_seconds",
		Help:    "Time to answer a search for availability, wherever the answer came from (apphub_search_answers_total).",
		Buckets: searchBuckets,
	})
	reg.MustRegister(h)
	return &timedService{Service: svc, searches: h}
}

func (t *timedService) Search(ctx context.Context, q booking.SlotQuery) (*booking.SlotResult, error) {
	start := time.Now()
	res, err := t.Service.Search(ctx, q)
	t.searches.Observe(time.Since(start).Seconds())
	return res, err
}

var searchBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// newSearchObserver returns the booking service's Observe: it counts where the answers of
// searches came from and times the ones computed here.
func newSearchObserver(reg prometheus.Registerer) func(source string, d time.Duration) {
	answers := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apphub_search_answers_total",
		Help: "Answers to searches for availability, by where they came from: memory (kept by this instance at the current version), " +
			"redis (computed by another instance at that version), computed (here).",
	}, []string{"source"})
	compute := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "apphub_search_compute_seconds",
		Help:    "Time to compute an answer no instance had: busy time from the cache or MongoDB, then the slot engine.",
		Buckets: searchBuckets,
	})
	reg.MustRegister(answers, compute)
	// Every source from the start, at 0, and no label lookup per search.
	counters := map[string]prometheus.Counter{}
	for _, source := range []string{booking.SourceMemory, booking.SourceRedis, booking.SourceComputed} {
		counters[source] = answers.WithLabelValues(source)
	}
	return func(source string, d time.Duration) {
		counters[source].Inc()
		if source == booking.SourceComputed {
			compute.Observe(d.Seconds())
		}
	}
}
