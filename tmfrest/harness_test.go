package tmfrest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
	"github.com/apphub/apphub/tmfrest"
)

// The conformance suite runs every operation over HTTP against a hub on the embedded store,
// mounted as cmd/apphub mounts it, and checks every response body against the swagger.

const api = tmfrest.BasePath // "/tmf-api/appointment/v4/"

// operator is who the suite calls as unless a test says otherwise: an admin, who may see and do
// everything, as the contract's tests need (auth_test.go checks who may do what).
var operator = apphub.Principal{PartyID: "ops-1", Roles: []string{apphub.RoleAdmin}}

type testHub struct {
	t       testing.TB
	url     string
	svc     *booking.Service
	schemas *tmfrest.Schemas
	mux     http.Handler // the hub's routes, before a principal is set
	logs    *logRecorder // what the handler logged
}

func startHub(t testing.TB, opts tmfrest.Options) *testHub {
	t.Helper()
	db := storetest.Mongo(t)
	svc := booking.NewService(db, booking.Options{Now: testclock.Now})
	testclock.Report(t)
	logs := &logRecorder{}
	logger := slog.New(logs)
	mux := http.NewServeMux()
	mux.Handle(tmfrest.BasePath, tmfrest.NewHandler(svc, logger, opts))
	schemas, err := tmfrest.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	h := &testHub{t: t, svc: svc, schemas: schemas, mux: mux, logs: logs}
	h.url = h.serve(operator)
	return h
}

// as is a client of the same hub (same stores, other URL) calling as p.
func (h *testHub) as(p apphub.Principal) *testHub {
	c := *h
	c.url = h.serve(p)
	return &c
}

// serve starts a server of the hub whose requests call as p, and returns its URL.
func (h *testHub) serve(p apphub.Principal) string {
	srv := httptest.NewServer(withPrincipal(h.mux, p))
	h.t.Cleanup(srv.Close)
	return srv.URL
}

// withPrincipal stands in for the hub's authentication middleware (cmd/apphub): every request
// calls as p, as if its bearer token had named p.
func withPrincipal(next http.Handler, p apphub.Principal) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(apphub.NewContextWithPrincipal(r.Context(), p)))
	})
}

// asOperator is ctx calling as the operator, for the tests' direct calls to the service.
func asOperator(ctx context.Context) context.Context {
	return apphub.NewContextWithPrincipal(ctx, operator)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return strconv.Itoa(r.status) + " " + string(r.body) }

// object decodes the body as one JSON object (numbers as json.Number).
func (r response) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// list decodes the body as a JSON array of objects.
func (r response) list(t testing.TB) []map[string]any {
	t.Helper()
	var l []map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&l); err != nil || l == nil {
		t.Fatalf("body is not a JSON array: %v: %s", err, r.body)
	}
	return l
}

// do sends a request; headers come in name, value pairs. Every error answer is checked to be
// a TMF Error (schema, status, @type, Content-Type).
func (h *testHub) do(method, path, body string, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = h.url + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: b}
	if r.status >= 400 {
		h.checkError(r)
	} else if r.status != http.StatusNoContent {
		if ct := r.header.Get("Content-Type"); ct != "application/json;charset=utf-8" {
			h.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return r
}

func (h *testHub) checkError(r response) {
	h.t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json;charset=utf-8" {
		h.t.Errorf("error answer: Content-Type %q", ct)
	}
	h.validate("Error", r.body)
	e := r.object(h.t)
	if e["@type"] != "Error" || e["status"] != strconv.Itoa(r.status) || e["reason"] != http.StatusText(r.status) || e["code"] == "" {
		h.t.Errorf("not a TMF Error for %d: %s", r.status, r.body)
	}
}

// validate checks a JSON body against a swagger definition, or each element of a list against
// it when def starts with "[]".
func (h *testHub) validate(def string, body []byte) {
	h.t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		h.t.Fatalf("body is not JSON: %v: %s", err, body)
	}
	if elem, ok := strings.CutPrefix(def, "[]"); ok {
		list, ok := v.([]any)
		if !ok {
			h.t.Fatalf("body is not an array: %s", body)
		}
		for i, e := range list {
			if err := h.schemas.Validate(elem, e); err != nil {
				h.t.Errorf("element %d does not match %s: %v", i, elem, err)
			}
		}
		return
	}
	if err := h.schemas.Validate(def, v); err != nil {
		h.t.Errorf("body does not match %s: %v\n%s", def, err, body)
	}
}

// want fails the test unless the answer has the wanted status.
func (h *testHub) want(r response, status int) response {
	h.t.Helper()
	if r.status != status {
		h.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// create POSTs a resource and checks the 201: Location, ETag, schema.
func (h *testHub) create(resource, body string, headers ...string) map[string]any {
	h.t.Helper()
	r := h.want(h.do("POST", api+resource, body, headers...), http.StatusCreated)
	h.validate(definition(resource), r.body)
	obj := r.object(h.t)
	if loc := r.header.Get("Location"); loc == "" || resource != "hub" && loc != obj["href"] {
		h.t.Errorf("Location %q, href %q", loc, obj["href"])
	}
	if resource != "hub" && r.header.Get("ETag") == "" {
		h.t.Errorf("no ETag on the 201")
	}
	return obj
}

// get retrieves one resource and checks it against the schema.
func (h *testHub) get(resource, id string) map[string]any {
	h.t.Helper()
	r := h.want(h.do("GET", api+resource+"/"+id, ""), http.StatusOK)
	h.validate(definition(resource), r.body)
	return r.object(h.t)
}

// list GETs a list with a raw query and checks each element against the schema (unless
// fields selects attributes, which makes elements partial on purpose).
func (h *testHub) list(resource, rawQuery string) (response, []map[string]any) {
	h.t.Helper()
	path := api + resource
	if rawQuery != "" {
		path += "?" + rawQuery
	}
	r := h.do("GET", path, "")
	if r.status != http.StatusOK && r.status != http.StatusPartialContent {
		h.t.Fatalf("GET %s: %s", path, r)
	}
	if !strings.Contains(rawQuery, "fields=") {
		h.validate("[]"+definition(resource), r.body)
	}
	l := r.list(h.t)
	if got := r.header.Get("X-Result-Count"); got != strconv.Itoa(len(l)) {
		h.t.Errorf("X-Result-Count %q for %d items", got, len(l))
	}
	if r.header.Get("X-Total-Count") == "" {
		h.t.Errorf("no X-Total-Count")
	}
	return r, l
}

func definition(resource string) string {
	switch resource {
	case "appointment":
		return "Appointment"
	case "searchTimeSlot":
		return "SearchTimeSlot"
	case "hub":
		return "EventSubscription"
	}
	return resource
}

// sample reads an official example from the repository's copy of the contract's samples.
func sample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/samples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ids(l []map[string]any) []string {
	out := make([]string, len(l))
	for i, o := range l {
		out[i], _ = o["id"].(string)
	}
	return out
}

const validFor = `"validFor":{"startDateTime":"2026-03-02T09:00:00.000Z","endDateTime":"2026-03-02T10:00:00.000Z"}`
