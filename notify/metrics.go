package notify

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/apphub/apphub"
)

type metrics struct {
	deliveries, delivered, deadLetters, storeErrors prometheus.Counter
	attempts, dropped                               *prometheus.CounterVec
	pending                                         prometheus.Gauge
	duration                                        prometheus.Histogram
}

// newMetrics creates the notifier's metrics (apphub_notify_*) and registers them with reg
// when it is not nil. Delivered and dead letters are counted by the instance that recorded
// the outcome: summed over the instances, each delivery counts once.
func newMetrics(reg prometheus.Registerer) (metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "apphub_notify_" + name, Help: help})
	}
	m := metrics{
		deliveries:  counter("deliveries_total", "Deliveries queued here: an event matched a subscription (every instance counts the events it sees)."),
		delivered:   counter("delivered_total", "Deliveries a listener accepted (2xx), counted by the instance that delivered."),
		deadLetters: counter("dead_letters_total", "Deliveries given up after the last attempt failed (logged with the delivery and the error)."),
		storeErrors: counter("store_errors_total", "MongoDB operations of the notifier that failed; they are tried again."),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "apphub_notify_attempts_total",
			Help: "Attempts made here: result=ok, status (a non-2xx answer), error (no answer), refused (destination refused)."},
			[]string{"result"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "apphub_notify_dropped_total",
			Help: "Events not delivered to a subscription: reason=unsubscribed, query (its query could not be evaluated), render (the event could not be rendered)."},
			[]string{"reason"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "apphub_notify_pending",
			Help: "Deliveries queued on this instance that have not ended."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "apphub_notify_attempt_duration_seconds",
			Help: "Duration of the attempts made here.", Buckets: prometheus.DefBuckets}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.delivered, m.deadLetters, m.storeErrors, m.attempts,
		m.dropped, m.pending, m.duration} {
		if err := reg.Register(c); err != nil {
			return m, apphub.WrapError(apphub.EINTERNAL, err, "register the notifier metrics")
		}
	}
	return m, nil
}
