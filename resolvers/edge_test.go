package resolvers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coderws "github.com/coder/websocket"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// The edge of the GraphQL handler: persisted queries, introspection, websocket limits, the rate
// limit hook and client errors. The documents' limits are in edge_bench_test.go.

// gqlReply is a response as these tests read it.
type gqlReply struct {
	status int
	header http.Header
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (r gqlReply) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	code, _ := r.Errors[0].Extensions["code"].(string)
	return code
}

// send posts body with the content type and decodes the answer, failing when it is not JSON.
func send(t *testing.T, h http.Handler, method, contentType, body string) gqlReply {
	t.Helper()
	req := httptest.NewRequest(method, "/graphql", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	r := gqlReply{status: rec.Code, header: rec.Header()}
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("status %d, not JSON (%v): %.300s", rec.Code, err, rec.Body)
	}
	return r
}

func sha(query string) string {
	sum := sha256.Sum256([]byte(query))
	return hex.EncodeToString(sum[:])
}

// apqBody is a request with the persisted query extension; query may be empty.
func apqBody(query, hash string) string {
	b, _ := json.Marshal(map[string]any{"query": query,
		"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}})
	return string(b)
}

// Only documents that parse, validate and pass the limits are kept, up to their size cap; a
// hash that is not the document's is refused.
func TestPersistedQueriesKeepOnlyValidDocuments(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	cache := rediscache.NewQueryCache(rdb, prefix, time.Hour)
	h := resolvers.WithPrincipal(resolvers.NewHandler(&resolvers.Resolver{Service: fakeHub{}, Version: "test"},
		slog.New(slog.DiscardHandler), resolvers.Options{QueryCache: cache}), customer)
	valid := `{ hub { version } }`
	oversize := valid + strings.Repeat(" ", resolvers.DefaultMaxPersistedQueryBytes)
	for _, tc := range []struct {
		name, query, hash string
		status            int
		code              string
		kept              bool
	}{
		{"junk with its hash", "{{{ " + strings.Repeat("junk ", 2000), sha("{{{ " + strings.Repeat("junk ", 2000)), 200, "GRAPHQL_PARSE_FAILED", false},
		{"invalid with its hash", `{ nope }`, sha(`{ nope }`), 200, "GRAPHQL_VALIDATION_FAILED", false},
		{"over the limits with its hash", repeat(10, "a%d: __schema { __typename }"), sha(repeat(10, "a%d: __schema { __typename }")), 200, resolvers.CodeComplexityLimit, false},
		{"oversize valid document", oversize, sha(oversize), 200, "", false},
		{"wrong hash", valid, sha("{ __typename }"), 200, apphub.EINVALID, false},
		{"hash not hex", valid, strings.ToUpper(sha(valid)), 200, apphub.EINVALID, false},
		{"unknown hash alone", "", sha(`{ hub { installationId } }`), 200, resolvers.CodePersistedQueryNotFound, false},
		{"valid document", valid, sha(valid), 200, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, h, "POST", "application/json", apqBody(tc.query, tc.hash))
			if r.status != tc.status || r.code() != tc.code {
				t.Fatalf("status %d code %q, want %d %q: %+v", r.status, r.code(), tc.status, tc.code, r.Errors)
			}
			_, kept := cache.Get(context.Background(), tc.hash)
			if kept != tc.kept {
				t.Fatalf("kept = %v, want %v", kept, tc.kept)
			}
			if kept {
				// The hash alone now runs the document.
				r := send(t, h, "POST", "application/json", apqBody("", tc.hash))
				if r.code() != "" || get(r.Data, "hub.version") != "test" {
					t.Fatalf("by hash: %+v %v", r.Errors, r.Data)
				}
			}
		})
	}
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	svc := &callCounter{Service: fakeHub{}}
	handler := func(opts resolvers.Options) http.Handler {
		return resolvers.WithPrincipal(resolvers.NewHandler(&resolvers.Resolver{Service: svc, Version: "test"}, slog.New(slog.DiscardHandler), opts), customer)
	}
	thousand := repeat(1000, "a%d: __schema { __typename }")
	for _, tc := range []struct {
		name  string
		opts  resolvers.Options
		query string
		code  string
	}{
		{"__typename stays", resolvers.Options{DisableIntrospection: true}, `{ __typename hub { __typename version } }`, ""},
		{"__schema refused", resolvers.Options{DisableIntrospection: true}, `{ __schema { queryType { name } } }`, "GRAPHQL_VALIDATION_FAILED"},
		{"__type refused", resolvers.Options{DisableIntrospection: true}, `{ hub { version } __type(name: "Hub") { name } }`, "GRAPHQL_VALIDATION_FAILED"},
		{"through a fragment", resolvers.Options{DisableIntrospection: true}, `{ ...F } fragment F on Query { __schema { description } }`, "GRAPHQL_VALIDATION_FAILED"},
		{"enabled", resolvers.Options{}, `{ __schema { queryType { name } } }`, ""},
		{"1000 aliases of __schema, by the token limit", resolvers.Options{}, thousand, "GRAPHQL_PARSE_FAILED"},
		{"1000 aliases of __schema, by the complexity limit", resolvers.Options{MaxTokens: 100000}, thousand, resolvers.CodeComplexityLimit},
		{"9 aliases of __schema", resolvers.Options{}, repeat(9, "a%d: __schema { __typename }"), ""},
		{"10 aliases of __schema", resolvers.Options{}, repeat(10, "a%d: __schema { __typename }"), resolvers.CodeComplexityLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := svc.calls.Load()
			r := send(t, handler(tc.opts), "POST", "application/json", string(gqlBody(tc.query, nil, "")))
			if r.code() != tc.code {
				t.Fatalf("code %q, want %q: %+v", r.code(), tc.code, r.Errors)
			}
			if tc.code == "" {
				return
			}
			if r.status != http.StatusOK || r.Data != nil || svc.calls.Load() != before {
				t.Fatalf("status %d, data %v: a refused operation must not run", r.status, r.Data)
			}
			if tc.opts.DisableIntrospection && !strings.Contains(r.Errors[0].Message, "introspection is disabled") {
				t.Errorf("message %q", r.Errors[0].Message)
			}
		})
	}
}

// wsMessages reads a websocket's messages into a channel until it closes; the error it closed
// with is in closed.
type wsMessages struct {
	ch     chan map[string]any
	closed chan error
}

func readAll(w *wsClient) *wsMessages {
	m := &wsMessages{ch: make(chan map[string]any, 64), closed: make(chan error, 1)}
	go func() {
		for {
			_, b, err := w.c.Read(context.Background())
			if err != nil {
				m.closed <- err
				close(m.ch)
				return
			}
			var msg map[string]any
			json.Unmarshal(b, &msg)
			if msg["type"] == "ka" || msg["type"] == "ping" || msg["type"] == "pong" {
				continue
			}
			m.ch <- msg
		}
	}()
	return m
}

// next returns the next message, failing after 10 s.
func (m *wsMessages) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case msg, ok := <-m.ch:
		if !ok {
			t.Fatalf("the websocket closed: %v", <-m.closed)
		}
		return msg
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
		return nil
	}
}

// A websocket runs at most MaxSubscriptionsPerConnection operations: the next is refused with
// an error for its id and delivers nothing; a completed one frees its slot.
func TestWebsocketOperationLimit(t *testing.T) {
	t.Parallel()
	e := newSubEnvWith(t, booking.Options{}, resolvers.Options{MaxSubscriptionsPerConnection: 2})
	a := e.bookAhead()
	w := dialWS(t, e.url(customer), "graphql-transport-ws")
	msgs := readAll(w)
	vars := map[string]any{"id": a.ID}
	for _, id := range []string{"1", "2"} {
		w.subscribe(id, changeDoc, vars)
		if m := msgs.next(t); m["type"] != "next" || m["id"] != id {
			t.Fatalf("subscription %s: %v", id, m)
		}
	}
	w.subscribe("3", changeDoc, vars)
	m := msgs.next(t)
	// graphql-transport-ws: an error message ends the operation, no complete follows.
	if m["type"] != "error" || m["id"] != "3" || get(m, "payload.0.extensions.code") != apphub.ERATELIMITED {
		t.Fatalf("third subscription: %v", m)
	}
	// A change reaches the two subscriptions, and nothing else arrives for the third.
	desc := "gate code 1234"
	if _, err := e.svc.Update(ctxAs(customer), booking.Update{ID: a.ID, Description: &desc}); err != nil {
		t.Fatal(err)
	}
	got := map[any]int{}
	for range 2 {
		m := msgs.next(t)
		if m["type"] != "next" {
			t.Fatalf("after the change: %v", m)
		}
		got[m["id"]]++
	}
	if got["1"] != 1 || got["2"] != 1 {
		t.Fatalf("the change reached %v, want subscriptions 1 and 2 once", got)
	}
	// Completing one frees its slot (and the server sends nothing more for it). The slot is
	// given back as the operation ends, on the server's own goroutine, so a subscribe right
	// after the complete may still be refused.
	w.send(map[string]any{"id": "1", "type": "complete"})
	for i := 0; ; i++ {
		id := fmt.Sprint("again-", i)
		w.subscribe(id, changeDoc, vars)
		m := msgs.next(t)
		if m["type"] == "next" && m["id"] == id {
			break
		}
		if m["type"] != "error" || m["id"] != id || i == 100 {
			t.Fatalf("after a complete: %v", m)
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.c.Close(coderws.StatusNormalClosure, "")
}

// A principal keeps at most MaxConnectionsPerPrincipal websockets open on the instance; the
// next is closed with 4429 after its connection_init, and a closed one frees its place.
// Anonymous callers are counted by address.
func TestWebsocketConnectionLimit(t *testing.T) {
	t.Parallel()
	e := newSubEnvWith(t, booking.Options{}, resolvers.Options{MaxConnectionsPerPrincipal: 2})
	url := e.url(customer)
	first, second := dialWS(t, url, "graphql-transport-ws"), dialWS(t, url, "graphql-transport-ws")
	refusedClose := func(w *wsClient) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for {
			_, b, err := w.c.Read(ctx)
			if err == nil {
				if strings.Contains(string(b), "connection_ack") {
					t.Fatalf("acknowledged over the limit")
				}
				continue
			}
			if status := coderws.CloseStatus(err); status != resolvers.CloseTooManyRequests {
				t.Fatalf("closed with %v (%d), want %d", err, status, resolvers.CloseTooManyRequests)
			}
			return
		}
	}
	refusedClose(openWS(t, url, "graphql-transport-ws", nil))
	refusedClose(openWS(t, url, "graphql-ws", nil))

	// Another principal has its own count; anonymous callers share their address's.
	other := e.url(other)
	dialWS(t, other, "graphql-transport-ws")
	anonymous := e.url(apphub.Principal{})
	dialWS(t, anonymous, "graphql-transport-ws")
	dialWS(t, anonymous, "graphql-ws")
	refusedClose(openWS(t, anonymous, "graphql-transport-ws", nil))

	// Closing a connection frees its place (once the server has seen the close).
	first.c.Close(coderws.StatusNormalClosure, "")
	for i := 0; ; i++ {
		w := openWS(t, url, "graphql-transport-ws", nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := w.c.Read(ctx)
		cancel()
		if err == nil && strings.Contains(string(b), "connection_ack") {
			break
		}
		if coderws.CloseStatus(err) != resolvers.CloseTooManyRequests || i == 100 {
			t.Fatalf("after a close: %s %v", b, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	second.c.Close(coderws.StatusNormalClosure, "")
}

// limiter is a Limit func that counts its calls and refuses the ones refuse says.
type limiter struct {
	mu      sync.Mutex
	classes []string
	refuse  func(n int) error // n counts from 1
}

func (l *limiter) limit(ctx context.Context, class string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.classes = append(l.classes, class)
	if l.refuse == nil {
		return nil
	}
	return l.refuse(len(l.classes))
}

func TestLimitHook(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	lim := &limiter{refuse: func(n int) error {
		if n == 3 {
			return &apphub.Error{Code: apphub.ERATELIMITED, Message: "too many writes", RetryAfter: 1500 * time.Millisecond}
		}
		return nil
	}}
	h := resolvers.WithPrincipal(resolvers.NewHandler(&resolvers.Resolver{Service: svc, Version: "test"}, slog.New(slog.DiscardHandler),
		resolvers.Options{Limit: lim.limit}), customer)
	g := clientOf(t, resolvers.NewHandler(&resolvers.Resolver{Service: svc, Version: "test"}, slog.New(slog.DiscardHandler), resolvers.Options{}), customer)
	start, tech := g.firstRepairSlot()
	second := g.slotOf(tech, mustParse(t, start))
	book := func(s string) gqlReply {
		return send(t, h, "POST", "application/json", string(gqlBody(`mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) {
			appointment { id } `+errFields+` } }`, map[string]any{"s": s, "r": tech}, "")))
	}

	if r := send(t, h, "POST", "application/json", `{"query":"{ hub { version } }"}`); r.status != 200 || r.code() != "" {
		t.Fatalf("query: %d %+v", r.status, r.Errors)
	}
	if r := book(start); r.status != 200 || get(r.Data, "bookAppointment.appointment.id") == nil {
		t.Fatalf("first booking: %d %+v %v", r.status, r.Errors, r.Data)
	}
	r := book(second)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "2" || r.code() != apphub.ERATELIMITED || r.Data != nil {
		t.Fatalf("refused booking: status %d, Retry-After %q, %+v, data %v", r.status, r.header.Get("Retry-After"), r.Errors, r.Data)
	}
	if r.Errors[0].Message != "too many writes" {
		t.Errorf("message %q", r.Errors[0].Message)
	}
	if got := fmt.Sprint(lim.classes); got != "[search write write]" {
		t.Errorf("classes %s", got)
	}
	all, err := svc.FindAppointments(ctxAs(customer), booking.AppointmentQuery{PartyID: customer.PartyID})
	if err != nil || len(all) != 1 {
		t.Fatalf("the refused booking ran: %d appointments (%v)", len(all), err)
	}

	// Any other refusal keeps its code; UNAVAILABLE is a 503.
	lim.refuse = func(int) error { return apphub.Errorf(apphub.EUNAVAILABLE, "the budgets cannot be read") }
	if r := book(second); r.status != http.StatusServiceUnavailable || r.code() != apphub.EUNAVAILABLE || r.Data != nil {
		t.Fatalf("unavailable: %d %+v", r.status, r.Errors)
	}
}

func mustParse(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Over a websocket, each subscription start is asked once, as a search, and a refusal is an
// error message for its id.
func TestLimitHookOverWebsocket(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	limit := func(ctx context.Context, class string) error {
		if n := calls.Add(1); class != resolvers.LimitClassSearch || n > 1 {
			return &apphub.Error{Code: apphub.ERATELIMITED, Message: "slow down", RetryAfter: 3 * time.Second}
		}
		return nil
	}
	e := newSubEnvWith(t, booking.Options{}, resolvers.Options{Limit: limit})
	a := e.bookAhead()
	w := dialWS(t, e.url(customer), "graphql-transport-ws")
	msgs := readAll(w)
	w.subscribe("1", changeDoc, map[string]any{"id": a.ID})
	if m := msgs.next(t); m["type"] != "next" {
		t.Fatalf("first: %v", m)
	}
	w.subscribe("2", changeDoc, map[string]any{"id": a.ID})
	m := msgs.next(t)
	if m["type"] != "error" || m["id"] != "2" || get(m, "payload.0.extensions.code") != apphub.ERATELIMITED ||
		get(m, "payload.0.extensions.retryAfter") != float64(3) {
		t.Fatalf("second: %v", m)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}

// recorder is a slog handler that keeps the records' levels and messages.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// Values the client got wrong are VALIDATION errors (or gqlgen's own codes), never INTERNAL,
// and are not logged as errors.
func TestClientErrorsAreClientErrors(t *testing.T) {
	t.Parallel()
	logs := &recorder{}
	svc := &callCounter{Service: newService(t)}
	h := resolvers.WithPrincipal(resolvers.NewHandler(&resolvers.Resolver{Service: svc, Version: "test"}, slog.New(logs), resolvers.Options{}), customer)
	query := func(q string, vars map[string]any) string { return string(gqlBody(q, vars, "")) }
	for _, tc := range []struct {
		name, method, contentType, body string
		status                          int
		code, field                     string
	}{
		{"a Time that is not one", "POST", "application/json",
			query(`{ availability(input: {category: "repair", place: "75011", from: "yesterday"}) { timeZone } }`, nil), 200, apphub.EINVALID, "input.from"},
		{"a Time variable that is not one", "POST", "application/json",
			query(`query($f: Time) { availability(input: {category: "repair", place: "75011", from: $f}) { timeZone } }`, map[string]any{"f": "yesterday"}), 200, apphub.EINVALID, "input.from"},
		{"a number for a Time", "POST", "application/json",
			query(`mutation { holdSlot(input: {category: "repair", place: "75011", start: 12345}) { hold { token } } }`, nil), 200, apphub.EINVALID, "input.start"},
		{"a number for a String", "POST", "application/json",
			query(`{ availability(input: {category: "repair", place: 12345}) { timeZone } }`, nil), 200, "GRAPHQL_VALIDATION_FAILED", ""},
		{"a variable of the wrong type", "POST", "application/json",
			query(`query($p: String) { availability(input: {category: "repair", place: $p}) { timeZone } }`, map[string]any{"p": map[string]any{"x": 1}}), 200, "GRAPHQL_VALIDATION_FAILED", ""},
		{"a missing variable", "POST", "application/json",
			query(`query($c: ID!) { availability(input: {category: $c}) { timeZone } }`, nil), 200, "GRAPHQL_VALIDATION_FAILED", ""},
		{"an unknown operation name", "POST", "application/json", string(gqlBody(`query A { __typename }`, nil, "B")), 200, "GRAPHQL_VALIDATION_FAILED", ""},
		{"no query", "POST", "application/json", `{}`, 200, "GRAPHQL_VALIDATION_FAILED", ""},
		{"the query is a number", "POST", "application/json", `{"query": 5}`, 400, apphub.EINVALID, ""},
		{"variables are a list", "POST", "application/json", `{"query": "{ __typename }", "variables": [1]}`, 400, apphub.EINVALID, ""},
		{"not JSON", "POST", "application/json", `{"query": "{ __typename }"`, 400, apphub.EINVALID, ""},
		{"JSON syntax error", "POST", "application/json", `{"query": }`, 400, apphub.EINVALID, ""},
		{"empty body", "POST", "application/json", ``, 400, apphub.EINVALID, ""},
		{"a string", "POST", "application/json", `"{ __typename }"`, 400, apphub.EINVALID, ""},
		{"a batch", "POST", "application/json", `[{"query": "{ __typename }"}]`, 400, apphub.EINVALID, ""},
		{"another content type", "POST", "text/plain", `{"query": "{ __typename }"}`, 415, apphub.EINVALID, ""},
		{"no content type", "POST", "", `{"query": "{ __typename }"}`, 415, apphub.EINVALID, ""},
		{"another method", "PUT", "application/json", `{"query": "{ __typename }"}`, 405, apphub.EINVALID, ""},
		{"GET with variables that are not JSON", "GET", "", "query=%7B__typename%7D&variables=%7Bnope", 400, apphub.EINVALID, ""},
		{"a mutation with GET", "GET", "", "query=" + url.QueryEscape(`mutation { cancelAppointment(input: {id: "x", reason: "r"}) { appointment { id } } }`), 405, apphub.EINVALID, ""},
		{"a document that does not parse, with GET", "GET", "", "query=%7B", 200, "GRAPHQL_PARSE_FAILED", ""},
		{"a document that does not parse", "POST", "application/json", query(`{ availability(`, nil), 200, "GRAPHQL_PARSE_FAILED", ""},
	} {
		// The GraphQL-over-HTTP specification's codes for each media type: in application/json
		// a well-formed request whose document fails is a 200; in
		// application/graphql-response+json it is a 400.
		for _, media := range []string{"application/json", "application/graphql-response+json"} {
			t.Run(tc.name+" "+media, func(t *testing.T) {
				want := tc.status
				if media != "application/json" && strings.HasPrefix(tc.code, "GRAPHQL_") {
					want = http.StatusBadRequest
				}
				before := svc.calls.Load()
				target, body := "/graphql", strings.NewReader(tc.body)
				if tc.method == "GET" {
					target, body = "/graphql?"+tc.body, strings.NewReader("")
				}
				req := httptest.NewRequest(tc.method, target, body)
				if tc.contentType != "" {
					req.Header.Set("Content-Type", tc.contentType)
				}
				req.Header.Set("Accept", media)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				r := gqlReply{status: rec.Code, header: rec.Header()}
				if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
					t.Fatalf("status %d, not JSON (%v): %.300s", rec.Code, err, rec.Body)
				}
				if r.status != want || r.code() != tc.code {
					t.Fatalf("status %d code %q, want %d %q: %+v", r.status, r.code(), want, tc.code, r.Errors)
				}
				if ct := r.header.Get("Content-Type"); ct != media {
					t.Errorf("Content-Type %q, want %q", ct, media)
				}
				if r.status == http.StatusMethodNotAllowed && r.header.Get("Allow") == "" {
					t.Error("a 405 without Allow")
				}
				if field, _ := r.Errors[0].Extensions["field"].(string); field != tc.field {
					t.Errorf("field %q, want %q", field, tc.field)
				}
				if msg := r.Errors[0].Message; msg == "" || strings.Contains(msg, "internal") || strings.Contains(msg, "body:") {
					t.Errorf("message %q", msg)
				}
				if (tc.status != 200 || strings.HasPrefix(tc.code, "GRAPHQL_")) && svc.calls.Load() != before {
					t.Errorf("a refused request ran")
				}
			})
		}
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, rec := range logs.records {
		if rec.Level >= slog.LevelWarn {
			t.Errorf("logged at %s: %s", rec.Level, rec.Message)
		}
	}
}

// FuzzGraphQLRequest: whatever a client posts, the hub answers with a JSON body holding errors
// or data, and never a server error.
//
//	go test -run '^$' -fuzz FuzzGraphQLRequest -fuzztime 60s ./resolvers
func FuzzGraphQLRequest(f *testing.F) {
	for _, seed := range []struct{ body, contentType string }{
		{`{"query":"{ hub { version } }"}`, "application/json"},
		{`{"query":"query($f: Time) { availability(input: {category: \"repair\", place: \"75011\", from: $f}) { days { date } } }","variables":{"f":"yesterday"}}`, "application/json"},
		{`{"query":"mutation { holdSlot(input: {category: \"repair\", start: 12345}) { hold { token } } }"}`, "application/json; charset=utf-8"},
		{`{"query":"{ a: __schema { types { name } } b: __schema { types { name } } }"}`, "application/json"},
		{`{"query":"query { ...F0 } fragment F0 on Query { ...F1 ...F1 } fragment F1 on Query { __typename }"}`, "application/json"},
		{`{"query":"query { ...A } fragment A on Query { ...A }"}`, "application/json"},
		{`{"query":"{ __typename }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"00"}}}`, "application/json"},
		{`{"query":"{ __typename @include(if: true) @include(if: true) }"}`, "application/json"},
		{`[{"query":"{ __typename }"},{"query":"{ __typename }"}]`, "application/json"},
		{`{"query":"query A { __typename } query B { hub { version } }","operationName":"B"}`, "application/json"},
		{`{"query":"{ appointments(first: -1) { totalCount } }"}`, "application/json"},
		{`{"query": 5, "variables": "x"}`, "application/json"},
		{`{"query":"{ hub { version } }"}`, "text/plain"},
		{"\x00\xff{", "application/json"},
	} {
		f.Add(seed.body, seed.contentType)
	}
	h, _ := newHostileHandler(f)
	f.Fuzz(func(t *testing.T, body, contentType string) {
		req := httptest.NewRequest("POST", "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %.500s", rec.Code, rec.Body)
		}
		var resp map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("status %d, not a JSON object (%v): %.500s", rec.Code, err, rec.Body)
		}
		if resp["errors"] == nil && resp["data"] == nil {
			t.Fatalf("status %d, neither errors nor data: %.500s", rec.Code, rec.Body)
		}
	})
}

// The same availability request again, answered from the stored response, spends the
// caller's search budget like the first: a refusal is a 429, whichever path answers.
func TestLimitHookCoversStoredResponses(t *testing.T) {
	t.Parallel()
	lim := &limiter{refuse: func(n int) error {
		if n > 3 {
			return &apphub.Error{Code: apphub.ERATELIMITED, Message: "too many searches", RetryAfter: time.Second}
		}
		return nil
	}}
	h := resolvers.WithPrincipal(resolvers.NewHandler(&resolvers.Resolver{Service: newService(t), Version: "test"}, slog.New(slog.DiscardHandler),
		resolvers.Options{Limit: lim.limit}), customer)
	body := `{"query":"{ availability(input: {category: \"repair\", place: \"75011\"}) { version days { date } } }"}`
	var answered, refused int
	for range 6 {
		switch r := send(t, h, "POST", "application/json", body); {
		case r.status == 200 && get(r.Data, "availability.version") != nil:
			answered++
		case r.status == http.StatusTooManyRequests && r.code() == apphub.ERATELIMITED:
			refused++
		default:
			t.Fatalf("%d %+v %v", r.status, r.Errors, r.Data)
		}
	}
	if answered != 3 || refused != 3 {
		t.Fatalf("%d answered and %d refused, want 3 and 3 (budget of 3 searches)", answered, refused)
	}
}
