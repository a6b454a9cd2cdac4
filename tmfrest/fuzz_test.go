package tmfrest_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/tmfrest"
)

// slowRequest is far longer than any request of a 64 KiB body takes (the slowest seed: under
// 1 s with -race on a busy 2-core machine): a request that takes longer has stalled the hub.
const slowRequest = 10 * time.Second

// FuzzCreateBodies sends any bytes, through the real handler on the embedded store, as the body
// of each create (appointment, search task, hub registration) and as a merge patch and a JSON
// Patch of an existing appointment. Whatever the bytes, the hub must not panic, stall, answer
// 5xx or log an ERROR: it answers a TMF Error (h.do checks its schema, status, reason and @type), or a
// resource that matches the swagger. `go test` runs the seeds only; scripts/fuzz.sh fuzzes.
func FuzzCreateBodies(f *testing.F) {
	h := startHub(f, tmfrest.Options{})
	if err := h.svc.SaveCalendar(asOperator(context.Background()), demo.Data(), nil); err != nil {
		f.Fatal(err)
	}
	id := h.create("appointment", `{`+validFor+`,"description":"fuzzed"}`)["id"].(string)

	place := `"relatedPlace":{"role":"installationAddress","postCode":"75011"}`
	seeds := []string{
		// Good bodies.
		`{` + validFor + `}`,
		`{"category":"repair",` + place + `,"requestedTimeSlot":` + windows(2) + `}`,
		`{"category":"repair",` + place + `,"requestedTimeSlot":` + windows(booking.MaxSearchWindows) + `}`,
		`{"callback":"https://listener.example.com/cb","query":"eventType=AppointmentStateChangeEvent"}`,
		`{"status":"confirmed"}`,
		`{"description":null,"note":[{"text":"x","date":"2026-03-02T09:00:00Z"}]}`,
		`[{"op":"replace","path":"/description","value":"y"},{"op":"test","path":"/id","value":"x"}]`,
		`[{"op":"copy","from":"/validFor","path":"/x"},{"op":"move","from":"/x","path":"/y"}]`,
		// Hostile ones.
		``, `null`, `{}`, `[]`, `"x"`, `{"validFor":`, `{} {}`, "{\"\xff\":\"\xfe\"}", `{"a\u0000b":"\u0000"}`, `{"\ud800":"\udfff"}`,
		`{"validFor":{"startDateTime":12345,"endDateTime":"2026-03-02T10:00:00Z"}}`,
		`{"validFor":{"startDateTime":"0000-01-01T00:00:00Z","endDateTime":"9999-12-31T23:59:59.999999999Z"}}`,
		`{"validFor":{"startDateTime":"2026-03-02T09:00:00+23:59","endDateTime":"2026-03-02T10:00:00-23:59"}}`,
		`{` + validFor + `,"x":1e999999999,"y":-0.0e-999,"z":123456789012345678901234567890}`,
		`{` + validFor + `,"relatedParty":[{"id":"tech-paris-002","role":"technician","@referredType":"PartyRole"}],"category":"repair"}`,
		`{` + validFor + `,"relatedPlace":[{"id":"store-1","role":"x"}],"category":{}}`,
		`{"requestedTimeSlot":"x","category":5}`,
		`{"category":"repair",` + place + `,"requestedTimeSlot":` + windows(booking.MaxSearchWindows+1) + `}`,
		`{"category":"repair",` + place + `,"requestedTimeSlot":[{"validFor":{"startDateTime":"2026-03-02T09:00:00Z","endDateTime":"2026-06-02T09:00:00Z"}}]}`,
		`{"availableTimeSlot":[{"validFor":{},"id":"","href":"x"}],"status":"bogus"}`,
		`{"callback":"http://169.254.169.254/latest","query":"a[$ne]=1"}`,
		`{"id":"other","href":5,"creationDate":null,"lastUpdate":"x","status":"cancelled"}`,
		`{"validFor":null}`,
		`[{"op":"add","path":"/-","value":1}]`, `[{"op":"remove","path":""}]`, `[{"op":"copy","from":"","path":"/a/b"}]`,
		`[{"op":"test","path":"/status","value":"initialized"},{"op":"replace","path":"/status","value":"cancelled"}]`,
		`{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		`{"x":` + strings.Repeat(`{"a":`, 500) + `1` + strings.Repeat(`}`, 500) + `}`,
	}
	for _, name := range []string{"Appointment.example.json", "Appointment2.example.json", "SearchTimeSlot.example.json"} {
		b, err := os.ReadFile("testdata/samples/" + name)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, string(b))
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}

	targets := []struct{ method, path, contentType, def string }{
		{"POST", api + "appointment", "application/json", "Appointment"},
		{"POST", api + "searchTimeSlot", "application/json", "SearchTimeSlot"},
		{"POST", api + "hub", "application/json", "EventSubscription"},
		{"PATCH", api + "appointment/" + id, "application/merge-patch+json", "Appointment"},
		{"PATCH", api + "appointment/" + id, "application/json-patch+json", "Appointment"},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := *h
		c.t = t
		errorsBefore := len(h.logs.errors())
		for _, tg := range targets {
			// A request that never ends must fail the input too, so the request runs aside.
			answer := make(chan response, 1)
			go func() { answer <- c.do(tg.method, tg.path, string(body), "Content-Type", tg.contentType) }()
			var r response
			select {
			case r = <-answer:
			case <-time.After(slowRequest):
				t.Fatalf("%s %s: no answer after %v", tg.method, tg.path, slowRequest)
			}
			switch {
			case r.status >= 500:
				t.Fatalf("%s %s: %s", tg.method, tg.path, r)
			case r.status == http.StatusOK || r.status == http.StatusCreated:
				c.validate(tg.def, r.body)
			case r.status < 400:
				t.Fatalf("%s %s: %s", tg.method, tg.path, r)
			}
		}
		if errs := h.logs.errors(); len(errs) > errorsBefore {
			t.Fatalf("logged as errors: %q", errs[errorsBefore:])
		}
	})
}
