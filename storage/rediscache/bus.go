package rediscache

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/apphub/apphub"
)

// Bus carries the events of every instance's commits, the zones whose availability changed
// (bookings, holds, releases) and the calendar's changes between hub instances, through one
// Redis stream: PublishEvents, PublishAvailabilityChanged and PublishCalendarChanged append to it
// (XADD, trimmed to about MaxLen entries), and each instance runs one reader (XREAD BLOCK from
// the last id it saw, so a short disconnection loses nothing) whose events are fanned out in
// process. It implements booking.Publisher.
//
// What this instance publishes also goes straight to its own subscribers, so they do not wait
// for Redis and still get it while Redis is down; its copy from the stream is then a
// duplicate. Per appointment, events reach subscribers in version order and at most once
// (version and kind): an event already seen is dropped, and an event after a gap is preceded
// by the missed ones, read through the resync function Run is given (apphub.EventSequencer).
type Bus struct {
	rdb         redis.UniversalClient
	key         string
	opts        BusOptions
	logger      *slog.Logger
	m           busMetrics
	breaker     *Breaker
	ownsBreaker bool
	queue       chan busItem // local publishes and the reader's entries, to the dispatcher

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	events fanout[apphub.Event]
	avail  fanout[[]apphub.ZoneDay]

	mu        sync.Mutex
	closed    bool
	started   bool
	running   sync.WaitGroup
	calendar  map[int]func(version string)
	nextCalID int

	// Owned by the dispatcher (Run's goroutine).
	lastVersion string
}

// BusOptions tune a Bus; the zero value of a field means its default.
type BusOptions struct {
	// Prefix goes before the stream's key ("events").
	Prefix string
	// MaxLen is the approximate number of entries the stream keeps. Default 10000.
	MaxLen int64
	// Block is how long one XREAD waits for new entries; Close waits up to this long for the
	// reader. Default 1s.
	Block time.Duration
	// Buffer is each subscriber's channel capacity; a subscriber whose buffer is full misses
	// events (counted). An event takes about 450 bytes of it. Default 64.
	Buffer int
	// Timeout bounds one publish and one resync call. Default 2s.
	Timeout time.Duration
	// Breaker, shared with the cache on the same client, makes publishes fail at once while
	// Redis is down. Without one the bus makes its own (probing every second), and closes it on
	// Close.
	Breaker *Breaker
	// Forget is how long the last version of an appointment with no new event is remembered.
	// Default 1 hour.
	Forget time.Duration
	// Now is the clock Forget is measured on. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

type busMetrics struct {
	published, publishFailures, received, delivered, duplicates, resyncs, resyncFailures, readErrors prometheus.Counter
	dropped                                                                                          *prometheus.CounterVec
}

// busItem is one batch for the dispatcher: events, zones whose availability changed, or a
// calendar version.
type busItem struct {
	events         []apphub.Event
	isAvailability bool
	zones          []apphub.ZoneDay
	isCalendar     bool
	calendar       string
}

// zoneDayEntry is one (zone, UTC day) of an availability entry on the stream. The format
// before apphub.ZoneDay named the zone "Resource" (the type was shared with resource days):
// both names are written, so that hubs of either format read each other's entries while an
// upgrade runs, and an entry with either is read.
type zoneDayEntry struct {
	Zone     string    `json:"Zone,omitempty"`
	Resource string    `json:"Resource,omitempty"` // the zone, for hubs of the previous format
	Day      time.Time `json:"Day"`
}

func encodeZones(zones []apphub.ZoneDay) ([]byte, error) {
	entries := make([]zoneDayEntry, len(zones))
	for i, z := range zones {
		entries[i] = zoneDayEntry{Zone: z.Zone, Resource: z.Zone, Day: z.Day}
	}
	return json.Marshal(entries)
}

func decodeZones(data []byte) ([]apphub.ZoneDay, error) {
	var entries []zoneDayEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, err
	}
	zones := make([]apphub.ZoneDay, len(entries))
	for i, e := range entries {
		zones[i] = apphub.ZoneDay{Zone: cmp.Or(e.Zone, e.Resource), Day: e.Day}
	}
	return zones, nil
}

// Stream entry fields.
const (
	fieldKind        = "k"
	fieldData        = "d"
	kindEvents       = "events"
	kindAvailability = "availability"
	kindCalendar     = "calendar"
	readBatchSize    = 256
)

// NewBus returns a bus on c. Its metrics (apphub_event_bus_*) are registered with reg when
// reg is not nil. Run reads the stream; Close stops it and ends the subscriptions.
func NewBus(c *Client, reg prometheus.Registerer, opts BusOptions) (*Bus, error) {
	if opts.MaxLen <= 0 {
		opts.MaxLen = 10000
	}
	if opts.Block <= 0 {
		opts.Block = time.Second
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 64
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Forget <= 0 {
		opts.Forget = time.Hour
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bus{rdb: c.rdb, key: opts.Prefix + "events", opts: opts, logger: logger, breaker: opts.Breaker,
		queue: make(chan busItem, 1024), ctx: ctx, cancel: cancel,
		calendar: make(map[int]func(string))}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "apphub_event_bus_" + name, Help: help})
	}
	b.m = busMetrics{
		published:       counter("published_total", "Stream entries this instance appended."),
		publishFailures: counter("publish_failures_total", "Publishes that could not reach Redis (other instances resynchronise on their next event)."),
		received:        counter("received_total", "Stream entries this instance read."),
		delivered:       counter("delivered_total", "Events handed to the subscribers (once per event, not per subscriber)."),
		duplicates:      counter("duplicates_total", "Events dropped because their version had been delivered."),
		resyncs:         counter("resyncs_total", "Gaps in an appointment's versions filled through Resync."),
		resyncFailures:  counter("resync_failures_total", "Gaps that Resync could not fill; the newer event was delivered anyway."),
		readErrors:      counter("read_errors_total", "Failed reads of the stream (Redis down); the reader retries from where it was."),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "apphub_event_bus_dropped_total",
			Help: "Events not delivered: reason=subscriber (its buffer was full), queue (the in-process queue was full; the stream's copy follows)."},
			[]string{"reason"}),
	}
	if reg != nil {
		for _, col := range []prometheus.Collector{b.m.published, b.m.publishFailures, b.m.received, b.m.delivered,
			b.m.duplicates, b.m.resyncs, b.m.resyncFailures, b.m.readErrors, b.m.dropped} {
			if err := reg.Register(col); err != nil {
				cancel()
				return nil, apphub.WrapError(apphub.EINTERNAL, err, "register the event bus metrics")
			}
		}
	}
	if b.breaker == nil {
		br, err := NewBreaker(c, nil, BreakerOptions{Interval: time.Second, Logger: logger})
		if err != nil {
			cancel()
			return nil, err
		}
		b.breaker, b.ownsBreaker = br, true
	}
	return b, nil
}

// PublishEvents hands events to this instance's subscribers and appends them to the stream
// for the others. It waits for Redis at most Timeout, and not at all while the breaker is
// open; a failure is counted and returned (EUNAVAILABLE): the caller publishes them again
// later, and meanwhile the other instances fill the gap through their resync function on the
// appointment's next event.
func (b *Bus) PublishEvents(ctx context.Context, events []apphub.Event) error {
	if len(events) == 0 {
		return nil
	}
	events = slices.Clone(events)
	b.enqueue(busItem{events: events})
	data, err := json.Marshal(events)
	if err != nil {
		b.logger.ErrorContext(ctx, "event bus: events not encoded", "err", err)
		return apphub.WrapError(apphub.EINTERNAL, err, "events not encoded")
	}
	return b.append(ctx, kindEvents, data)
}

// PublishAvailabilityChanged tells every instance (this one included) that the busy time of
// these (zone, UTC day) keys changed: a booking, a hold or a release, already in MongoDB and
// the cache.
func (b *Bus) PublishAvailabilityChanged(ctx context.Context, zones []apphub.ZoneDay) {
	if len(zones) == 0 {
		return
	}
	zones = slices.Clone(zones)
	b.enqueue(busItem{isAvailability: true, zones: zones})
	data, err := encodeZones(zones)
	if err != nil {
		b.logger.ErrorContext(ctx, "event bus: zones not encoded", "err", err)
		return
	}
	b.append(ctx, kindAvailability, data)
}

// PublishCalendarChanged tells every instance (this one included) that the calendar is now at
// version.
func (b *Bus) PublishCalendarChanged(ctx context.Context, version string) {
	b.enqueue(busItem{isCalendar: true, calendar: version})
	b.append(ctx, kindCalendar, []byte(version))
}

func (b *Bus) enqueue(it busItem) {
	select {
	case b.queue <- it:
	default:
		b.m.dropped.WithLabelValues("queue").Inc()
	}
}

func (b *Bus) append(ctx context.Context, kind string, data []byte) error {
	if err := b.breaker.Allow(); err != nil {
		// Known to be down: not waited for. The outage was logged when the breaker opened.
		b.m.publishFailures.Inc()
		return err
	}
	ctx = context.WithoutCancel(ctx)
	actx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	err := b.rdb.XAdd(actx, &redis.XAddArgs{Stream: b.key, MaxLen: b.opts.MaxLen, Approx: true,
		Values: []any{fieldKind, kind, fieldData, data}}).Err()
	if err != nil {
		b.m.publishFailures.Inc()
		b.breaker.Fail(ctx, err)
		err = mapError(err)
		b.logger.WarnContext(ctx, "event bus: not published to the other instances", "kind", kind, "err", err)
		return err
	}
	b.m.published.Inc()
	return nil
}

// Subscribe returns a channel of every appointment event, from this and the other instances,
// in version order per appointment. It is closed when ctx ends or the bus is closed. A
// subscriber that lets its buffer fill up misses events (counted as dropped); its version
// numbers then show the gap. The events' State may share maps with other subscribers: read
// only.
func (b *Bus) Subscribe(ctx context.Context) <-chan apphub.Event {
	return b.events.subscribe(ctx, b.opts.Buffer)
}

// SubscribeAvailability returns a channel of the (zone, UTC day) keys whose availability
// changed, on any instance; an empty list means anything may have changed (the calendar did).
// It is closed when ctx ends or the bus is closed. A subscriber that lets its buffer fill up
// misses changes (counted as dropped), but then it has others to act on.
func (b *Bus) SubscribeAvailability(ctx context.Context) <-chan []apphub.ZoneDay {
	return b.avail.subscribe(ctx, b.opts.Buffer)
}

// OnCalendarChanged calls fn with the calendar's new version each time it changes (on any
// instance, this one included). fn runs on the bus's dispatcher: it must return quickly. The
// returned function unregisters it.
func (b *Bus) OnCalendarChanged(fn func(version string)) (remove func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.nextCalID
	b.nextCalID++
	b.calendar[id] = fn
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.calendar, id)
	}
}

// Run reads the stream and dispatches until ctx ends or Close is called, in a goroutine of its
// own; while Redis is down it retries, from where it was, when Redis is back. resync returns an
// appointment's events after version after, in version order (the booking service's Events):
// an event after a gap is preceded by the missed ones it reads; nil leaves gaps unfilled. A bus
// runs once: a second call returns at once.
func (b *Bus) Run(ctx context.Context, resync func(ctx context.Context, appointmentID string, after int) ([]apphub.Event, error)) {
	b.mu.Lock()
	if b.closed || b.started {
		b.mu.Unlock()
		return
	}
	b.started = true
	b.running.Add(1)
	b.mu.Unlock()
	defer b.running.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(b.ctx, cancel)
	defer stop()

	var reader sync.WaitGroup
	reader.Go(func() { b.read(ctx) })
	defer reader.Wait()
	b.dispatch(ctx, resync)
}

// Close stops Run, waits for it and closes the subscribers' channels. The Redis client stays
// open: close it after the bus.
func (b *Bus) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.running.Wait()
	b.events.close()
	b.avail.close()
	if b.ownsBreaker {
		b.breaker.Close()
	}
}

// read follows the stream from its current end, handing entries to the dispatcher.
func (b *Bus) read(ctx context.Context) {
	var last string
	failing := false
	backoff := 50 * time.Millisecond
	fail := func(err error) {
		b.m.readErrors.Inc()
		// The reader is the first to see Redis go: the publishes need not each find out.
		b.breaker.Fail(ctx, err)
		if !failing {
			b.logger.WarnContext(ctx, "event bus: the stream cannot be read; retrying", "err", mapError(err))
			failing = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	for ctx.Err() == nil {
		if last == "" || failing {
			// At the start, and after an outage: where the stream ends now. A stream that is now
			// behind the last id read was recreated (Redis lost its data): read it from its start.
			end, err := b.streamEnd(ctx)
			if err != nil {
				if ctx.Err() == nil {
					fail(err)
				}
				continue
			}
			switch {
			case last == "":
				last = end
			case compareStreamIDs(end, last) < 0:
				last = "0-0"
			}
			if failing {
				b.logger.InfoContext(ctx, "event bus: reading the stream again")
				failing, backoff = false, 50*time.Millisecond
			}
		}
		res, err := b.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{b.key, last}, Count: readBatchSize, Block: b.opts.Block}).Result()
		if errors.Is(err, redis.Nil) {
			continue // nothing new within Block
		}
		if err != nil {
			if ctx.Err() == nil {
				fail(err)
			}
			continue
		}
		for _, st := range res {
			for _, msg := range st.Messages {
				last = msg.ID
				b.m.received.Inc()
				it, ok := b.decode(ctx, msg)
				if !ok {
					continue
				}
				select {
				case b.queue <- it:
				case <-ctx.Done():
					return
				}
			}
		}
	}
}

// streamEnd returns the id of the stream's last entry, "0-0" when it is empty.
func (b *Bus) streamEnd(ctx context.Context) (string, error) {
	msgs, err := b.rdb.XRevRangeN(ctx, b.key, "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

func (b *Bus) decode(ctx context.Context, msg redis.XMessage) (busItem, bool) {
	kind, _ := msg.Values[fieldKind].(string)
	data, _ := msg.Values[fieldData].(string)
	switch kind {
	case kindEvents:
		var events []apphub.Event
		if err := json.Unmarshal([]byte(data), &events); err != nil {
			b.logger.WarnContext(ctx, "event bus: undecodable entry skipped", "id", msg.ID, "err", err)
			return busItem{}, false
		}
		return busItem{events: events}, true
	case kindAvailability:
		zones, err := decodeZones([]byte(data))
		if err != nil {
			b.logger.WarnContext(ctx, "event bus: undecodable entry skipped", "id", msg.ID, "err", err)
			return busItem{}, false
		}
		return busItem{isAvailability: true, zones: zones}, true
	case kindCalendar:
		return busItem{isCalendar: true, calendar: data}, true
	default:
		b.logger.WarnContext(ctx, "event bus: unknown entry skipped", "id", msg.ID, "kind", kind)
		return busItem{}, false
	}
}

// compareStreamIDs orders two stream ids ("ms-seq").
func compareStreamIDs(a, b string) int {
	am, as := splitStreamID(a)
	bm, bs := splitStreamID(b)
	if am != bm {
		if am < bm {
			return -1
		}
		return 1
	}
	switch {
	case as < bs:
		return -1
	case as > bs:
		return 1
	}
	return 0
}

func splitStreamID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}

// dispatch hands queued items to the subscribers, one at a time, until ctx ends.
func (b *Bus) dispatch(ctx context.Context, resync func(context.Context, string, int) ([]apphub.Event, error)) {
	if resync != nil {
		next := resync
		resync = func(ctx context.Context, id string, after int) ([]apphub.Event, error) {
			b.m.resyncs.Inc()
			ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
			defer cancel()
			return next(ctx, id, after)
		}
	}
	seq := apphub.NewEventSequencer(resync, b.opts.Forget, b.opts.Now)
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-b.queue:
			if it.isCalendar {
				b.calendarChanged(it.calendar)
				continue
			}
			if it.isAvailability {
				b.m.dropped.WithLabelValues("subscriber").Add(float64(b.avail.send(it.zones)))
				continue
			}
			for _, ev := range it.events {
				dropped := seq.Dropped()
				evs, err := seq.Next(ctx, ev)
				if err != nil {
					b.m.resyncFailures.Inc()
					b.logger.WarnContext(ctx, "event bus: missed events not read; delivering the newer one", "appointment", ev.AppointmentID,
						"version", ev.Version, "err", err)
				}
				b.m.duplicates.Add(float64(seq.Dropped() - dropped))
				for _, e := range evs {
					b.m.delivered.Inc()
					b.m.dropped.WithLabelValues("subscriber").Add(float64(b.events.send(e)))
				}
			}
		}
	}
}

func (b *Bus) calendarChanged(version string) {
	if version == b.lastVersion {
		return
	}
	b.lastVersion = version
	// The grids first: whoever a callback tells of the change may subscribe right after, and
	// must not then receive this change as a new one.
	b.m.dropped.WithLabelValues("subscriber").Add(float64(b.avail.send(nil)))
	b.mu.Lock()
	fns := make([]func(string), 0, len(b.calendar))
	for _, fn := range b.calendar {
		fns = append(fns, fn)
	}
	b.mu.Unlock()
	for _, fn := range fns {
		fn(version)
	}
}
