package tmfrest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/testclock"
	"github.com/apphub/apphub/tmfrest"
)

// logRecorder is the handler's slog.Handler in the harness: it keeps every record, so that a
// test can say what a request logged.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

// count is the number of records at level with the message msg.
func (l *logRecorder) count(level slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.Level == level && r.Message == msg {
			n++
		}
	}
	return n
}

// errors returns the messages of the records at level ERROR or above, with their attributes.
func (l *logRecorder) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if r.Level >= slog.LevelError {
			msg := r.Message
			r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
			out = append(out, msg)
		}
	}
	return out
}

// stored is everything the hub holds that a create or a patch could change: every appointment
// and search task as GET answers it (versions and lastUpdate included), and the registrations.
func (h *testHub) stored() string {
	h.t.Helper()
	var b strings.Builder
	for _, resource := range []string{"appointment", "searchTimeSlot"} {
		r := h.want(h.do("GET", api+resource, ""), http.StatusOK)
		b.Write(r.body)
	}
	subs, err := h.svc.Subscriptions(asOperator(context.Background()))
	if err != nil {
		h.t.Fatal(err)
	}
	for _, s := range subs {
		fmt.Fprintf(&b, "hub %s %s %s\n", s.ID, s.Callback, s.Query)
	}
	return b.String()
}

// windows is n requested windows of an hour, a day apart, from the day after tomorrow.
func windows(n int) string {
	from := testclock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2).Add(9 * time.Hour)
	var w []string
	for i := range n {
		s := from.AddDate(0, 0, i)
		w = append(w, fmt.Sprintf(`{"validFor":{"startDateTime":%q,"endDateTime":%q}}`, s.Format(time.RFC3339), s.Add(time.Hour).Format(time.RFC3339)))
	}
	return "[" + strings.Join(w, ",") + "]"
}

// Every body a client gets wrong, on every create and patch, is a 400 TMF Error that names what
// is wrong, changes nothing, and is no ERROR in the log: the client's mistake is not the hub's
// failure.
func TestClientErrorsAreClientErrors(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	place := `"relatedPlace":{"role":"installationAddress","postCode":"75011"}`
	appointment := h.create("appointment", `{`+validFor+`,"description":"kept"}`)["id"].(string)
	task := h.create("searchTimeSlot", `{"category":"repair",`+place+`,"requestedTimeSlot":`+windows(1)+`}`)["id"].(string)
	before := h.stored()

	const jsonPatch = "application/json-patch+json"
	cases := []struct {
		name, method, path, body, contentType string
		field                                 string // the message names it
	}{
		// Malformed JSON.
		{"appointment: not complete", "POST", "appointment", `{"validFor":`, "", "body"},
		{"appointment: not JSON", "POST", "appointment", `validFor=x`, "", "JSON"},
		{"appointment: a bad number", "POST", "appointment", `{` + validFor + `,"x":01}`, "", "JSON"},
		{"appointment: a bare minus", "POST", "appointment", `{` + validFor + `,"x":-}`, "", "JSON"},
		{"appointment: nested too deep", "POST", "appointment", `{` + validFor + `,"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, "", "deeper than 32"},
		{"patch appointment: nested too deep", "PATCH", "appointment/" + appointment, `{"x":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`, "", "deeper than 32"},
		{"appointment: a string", "POST", "appointment", `"x"`, "", "body"},
		// The wrong JSON type.
		{"appointment: a number for a date-time", "POST", "appointment", `{"validFor":{"startDateTime":12345,"endDateTime":"2026-03-02T10:00:00Z"}}`, "", "validFor.startDateTime"},
		{"appointment: a string for a period", "POST", "appointment", `{"validFor":"x"}`, "", "validFor"},
		{"appointment: an object for an array", "POST", "appointment", `{` + validFor + `,"note":{"text":"x"}}`, "", "note"},
		{"appointment: a number for a string", "POST", "appointment", `{` + validFor + `,"category":5}`, "", "category"},
		{"appointment: a string for a boolean", "POST", "appointment", `{` + validFor + `,"contactMedium":[{"preferred":"yes"}]}`, "", "contactMedium.0.preferred"},
		{"appointment: a string for a number", "POST", "appointment", `{` + validFor + `,"attachment":[{"size":{"amount":"ten"}}]}`, "", "attachment.0.size.amount"},
		{"appointment: null for a period", "POST", "appointment", `{"validFor":null}`, "", "validFor"},
		// Bad values.
		{"appointment: not a date-time", "POST", "appointment", `{"validFor":{"startDateTime":"2026-02-30T09:00:00Z","endDateTime":"2026-03-02T10:00:00Z"}}`, "", "validFor.startDateTime"},
		{"appointment: a nested date-time", "POST", "appointment", `{` + validFor + `,"note":[{"date":"yesterday"}]}`, "", "note.0.date"},

		{"patch appointment: unknown status", "PATCH", "appointment/" + appointment, `{"status":"bogus"}`, "", "status"},
		{"patch appointment: a number for a status", "PATCH", "appointment/" + appointment, `{"status":5}`, "", "status"},
		{"patch appointment: a number for a date-time", "PATCH", "appointment/" + appointment, `{"validFor":{"startDateTime":12345}}`, "", "validFor.startDateTime"},
		{"patch appointment: not a date-time", "PATCH", "appointment/" + appointment, `{"validFor":{"endDateTime":"soon"}}`, "", "validFor.endDateTime"},
		{"patch appointment: end before start", "PATCH", "appointment/" + appointment, `{"validFor":{"endDateTime":"2026-03-02T08:00:00Z"}}`, "", "validFor.endDateTime"},
		{"patch appointment: a number for an id", "PATCH", "appointment/" + appointment, `{"id":5}`, "", "id"},
		{"patch appointment: malformed", "PATCH", "appointment/" + appointment, `{"description":`, "", "body"},
		{"patch appointment: an array", "PATCH", "appointment/" + appointment, `[]`, "", "body"},
		{"patch appointment: trailing data", "PATCH", "appointment/" + appointment, `{} []`, "", "body"},
		{"json patch appointment: not a patch", "PATCH", "appointment/" + appointment, `{"op":"add"}`, jsonPatch, "JSON Patch"},
		{"json patch appointment: unknown op", "PATCH", "appointment/" + appointment, `[{"op":"bogus","path":"/x"}]`, jsonPatch, "JSON Patch"},
		{"json patch appointment: a number for a path", "PATCH", "appointment/" + appointment, `[{"op":"add","path":5,"value":1}]`, jsonPatch, "JSON Patch"},
		{"json patch appointment: a wrong type", "PATCH", "appointment/" + appointment, `[{"op":"replace","path":"/description","value":5}]`, jsonPatch, "description"},
		{"json patch appointment: no such member", "PATCH", "appointment/" + appointment, `[{"op":"remove","path":"/nothing"}]`, jsonPatch, "JSON Patch"},

		{"search: a string for windows", "POST", "searchTimeSlot", `{"requestedTimeSlot":"x"}`, "", "requestedTimeSlot"},
		{"search: a number for a date-time", "POST", "searchTimeSlot", `{"category":"repair",` + place + `,"requestedTimeSlot":[{"validFor":{"startDateTime":12345}}]}`, "", "requestedTimeSlot.0.validFor.startDateTime"},
		{"search: an empty date-time", "POST", "searchTimeSlot", `{"requestedTimeSlot":[{"validFor":{"startDateTime":""}}]}`, "", "requestedTimeSlot.validFor.startDateTime"},
		{"search: a window too long", "POST", "searchTimeSlot", `{"category":"repair",` + place + `,"requestedTimeSlot":[{"validFor":{"startDateTime":"2026-03-02T09:00:00Z","endDateTime":"2026-05-02T09:00:00Z"}}]}`, "", "31 days"},
		{"search: a window that ends before it starts", "POST", "searchTimeSlot", `{"category":"repair",` + place + `,"requestedTimeSlot":[{"validFor":{"startDateTime":"2026-03-02T09:00:00Z","endDateTime":"2026-03-01T09:00:00Z"}}]}`, "", "requestedTimeSlot"},
		{"search: no place", "POST", "searchTimeSlot", `{"category":"repair","requestedTimeSlot":` + windows(1) + `}`, "", "relatedPlace"},
		{"search: an unknown category", "POST", "searchTimeSlot", `{"category":"juggling",` + place + `,"requestedTimeSlot":` + windows(1) + `}`, "", "category"},
		{"search: a number for a category", "POST", "searchTimeSlot", `{"category":5,` + place + `,"requestedTimeSlot":` + windows(1) + `}`, "", "category"},
		{"search: an array for a place", "POST", "searchTimeSlot", `{"relatedPlace":[{"role":"x"}]}`, "", "relatedPlace"},
		{"search: a string for slots", "POST", "searchTimeSlot", `{"availableTimeSlot":"x"}`, "", "availableTimeSlot"},
		{"search: too many windows", "POST", "searchTimeSlot", `{"category":"repair",` + place + `,"requestedTimeSlot":` + windows(booking.MaxSearchWindows+1) + `}`, "", "requestedTimeSlot"},
		{"search: too many windows, not searched", "POST", "searchTimeSlot", `{"requestedTimeSlot":` + windows(booking.MaxSearchWindows+1) + `}`, "", "requestedTimeSlot"},

		{"patch search: unknown status", "PATCH", "searchTimeSlot/" + task, `{"status":"bogus"}`, "", "status"},
		{"patch search: a number for windows", "PATCH", "searchTimeSlot/" + task, `{"requestedTimeSlot":5}`, "", "requestedTimeSlot"},
		{"patch search: too many windows", "PATCH", "searchTimeSlot/" + task, `{"requestedTimeSlot":` + windows(booking.MaxSearchWindows+1) + `}`, "", "requestedTimeSlot"},
		{"patch search: a number for a search date", "PATCH", "searchTimeSlot/" + task, `{"searchDate":5}`, "", "searchDate"},
		{"patch search: malformed", "PATCH", "searchTimeSlot/" + task, `{`, "", "body"},
		{"patch search: a number for a category", "PATCH", "searchTimeSlot/" + task, `{"category":5}`, "", "category"},

		{"hub: a number for a callback", "POST", "hub", `{"callback":5}`, "", "callback"},
		{"hub: a number for a query", "POST", "hub", `{"callback":"https://listener.example.com/cb","query":5}`, "", "query"},
		{"hub: a bad query", "POST", "hub", `{"callback":"https://listener.example.com/cb","query":"status[$ne]=x"}`, "", "query"},
		{"hub: malformed", "POST", "hub", `{"callback":"https://listener.example.com/cb"`, "", "body"},
		{"hub: an array", "POST", "hub", `[{"callback":"https://listener.example.com/cb"}]`, "", "body"},
	}
	refusedBefore := h.logs.count(slog.LevelDebug, "TMF646 request refused")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			headers := []string{"Content-Type", "application/json"}
			if tc.contentType != "" {
				headers[1] = tc.contentType
			}
			r := h.want(h.do(tc.method, api+tc.path, tc.body, headers...), http.StatusBadRequest)
			var e struct{ Code, Message string }
			if err := json.Unmarshal(r.body, &e); err != nil || e.Code != "VALIDATION" || !strings.Contains(e.Message, tc.field) {
				t.Errorf("error %s; want VALIDATION naming %s", r.body, tc.field)
			}
		})
	}
	h.t = t
	if after := h.stored(); after != before {
		t.Errorf("refused requests changed what is stored:\nbefore %s\nafter  %s", before, after)
	}
	if errs := h.logs.errors(); len(errs) > 0 {
		t.Errorf("refused requests were logged as errors: %q", errs)
	}
	if n := h.logs.count(slog.LevelDebug, "TMF646 request refused") - refusedBefore; n != len(cases) {
		t.Errorf("%d refusals in the debug log, want %d", n, len(cases))
	}
}

// A search task asks for at most booking.MaxSearchWindows windows: with as many it is searched
// and stored; with one more it is a 400 naming requestedTimeSlot, and nothing is stored.
func TestSearchWindowsAreBounded(t *testing.T) {
	t.Parallel()
	h := demoHub(t)
	body := func(n int) string {
		return `{"category":"repair","relatedPlace":{"role":"installationAddress","postCode":"75011"},"requestedTimeSlot":` + windows(n) + `}`
	}
	task := h.create("searchTimeSlot", body(booking.MaxSearchWindows))
	if got := len(task["requestedTimeSlot"].([]any)); got != booking.MaxSearchWindows {
		t.Fatalf("%d windows stored, want %d", got, booking.MaxSearchWindows)
	}
	if len(task["availableTimeSlot"].([]any)) == 0 {
		t.Fatalf("ten working-day hours of repairs found no slot: %v", task)
	}
	_, before := h.list("searchTimeSlot", "")
	r := h.want(h.do("POST", api+"searchTimeSlot", body(booking.MaxSearchWindows+1)), http.StatusBadRequest)
	if e := r.object(t); !strings.HasPrefix(e["message"].(string), "requestedTimeSlot: ") {
		t.Errorf("message %q does not name requestedTimeSlot", e["message"])
	}
	if _, after := h.list("searchTimeSlot", ""); !equalIDs(ids(before), ids(after)) {
		t.Errorf("search tasks %v, were %v", ids(after), ids(before))
	}
}

func equalIDs(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// A body over the limit is a 413 REQUEST_TOO_LARGE on every endpoint that reads one; one just
// under is read.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	h := startHub(t, tmfrest.Options{})
	const limit = 64 << 10
	// pad makes body exactly n bytes long with a description of x's.
	pad := func(body string, n int) string {
		return strings.Replace(body, `"description":""`, `"description":"`+strings.Repeat("x", n-len(body))+`"`, 1)
	}
	appointment := `{` + validFor + `,"description":""}`
	id := h.create("appointment", pad(appointment, limit))["id"].(string)
	if r := h.do("PATCH", api+"appointment/"+id, pad(`{"description":""}`, limit)); r.status != http.StatusOK {
		t.Fatalf("a PATCH of %d bytes: %s", limit, r)
	}
	before := h.stored()
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "appointment", pad(appointment, limit+1)},
		{"POST", "appointment", pad(appointment, 1<<20)},
		{"PATCH", "appointment/" + id, pad(`{"description":""}`, limit+1)},
		{"POST", "searchTimeSlot", pad(`{"description":""}`, limit+1)},
		{"POST", "hub", pad(`{"callback":"https://listener.example.com/cb","description":""}`, limit+1)},
		{"POST", "listener/appointmentCreateEvent", pad(`{"description":""}`, limit+1)},
	} {
		r := h.want(h.do(tc.method, api+tc.path, tc.body), http.StatusRequestEntityTooLarge)
		if e := r.object(t); e["code"] != "REQUEST_TOO_LARGE" || !strings.Contains(e["message"].(string), "65536 bytes") {
			t.Errorf("%s %s: %s", tc.method, tc.path, r.body)
		}
	}
	if after := h.stored(); after != before {
		t.Errorf("refused requests changed what is stored")
	}
	if errs := h.logs.errors(); len(errs) > 0 {
		t.Errorf("refused requests were logged as errors: %q", errs)
	}
}
