package resolvers

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/graph/model"
	"github.com/apphub/apphub/slots"
)

// liveState is what the subscriptions of one Resolver share, so that their cost grows with
// what they watch rather than with how many watch it: one watcher per distinct slot grid, and
// one reader of the bus's appointment events for every status subscription. The zero value
// is ready.
type liveState struct {
	mu     sync.Mutex
	grids  map[gridKey]*gridWatcher
	status statusHub

	encodings atomic.Int64 // grids marshalled by gridResponses (for tests)
}

// A gridKey names the answer an availability input asks for: where the search happens
// (slots.Scope.Target: every postcode of a zone has the same answer), not the place string
// sent. The answer does not depend on who asks, only whether one may, which each subscriber's
// own search checks. A window left to its default (zero here) moves with the clock: the
// watcher's searches default it again each time. The ranking (rank and preferred times) is
// part of the key: it orders the grid's slots and makes its recommendations.
type gridKey struct {
	category, target, resource string
	from, to                   int64  // Unix nanoseconds, 0 when not given
	rank                       string // ranking.key
}

// gridKeyOf returns q's key and the work zone whose changes change its answer, "" when it has
// none (a search by resource alone: every change concerns it).
func gridKeyOf(cal *apphub.Calendar, q booking.SlotQuery) (gridKey, string, error) {
	// The target depends on the calendar and the query's category, place and resource only;
	// the window and the clock here just make a valid query.
	probe := slots.Query(q)
	switch {
	case probe.From.IsZero() && probe.To.IsZero():
		probe.From = time.Unix(0, 0)
	case probe.From.IsZero():
		probe.From = probe.To.Add(-time.Hour)
	}
	if probe.To.IsZero() || !probe.To.After(probe.From) || probe.To.Sub(probe.From) > slots.MaxSearchWindow {
		probe.To = probe.From.Add(time.Hour)
	}
	probe.Now = probe.From
	sc, err := slots.NewScope(cal, probe)
	if err != nil {
		return gridKey{}, "", err
	}
	unix := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixNano()
	}
	return gridKey{q.Category, sc.Target(), q.Resource, unix(q.From), unix(q.To), ""}, sc.Zone(), nil
}

// gridWatcher keeps one slot grid current for all its subscribers: it follows the bus's
// availability changes once, recomputes the grid once per change of its zone, and hands the
// same grid to every subscriber. It stops when its last subscriber leaves.
type gridWatcher struct {
	r       *Resolver
	key     gridKey
	query   booking.SlotQuery // its first subscriber's: the place resolves to key.target
	rank    ranking           // its first subscriber's: the same key as every other's
	zone    string
	ctx     context.Context // calls as its first subscriber; ends with the last one
	stop    context.CancelFunc
	changes <-chan []apphub.ZoneDay
	refs    int // subscribers joined or joining, under liveState.mu

	// compute serialises the searches (the watcher's and those of joining subscribers), so
	// that each one reads a version at least as new as the previous one: the grids published
	// only move forward.
	compute sync.Mutex

	mu   sync.Mutex
	grid *model.Availability // the last grid published, nil before the first
	// What grid was made from, for gridEncoder.
	gridRes *booking.SlotResult
	gridCal *apphub.Calendar
	subs    map[*gridSub]struct{}
	// The last grid handed to a subscriber, and its responses by document (gridResponses):
	// only the latest grid's are kept, so that they cost one response per document in use.
	latest  *model.Availability
	encoded map[string]*gridEncoding
}

// gridSub is one subscriber: its channel holds the grid it has not taken yet, at most one.
// A newer grid replaces it, so a slow subscriber costs one pointer and gets the latest grid.
type gridSub struct {
	ch     chan *model.Availability
	signal func() // called for each grid put in ch, and when ch closes (streamSignalOf)
}

// offer hands g to the subscriber, replacing a grid it has not taken. Called under the
// watcher's mu, the only place that sends: after the receive there is room.
func (s *gridSub) offer(g *model.Availability) {
	select {
	case s.ch <- g:
		s.signal()
	default:
		select {
		case <-s.ch:
			s.ch <- g // replaces a grid already signalled
		default:
			s.ch <- g
			s.signal()
		}
	}
}

// watchGrid subscribes to the grid q asks for, ranked by rk, and returns the watcher it
// joined. res is the caller's own search of q.
func (r *Resolver) watchGrid(ctx context.Context, q booking.SlotQuery, rk ranking, res *booking.SlotResult) (<-chan *model.Availability, *gridWatcher, error) {
	cal, _, err := r.Service.CalendarAndVersion(ctx)
	if err != nil {
		return nil, nil, err
	}
	key, zone, err := gridKeyOf(cal, q)
	if err != nil {
		return nil, nil, err
	}
	key.rank = rk.key
	w := r.live.watcher(r, ctx, key, q, rk, zone)
	signal, _ := streamSignalOf(ctx)
	sub := &gridSub{ch: make(chan *model.Availability, 1), signal: signal}
	if err := w.join(sub, res); err != nil {
		r.live.release(w)
		return nil, nil, err
	}
	context.AfterFunc(ctx, func() {
		w.leave(sub)
		r.live.release(w)
	})
	return sub.ch, w, nil
}

// watcher returns the watcher of key, started if there is none, with a reference taken.
func (l *liveState) watcher(r *Resolver, ctx context.Context, key gridKey, q booking.SlotQuery, rk ranking, zone string) *gridWatcher {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.grids[key]; w != nil {
		w.refs++
		return w
	}
	// Any principal that may search gets the same answer: the watcher searches as the caller
	// who starts it, whose search just succeeded, for as long as it has subscribers.
	wctx, stop := context.WithCancel(apphub.NewContextWithPrincipal(context.Background(), apphub.PrincipalFromContext(ctx)))
	w := &gridWatcher{r: r, key: key, query: q, rank: rk, zone: zone, ctx: wctx, stop: stop, refs: 1, subs: make(map[*gridSub]struct{})}
	// Before any search, so that no change falls between the first grid and the next.
	w.changes = r.Events.SubscribeAvailability(wctx)
	if l.grids == nil {
		l.grids = make(map[gridKey]*gridWatcher)
	}
	l.grids[key] = w
	go w.run()
	return w
}

// release gives back a reference to w, and stops it when it was the last.
func (l *liveState) release(w *gridWatcher) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w.refs--
	if w.refs == 0 {
		delete(l.grids, w.key)
		w.stop()
	}
}

// watchers reports how many grid watchers run (for tests).
func (l *liveState) watchers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.grids)
}

// join adds sub with its first grid: the watcher's, when res (the subscriber's own search,
// read before this) has its version; otherwise one searched now, after every grid published,
// which the other subscribers then get too if it differs.
func (w *gridWatcher) join(sub *gridSub, res *booking.SlotResult) error {
	w.compute.Lock()
	defer w.compute.Unlock()
	w.mu.Lock()
	grid := w.grid
	w.mu.Unlock()
	if grid == nil || !sameVersion(grid, res.Version) {
		// res may be older than the watcher's grid, or newer, or (for the first subscriber)
		// read before the watcher followed the changes: search again, now that no one else
		// does.
		var err error
		if grid, err = w.refresh(); err != nil {
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.subs[sub] = struct{}{}
	w.handOut(grid)
	sub.offer(grid)
	return nil
}

// leave removes sub and closes its channel.
func (w *gridWatcher) leave(sub *gridSub) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.subs, sub)
	close(sub.ch)
	sub.signal()
}

// run recomputes the grid when its zone changed (a calendar change counts as every zone),
// once a burst of changes has settled, until the last subscriber leaves.
func (w *gridWatcher) run() {
	concerns := func(zones []apphub.ZoneDay) bool {
		return w.zone == "" || len(zones) == 0 || slices.ContainsFunc(zones, func(z apphub.ZoneDay) bool { return z.Zone == w.zone })
	}
	for {
		select {
		case <-w.ctx.Done():
			return
		case zones, ok := <-w.changes:
			if !ok {
				return
			}
			if !concerns(zones) {
				continue
			}
		}
		timer := time.NewTimer(availabilityRefresh)
	settle:
		for {
			select {
			case <-w.ctx.Done():
				timer.Stop()
				return
			case _, ok := <-w.changes:
				if !ok {
					timer.Stop()
					return
				}
			case <-timer.C:
				break settle
			}
		}
		w.compute.Lock()
		_, err := w.refresh()
		w.compute.Unlock()
		if err != nil && w.ctx.Err() == nil {
			w.r.Logger.WarnContext(w.ctx, "availability subscription could not recompute", "err", err)
		}
	}
}

// refresh searches the grid and publishes it. The caller holds compute.
func (w *gridWatcher) refresh() (*model.Availability, error) {
	res, err := w.r.Service.Search(w.ctx, w.query)
	if err != nil {
		return nil, err
	}
	return w.publish(res)
}

// publish makes res the watcher's grid and hands it to every subscriber when it differs from
// the last one, and returns the watcher's grid. The caller holds compute.
func (w *gridWatcher) publish(res *booking.SlotResult) (*model.Availability, error) {
	w.mu.Lock()
	last := w.grid
	w.mu.Unlock()
	if last != nil && sameVersion(last, res.Version) {
		return last, nil // equal versions, equal answers: nothing to convert or compare
	}
	cal, _, err := w.r.Service.CalendarAndVersion(w.ctx)
	if err != nil {
		return nil, err
	}
	next := availability(cal, res, w.rank)
	send := last == nil || !reflect.DeepEqual(next.Days, last.Days) || !reflect.DeepEqual(next.Reasons, last.Reasons) ||
		!slices.Equal(next.NextDates, last.NextDates)
	w.mu.Lock()
	defer w.mu.Unlock()
	// Kept even when it is not sent: a joining subscriber's search then finds its version.
	w.grid, w.gridRes, w.gridCal = next, res, cal
	if send {
		w.handOut(next)
		for sub := range w.subs {
			sub.offer(next)
		}
	}
	return next, nil
}

// source returns the answer and the calendar g was made from, when g is the watcher's grid.
func (w *gridWatcher) source(g *model.Availability) (*booking.SlotResult, *apphub.Calendar, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gridRes, w.gridCal, g == w.grid && w.gridRes != nil
}

// handOut notes that g is the latest grid given to subscribers: the responses kept for an
// older one are dropped. The caller holds mu.
func (w *gridWatcher) handOut(g *model.Availability) {
	if g != w.latest {
		w.latest = g
		clear(w.encoded)
	}
}

// sameVersion reports whether g was computed at version (never when either has none).
func sameVersion(g *model.Availability, version string) bool {
	return version != "" && g.Version != nil && *g.Version == version
}

// statusHub reads the bus's appointment events once for every status subscription of a
// Resolver (while there is one) and hands each event to the subscribers it concerns, found by
// appointment id, party and resource.
type statusHub struct {
	mu         sync.Mutex
	n          int                // subscribers
	stop       context.CancelFunc // ends the bus subscription; nil while n is 0
	byID       map[string]map[*statusSub]struct{}
	byParty    map[string]map[*statusSub]struct{}
	byResource map[string]map[*statusSub]struct{}
}

// statusQueue bounds the events a status subscriber has not taken yet (beyond the channel's
// own buffer). When it is full the oldest event is dropped: a later event of the same
// appointment brings it back from the revisions (the sequencer fills the gap).
const statusQueue = 32

// statusSub is one appointmentChanged subscription. It has no goroutine of its own while idle:
// one runs while events wait to be sequenced, checked and sent (gap filling reads MongoDB, and
// a send waits for the client), and ends when none are left.
type statusSub struct {
	r      *Resolver
	ctx    context.Context
	caller apphub.Principal
	out    chan *model.AppointmentChange
	signal func() // called for each change put in out, and when out closes (streamSignalOf)
	// What this subscriber has been sent, so that it never gets a version twice or out of
	// order. Only the running drain uses it.
	seq *apphub.EventSequencer

	mu      sync.Mutex
	current []apphub.Appointment // the state at subscription time, sent first
	queue   []apphub.Event
	ready   bool // the current state is known: events may be sent
	running bool // a drain goroutine runs
	done    bool // the subscriber left
	closed  bool // out is closed
}

// add registers s under its appointment id, party or resource, and starts reading the bus for
// the first subscriber.
func (h *statusHub) add(r *Resolver, s *statusSub, id, partyID, resource string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		ctx, stop := context.WithCancel(context.Background())
		h.stop = stop
		go h.run(ctx, r.Events.Subscribe(ctx))
	}
	h.n++
	index(&h.byID, id, s)
	index(&h.byParty, partyID, s)
	index(&h.byResource, resource, s)
}

// remove unregisters s, and stops reading the bus after the last subscriber.
func (h *statusHub) remove(s *statusSub, id, partyID, resource string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	unindex(h.byID, id, s)
	unindex(h.byParty, partyID, s)
	unindex(h.byResource, resource, s)
	h.n--
	if h.n == 0 {
		h.stop()
		h.stop = nil
	}
}

func index(m *map[string]map[*statusSub]struct{}, key string, s *statusSub) {
	if key == "" {
		return
	}
	if *m == nil {
		*m = make(map[string]map[*statusSub]struct{})
	}
	if (*m)[key] == nil {
		(*m)[key] = make(map[*statusSub]struct{})
	}
	(*m)[key][s] = struct{}{}
}

func unindex(m map[string]map[*statusSub]struct{}, key string, s *statusSub) {
	if key == "" {
		return
	}
	delete(m[key], s)
	if len(m[key]) == 0 {
		delete(m, key)
	}
}

// run hands the bus's events to the subscribers they concern until ctx ends.
func (h *statusHub) run(ctx context.Context, events <-chan apphub.Event) {
	var to []*statusSub
	for ev := range events {
		if ctx.Err() != nil {
			return // a reader started after this one delivers from now on
		}
		to = to[:0]
		h.mu.Lock()
		for s := range h.byID[ev.AppointmentID] {
			to = append(to, s)
		}
		for s := range h.byParty[ev.State.PartyID] {
			to = append(to, s)
		}
		// Every member of a crew serves the appointment, not only its lead. A subscriber
		// watches one key, so a member appears once in the crew: no subscriber twice.
		for _, member := range ev.State.Members() {
			for s := range h.byResource[member] {
				to = append(to, s)
			}
		}
		h.mu.Unlock()
		for _, s := range to {
			s.offer(ev)
		}
		clear(to)
	}
}

// offer queues ev for s.
func (s *statusSub) offer(ev apphub.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	if len(s.queue) == statusQueue {
		s.queue = slices.Delete(s.queue, 0, 1)
	}
	s.queue = append(s.queue, ev)
	s.kick()
}

// start queues the current state before the events that arrived while it was read, and lets
// them be sent.
func (s *statusSub) start(current []apphub.Appointment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current, s.ready = current, true
	s.kick()
}

// kick starts a drain if there is something to send and none runs. The caller holds mu.
func (s *statusSub) kick() {
	if s.ready && !s.running && !s.done && (len(s.current) > 0 || len(s.queue) > 0) {
		s.running = true
		go s.drain()
	}
}

// leave ends s: its drain stops and its channel closes.
func (s *statusSub) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	s.current, s.queue = nil, nil
	if !s.running && !s.closed {
		s.closed = true
		close(s.out)
		s.signal()
	}
}

// drain sends what waits, then returns: the current state first, then the queued events.
func (s *statusSub) drain() {
	for {
		s.mu.Lock()
		if s.done || (len(s.current) == 0 && len(s.queue) == 0) {
			s.stopDrainLocked()
			s.mu.Unlock()
			return
		}
		var ok bool
		if len(s.current) > 0 {
			a := s.current[0]
			s.current = s.current[1:]
			if len(s.current) == 0 {
				s.current = nil
			}
			s.mu.Unlock()
			s.seq.Mark(a.ID, a.Version, kindCurrent)
			ok = s.send(&model.AppointmentChange{Kind: kindCurrent, Version: a.Version, Fields: []string{}, Appointment: &a})
		} else {
			ev := s.queue[0]
			s.queue = s.queue[1:]
			if len(s.queue) == 0 {
				s.queue = nil // an idle subscriber keeps no buffer
			}
			s.mu.Unlock()
			ok = s.deliver(ev)
		}
		if !ok {
			// The subscriber left: leave closes out once this drain has stopped.
			s.mu.Lock()
			s.stopDrainLocked()
			s.mu.Unlock()
			return
		}
	}
}

// stopDrainLocked ends the running drain, closing out if the subscriber has left. s.mu is held.
func (s *statusSub) stopDrainLocked() {
	s.running = false
	if s.done && !s.closed {
		s.closed = true
		close(s.out)
		s.signal()
	}
}

// deliver sends ev, preceded by the versions the subscriber missed, those it may read.
func (s *statusSub) deliver(ev apphub.Event) bool {
	evs, err := s.seq.Next(s.ctx, ev)
	if err != nil && s.ctx.Err() == nil {
		s.r.Logger.WarnContext(s.ctx, "subscription could not fill a gap from MongoDB", "appointment", ev.AppointmentID, "err", err)
	}
	for _, e := range evs {
		if !s.r.Service.MayRead(s.ctx, s.caller, e.State) {
			continue
		}
		fields := e.Fields
		if fields == nil {
			fields = []string{}
		}
		if !s.send(&model.AppointmentChange{Kind: e.Kind, Version: e.Version, Fields: fields, Appointment: &e.State}) {
			return false
		}
	}
	return true
}

func (s *statusSub) send(c *model.AppointmentChange) bool {
	select {
	case s.out <- c:
		s.signal()
		return true
	case <-s.ctx.Done():
		return false
	}
}
