package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/identity"
	"github.com/apphub/apphub/testclock"
)

// stepTimeout bounds each step of a browser test: a step waits for what the page shows, and a
// page that never shows it fails the test rather than hanging it.
const stepTimeout = 30 * time.Second

// chromium is Debian's Chromium, which scripts/ensure-chromium.sh installs (.ci/run runs it).
const chromium = "/usr/bin/chromium"

// browserHub is a hub with the demo data, for the browser tests.
func browserHub(t *testing.T, args ...string) *testHub {
	t.Helper()
	h := startHub(t, nil, nil, args...)
	if err := loadDemo(context.Background(), h.hub.svc, slog.New(slog.DiscardHandler), io.Discard); err != nil {
		t.Fatal(err)
	}
	return h
}

// browser is one headless Chromium tab on the hub at base. Its clock is the test clock, and it
// records every URL it requests.
type browser struct {
	ctx  context.Context
	base string

	mu         sync.Mutex
	requests   []string
	websockets int // opened by the page
}

func newBrowser(t *testing.T, base string, width, height int64) *browser {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s: %v (bash scripts/ensure-chromium.sh installs Debian's chromium)", chromium, err)
	}
	// Chromium's helper processes may still write to its profile after the browser exits, which
	// t.TempDir's removal would fail on: the profile is removed after the browser, and again
	// until nothing writes there any more.
	profile, err := os.MkdirTemp("", "apphub-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(profile),
		// This machine's network is closed: Chromium's own connections would be refused.
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	return openTab(t, ctx, base, width, height)
}

func openTab(t *testing.T, ctx context.Context, base string, width, height int64) *browser {
	t.Helper()
	b := &browser{ctx: ctx, base: base}
	chromedp.ListenTarget(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, e.Request.URL)
		case *network.EventWebSocketCreated:
			b.requests = append(b.requests, e.URL)
			b.websockets++
		}
	})
	// The page's clock is the test clock, as the hub's is: what a calendar decides agrees.
	offset := time.Until(testclock.Now()).Milliseconds() // the browser reads the wall clock: shift it
	shiftClock := fmt.Sprintf(`(() => { const off = %d; const D = Date; const now = () => D.now() + off;
		class TestDate extends D { constructor(...a) { if (a.length === 0) { super(now()); } else { super(...a); } } static now() { return now(); } }
		globalThis.Date = TestDate; })();`, offset)
	if err := chromedp.Run(ctx, network.Enable(), emulation.SetDeviceMetricsOverride(width, height, 1, width < 600),
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(shiftClock).Do(ctx)
			return err
		})); err != nil {
		t.Fatalf("opening a tab of %s: %v", chromium, err)
	}
	return b
}

// run runs actions in the tab, failing the test with what the page showed.
func (b *browser) run(t *testing.T, what string, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var text string
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		chromedp.Run(ctx, chromedp.Text("body", &text, chromedp.ByQuery))
		b.screenshot(t, "failed-"+strings.ReplaceAll(t.Name(), "/", "-")+".png")
		t.Fatalf("%s: %v\nthe page shows:\n%s", what, err, text)
	}
}

// offOrigin lists the requests the page made to anywhere but the hub.
func (b *browser) offOrigin() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, r := range b.requests {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "data" && !strings.HasPrefix(r, b.base) && !strings.HasPrefix(r, "ws"+strings.TrimPrefix(b.base, "http"))) {
			out = append(out, r)
		}
	}
	return out
}

// screenshot saves the page under the test output folder (APPHUB_TEST_OUTPUT, default
// test-output/ at the repository's root).
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("APPHUB_TEST_OUTPUT")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-output")
	}
	var png []byte
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func testid(id string) string { return `[data-testid="` + id + `"]` }

// The customer's whole path in a browser at 375 px: search, hold, book, the confirmation whose
// status changes live when the technician's agent confirms it in the console (another
// browser), a slot booked elsewhere leaving the open grid
// without a reload, then cancelling. Nothing is requested from anywhere but the hub.
func TestBrowserCustomerFlow(t *testing.T) {
	t.Parallel()
	h := browserHub(t)
	b := newBrowser(t, h.url, 375, 812)
	b.run(t, "open the app, sign in and search", b.searchRepair75011())
	b.screenshot(t, "customer-grid-375.png")
	b.accessible(t, "the slot grid")

	// A slot booked elsewhere, to its last seat, leaves the open grid.
	var gone string
	b.run(t, "read the first slot", chromedp.AttributeValue(testid("slot"), "data-start", &gone, nil, chromedp.ByQuery))
	if bookElsewhere(t, h, gone, 30) == 0 {
		t.Fatalf("the slot at %s could not be booked elsewhere", gone)
	}
	b.run(t, "the slot booked elsewhere leaves the grid",
		chromedp.WaitNotPresent(`[data-start="`+gone+`"]`, chromedp.ByQuery))

	b.run(t, "hold a slot and book it", holdAndBook())
	var location string
	b.run(t, "the confirmation page", chromedp.Location(&location))
	id := location[strings.LastIndex(location, "/")+1:]
	if !strings.Contains(location, "/appointment/") || id == "" {
		t.Fatalf("after booking the page is %s, want /appointment/<id>", location)
	}
	b.screenshot(t, "customer-confirmation-375.png")
	b.accessible(t, "the appointment's page")

	// The technician's agent confirms it in the console, at desktop width: the customer's page
	// says so without a reload.
	res := dig(gql(t, h.url, h.token(t, adminParty, apphub.RoleAdmin), `query($id: ID!) { appointment(id: $id) { resource { id } } }`,
		map[string]any{"id": id}), "appointment", "resource", "id").(string)
	agent := agentToken(t, h, "agent-7", res)
	c := newBrowser(t, h.url, 1280, 900)
	row := testid("console-appointment") + `[data-id="` + id + `"]`
	c.run(t, "the agent finds the appointment in the console",
		chromedp.Navigate(h.url+"/console"),
		chromedp.WaitVisible(testid("console-token"), chromedp.ByQuery),
		typeText(testid("console-token"), agent),
		chromedp.Click(testid("console-sign-in"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("console-search"), chromedp.ByQuery),
		typeText(testid("console-search"), id),
		chromedp.Click(testid("console-search-go"), chromedp.ByQuery),
		chromedp.WaitVisible(row, chromedp.ByQuery))
	var refusal string
	c.run(t, "the console shows no error", chromedp.Evaluate(`(e => e ? e.getAttribute("data-code") + ": " + e.textContent : "")(document.querySelector('[data-testid="console-error"]'))`, &refusal))
	if refusal != "" {
		t.Errorf("the console shows an error: %s", refusal)
	}
	c.accessible(t, "the console")
	c.run(t, "the agent confirms", chromedp.Click(row+" "+testid("confirm"), chromedp.ByQuery),
		chromedp.WaitVisible(row+`[data-status="CONFIRMED"]`, chromedp.ByQuery))
	c.screenshot(t, "console-desktop.png")
	b.run(t, "the customer's status changes live", waitText(testid("status"), "onfirm"))

	// The calendar file: a fresh link fetched on the click, which the hub answers as a file.
	b.run(t, "add to calendar", clickNode(testid("add-to-calendar")),
		chromedp.WaitVisible(testid("calendar-status")+`[data-state="ready"]`, chromedp.ByQuery))
	deadline := time.Now().Add(10 * time.Second)
	for !calendarServed(h.logs.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("the browser fetched no calendar file:\n%s", tail(h.logs.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}

	b.run(t, "cancel with a reason",
		chromedp.Click(testid("cancel"), chromedp.ByQuery),
		typeText(testid("cancel-reason"), "no longer needed"),
		chromedp.Click(testid("cancel-confirm"), chromedp.ByQuery),
		waitText(testid("status"), "ancel"),
	)
	// The cancelled appointment's file tells the calendar it was added to.
	b.run(t, "update the calendar", waitText(testid("add-to-calendar"), "Update my calendar"),
		clickNode(testid("add-to-calendar")),
		chromedp.WaitVisible(testid("calendar-status")+`[data-state="ready"]`, chromedp.ByQuery))
	if off := b.offOrigin(); len(off) > 0 {
		t.Errorf("the page requested from elsewhere than the hub: %v", off)
	}
}

// clickNode clicks the element itself, not the point of the screen it was at: the status lines
// above the appointment's buttons come and go as it changes, and move them.
func clickNode(sel string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.WaitVisible(sel, chromedp.ByQuery),
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).click()`, sel), nil),
	}
}

// calendarServed reports whether logs hold a request for a calendar file answered 200.
func calendarServed(logs string) bool {
	for line := range strings.Lines(logs) {
		if strings.Contains(line, `"route":"/calendar/{file}"`) && strings.Contains(line, `"status":200`) {
			return true
		}
	}
	return false
}

// holdAndBook holds the grid's first slot and books it with contact details.
func holdAndBook() chromedp.Action {
	return chromedp.Tasks{
		chromedp.Click(testid("slot"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("hold"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("countdown"), chromedp.ByQuery),
		typeText(testid("name"), "Ada Lovelace"),
		typeText(testid("email"), "ada@example.com"),
		chromedp.Click(testid("book"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("status"), chromedp.ByQuery),
	}
}

// agentToken is a token of an agent who serves resource, signed by the hub's local key.
func agentToken(t *testing.T, h *testHub, party, resource string) string {
	t.Helper()
	key, err := identity.OpenLocalKey(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	token, err := key.Mint(identity.TokenRequest{Party: party, Roles: []string{apphub.RoleAgent}, Resources: []string{resource},
		TTL: time.Hour, Now: testclock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// searchRepair75011 opens the app, signs in (demo) and searches repairs at 75011.
func (b *browser) searchRepair75011() chromedp.Action {
	return chromedp.Tasks{
		chromedp.Navigate(b.base + "/"),
		chromedp.WaitVisible(testid("sign-in"), chromedp.ByQuery),
		chromedp.Click(testid("sign-in"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("category"), chromedp.ByQuery),
		chromedp.SetValue(testid("category"), "repair", chromedp.ByQuery),
		typeText(testid("postcode"), "75011"),
		chromedp.Click(testid("search"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("slot"), chromedp.ByQuery),
	}
}

// bookElsewhere books the 75011 repair slot at start as an operator for a walk-in customer
// until n are booked or it is full, and returns how many it booked.
func bookElsewhere(t *testing.T, h *testHub, start string, n int) int {
	t.Helper()
	admin := h.token(t, adminParty, apphub.RoleAdmin)
	booked := 0
	for booked < n {
		d := gqlRaw(t, h.url, admin, `mutation($s: Time!) { bookAppointment(input: {customer: "walk-in", category: "repair", place: "75011", start: $s}) { appointment { id } error { code } } }`,
			map[string]any{"s": start})
		if dig(d, "data", "bookAppointment", "appointment", "id") == nil {
			break
		}
		booked++
	}
	return booked
}

// Two customers, in two browsers, choose the same last free seat at once: exactly one holds it and
// books; the other is told it is gone and offered alternatives. At desktop width.
func TestBrowserRaceForOneSlot(t *testing.T) {
	t.Parallel()
	h := browserHub(t)
	// Two browsers: a background tab is not rendered, so two tabs would not race alike.
	a, b := newBrowser(t, h.url, 1280, 900), newBrowser(t, h.url, 1280, 900)
	a.run(t, "customer A searches", a.searchRepair75011())
	b.run(t, "customer B searches", b.searchRepair75011())
	a.screenshot(t, "customer-grid-desktop.png")

	// The first slot, down to its last seat.
	var start string
	a.run(t, "read the first slot", chromedp.AttributeValue(testid("slot"), "data-start", &start, nil, chromedp.ByQuery))
	seats := slotCapacity(t, h, start)
	if got := bookElsewhere(t, h, start, seats-1); got != seats-1 {
		t.Fatalf("booked %d of the slot's %d seats elsewhere, want %d", got, seats, seats-1)
	}
	slot := `[data-start="` + start + `"]`
	var wg sync.WaitGroup
	for _, tab := range []*browser{a, b} {
		wg.Go(func() {
			tab.run(t, "choose the last seat", chromedp.WaitVisible(slot, chromedp.ByQuery), chromedp.Click(slot, chromedp.ByQuery))
		})
	}
	wg.Wait()
	held := 0
	var winner, loser *browser
	for _, tab := range []*browser{a, b} {
		var outcome string
		tab.run(t, "wait for the outcome", chromedp.WaitVisible(testid("hold")+", "+testid("alternatives"), chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelector('[data-testid="countdown"]') ? "held" : "refused"`, &outcome))
		if outcome == "held" {
			held++
			winner = tab
		} else {
			loser = tab
		}
	}
	if held != 1 {
		t.Fatalf("%d customers hold the last seat, want exactly 1", held)
	}
	var refusal string
	loser.run(t, "the other is told, with alternatives", chromedp.Text(testid("alternatives"), &refusal, chromedp.ByQuery))
	if !strings.Contains(refusal, ":") {
		t.Errorf("the refusal offers no alternative time: %q", refusal)
	}
	loser.screenshot(t, "customer-slot-taken-desktop.png")
	winner.run(t, "the winner books",
		typeText(testid("name"), "Grace Hopper"),
		typeText(testid("email"), "grace@example.com"),
		chromedp.Click(testid("book"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("status"), chromedp.ByQuery))
}

// A hold that runs out is said so and the customer picks again; a hub that goes away is said
// so, and once it is back (restarted on its data) the page carries on by itself: its grid is
// live again.
func TestBrowserHoldExpiryAndRestart(t *testing.T) {
	t.Parallel()
	h := browserHub(t, "--hold-ttl", "4s")
	b := newBrowser(t, h.url, 375, 812)
	b.run(t, "search", b.searchRepair75011())
	b.run(t, "hold a slot and let the hold run out",
		chromedp.Click(testid("slot"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("countdown"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("hold")+" "+testid("alternatives"), chromedp.ByQuery),
		chromedp.WaitNotPresent(testid("countdown"), chromedp.ByQuery))
	b.screenshot(t, "customer-hold-expired-375.png")
	b.accessible(t, "an expired hold")
	b.run(t, "pick again, hold again",
		chromedp.Click(testid("hold")+" "+testid("alternatives")+" button", chromedp.ByQuery),
		chromedp.WaitVisible(testid("slot"), chromedp.ByQuery),
		chromedp.Click(testid("slot"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("countdown"), chromedp.ByQuery))

	addr := strings.TrimPrefix(h.url, "http://")
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	b.run(t, "the page says the hub cannot be reached", chromedp.WaitVisible(testid("offline"), chromedp.ByQuery))
	b.screenshot(t, "customer-offline-375.png")
	again := startHub(t, nil, nil, "--data-dir", h.dir, "--addr", addr)
	b.run(t, "the page carries on once the hub is back", chromedp.WaitNotPresent(testid("offline"), chromedp.ByQuery))
	// Its grid is live again: a slot booked elsewhere leaves it.
	b.run(t, "back to the grid",
		chromedp.Click(testid("hold")+" button:not([data-testid=book])", chromedp.ByQuery),
		chromedp.WaitVisible(testid("slot"), chromedp.ByQuery))
	var start string
	b.run(t, "read the first slot", chromedp.AttributeValue(testid("slot"), "data-start", &start, nil, chromedp.ByQuery))
	if bookElsewhere(t, again, start, 30) == 0 {
		t.Fatalf("the slot at %s could not be booked elsewhere", start)
	}
	b.run(t, "the slot leaves the grid", chromedp.WaitNotPresent(`[data-start="`+start+`"]`, chromedp.ByQuery))
}

// The GraphQL explorer runs a subscription over its websocket: a grid, and the grid again, at a
// new version, after a booking elsewhere.
func TestBrowserExplorerSubscription(t *testing.T) {
	t.Parallel()
	h := browserHub(t)
	b := newBrowser(t, h.url, 1280, 900)
	from := testclock.Now().UTC().Truncate(time.Hour)
	doc := fmt.Sprintf(`subscription Grid { availabilityChanged(input: {category: "repair", place: "75011", from: %q, to: %q}) { version days { slots { start } } } }`,
		from.Format(time.RFC3339), from.Add(7*24*time.Hour).Format(time.RFC3339))
	b.run(t, "open the explorer with a subscription",
		chromedp.Navigate(h.url+"/graphql"),
		chromedp.WaitVisible(".graphiql-query-editor .CodeMirror", chromedp.ByQuery),
		// The query editor is a CodeMirror: its text selected, the document typed over it.
		chromedp.Evaluate(`(cm => { cm.focus(); cm.execCommand("selectAll"); })(document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror)`, nil),
		chromedp.ActionFunc(func(ctx context.Context) error { return input.InsertText(doc).Do(ctx) }),
		// GraphiQL sends a subscription over its websocket only once it has parsed the document
		// typed (it does so shortly after the typing): until then, run sends the query it had
		// over HTTP. Run until a websocket opens.
		chromedp.ActionFunc(func(ctx context.Context) error {
			for {
				if err := chromedp.Run(ctx, chromedp.Click(".graphiql-execute-button", chromedp.ByQuery)); err != nil {
					return err
				}
				for range 20 {
					b.mu.Lock()
					opened := b.websockets > 0
					b.mu.Unlock()
					if opened {
						return nil
					}
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
		}),
		waitText(".graphiql-response", `"version"`))
	var first string
	b.run(t, "read the first grid", chromedp.Text(".graphiql-response", &first, chromedp.ByQuery))
	start := regexp.MustCompile(`"start":\s*"([^"]+)"`).FindStringSubmatch(first)
	if start == nil {
		t.Fatalf("no slot in the explorer's answer: %s", first)
	}
	if bookElsewhere(t, h, start[1], 30) == 0 {
		t.Fatalf("the slot at %s could not be booked", start[1])
	}
	version := regexp.MustCompile(`"version":\s*"([^"]+)"`)
	firstVersion := version.FindStringSubmatch(first)[1]
	b.run(t, "the explorer shows the grid again, at a new version", waitUntil(".graphiql-response", "a new grid", func(text string) bool {
		v := version.FindStringSubmatch(text)
		return v != nil && v[1] != firstVersion
	}))
	if off := b.offOrigin(); len(off) > 0 {
		t.Errorf("the explorer requested from elsewhere than the hub: %v", off)
	}
}

// slotCapacity is the number of free seats of the 75011 repair slot at start.
func slotCapacity(t *testing.T, h *testHub, start string) int {
	t.Helper()
	at, err := time.Parse(time.RFC3339, start)
	if err != nil {
		t.Fatal(err)
	}
	d := gql(t, h.url, h.token(t, adminParty, apphub.RoleAdmin), `query($from: Time!, $to: Time!) { availability(input: {category: "repair", place: "75011", from: $from, to: $to}) { days { slots { start capacity } } } }`,
		map[string]any{"from": at.Format(time.RFC3339), "to": at.Add(time.Minute).Format(time.RFC3339)})
	for _, day := range dig(d, "availability", "days").([]any) {
		for _, s := range dig(day, "slots").([]any) {
			if st, _ := time.Parse(time.RFC3339, dig(s, "start").(string)); st.Equal(at) {
				return int(dig(s, "capacity").(float64))
			}
		}
	}
	t.Fatalf("no slot at %s", start)
	return 0
}

// axeSource is axe-core's script, from the web app's dev dependencies (npm ci in web/, which
// make web-check runs before the tests).
const axeSource = "../../web/node_modules/axe-core/axe.min.js"

// accessible runs axe-core on the page as it is and fails the test on every serious or
// critical violation.
func (b *browser) accessible(t *testing.T, what string) {
	t.Helper()
	src, err := os.ReadFile(axeSource)
	if err != nil {
		t.Fatalf("axe-core: %v (run npm ci in web/: make web-check does)", err)
	}
	var violations []struct {
		ID, Impact, Help string
		Nodes            []struct{ HTML string }
	}
	// DevTools evaluations are not bound by the page's Content-Security-Policy.
	b.run(t, "axe-core on "+what,
		chromedp.Evaluate(string(src), nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
			.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => ({html: n.html}))})))`, &violations,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	for _, v := range violations {
		var nodes []string
		for _, n := range v.Nodes {
			nodes = append(nodes, n.HTML)
		}
		t.Errorf("%s: %s violation %s (%s) at %v", what, v.Impact, v.ID, v.Help, nodes)
	}
}

// typeText types text into the element as a keyboard would insert it. Not chromedp.SendKeys:
// it reads the node's attributes without their lock, which the race detector reports.
func typeText(sel, text string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.Focus(sel, chromedp.ByQuery),
		chromedp.ActionFunc(func(ctx context.Context) error { return input.InsertText(text).Do(ctx) }),
	}
}

// waitText waits until the element's text contains part.
func waitText(sel, part string) chromedp.Action {
	return waitUntil(sel, fmt.Sprintf("%q", part), func(text string) bool { return strings.Contains(text, part) })
}

// waitUntil waits until the element's text is what ok wants (what says what that is). A read
// that fails is tried again: the page may be navigating (a sign-in goes through the identity
// provider and back), which ends the document a read was made in.
func waitUntil(sel, what string, ok func(text string) bool) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			var text string
			err := chromedp.Run(ctx, chromedp.Text(sel, &text, chromedp.ByQuery))
			if err == nil && ok(text) {
				return nil
			}
			select {
			case <-ctx.Done():
				if err != nil {
					return fmt.Errorf("%s: waited for %s: %w (last read: %v)", sel, what, ctx.Err(), err)
				}
				return fmt.Errorf("%s shows %q, waited for %s: %w", sel, text, what, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// gqlRaw posts a GraphQL request and returns the whole response, errors included.
func gqlRaw(t *testing.T, base, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	_, raw := call(t, "POST", base+"/graphql", "Bearer "+token, string(body))
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return out
}

// The agent console's day of a technician, as a timeline: an appointment booked elsewhere
// appears on it and one cancelled elsewhere changes status, without a reload.
func TestBrowserConsoleDayLive(t *testing.T) {
	t.Parallel()
	h := browserHub(t)
	admin := h.token(t, adminParty, apphub.RoleAdmin)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	// A technician's first free slot, and a later one on the same day.
	from := testclock.Now().UTC().Truncate(time.Hour)
	d := gql(t, h.url, admin, `query($from: Time!, $to: Time!) { availability(input: {category: "repair", place: "75011", from: $from, to: $to}) { days { slots { start end resources { resource { id } } } } } }`,
		map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(7 * 24 * time.Hour).Format(time.RFC3339)})
	free := map[string][]time.Time{} // resource → its free starts, earliest first
	for _, day := range dig(d, "availability", "days").([]any) {
		for _, s := range dig(day, "slots").([]any) {
			start, _ := time.Parse(time.RFC3339, dig(s, "start").(string))
			for _, r := range dig(s, "resources").([]any) {
				id := dig(r, "resource", "id").(string)
				free[id] = append(free[id], start)
			}
		}
	}
	var tech string
	var first, second time.Time
	for id, starts := range free {
		for _, s := range starts[1:] {
			// Hours apart, clear of the first job and the buffers around it.
			if s.In(paris).Format(time.DateOnly) == starts[0].In(paris).Format(time.DateOnly) && s.Sub(starts[0]) >= 3*time.Hour {
				tech, first, second = id, starts[0], s
				break
			}
		}
		if tech != "" {
			break
		}
	}
	if tech == "" {
		t.Fatal("no technician has two free slots on one day")
	}
	book := func(at time.Time) string {
		t.Helper()
		d := gql(t, h.url, admin, `mutation($s: Time!, $r: ID!) { bookAppointment(input: {customer: "walk-in", category: "repair", place: "75011", resource: $r, start: $s}) { appointment { id } error { code } } }`,
			map[string]any{"s": at.Format(time.RFC3339), "r": tech})
		id, _ := dig(d, "bookAppointment", "appointment", "id").(string)
		if id == "" {
			t.Fatalf("booking %s at %s: %v", tech, at, d)
		}
		return id
	}
	one := book(first)

	agent := agentToken(t, h, "agent-9", tech)
	c := newBrowser(t, h.url, 1280, 900)
	block := func(id string) string { return testid("timeline-block") + `[data-id="` + id + `"]` }
	// A date input takes its value from the browser's own setter, which React listens behind.
	setDate := fmt.Sprintf(`(() => { const el = document.querySelector('[data-testid="console-date"]');
		Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(el, %q);
		el.dispatchEvent(new Event("input", { bubbles: true })); return true; })()`, first.In(paris).Format(time.DateOnly))
	var ok bool
	c.run(t, "the agent opens the technician's day",
		chromedp.Navigate(h.url+"/console"),
		chromedp.WaitVisible(testid("console-token"), chromedp.ByQuery),
		typeText(testid("console-token"), agent),
		chromedp.Click(testid("console-sign-in"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("console-date"), chromedp.ByQuery),
		chromedp.Evaluate(setDate, &ok),
		chromedp.WaitVisible(block(one), chromedp.ByQuery))

	two := book(second)
	c.run(t, "an appointment booked elsewhere appears", chromedp.WaitVisible(block(two), chromedp.ByQuery))
	if d := gql(t, h.url, admin, `mutation($id: ID!) { cancelAppointment(input: {id: $id, reason: "customer called"}) { appointment { status } } }`,
		map[string]any{"id": one}); dig(d, "cancelAppointment", "appointment", "status") != "CANCELLED" {
		t.Fatalf("cancel: %v", d)
	}
	c.run(t, "one cancelled elsewhere changes status", chromedp.WaitVisible(block(one)+`[data-status="CANCELLED"]`, chromedp.ByQuery))
	c.screenshot(t, "console-timeline-desktop.png")
	c.accessible(t, "the console's timeline")
}
