package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// subsConfig is one run of subscribers.
type subsConfig struct {
	URL     string // the GraphQL endpoint, http(s):// or ws(s)://
	Token   string // in connection_init, and for the bookings
	Clients int
	Docs    [][]byte // subscription request bodies: client i subscribes to Docs[i%len(Docs)]
	// FirstAnswer: each subscription answers at once (a grid); without it (appointments of a
	// party that has none) a client counts as connected when its subscribe is sent.
	FirstAnswer bool
	Dials       int           // connections being opened at once
	Settle      time.Duration // wait between connecting and the first change
	PID         int

	// Changes: Changes bookings of Target in [From, To), Every apart. With Parties, each
	// booking is for the party of client i·Clients/Changes (Parties[client]) and is confirmed
	// Every later, and each subscriber's messages are matched to the changes by appointment
	// and version; otherwise (grids) any message a client receives after a booking was sent
	// counts for it.
	Changes  int
	Every    time.Duration
	Target   target
	From, To time.Time
	Parties  []string
	Within   time.Duration // a change not received within this after its answer is missing
	Seed     uint64
}

// statusDoc is a status subscriber's document.
const statusDoc = `subscription($party: String) { appointmentChanged(partyId: $party) { kind version appointment { id status } } }`

// receipt is a message a subscriber received.
type receipt struct {
	at  time.Time
	key string // "id/version" of an appointment's change; "" for a grid
}

// subscriber is one websocket with one subscription.
type subscriber struct {
	mu         sync.Mutex
	subscribed time.Time // subscribe sent
	got        []receipt // the next messages
	err        string    // why it failed, if it did
}

func (s *subscriber) fail(err string) {
	s.mu.Lock()
	if s.err == "" {
		s.err = err
	}
	s.mu.Unlock()
}

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// bigMessage is the size from which a message is taken for a next message without decoding
// it: a grid is tens of kilobytes, and thousands of clients decoding each would take the CPU
// the hub under test needs. Every other message is small.
const bigMessage = 4 << 10

// classify returns the type of a message and, for an appointment's change, its key.
func classify(b []byte) (typ, key string, err error) {
	if len(b) >= bigMessage {
		return "next", "", nil
	}
	var m wsMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return "", "", err
	}
	if m.Type != "next" {
		return m.Type, "", nil
	}
	var p struct {
		Data struct {
			AppointmentChanged *struct {
				Version     int
				Appointment struct{ ID string }
			}
		}
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return "", "", err
	}
	if len(p.Errors) > 0 {
		return "error", "", errors.New(p.Errors[0].Message)
	}
	if c := p.Data.AppointmentChanged; c != nil {
		key = fmt.Sprintf("%s/%d", c.Appointment.ID, c.Version)
	}
	return "next", key, nil
}

// wsURL turns an http(s) URL into its ws(s) one.
func wsURL(u string) string {
	if rest, ok := strings.CutPrefix(u, "http"); ok {
		return "ws" + rest
	}
	return u
}

// run connects, subscribes to doc and records what arrives until ctx ends. connected is
// called once, when the subscription is sent or the connection failed.
func (s *subscriber) run(ctx context.Context, cfg *subsConfig, doc []byte, connected func()) {
	once := sync.OnceFunc(connected)
	defer once()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, _, err := websocket.Dial(dctx, wsURL(cfg.URL), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	cancel()
	if err != nil {
		s.fail("dial: " + errorKind(err))
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 20)
	send := func(m wsMessage) error {
		b, _ := json.Marshal(m)
		return conn.Write(ctx, websocket.MessageText, b)
	}
	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + cfg.Token})
	if err := send(wsMessage{Type: "connection_init", Payload: init}); err != nil {
		s.fail("connection_init: " + errorKind(err))
		return
	}
	for acked := false; !acked; {
		_, b, err := conn.Read(ctx)
		if err != nil {
			s.fail("connection_ack: " + errorKind(err))
			return
		}
		typ, _, _ := classify(b)
		switch typ {
		case "connection_ack":
			acked = true
		case "ping":
			send(wsMessage{Type: "pong"})
		default:
			s.fail(fmt.Sprintf("before connection_ack: %.100s", b))
			return
		}
	}
	s.mu.Lock()
	s.subscribed = time.Now()
	s.mu.Unlock()
	if err := send(wsMessage{Type: "subscribe", ID: "1", Payload: doc}); err != nil {
		s.fail("subscribe: " + errorKind(err))
		return
	}
	once()
	for {
		_, b, err := conn.Read(ctx)
		at := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				s.fail("read: " + errorKind(err))
			}
			return
		}
		typ, key, err := classify(b)
		switch {
		case err != nil:
			s.fail(err.Error())
		case typ == "next":
			s.mu.Lock()
			s.got = append(s.got, receipt{at, key})
			s.mu.Unlock()
		case typ == "ping":
			send(wsMessage{Type: "pong"})
		case typ == "error" || typ == "complete":
			s.fail(fmt.Sprintf("%.200s", b))
			return
		}
	}
}

// change is a booking or confirmation the subscribers should see.
type change struct {
	client         int    // the subscriber it is for; -1: all of them
	key            string // "id/version", "" for a grid
	sent, answered time.Time
	err            error
}

// delays returns, for each subscriber concerned by c, how long after c's answer it received
// c (0 when it arrived before the answer), and how many did not within `within`. With a key,
// the message with that key is c; without, the first message received after c was sent and
// before next (when the next change was sent).
// fromSent is the same counted from when c was sent.
func delays(subs []*subscriber, c change, next time.Time, within time.Duration) (lat, fromSent []time.Duration, missing int) {
	deadline := c.answered.Add(within)
	if next.IsZero() || next.After(deadline) {
		next = deadline
	}
	check := func(s *subscriber) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range s.got {
			if c.key != "" && r.key != c.key || c.key == "" && (r.at.Before(c.sent) || !r.at.Before(next)) {
				continue
			}
			if d := r.at.Sub(c.answered); d <= within {
				lat = append(lat, max(d, 0))
				fromSent = append(fromSent, r.at.Sub(c.sent))
				return
			}
		}
		missing++
	}
	if c.client >= 0 {
		check(subs[c.client])
	} else {
		for _, s := range subs {
			check(s)
		}
	}
	return lat, fromSent, missing
}

// raiseFileLimit makes room for n more descriptors than the process has, and returns the
// limit.
func raiseFileLimit(n int) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	want := uint64(n) + 256
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	lim.Cur = want
	// Raising the hard limit needs privileges; without them, the soft one goes up to it.
	lim.Max = max(lim.Max, want)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		return lim.Cur, fmt.Errorf("%d descriptors wanted, the limit is %d: %w", want, lim.Cur, err)
	}
	return lim.Cur, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// runSubs connects cfg.Clients subscribers, makes the changes and prints what arrived.
func runSubs(ctx context.Context, cfg subsConfig, out io.Writer) error {
	limit, err := raiseFileLimit(cfg.Clients)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "file descriptors: limit %d\n", limit)
	hubRSS := func() int64 {
		if cfg.PID <= 0 {
			return 0
		}
		v, _ := readRSS(cfg.PID)
		return v
	}
	var rss rssSampler
	if cfg.PID > 0 {
		stop := rss.start(cfg.PID, 100*time.Millisecond)
		defer stop()
	}
	before := hubRSS()

	ctx, cancel := context.WithCancel(ctx)
	subs := make([]*subscriber, cfg.Clients)
	var running, connecting sync.WaitGroup
	dials := make(chan struct{}, max(cfg.Dials, 1))
	start := time.Now()
	for i := range subs {
		s := &subscriber{}
		subs[i] = s
		connecting.Add(1)
		dials <- struct{}{}
		running.Go(func() {
			s.run(ctx, &cfg, cfg.Docs[i%len(cfg.Docs)], func() { <-dials; connecting.Done() })
		})
	}
	connecting.Wait()
	stopAll := func() { cancel(); running.Wait() }
	defer stopAll()
	// Wait for the first answers, when there are some.
	var firsts []time.Duration
	failed := map[string]int{}
	deadline := time.Now().Add(60 * time.Second)
	for _, s := range subs {
		for {
			s.mu.Lock()
			done := s.err != "" || !cfg.FirstAnswer || len(s.got) > 0
			if len(s.got) > 0 {
				firsts = append(firsts, s.got[0].at.Sub(s.subscribed))
			}
			s.mu.Unlock()
			if done || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	connected := time.Since(start)
	for _, s := range subs {
		s.mu.Lock()
		if s.err != "" {
			failed[firstWords(s.err)]++
		}
		s.mu.Unlock()
	}
	nFailed := 0
	for _, n := range failed {
		nFailed += n
	}
	fmt.Fprintf(out, "subscribers %d over %d distinct requests: connected %d in %s, failed %d\n",
		cfg.Clients, min(len(cfg.Docs), cfg.Clients), cfg.Clients-nFailed, connected.Round(time.Millisecond), nFailed)
	printErrors(out, failed)
	if len(firsts) > 0 {
		slices.Sort(firsts)
		fmt.Fprintf(out, "first answers %d: p50 %s  p99 %s  max %s\n", len(firsts), ms(percentile(firsts, 0.5)), ms(percentile(firsts, 0.99)), ms(firsts[len(firsts)-1]))
	}
	select {
	case <-ctx.Done():
	case <-time.After(cfg.Settle):
	}
	connectedRSS := hubRSS()
	if cfg.PID > 0 {
		fmt.Fprintf(out, "hub rss before connecting %s, with the subscribers %s (%+.1f KiB per subscriber)\n",
			mib(before), mib(connectedRSS), float64(connectedRSS-before)/1024/float64(cfg.Clients))
	}

	changes := makeChanges(ctx, &cfg)
	if len(changes) > 0 {
		// The last change's messages may still be on their way.
		select {
		case <-ctx.Done():
		case <-time.After(cfg.Within):
		}
		var all, allSent []time.Duration
		allMissing, made := 0, 0
		for i, c := range changes {
			var next time.Time
			if i+1 < len(changes) && c.key == "" {
				next = changes[i+1].sent
			}
			if c.err != nil {
				fmt.Fprintf(out, "change %d failed: %v\n", i+1, c.err)
				continue
			}
			made++
			lat, fromSent, missing := delays(subs, c, next, cfg.Within)
			all, allSent = append(all, lat...), append(allSent, fromSent...)
			allMissing += missing
			if c.client < 0 {
				slices.Sort(lat)
				fmt.Fprintf(out, "change %d (answered in %s): received by %d of %d within %s%s\n", i+1, ms(c.answered.Sub(c.sent)),
					len(lat), len(lat)+missing, cfg.Within, latencies(lat))
			}
		}
		slices.Sort(all)
		slices.Sort(allSent)
		fmt.Fprintf(out, "all %d changes: %d of %d receipts within %s after the answer%s\n", made, len(all), len(all)+allMissing, cfg.Within, latencies(all))
		fmt.Fprintf(out, "  the same from the sending of the change%s\n", latencies(allSent))
		after := hubRSS()
		if cfg.PID > 0 {
			fmt.Fprintf(out, "hub rss after the changes %s\n", mib(after))
		}
	}
	if cfg.PID > 0 {
		peak, _ := rss.result()
		fmt.Fprintf(out, "hub rss max %s\n", mib(peak))
	}
	self, _ := readProc(os.Getpid(), "VmHWM:")
	fmt.Fprintf(out, "load client rss peak %s\n", mib(self))
	return nil
}

// makeChanges books (and, for parties, confirms) cfg.Changes times, cfg.Every apart.
func makeChanges(ctx context.Context, cfg *subsConfig) []change {
	if cfg.Changes <= 0 {
		return nil
	}
	c := &gqlClient{http: &http.Client{Timeout: 10 * time.Second}, url: cfg.URL, token: cfg.Token}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0))
	var out []change
	tick := time.NewTicker(cfg.Every)
	defer tick.Stop()
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
			return true
		}
	}
	for i := 0; i < cfg.Changes && ctx.Err() == nil; i++ {
		if i > 0 && !wait() {
			break
		}
		client, customer := -1, ""
		if len(cfg.Parties) > 0 {
			client = i * cfg.Clients / cfg.Changes
			customer = cfg.Parties[client]
		}
		b, err := c.bookOne(ctx, rng, cfg.Target, cfg.From, cfg.To, customer)
		ch := change{client: client, sent: b.sent, answered: b.answered, err: err}
		if customer != "" {
			ch.key = fmt.Sprintf("%s/%d", b.id, b.version)
		}
		out = append(out, ch)
		if customer == "" || err != nil || !wait() {
			continue
		}
		sent := time.Now()
		v, err := c.confirm(ctx, b.id)
		out = append(out, change{client: client, key: fmt.Sprintf("%s/%d", b.id, v), sent: sent, answered: time.Now(), err: err})
	}
	return out
}

func ms(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }

func latencies(sorted []time.Duration) string {
	if len(sorted) == 0 {
		return ""
	}
	return fmt.Sprintf(": p50 %s  p99 %s  max %s", ms(percentile(sorted, 0.5)), ms(percentile(sorted, 0.99)), ms(sorted[len(sorted)-1]))
}

// firstWords shortens an error to group it.
func firstWords(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}

func printErrors(out io.Writer, byKind map[string]int) {
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(out, "  %6d  %s\n", byKind[k], k)
	}
}

// subsMain holds subscriptions open and measures how fast changes reach them.
func subsMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen subs", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: loadgen subs -token TOKEN [flags] URL

Opens -c graphql-transport-ws connections to the GraphQL endpoint URL, one subscription each,
keeps them open, then makes -changes changes -every apart through GraphQL over HTTP and
reports, for each, how long after its answer the subscribers received it, and the hub's RSS
(-pid) before connecting, with the subscribers and after the changes.
  -kind grids   client i subscribes to line i mod M of -bodies-file (availabilityChanged
                documents: loadgen bodies -mix grids); each change books a free slot of
                -target in the window; any message a client gets after the booking counts
  -kind status  client i subscribes to appointmentChanged(partyId: $party), $party "<-party-prefix>i"; each
                change books a slot of -target for one of the parties (spread over the
                clients), then confirms it: two changes, matched by appointment and version`)
		fs.PrintDefaults()
	}
	cfg := subsConfig{}
	kind := fs.String("kind", "grids", "grids or status")
	fs.StringVar(&cfg.Token, "token", "", "bearer token: connection_init and bookings (required)")
	fs.IntVar(&cfg.Clients, "c", 100, "subscribers, one websocket each")
	bodiesFile := fs.String("bodies-file", "", "grids: subscription request bodies, one a line")
	prefix := fs.String("party-prefix", "party-", "status: parties are this and the client's number")
	fs.IntVar(&cfg.Dials, "dials", 32, "connections opened at once")
	fs.DurationVar(&cfg.Settle, "settle", 2*time.Second, "wait after connecting, before the first change")
	fs.IntVar(&cfg.PID, "pid", 0, "the hub's process: its resident memory")
	fs.IntVar(&cfg.Changes, "changes", 5, "bookings (status: each also confirmed)")
	fs.DurationVar(&cfg.Every, "every", 3*time.Second, "between changes")
	tgt := fs.String("target", "repair@75011", "category@place of the bookings")
	fromDay := fs.Int("from-day", 2, "first day of the slots booked, after today (UTC)")
	days := fs.Int("days", 5, "days of slots booked")
	fs.DurationVar(&cfg.Within, "within", 3*time.Second, "a change received later than this after its answer counts as missing")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the slots booked")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || cfg.Token == "" || cfg.Clients <= 0 {
		fs.Usage()
		return fmt.Errorf("want -token, -c > 0 and one URL")
	}
	cfg.URL = fs.Arg(0)
	ts, err := parseTargets(*tgt)
	if err != nil || len(ts) != 1 {
		return fmt.Errorf("-target %q: want one category@place", *tgt)
	}
	cfg.Target = ts[0]
	cfg.From, cfg.To = window(time.Now(), *fromDay, *days)
	switch *kind {
	case "grids":
		if *bodiesFile == "" {
			return fmt.Errorf("-kind grids needs -bodies-file")
		}
		if cfg.Docs, err = readLines(*bodiesFile); err != nil {
			return err
		}
		cfg.FirstAnswer = true
	case "status":
		for i := range cfg.Clients {
			p := fmt.Sprintf("%s%d", *prefix, i)
			cfg.Parties = append(cfg.Parties, p)
			// One document, the party in its variables, as a channel app sends it.
			b, err := json.Marshal(map[string]any{"query": statusDoc, "variables": map[string]string{"party": p}})
			if err != nil {
				return err
			}
			cfg.Docs = append(cfg.Docs, b)
		}
	default:
		return fmt.Errorf("-kind %q: want grids or status", *kind)
	}
	return runSubs(ctx, cfg, os.Stdout)
}
