// Package notify delivers the hub's appointment events to the listeners registered through
// TMF646's /hub: each matching subscription gets the TMF event envelope POSTed to
// {callback}/listener/{eventName}, asynchronously and at least once, in version order per
// (subscription, appointment), with retries and a dead letter after a bounded number of
// attempts.
//
// A registration receives every event committed after its 201 was answered. The events of a
// commit reach the notifier after the commit, through the bus, and the notifier reads the
// registrations afresh for every batch of events it has received: that list holds every
// registration answered before the commit, whichever instance answered it, with no clock
// compared between instances. Only while the store cannot be read is the last list read used.
//
// Delivery state lives in MongoDB, as inserts keyed by _id only (docs/design.md: FerretDB has no
// atomic conditional update and no transaction), so that a restart resumes and several hub
// instances deliver each event once:
//
//   - an apphub.Delivery (the outbox record), _id = subscription|appointment|version|eventType, is
//     inserted by every instance that sees the event; the first insert wins and the others
//     fail on the _id, which is fine: they describe the same delivery.
//   - an apphub.DeliveryAttempt, _id = delivery|n, is the lease of attempt n: only the instance whose insert
//     succeeded makes that attempt. The lease lasts the request timeout plus the backoff that
//     follows a failure plus a margin; its holder retries by itself when the attempt fails,
//     and another instance takes attempt n+1 only once the lease ran out (the holder died).
//   - an apphub.DeliveryOutcome, _id = delivery, records that the delivery ended: delivered, dead-lettered
//     or unsubscribed. Every instance waits for it before moving on to the next delivery of
//     the same (subscription, appointment), so versions never overtake each other.
//
// Every instance sees every event (the Redis bus), queues every delivery in memory and races
// for the leases; the winner delivers and the others wait for the outcome. A worker scans the
// outbox at start and periodically, so that what a stopped instance left is resumed. A
// listener gets an event twice only when a lease ran out before its holder recorded the
// outcome (the holder died, or was slower than Timeout + backoff + LeaseMargin); the eventId
// is the same on every copy, so a listener can drop duplicates.
//
// What is not covered: an event that no instance consumed (every instance died between the
// commit and reading the event off the bus) never reaches the outbox; its revision is in
// MongoDB, but nothing replays revisions into the notifier yet.
package notify

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/apphub/apphub"
)

// Store is what the notifier needs from the database: the delivery records (apphub.Delivery,
// apphub.DeliveryAttempt, apphub.DeliveryOutcome). Each Insert is an insert keyed by _id that
// fails with ECONFLICT when the _id exists; nothing relies on a conditional update.
type Store interface {
	// InsertDelivery adds d to the outbox; ECONFLICT when it is there.
	InsertDelivery(ctx context.Context, d apphub.Delivery) error
	// Deliveries scans the outbox in natural (insertion) order: a scan that sees a delivery
	// also sees the deliveries inserted before it, so versions are not found out of order.
	Deliveries(ctx context.Context) ([]apphub.Delivery, error)
	// DeleteDelivery removes d from the outbox; no error when it is gone.
	DeleteDelivery(ctx context.Context, id string) error

	// InsertAttempt takes a lease; ECONFLICT when somebody took it.
	InsertAttempt(ctx context.Context, a apphub.DeliveryAttempt) error
	// GetAttempt reads attempt n of a delivery; ENOTFOUND when nobody took it.
	GetAttempt(ctx context.Context, deliveryID string, n int) (apphub.DeliveryAttempt, error)
	// DeleteAttempts removes attempts 1 to n of a delivery; no error for those that are gone.
	DeleteAttempts(ctx context.Context, deliveryID string, n int) error

	// InsertOutcome ends a delivery; ECONFLICT when it has ended already.
	InsertOutcome(ctx context.Context, o apphub.DeliveryOutcome) error
	// GetOutcome reads how a delivery ended; ENOTFOUND while it has not.
	GetOutcome(ctx context.Context, deliveryID string) (apphub.DeliveryOutcome, error)
	// DeleteNotificationsBefore removes the outcomes recorded and the attempts started before
	// t: outcomes are kept only to recognise a late duplicate of a delivered event, and an
	// attempt outlives its delivery only when an instance died while cleaning up.
	DeleteNotificationsBefore(ctx context.Context, t time.Time) (int, error)
}

// Options tune a Notifier; the zero value of a field means its default.
type Options struct {
	// Subscriptions returns the registered listeners (booking.Service.Subscriptions). Required.
	// It is called once for every batch of events and before each retry; its answer is never
	// reused for later events.
	Subscriptions func(ctx context.Context) ([]apphub.EventSubscription, error)
	// Render returns an appointment's full TMF646 representation. Required.
	Render func(ctx context.Context, a apphub.Appointment) (json.RawMessage, error)
	// RenderOffer returns a waitlist offer's representation, the payload of the extension
	// event WaitlistOfferEvent. Without it, offers are not sent.
	RenderOffer func(ctx context.Context, e apphub.WaitlistEntry, o apphub.WaitlistOffer) (json.RawMessage, error)
	// Match reports whether an envelope satisfies a subscription's query (the TMF list filter
	// grammar, over the envelope: eventType=…&event.appointment.status=…). Without it, only
	// the subscriptions with an empty query receive events.
	Match func(query string, envelope []byte) (bool, error)
	// MayRead reports whether a registration's owner may read an appointment (booking decides):
	// a registration receives only the events of appointments its owner may read. Without it
	// every event goes to every matching registration.
	MayRead func(ctx context.Context, owner apphub.Principal, a apphub.Appointment) bool
	// Resync returns an appointment's events after version after, in version order
	// (booking.Service.Events): Consume fills gaps with it. Optional.
	Resync func(ctx context.Context, appointmentID string, after int) ([]apphub.Event, error)

	// Secret, when set, signs every body: X-Hub-Signature-256: sha256=<hex HMAC-SHA256>.
	Secret []byte
	// AllowedNetworks are the private networks listeners may be in besides the global
	// unicast addresses (apphub.AddressRefusal; apphub.ParseAllowedNetworks parses the
	// operator's --notify-allow). Every address a callback resolves to is checked when
	// connecting; booking.Options.CallbackNetworks must be the same, so that registration
	// and delivery agree.
	AllowedNetworks []netip.Prefix
	// Dialer is the base dialer (its Resolver, timeouts); the destination check wraps its
	// Control. Default: 5s connect timeout.
	Dialer *net.Dialer
	// TLSConfig for https callbacks. Default: the system roots.
	TLSConfig *tls.Config

	// MaxAttempts before a dead letter. Default 10.
	MaxAttempts int
	// BaseBackoff is the wait after the first failure; it doubles after each one, up to
	// MaxBackoff, and each wait is drawn in [half, whole] so that retries spread out.
	// Defaults 1s and 5 minutes.
	BaseBackoff, MaxBackoff time.Duration
	// Timeout bounds one attempt (connection, request and response headers). Default 10s.
	Timeout time.Duration
	// LeaseMargin is added to a lease beyond the timeout and the backoff: it covers clock
	// skew between instances and recording the outcome. Default 5s.
	LeaseMargin time.Duration
	// PollInterval is the longest an instance waits before looking again whether a delivery
	// that another instance holds has ended. Default 1s.
	PollInterval time.Duration
	// ScanInterval is how often the outbox is scanned for deliveries this instance does not
	// know (left by a stopped instance). Default 30s.
	ScanInterval time.Duration
	// Retention is how long outcomes are kept. Default 24 hours.
	Retention time.Duration
	// Concurrency bounds the attempts in flight. Default 32.
	Concurrency int
	// Domain is the envelope's domain. Default "appointment".
	Domain string

	// TracerProvider, when set, makes every attempt a client span (otelhttp), a child of the
	// trace of the request that made the change when the event carries one. Without it the
	// event's traceparent is still sent as it is.
	TracerProvider trace.TracerProvider

	// Registerer receives the metrics (apphub_notify_*); nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Instance names this notifier in leases and logs. Default a random id.
	Instance string
}

// Notifier delivers events to the registered listeners.
type Notifier struct {
	store    Store
	opts     Options
	logger   *slog.Logger
	m        metrics
	client   *http.Client
	instance string
	sem      chan struct{}

	subsMu    sync.Mutex
	subs      []apphub.EventSubscription // the latest list read, for when the store is unreachable
	subsRead  uint64                     // the number of the read that returned subs; 0: none yet
	subsReads uint64                     // reads begun, numbered in the order they begin

	mu      sync.Mutex
	keys    map[string]*keyQueue // by subscription|appointment
	running bool
	runCtx  context.Context
	workers sync.WaitGroup
}

// New returns a notifier on store. Nothing is delivered until Run is called; events handed
// to Handle or Consume before are recorded in the outbox and queued.
func New(store Store, opts Options) (*Notifier, error) {
	if opts.Subscriptions == nil || opts.Render == nil {
		return nil, apphub.Errorf(apphub.EINVALID, "notify: Options.Subscriptions and Options.Render are required")
	}
	opts.MaxAttempts = cmp.Or(max(opts.MaxAttempts, 0), 10)
	opts.BaseBackoff = cmp.Or(max(opts.BaseBackoff, 0), time.Second)
	opts.MaxBackoff = cmp.Or(max(opts.MaxBackoff, 0), 5*time.Minute)
	opts.MaxBackoff = max(opts.MaxBackoff, opts.BaseBackoff)
	opts.Timeout = cmp.Or(max(opts.Timeout, 0), 10*time.Second)
	opts.LeaseMargin = cmp.Or(max(opts.LeaseMargin, 0), 5*time.Second)
	opts.PollInterval = cmp.Or(max(opts.PollInterval, 0), time.Second)
	opts.ScanInterval = cmp.Or(max(opts.ScanInterval, 0), 30*time.Second)
	opts.Retention = cmp.Or(max(opts.Retention, 0), 24*time.Hour)
	opts.Concurrency = cmp.Or(max(opts.Concurrency, 0), 32)
	opts.Domain = cmp.Or(opts.Domain, "appointment")
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Instance = cmp.Or(opts.Instance, strings.ToLower(rand.Text()[:10]))
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := newGuard(opts.Dialer, opts.AllowedNetworks)
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	n := &Notifier{store: store, opts: opts, logger: logger.With("component", "notify"), m: m,
		client: newClient(g, opts), instance: opts.Instance, sem: make(chan struct{}, opts.Concurrency),
		keys: make(map[string]*keyQueue)}
	if opts.TracerProvider != nil {
		n.client.Transport = otelhttp.NewTransport(n.client.Transport, otelhttp.WithTracerProvider(opts.TracerProvider),
			otelhttp.WithPropagators(propagation.TraceContext{}),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "notify " + path.Base(r.URL.Path) }))
	}
	return n, nil
}

func (n *Notifier) now() time.Time { return n.opts.Now() }

// Run delivers until ctx ends: it scans the outbox at once and every ScanInterval, works on
// every queued delivery, and removes old outcomes. When it returns, no attempt is in flight.
// A notifier runs once at a time: a second concurrent call returns at once.
func (n *Notifier) Run(ctx context.Context) {
	n.mu.Lock()
	if n.running {
		n.mu.Unlock()
		return
	}
	n.running, n.runCtx = true, ctx
	for key, kq := range n.keys {
		n.startLocked(key, kq)
	}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.running, n.runCtx = false, nil
		n.mu.Unlock()
		n.workers.Wait()
	}()

	scan := time.NewTicker(n.opts.ScanInterval)
	defer scan.Stop()
	sweepEvery := min(n.opts.Retention/4, time.Hour)
	lastSweep := time.Time{}
	for {
		n.scan(ctx)
		if now := n.now(); now.Sub(lastSweep) >= sweepEvery {
			lastSweep = now
			n.sweep(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-scan.C:
		}
	}
}

// scan queues every delivery of the outbox; the workers skip those that ended.
func (n *Notifier) scan(ctx context.Context) {
	all, err := n.store.Deliveries(ctx)
	if err != nil {
		if ctx.Err() == nil {
			n.m.storeErrors.Inc()
			n.logger.WarnContext(ctx, "notify: the outbox cannot be read; trying again later", "err", err)
		}
		return
	}
	for _, d := range all {
		n.enqueue(d, true)
	}
}

func (n *Notifier) sweep(ctx context.Context) {
	removed, err := n.store.DeleteNotificationsBefore(ctx, n.now().Add(-n.opts.Retention))
	if err != nil {
		if ctx.Err() == nil {
			n.m.storeErrors.Inc()
			n.logger.WarnContext(ctx, "notify: old outcomes not removed", "err", err)
		}
		return
	}
	if removed > 0 {
		n.logger.DebugContext(ctx, "notify: old outcomes removed", "count", removed)
	}
}

// Handle turns events into deliveries, one per matching subscription, records them in the
// outbox and queues them. It never delivers by itself: call it from the event consumer, not
// from a request, and only with events already received. Events of one appointment must come
// in version order.
//
// It reads the subscriptions once per call, after the events were received. An event reaches
// the notifier after its commit, and a registration is answered after its insert, so a list
// read now holds every registration answered before the commit of any of these events, on
// whichever instance it was made: a listener gets every event committed after its 201. No
// clock is compared. Under load Consume hands over larger batches, so reads do not pile up.
func (n *Notifier) Handle(ctx context.Context, events []apphub.Event) {
	if len(events) == 0 {
		return
	}
	// Without any list of subscriptions the events would be lost: wait for one. Consume
	// buffers meanwhile. When the store cannot be read but a list was read before, that one
	// is used rather than holding every event back: only registrations made since then miss
	// these events.
	var subs []apphub.EventSubscription
	for {
		var err error
		subs, err = n.subscriptions(ctx)
		if err == nil {
			break
		}
		n.m.storeErrors.Inc()
		if n.subscriptionsKnown() || ctx.Err() != nil {
			n.logger.WarnContext(ctx, "notify: the subscriptions cannot be read; using the last list known", "err", err)
			break
		}
		n.logger.WarnContext(ctx, "notify: the subscriptions cannot be read; trying again", "err", err)
		n.sleep(ctx, n.opts.PollInterval)
	}
	if len(subs) == 0 {
		return
	}
	for _, ev := range events {
		body, eventID, err := n.envelope(ctx, ev)
		if err != nil {
			n.m.dropped.WithLabelValues("render").Inc()
			n.logger.ErrorContext(ctx, "notify: event not rendered; not delivered", "appointment", ev.AppointmentID,
				"version", ev.Version, "eventType", ev.Kind, "err", err)
			continue
		}
		for _, s := range subs {
			if n.opts.MayRead != nil && !n.opts.MayRead(ctx, s.Owner, ev.State) {
				continue
			}
			if !n.matches(ctx, s, body) {
				continue
			}
			d := apphub.Delivery{ID: apphub.DeliveryID(s.ID, ev.AppointmentID, ev.Version, ev.Kind), SubscriptionID: s.ID,
				AppointmentID: ev.AppointmentID, Version: ev.Version, EventType: ev.Kind, EventID: eventID,
				Callback: s.Callback, Body: body, CreatedAt: n.now().UTC(), TraceParent: ev.TraceParent}
			if key, added := n.enqueue(d, false); added {
				n.m.deliveries.Inc()
				n.persist(ctx, key)
			}
		}
	}
}

func (n *Notifier) matches(ctx context.Context, s apphub.EventSubscription, body []byte) bool {
	q := strings.TrimPrefix(strings.TrimSpace(s.Query), "?")
	if q == "" {
		return true
	}
	if n.opts.Match == nil {
		n.m.dropped.WithLabelValues("query").Inc()
		n.logger.WarnContext(ctx, "notify: a subscription has a query and no matcher is configured; not delivered",
			"subscription", s.ID)
		return false
	}
	ok, err := n.opts.Match(q, body)
	if err != nil {
		n.m.dropped.WithLabelValues("query").Inc()
		n.logger.WarnContext(ctx, "notify: a subscription's query cannot be evaluated; not delivered",
			"subscription", s.ID, "query", q, "err", err)
		return false
	}
	return ok
}

// subscriptions reads the registered listeners. It never answers from an earlier read, which
// could miss a registration answered since; on failure it returns the last list read with the
// error.
func (n *Notifier) subscriptions(ctx context.Context) ([]apphub.EventSubscription, error) {
	n.subsMu.Lock()
	n.subsReads++
	read := n.subsReads
	n.subsMu.Unlock()

	subs, err := n.opts.Subscriptions(ctx)
	if err == nil {
		slices.SortFunc(subs, func(a, b apphub.EventSubscription) int { return strings.Compare(a.ID, b.ID) })
	}
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	if err != nil {
		return n.subs, err
	}
	// Reads run concurrently (Handle, and workers checking for unsubscriptions): a read that
	// began earlier but ended later must not replace a newer list as the fallback.
	if read > n.subsRead {
		n.subs, n.subsRead = subs, read
	}
	return subs, nil
}

func (n *Notifier) subscriptionsKnown() bool {
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	return n.subsRead > 0
}

// Consume hands the events read from ch (the bus's Subscribe) to Handle until ctx ends or ch
// is closed. It reads ch at once into a queue of its own, so that a slow database never
// makes the bus drop events for this subscriber; with Options.Resync it fills the gaps a
// dropped event would leave.
func (n *Notifier) Consume(ctx context.Context, ch <-chan apphub.Event) {
	var (
		mu     sync.Mutex
		queue  []apphub.Event
		closed bool
		wake   = make(chan struct{}, 1)
	)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	var reader sync.WaitGroup
	reader.Go(func() {
		defer func() {
			mu.Lock()
			closed = true
			mu.Unlock()
			signal()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-ch:
				if !ok {
					return
				}
				mu.Lock()
				queue = append(queue, ev)
				mu.Unlock()
				signal()
			}
		}
	})
	defer reader.Wait()

	seq := n.sequencer()
	for {
		mu.Lock()
		batch, done := queue, closed
		queue = nil
		mu.Unlock()
		if len(batch) > 0 {
			hctx, cancel := ctx, context.CancelFunc(func() {})
			if ctx.Err() != nil {
				// Shutting down: what was read still goes to the outbox, within a bound, so that
				// a restart delivers it.
				hctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), n.opts.Timeout)
			}
			n.Handle(hctx, n.order(hctx, seq, batch))
			cancel()
			continue
		}
		if done {
			return
		}
		<-wake // the reader signals every event and its own end
	}
}

// sequencer drops events already handled and, with Resync, inserts the ones missed before an
// event that skips versions. It remembers an appointment for an hour after its last event.
func (n *Notifier) sequencer() *apphub.EventSequencer {
	resync := n.opts.Resync
	if resync != nil {
		resync = func(ctx context.Context, id string, after int) ([]apphub.Event, error) {
			ctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
			defer cancel()
			return n.opts.Resync(ctx, id, after)
		}
	}
	return apphub.NewEventSequencer(resync, time.Hour, n.opts.Now)
}

// order returns the events of batch to handle, in order, through seq.
func (n *Notifier) order(ctx context.Context, seq *apphub.EventSequencer, batch []apphub.Event) []apphub.Event {
	var out []apphub.Event
	for _, ev := range batch {
		evs, err := seq.Next(ctx, ev)
		if err != nil {
			n.logger.WarnContext(ctx, "notify: missed events not read; going on with the newer one",
				"appointment", ev.AppointmentID, "version", ev.Version, "err", err)
		}
		out = append(out, evs...)
	}
	return out
}
