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
		Help:    "Time to compute availability (busy time from the cache or MongoDB, then the slot engine).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
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
