package notify_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/notify"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

var secret = []byte("s3cret")

// render stands in for tmfrest's representation: enough of an appointment for the tests'
// queries and assertions.
// Like tmfrest, it does not escape HTML: client strings go out as they were sent.
func render(_ context.Context, a apphub.Appointment) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(map[string]any{
		"id": a.ID, "href": "http://hub.test/tmf-api/appointment/v4/appointment/" + a.ID, "@type": "Appointment",
		"status": a.Status, "description": a.Description,
		"validFor": map[string]string{"startDateTime": a.Start.Format(time.RFC3339), "endDateTime": a.End.Format(time.RFC3339)},
	})
	return bytes.TrimSpace(buf.Bytes()), err
}

// match stands in for tmfrest's filter evaluation (the same grammar as list filters): here
// only ANDed equalities on dotted paths, which is what the tests' queries use.
func match(query string, envelope []byte) (bool, error) {
	var doc map[string]any
	if err := json.Unmarshal(envelope, &doc); err != nil {
		return false, err
	}
	for cond := range strings.SplitSeq(query, "&") {
		path, want, ok := strings.Cut(cond, "=")
		if !ok {
			return false, fmt.Errorf("%q is not a condition", cond)
		}
		var v any = doc
		for name := range strings.SplitSeq(path, ".") {
			m, _ := v.(map[string]any)
			v = m[name]
		}
		if s, _ := v.(string); s != want {
			return false, nil
		}
	}
	return true, nil
}

// received is one request a listener got.
type received struct {
	Path   string
	Status int
	SigOK  bool
	Body   []byte
	Env    struct {
		EventID, EventTime, EventType, CorrelationID, Domain, Title, Description, Priority, TimeOcurred, FieldPath string
		Event                                                                                                      struct {
			Appointment map[string]any
		}
	}
}

// version is the appointment version the event is about (its correlationId is id-version).
func (r received) version() int {
	i := strings.LastIndexByte(r.Env.CorrelationID, '-')
	v, _ := strconv.Atoi(r.Env.CorrelationID[i+1:])
	return v
}

func (r received) appointment() string {
	s, _ := r.Env.Event.Appointment["id"].(string)
	return s
}

// listener is a TMF646 client's listener on loopback. fail, when set, decides which requests
// (numbered from 1) get a 500.
type listener struct {
	srv   *httptest.Server
	mu    sync.Mutex
	fail  func(n int, r received) bool
	reqs  []received
	first chan struct{}
	once  sync.Once
}

func newListener(t *testing.T, fail func(n int, r received) bool) *listener {
	l := &listener{fail: fail, first: make(chan struct{})}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := received{Path: r.URL.Path, Body: body, SigOK: notify.Verify(secret, body, r.Header.Get("X-Hub-Signature-256"))}
		if err := json.Unmarshal(body, &rec.Env); err != nil {
			t.Errorf("listener: undecodable body %s: %v", body, err)
		}
		l.mu.Lock()
		rec.Status = http.StatusCreated
		if l.fail != nil && l.fail(len(l.reqs)+1, rec) {
			rec.Status = http.StatusInternalServerError
		}
		l.reqs = append(l.reqs, rec)
		l.mu.Unlock()
		l.once.Do(func() { close(l.first) })
		w.WriteHeader(rec.Status)
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *listener) requests() []received {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

func (l *listener) accepted() []received {
	var out []received
	for _, r := range l.requests() {
		if r.Status == http.StatusCreated {
			out = append(out, r)
		}
	}
	return out
}

func (l *listener) port() string {
	_, p, _ := net.SplitHostPort(l.srv.Listener.Addr().String())
	return p
}

// publisher collects the booking service's events and hands them to the notifiers' channels,
// as the bus does: every instance sees every event.
type publisher struct {
	mu    sync.Mutex
	outs  []chan apphub.Event
	batch [][]apphub.Event
}

func (p *publisher) PublishEvents(_ context.Context, events []apphub.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batch = append(p.batch, slices.Clone(events))
	for _, ch := range p.outs {
		for _, ev := range events {
			ch <- ev
		}
	}
	return nil
}

func (p *publisher) PublishCalendarChanged(context.Context, string)               {}
func (p *publisher) PublishAvailabilityChanged(context.Context, []apphub.ZoneDay) {}

func (p *publisher) channel() <-chan apphub.Event {
	ch := make(chan apphub.Event, 1024)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outs = append(p.outs, ch)
	return ch
}

func (p *publisher) batches() [][]apphub.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.batch)
}

type env struct {
	t        *testing.T
	uri, db  string
	store    *mongodb.DB
	svc      *booking.Service
	pub      *publisher
	logs     *syncBuffer
	registry []*prometheus.Registry
	allowed  []netip.Prefix // the operator's networks, for registration and delivery alike
}

// loopback is the network of the tests' listeners, which an operator must allow.
var loopback = []string{"127.0.0.1/32"}

// newEnv is a hub whose callbacks may reach the tests' listeners on 127.0.0.1.
func newEnv(t *testing.T) *env { return newEnvAllowing(t, loopback...) }

// newEnvAllowing is a hub whose callbacks may reach the networks allowed (CIDR prefixes)
// besides global unicast addresses.
func newEnvAllowing(t *testing.T, allowed ...string) *env {
	nets, err := apphub.ParseAllowedNetworks(allowed)
	if err != nil {
		t.Fatal(err)
	}
	uri, name := storetest.MongoURI(t)
	e := &env{t: t, uri: uri, db: name, pub: &publisher{}, logs: &syncBuffer{}, allowed: nets}
	e.store = e.open()
	e.svc = booking.NewService(e.store, booking.Options{Publisher: e.pub, Now: testclock.Now, CallbackNetworks: nets})
	return e
}

// open connects to the test's database again: another hub instance.
func (e *env) open() *mongodb.DB {
	db, err := mongodb.Open(e.uri, e.db)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close(context.Background()) })
	return db
}

func (e *env) subscribe(callback, query string) apphub.EventSubscription {
	s, err := e.svc.Subscribe(asAdmin(), booking.NewSubscription{Callback: callback, Query: query})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// options are fast enough for tests: short backoffs, timeouts and polls.
func (e *env) options(edit ...func(*notify.Options)) notify.Options {
	reg := prometheus.NewRegistry()
	e.registry = append(e.registry, reg)
	o := notify.Options{Subscriptions: e.svc.Subscriptions, Render: render, Match: match, Secret: secret, AllowedNetworks: e.allowed,
		MaxAttempts: 5, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Timeout: time.Second,
		LeaseMargin: time.Second, PollInterval: 50 * time.Millisecond, ScanInterval: 300 * time.Millisecond,
		Registerer: reg, Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, f := range edit {
		f(&o)
	}
	return o
}

// notifier starts a notifier on its own connection; stop ends its Run and waits for it.
func (e *env) notifier(opts notify.Options) (n *notify.Notifier, stop func()) {
	n, err := notify.New(e.open(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.Run(ctx) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	e.t.Cleanup(stop)
	return n, stop
}

// consume hands the published events to n, as serve.go does with the bus.
func (e *env) consume(n *notify.Notifier) {
	ch := e.pub.channel()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.Consume(ctx, ch) })
	e.t.Cleanup(func() { cancel(); wg.Wait() })
}

// lifecycle books a plain appointment, confirms, reschedules and cancels it: 4 revisions,
// 4 events (create, state change, attribute change of validFor, state change).
func (e *env) lifecycle() string {
	ctx := asAdmin()
	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	a, err := e.svc.Book(ctx, booking.NewAppointment{Start: start, End: start.Add(time.Hour), Description: "fibre <b>&</b> install"})
	if err != nil {
		e.t.Fatal(err)
	}
	if a, err = e.svc.Change(ctx, booking.Change{ID: a.ID, Status: apphub.StatusConfirmed}); err != nil {
		e.t.Fatal(err)
	}
	start = start.Add(24 * time.Hour)
	if a, err = e.svc.Reschedule(ctx, booking.Reschedule{ID: a.ID, Start: start, End: start.Add(time.Hour)}); err != nil {
		e.t.Fatal(err)
	}
	if _, err = e.svc.Change(ctx, booking.Change{ID: a.ID, Status: apphub.StatusCancelled, StatusReason: "fixed"}); err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}

var lifecycleEvents = []string{apphub.EventCreated, apphub.EventStateChanged, apphub.EventAttributeChanged, apphub.EventStateChanged}

// metric sums the samples of a counter or gauge over the notifiers' registries whose labels
// include the given name=value pairs.
func (e *env) metric(name string, labels ...string) float64 {
	var sum float64
	for _, reg := range e.registry {
		mfs, err := reg.Gather()
		if err != nil {
			e.t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		metrics:
			for _, m := range mf.GetMetric() {
				for i := 0; i+1 < len(labels); i += 2 {
					found := false
					for _, lp := range m.GetLabel() {
						found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
					}
					if !found {
						continue metrics
					}
				}
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkLifecycle checks that got is exactly the 4 events of appointment id, in order, once
// each, well formed and signed.
func checkLifecycle(t *testing.T, got []received, id, callbackPath string) {
	t.Helper()
	var mine []received
	for _, r := range got {
		if r.appointment() == id {
			mine = append(mine, r)
		}
	}
	if len(mine) != len(lifecycleEvents) {
		t.Fatalf("appointment %s: %d events accepted, want %d: %v", id, len(mine), len(lifecycleEvents), eventIDs(mine))
	}
	for i, r := range mine {
		wantType := lifecycleEvents[i]
		if r.version() != i+1 || r.Env.EventType != wantType {
			t.Fatalf("appointment %s: event %d is v%d %s, want v%d %s (order: %v)", id, i, r.version(), r.Env.EventType, i+1, wantType, eventIDs(mine))
		}
		if want := callbackPath + "/listener/" + notify.EventName(wantType); r.Path != want {
			t.Errorf("posted to %s, want %s", r.Path, want)
		}
		if !r.SigOK {
			t.Errorf("event %s: bad signature", r.Env.EventID)
		}
		e := r.Env
		if e.EventID != fmt.Sprintf("%s-%d-%s", id, i+1, notify.EventName(wantType)) || e.Domain != "appointment" ||
			e.Title == "" || e.Description == "" || e.Priority == "" || e.CorrelationID != fmt.Sprintf("%s-%d", id, i+1) {
			t.Errorf("envelope %s", r.Body)
		}
		if _, err := time.Parse(time.RFC3339, e.TimeOcurred); err != nil || e.EventTime != e.TimeOcurred {
			t.Errorf("envelope times %q, %q", e.EventTime, e.TimeOcurred)
		}
		if (wantType == apphub.EventAttributeChanged) != (e.FieldPath != "") || (e.FieldPath != "" && e.FieldPath != "validFor") {
			t.Errorf("%s has fieldPath %q", wantType, e.FieldPath)
		}
		if !bytes.Contains(r.Body, []byte(`"description":"fibre <b>&</b> install"`)) {
			t.Errorf("the representation's strings are not sent as they are: %s", r.Body)
		}
	}
	if s := mine[1].Env.Event.Appointment["status"]; s != apphub.StatusConfirmed {
		t.Errorf("v2 carries status %v", s)
	}
	if s := mine[3].Env.Event.Appointment["status"]; s != apphub.StatusCancelled {
		t.Errorf("v4 carries status %v", s)
	}
}

func eventIDs(rs []received) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s:%d", r.Env.EventID, r.Status))
	}
	return out
}

// A listener that fails its first two deliveries still gets every event of a create →
// confirm → reschedule → cancel, in order, once each, signed.
func TestDeliversInOrderDespiteFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := newListener(t, func(n int, _ received) bool { return n <= 2 })
	e.subscribe(l.srv.URL+"/hooks/", "")
	n, _ := e.notifier(e.options())
	e.consume(n)

	id := e.lifecycle()
	eventually(t, 10*time.Second, "4 accepted events", func() bool { return len(l.accepted()) >= 4 })
	checkLifecycle(t, l.accepted(), id, "/hooks")
	reqs := l.requests()
	if len(reqs) != 6 || reqs[0].Env.EventType != apphub.EventCreated || reqs[1].Env.EventType != apphub.EventCreated {
		t.Fatalf("requests %v, want the creation failing twice then the 4 events", eventIDs(reqs))
	}
	for _, r := range reqs {
		if !r.SigOK {
			t.Errorf("request %s: bad signature", r.Env.EventID)
		}
	}
	eventually(t, 5*time.Second, "the outbox emptied", func() bool {
		ds, err := e.store.Deliveries(context.Background())
		return err == nil && len(ds) == 0
	})
	if got := e.metric("apphub_notify_delivered_total"); got != 4 {
		t.Errorf("delivered_total = %v, want 4", got)
	}
	if got := e.metric("apphub_notify_attempts_total", "result", "status"); got != 2 {
		t.Errorf("attempts_total{result=status} = %v, want 2", got)
	}
}

// A notifier stopped in the middle leaves its work in MongoDB; a new one, which never sees
// the events, resumes from the outbox and delivers everything in order, once.
func TestRestartResumesFromMongoDB(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := newListener(t, func(n int, _ received) bool { return n <= 2 })
	e.subscribe(l.srv.URL, "")
	id := e.lifecycle()

	// A short lease margin: A is really stopped, and B takes over when A's lease ends.
	short := func(o *notify.Options) { o.LeaseMargin = 100 * time.Millisecond }
	a, stopA := e.notifier(e.options(short))
	for _, b := range e.pub.batches() {
		a.Handle(context.Background(), b)
	}
	select {
	case <-l.first:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery attempt")
	}
	stopA()
	if len(l.accepted()) != 0 {
		t.Fatalf("accepted before the restart: %v", eventIDs(l.requests()))
	}

	e.notifier(e.options(short)) // no events: only what MongoDB holds
	eventually(t, 10*time.Second, "4 accepted events", func() bool { return len(l.accepted()) >= 4 })
	time.Sleep(200 * time.Millisecond) // room for a duplicate to show
	checkLifecycle(t, l.accepted(), id, "")
	// A delivery is counted after its outcome is recorded, which follows the listener's answer.
	eventually(t, 15*time.Second, "4 deliveries counted", func() bool { return e.metric("apphub_notify_delivered_total") >= 4 })
	if got := e.metric("apphub_notify_delivered_total"); got != 4 {
		t.Errorf("delivered_total = %v over both notifiers, want 4", got)
	}
}

// Two instances on one database, both seeing every event: each event reaches each listener
// exactly once, in order per appointment.
func TestTwoInstancesDeliverOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Cleanup(func() {
		if t.Failed() {
			for line := range strings.Lines(e.logs.String()) {
				if strings.Contains(line, "lease") || strings.Contains(line, "delivered") || strings.Contains(line, "level=WARN") {
					t.Log(line)
				}
			}
		}
	})
	l1 := newListener(t, nil)
	l2 := newListener(t, nil)
	e.subscribe(l1.srv.URL, "")
	e.subscribe(l2.srv.URL+"/second", "")
	// The production margin and attempt timeout: under -race the embedded store can take most
	// of a second to record an outcome, and a lease that runs out first is a takeover (a
	// duplicate); on a loaded machine a loopback listener can take over a second to answer, and
	// an attempt that times out after the listener got the event is retried (a duplicate too,
	// as at-least-once allows, but not what this test is about).
	margin := func(o *notify.Options) { o.LeaseMargin, o.Timeout = 5*time.Second, 10*time.Second }
	a, _ := e.notifier(e.options(margin))
	b, _ := e.notifier(e.options(margin))
	e.consume(a)
	e.consume(b)

	var ids []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			id := e.lifecycle()
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
		})
	}
	wg.Wait()
	want := 4 * len(ids)
	eventually(t, 15*time.Second, "every event at both listeners", func() bool {
		return len(l1.accepted()) >= want && len(l2.accepted()) >= want
	})
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show
	for i, l := range []*listener{l1, l2} {
		got := l.requests()
		if len(got) != want {
			t.Errorf("listener %d: %d requests, want %d (exactly once each)", i+1, len(got), want)
		}
		for _, id := range ids {
			checkLifecycle(t, got, id, []string{"", "/second"}[i])
		}

	}
	// A delivery is counted after its outcome is recorded, which follows the listener's answer
	// (under -race on a loaded machine, the records of the last deliveries took over 5 s).
	eventually(t, 20*time.Second, "every delivery counted", func() bool {
		return e.metric("apphub_notify_delivered_total") >= float64(2*want)
	})
	if got := e.metric("apphub_notify_delivered_total"); got != float64(2*want) {
		t.Errorf("delivered_total = %v over both instances, want %d", got, 2*want)
	}
	// Attempts that failed on the way (a listener slow to answer under load) are retries, not
	// duplicates: the listeners' own counts above say each event arrived once. The attempts
	// that succeeded are one per delivery.
	if got := e.metric("apphub_notify_attempts_total", "result", "ok"); got != float64(2*want) {
		t.Errorf("attempts_total{result=ok} = %v over both instances, want %d: no attempt twice", got, 2*want)
	}
	t.Logf("instance A delivered %v, B %v", e.metricOf(0, "apphub_notify_delivered_total"), e.metricOf(1, "apphub_notify_delivered_total"))
}

func (e *env) metricOf(i int, name string) float64 {
	all := e.registry
	defer func() { e.registry = all }()
	e.registry = all[i : i+1]
	return e.metric(name)
}

// After MaxAttempts failures the delivery is dead-lettered (metric, log, outcome), and the
// next version goes out: order is kept, nothing is stuck.
func TestDeadLetter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := newListener(t, func(_ int, r received) bool { return r.Env.EventType == apphub.EventCreated })
	s := e.subscribe(l.srv.URL, "")
	n, _ := e.notifier(e.options(func(o *notify.Options) { o.MaxAttempts = 3 }))
	e.consume(n)

	id := e.lifecycle()
	eventually(t, 10*time.Second, "the 3 later events", func() bool { return len(l.accepted()) >= 3 })
	reqs := l.requests()
	if len(reqs) != 6 {
		t.Fatalf("requests %v, want the creation 3 times, then 3 events", eventIDs(reqs))
	}
	for i, r := range reqs[:3] {
		if r.Env.EventType != apphub.EventCreated || r.Status != http.StatusInternalServerError {
			t.Fatalf("request %d: %v, want the failing creation first", i, eventIDs(reqs))
		}
	}
	for i, r := range reqs[3:] {
		if r.version() != i+2 {
			t.Fatalf("after the dead letter: %v, want versions 2, 3, 4", eventIDs(reqs))
		}
	}
	if got := e.metric("apphub_notify_dead_letters_total"); got != 1 {
		t.Errorf("dead_letters_total = %v, want 1", got)
	}
	o, err := e.store.GetOutcome(context.Background(), apphub.DeliveryID(s.ID, id, 1, apphub.EventCreated))
	if err != nil || o.Result != apphub.OutcomeDeadLettered || o.Attempts != 3 || !strings.Contains(o.Error, "500") {
		t.Errorf("outcome %+v, %v; want dead-lettered after 3 attempts", o, err)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "dead letter") || !strings.Contains(logs, "attempts=3") {
		t.Errorf("no dead letter logged:\n%s", logs)
	}
}

// A subscription's query selects what it receives; an empty one receives everything.
func TestQueryFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	all := newListener(t, nil)
	confirmed := newListener(t, nil)
	changes := newListener(t, nil)
	e.subscribe(all.srv.URL, "")
	e.subscribe(confirmed.srv.URL, "eventType=AppointmentStateChangeEvent&event.appointment.status=confirmed")
	e.subscribe(changes.srv.URL, "eventType=AppointmentAttributeValueChangeEvent")
	n, _ := e.notifier(e.options())
	e.consume(n)

	id := e.lifecycle()
	eventually(t, 10*time.Second, "every listener served", func() bool {
		return len(all.accepted()) >= 4 && len(confirmed.accepted()) >= 1 && len(changes.accepted()) >= 1
	})
	time.Sleep(200 * time.Millisecond)
	checkLifecycle(t, all.accepted(), id, "")
	if got := confirmed.requests(); len(got) != 1 || got[0].version() != 2 || got[0].Env.EventType != apphub.EventStateChanged {
		t.Errorf("confirmed listener got %v, want only v2's state change", eventIDs(got))
	}
	if got := changes.requests(); len(got) != 1 || got[0].version() != 3 || got[0].Env.FieldPath != "validFor" {
		t.Errorf("attribute listener got %v, want only v3's attribute change", eventIDs(got))
	}
}

// trap listens on every interface and counts the connections it accepts: a connection to
// 0.0.0.0, [::], 127.0.0.2 or [::1] on its port would reach it.
func trap(t *testing.T) (port string, connections *atomic.Int64) {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	connections = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			c.Close()
		}
	}()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, connections
}

// registerAsBefore stores a registration as it is, unchecked, as one made before callbacks
// were checked at registration: delivery must refuse it all the same.
func (e *env) registerAsBefore(callback string) apphub.EventSubscription {
	e.t.Helper()
	s := apphub.EventSubscription{ID: "legacy-" + strings.ToLower(rand.Text()[:8]), Callback: callback,
		PartyID: "ops", Owner: apphub.PrincipalFromContext(asAdmin()), CreatedAt: testclock.Now().UTC().Truncate(time.Millisecond)}
	if err := e.store.InsertSubscription(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// Callbacks that are, or resolve to, addresses outside global unicast and the allowed network
// (127.0.0.1/32 here) are refused when connecting: no connection is made, the delivery fails
// and is dead-lettered. A name resolving into the allowed network is delivered.
func TestRefusedDestinations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok := newListener(t, nil)
	trapPort, trapped := trap(t)
	resolver := fakeResolver(t, map[string][]netip.Addr{
		"metadata.example":  {netip.MustParseAddr("169.254.169.254")},
		"linklocal.example": {netip.MustParseAddr("169.254.7.7"), netip.MustParseAddr("fe80::1")},
		"aws6.example":      {netip.MustParseAddr("fd00:ec2::254")},
		"zero.example":      {netip.MustParseAddr("0.0.0.0")},
		"loopback2.example": {netip.MustParseAddr("127.0.0.2")}, // loopback, beside the allowed 127.0.0.1/32
		"nat64.example":     {netip.MustParseAddr("64:ff9b::7f00:1")},
		"loopback.example":  {netip.MustParseAddr("127.0.0.1")},
	})
	// Registered by name: registration cannot know where they resolve.
	named := []string{
		"http://metadata.example:" + trapPort,
		"http://linklocal.example:" + trapPort,
		"http://zero.example:" + trapPort,
		"http://loopback2.example:" + trapPort,
	}
	// Stored before registration checked callbacks: literals that registration now refuses.
	literals := []string{
		"http://169.254.169.254/latest/meta-data",
		"http://100.100.100.200/",
		"http://0.0.0.0:" + trapPort,
		"http://127.0.0.2:" + trapPort,
		"http://224.0.0.1:" + trapPort,
	}
	// Without IPv6 sockets an IPv6 dial fails before the check runs (TestGuardChecksEveryAddress
	// covers the IPv6 addresses either way).
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		ln.Close()
		named = append(named, "http://aws6.example:"+trapPort, "http://nat64.example:"+trapPort)
		literals = append(literals, "http://[::]:"+trapPort, "http://[::1]:"+trapPort)
	}
	var subs []apphub.EventSubscription
	for _, cb := range named {
		subs = append(subs, e.subscribe(cb, ""))
	}
	for _, cb := range literals {
		subs = append(subs, e.registerAsBefore(cb))
	}
	refused := len(subs)
	e.subscribe("http://loopback.example:"+ok.port()+"/", "")
	// Generous timeouts: on a busy machine a slow resolution must not pass for a refusal,
	// nor a slow store lose an outcome.
	n, _ := e.notifier(e.options(func(o *notify.Options) {
		o.MaxAttempts = 2
		o.Timeout, o.LeaseMargin = 10*time.Second, 10*time.Second
		o.Dialer = &net.Dialer{Timeout: 10 * time.Second, Resolver: resolver}
	}))
	ctx := asAdmin()
	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	a, err := e.svc.Book(ctx, booking.NewAppointment{Start: start, End: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	n.Handle(ctx, e.pub.batches()[0])

	for _, s := range subs {
		var o apphub.DeliveryOutcome
		eventually(t, 30*time.Second, "the outcome of "+s.Callback, func() bool {
			o, err = e.store.GetOutcome(ctx, apphub.DeliveryID(s.ID, a.ID, 1, apphub.EventCreated))
			return err == nil
		})
		if o.Result != apphub.OutcomeDeadLettered || !strings.Contains(o.Error, "is refused: ") {
			t.Errorf("%s: %s (%s), want dead-lettered, refused", s.Callback, o.Result, o.Error)
		}
	}
	eventually(t, 30*time.Second, "the name in the allowed network delivered", func() bool { return len(ok.accepted()) == 1 })
	if got := e.metric("apphub_notify_attempts_total", "result", "refused"); got != float64(2*refused) {
		t.Errorf("attempts_total{result=refused} = %v, want %d (every attempt refused by the check, not failed otherwise)", got, 2*refused)
	}
	if got := trapped.Load(); got != 0 {
		t.Errorf("%d connections reached the listener on every interface", got)
	}
	for _, reason := range []string{"cloud metadata address", "link-local address", "loopback address", "multicast address"} {
		if !strings.Contains(e.logs.String(), reason) {
			t.Errorf("the refusal's reason %q is not logged:\n%s", reason, e.logs.String())
		}
	}
}

// A host name that passed registration and resolves to loopback (DNS rebinding) is refused
// when connecting unless the operator allowed loopback: the listener there receives nothing.
// With 127.0.0.1/32 allowed, the same registration is delivered.
func TestNamesResolvingToLoopback(t *testing.T) {
	t.Parallel()
	resolver := fakeResolver(t, map[string][]netip.Addr{
		"hooks.partner.example": {netip.MustParseAddr("127.0.0.1")},
	})
	run := func(t *testing.T, e *env, callbacks map[string]bool) {
		l := newListener(t, nil)
		subs := map[string]bool{}
		for cb, ok := range callbacks {
			subs[e.subscribe(strings.ReplaceAll(cb, "PORT", l.port()), "").ID] = ok
		}
		n, _ := e.notifier(e.options(func(o *notify.Options) {
			o.MaxAttempts = 1
			o.Timeout, o.LeaseMargin = 10*time.Second, 10*time.Second
			o.Dialer = &net.Dialer{Timeout: 10 * time.Second, Resolver: resolver}
		}))
		ctx := asAdmin()
		start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		a, err := e.svc.Book(ctx, booking.NewAppointment{Start: start, End: start.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		n.Handle(ctx, e.pub.batches()[0])
		delivered := 0
		for sub, ok := range subs {
			id := apphub.DeliveryID(sub, a.ID, 1, apphub.EventCreated)
			var o apphub.DeliveryOutcome
			eventually(t, 30*time.Second, "the outcome of "+id, func() bool {
				o, err = e.store.GetOutcome(ctx, id)
				return err == nil
			})
			if want := map[bool]string{true: apphub.OutcomeDelivered, false: apphub.OutcomeDeadLettered}[ok]; o.Result != want {
				t.Errorf("subscription %s: %s (%s), want %s", sub, o.Result, o.Error, want)
			}
			if ok {
				delivered++
			} else if !strings.Contains(o.Error, "refused: loopback address") {
				t.Errorf("subscription %s failed for %q, want a refusal of loopback", sub, o.Error)
			}
		}
		// Every outcome is recorded: whatever the listener got, it got it before.
		if got := len(l.requests()); got != delivered {
			t.Errorf("the listener got %d requests, want %d", got, delivered)
		}
	}
	t.Run("not allowed", func(t *testing.T) {
		e := newEnvAllowing(t)
		run(t, e, map[string]bool{"http://hooks.partner.example:PORT/cb": false})
		if got := e.metric("apphub_notify_attempts_total", "result", "refused"); got != 1 {
			t.Errorf("attempts_total{result=refused} = %v, want 1", got)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		run(t, newEnvAllowing(t, "127.0.0.1/32"), map[string]bool{
			"http://hooks.partner.example:PORT/cb": true,
			"http://127.0.0.1:PORT/cb":             true,
		})
	})
	t.Run("another network allowed", func(t *testing.T) {
		run(t, newEnvAllowing(t, "10.0.0.0/8", "::1/128"), map[string]bool{"http://hooks.partner.example:PORT/cb": false})
	})
}

// A redirect is not followed: the attempt failed, and the listener it points to receives
// nothing, although it is in an allowed network.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	elsewhere := newListener(t, nil)
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.srv.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirecting.Close)
	s := e.subscribe(redirecting.URL, "")
	n, _ := e.notifier(e.options(func(o *notify.Options) {
		o.MaxAttempts = 2
		o.Timeout, o.LeaseMargin = 10*time.Second, 10*time.Second
	}))
	ctx := asAdmin()
	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	a, err := e.svc.Book(ctx, booking.NewAppointment{Start: start, End: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	n.Handle(ctx, e.pub.batches()[0])
	var o apphub.DeliveryOutcome
	eventually(t, 30*time.Second, "the outcome", func() bool {
		o, err = e.store.GetOutcome(ctx, apphub.DeliveryID(s.ID, a.ID, 1, apphub.EventCreated))
		return err == nil
	})
	if o.Result != apphub.OutcomeDeadLettered || !strings.Contains(o.Error, "307") {
		t.Errorf("outcome %s (%s), want dead-lettered after a 307", o.Result, o.Error)
	}
	if got := e.metric("apphub_notify_attempts_total", "result", "status"); got != 2 {
		t.Errorf("attempts_total{result=status} = %v, want 2", got)
	}
	if got := len(elsewhere.requests()); got != 0 {
		t.Errorf("the redirect's target got %d requests", got)
	}
}

// syncBuffer is a log destination the notifier's goroutines may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// An event the consumer never got (the bus dropped it) is read back through Resync before
// the next one, so that the listener still gets every version in order.
func TestConsumeFillsGaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := newListener(t, nil)
	e.subscribe(l.srv.URL, "")
	id := e.lifecycle()
	n, _ := e.notifier(e.options(func(o *notify.Options) { o.Resync = e.svc.Events }))
	ch := make(chan apphub.Event, 8)
	for _, b := range e.pub.batches() {
		for _, ev := range b {
			if ev.Version != 2 { // dropped
				ch <- ev
			}
		}
	}
	close(ch)
	n.Consume(context.Background(), ch)
	eventually(t, 10*time.Second, "4 accepted events", func() bool { return len(l.accepted()) >= 4 })
	checkLifecycle(t, l.accepted(), id, "")
}

// A subscription deleted while its listener fails gets no more attempts.
func TestUnsubscribeStopsRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var subID atomic.Value // written here, read by the listener's goroutine
	l := newListener(t, func(n int, _ received) bool {
		if n == 1 {
			if err := e.svc.Unsubscribe(asAdmin(), subID.Load().(string)); err != nil {
				t.Error(err)
			}
		}
		return true
	})
	s := e.subscribe(l.srv.URL, "")
	subID.Store(s.ID)
	n, _ := e.notifier(e.options())
	e.consume(n)
	ctx := asAdmin()
	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	a, err := e.svc.Book(ctx, booking.NewAppointment{Start: start, End: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var o apphub.DeliveryOutcome
	eventually(t, 5*time.Second, "an outcome", func() bool {
		o, err = e.store.GetOutcome(ctx, apphub.DeliveryID(s.ID, a.ID, 1, apphub.EventCreated))
		return err == nil
	})
	if o.Result != apphub.OutcomeUnsubscribed || len(l.requests()) != 1 {
		t.Errorf("outcome %+v after %d requests, want unsubscribed after 1", o, len(l.requests()))
	}
	// The notifier counts the drop right after it recorded the outcome.
	eventually(t, 5*time.Second, "the drop counted", func() bool {
		return e.metric("apphub_notify_dropped_total", "reason", "unsubscribed") >= 1
	})
	if got := e.metric("apphub_notify_dropped_total", "reason", "unsubscribed"); got != 1 {
		t.Errorf("dropped_total{reason=unsubscribed} = %v, want 1", got)
	}
}

// asAdmin calls booking as an operator: these tests are about delivery, not about who may do
// what (booking's access_test.go; a registration's owner bounds its events: TestRegistrationsGetWhatTheirOwnersMayRead).
func asAdmin() context.Context {
	return apphub.NewContextWithPrincipal(context.Background(), apphub.Principal{PartyID: "ops", Roles: []string{apphub.RoleAdmin}})
}

// A registration receives the events of the appointments its owner may read, and no others:
// booking decides (Options.MayRead).
func TestRegistrationsGetWhatTheirOwnersMayRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine, theirs := newListener(t, nil), newListener(t, nil)
	partner := func(id string, parties ...string) context.Context {
		return apphub.NewContextWithPrincipal(context.Background(), apphub.Principal{PartyID: id, Roles: []string{apphub.RolePartner}, Parties: parties})
	}
	if _, err := e.svc.Subscribe(partner("p", "cust-a"), booking.NewSubscription{Callback: mine.srv.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Subscribe(partner("q"), booking.NewSubscription{Callback: theirs.srv.URL}); err != nil {
		t.Fatal(err)
	}
	n, _ := e.notifier(e.options(func(o *notify.Options) { o.MayRead = e.svc.MayRead }))
	e.consume(n)

	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	a, err := e.svc.Book(asAdmin(), booking.NewAppointment{Customer: "cust-a", Start: start, End: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.Book(partner("q"), booking.NewAppointment{Customer: "cust-b", Start: start, End: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "each listener's event", func() bool { return len(mine.accepted()) >= 1 && len(theirs.accepted()) >= 1 })
	// One more round of events for both, to see nothing else arrives.
	for _, id := range []string{a.ID, b.ID} {
		if _, err := e.svc.SetStatus(asAdmin(), booking.StatusChange{ID: id, Status: apphub.StatusConfirmed}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "the confirmations", func() bool { return len(mine.accepted()) >= 2 && len(theirs.accepted()) >= 2 })
	for l, want := range map[*listener]string{mine: a.ID, theirs: b.ID} {
		for _, r := range l.accepted() {
			if got := r.appointment(); got != want {
				t.Errorf("a listener got an event of %s, want only %s's", got, want)
			}
		}
	}
}
