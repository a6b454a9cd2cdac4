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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/testclock"
)

// stepTimeout bounds each step of a browser test: a step waits for what the page shows, and a
// page that never shows it fails the test rather than hanging it.
const stepTimeout = 30 * time.Second

// chromium is Debian's Chromium, which scripts/ensure-chromium.sh installs (.ci/run runs it).
const chromium = "/usr/bin/chromium"

// browserHub is a hub with the demo data, for the browser tests.
func browserHub(t *testing.T) *testHub {
	t.Helper()
	h := startHub(t, nil, nil)
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

	mu       sync.Mutex
	requests []string
}

func newBrowser(t *testing.T, base string, width, height int64) *browser {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s: %v (bash scripts/ensure-chromium.sh installs Debian's chromium)", chromium, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		// This machine's network is closed: Chromium's own connections would be refused.
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	b := &browser{ctx: ctx, base: base}
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.requests = append(b.requests, e.Request.URL)
			b.mu.Unlock()
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
		t.Fatalf("starting %s: %v", chromium, err)
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
// status changes live when an operator confirms, a slot booked elsewhere leaving the open grid
// without a reload, then cancelling. Nothing is requested from anywhere but the hub.
func TestBrowserCustomerFlow(t *testing.T) {
	t.Parallel()
	h := browserHub(t)
	b := newBrowser(t, h.url, 375, 812)
	b.run(t, "open the app and sign in",
		chromedp.Navigate(h.url+"/"),
		chromedp.WaitVisible(testid("sign-in"), chromedp.ByQuery),
		chromedp.Click(testid("sign-in"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("category"), chromedp.ByQuery),
		chromedp.SetValue(testid("category"), "repair", chromedp.ByQuery),
		chromedp.SendKeys(testid("postcode"), "75011", chromedp.ByQuery),
		chromedp.Click(testid("search"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("slot"), chromedp.ByQuery),
	)
	b.screenshot(t, "customer-grid-375.png")

	// A slot booked elsewhere, to its last seat, leaves the open grid.
	var gone string
	b.run(t, "read the first slot", chromedp.AttributeValue(testid("slot"), "data-start", &gone, nil, chromedp.ByQuery))
	admin := h.token(t, adminParty, apphub.RoleAdmin)
	booked := 0
	for range 30 {
		d := gqlRaw(t, h.url, admin, `mutation($s: Time!) { bookAppointment(input: {customer: "walk-in", category: "repair", place: "75011", start: $s}) { appointment { id } error { code } } }`,
			map[string]any{"s": gone})
		if dig(d, "data", "bookAppointment", "appointment", "id") == nil {
			break
		}
		booked++
	}
	if booked == 0 {
		t.Fatalf("the slot at %s could not be booked elsewhere", gone)
	}
	b.run(t, "the slot booked elsewhere leaves the grid",
		chromedp.WaitNotPresent(`[data-start="`+gone+`"]`, chromedp.ByQuery))

	b.run(t, "hold a slot and book it",
		chromedp.Click(testid("slot"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("hold"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("countdown"), chromedp.ByQuery),
		chromedp.SendKeys(testid("name"), "Ada Lovelace", chromedp.ByQuery),
		chromedp.SendKeys(testid("email"), "ada@example.com", chromedp.ByQuery),
		chromedp.Click(testid("book"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("status"), chromedp.ByQuery),
	)
	var location string
	b.run(t, "the confirmation page", chromedp.Location(&location))
	id := location[strings.LastIndex(location, "/")+1:]
	if !strings.Contains(location, "/appointment/") || id == "" {
		t.Fatalf("after booking the page is %s, want /appointment/<id>", location)
	}
	b.screenshot(t, "customer-confirmation-375.png")

	// An operator confirms: the customer's page says so without a reload.
	gqlRaw(t, h.url, admin, `mutation($id: ID!) { confirmAppointment(input: {id: $id}) { appointment { status } } }`, map[string]any{"id": id})
	b.run(t, "the status changes live", waitText(testid("status"), "onfirm"))

	b.run(t, "cancel with a reason",
		chromedp.Click(testid("cancel"), chromedp.ByQuery),
		chromedp.SendKeys(testid("cancel-reason"), "no longer needed", chromedp.ByQuery),
		chromedp.Click(testid("cancel-confirm"), chromedp.ByQuery),
		waitText(testid("status"), "ancel"),
	)
	if off := b.offOrigin(); len(off) > 0 {
		t.Errorf("the page requested from elsewhere than the hub: %v", off)
	}
}

// waitText waits until the element's text contains part.
func waitText(sel, part string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			var text string
			if err := chromedp.Run(ctx, chromedp.Text(sel, &text, chromedp.ByQuery)); err != nil {
				return err
			}
			if strings.Contains(text, part) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s shows %q, waited for %q: %w", sel, text, part, ctx.Err())
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
