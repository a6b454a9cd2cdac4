package resolvers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/storetest"
)

// Hostile documents: what a client can send to make the hub work before it refuses. Each is
// answered by the real handler over the real schema; TestHostileDocuments checks the answer
// and that nothing ran, BenchmarkHostileDocuments what the answer costs:
//
//	go test -run '^$' -bench BenchmarkHostileDocuments -benchtime 20x ./resolvers

// hostileDoc is a request body and the answer it must get.
type hostileDoc struct {
	name   string
	body   func(i int) []byte // the i-th request
	status int
	code   string // extensions.code of the first error; "" when the operation runs
}

// distinct returns the bodies of a document made distinct by trailing whitespace, so that
// every request is parsed and validated anew, as an attacker's would be: gqlgen keeps the
// documents it validated.
func distinct(query string, vars map[string]any, operationName string) func(int) []byte {
	return func(i int) []byte {
		var ws strings.Builder
		for ; i > 0; i /= 3 {
			ws.WriteByte(" \t\n"[i%3])
		}
		return gqlBody(query+" "+ws.String(), vars, operationName)
	}
}

// raw returns the same body every time.
func raw(body []byte) func(int) []byte { return func(int) []byte { return body } }

// gqlBody is the JSON body of one operation.
func gqlBody(query string, vars map[string]any, operationName string) []byte {
	m := map[string]any{"query": query}
	if vars != nil {
		m["variables"] = vars
	}
	if operationName != "" {
		m["operationName"] = operationName
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// repeat is "{ " + n times item (with %d replaced by its index) + "}".
func repeat(n int, item string) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i := range n {
		if strings.Contains(item, "%d") {
			fmt.Fprintf(&b, item, i)
		} else {
			b.WriteString(item)
		}
		b.WriteString(" ")
	}
	b.WriteString("}")
	return b.String()
}

// fragmentChain is a document whose fragments each spread the next (twice with double):
// nested `levels` deep with nest, 2^levels fields with double.
func fragmentChain(levels int, double bool) string {
	var b strings.Builder
	if double {
		b.WriteString("query { ...F0 }\n")
		for i := range levels {
			next := "__typename"
			if i < levels-1 {
				next = fmt.Sprintf("...F%d ... on Query { ...F%d }", i+1, i+1)
			}
			fmt.Fprintf(&b, "fragment F%d on Query { %s }\n", i, next)
		}
		return b.String()
	}
	b.WriteString(`{ __type(name: "Query") { ...F0 } }` + "\n")
	for i := range levels {
		next := "name"
		if i < levels-1 {
			next = fmt.Sprintf("ofType { ...F%d }", i+1)
		}
		fmt.Fprintf(&b, "fragment F%d on __Type { %s }\n", i, next)
	}
	return b.String()
}

// fragmentCycle is n fragments each spreading the next, the last the first.
func fragmentCycle(n int) string {
	var b strings.Builder
	b.WriteString("query { ...F0 }\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { __typename ...F%d }\n", i, (i+1)%n)
	}
	return b.String()
}

// largestAvailability is a single availability over the widest window (31 days) with a
// selection of 32 fields: 1 + 32×31 = 993, the most the default complexity limit admits.
func largestAvailability(alias string) string {
	return alias + `availability(input: {category: "repair", place: "75011", from: $from, to: $to}) {
		timeZone version asOf nextDates reasons { code message } r2: reasons { code message }
		days { date slots { start end capacity resources { capacity resource { id kind name timeZone zones skills place capacity } } } }
		d2: days { date slots { start end } } }`
}

func availabilityVars() map[string]any {
	return map[string]any{"from": now.Format(time.RFC3339), "to": now.Add(31 * 24 * time.Hour).Format(time.RFC3339)}
}

// hostileDocs are refused before anything runs, except those with code "", which the limits
// admit: the worst the validation may take (same-named fields, many operations) and the
// largest availability, which runs a real search.
func hostileDocs() []hostileDoc {
	const parse, validation = "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"
	var ops strings.Builder
	for i := range 2200 {
		fmt.Fprintf(&ops, "query Q%d { __typename }\n", i)
	}
	// Documents just under the token limit: `{`, n fields, `}` and EOF; `query Qn { __typename }`
	// is 5 tokens, `@include(if: true)` 7.
	maxFields, maxOps, maxDirectives := resolvers.DefaultMaxTokens-3, resolvers.DefaultMaxTokens/5-1, (resolvers.DefaultMaxTokens-4)/7
	var fewOps strings.Builder
	for i := range maxOps {
		fmt.Fprintf(&fewOps, "query Q%d { __typename }\n", i)
	}
	bigVars := map[string]any{"v": strings.Repeat("x", 1<<20)}
	var manyVars []string
	for range 4500 {
		manyVars = append(manyVars, "0123456789")
	}
	return []hostileDoc{
		{"50000 fields", distinct(repeat(50000, "__typename"), nil, ""), http.StatusRequestEntityTooLarge, apphub.ETOOLARGE},
		{"fields up to the body limit", distinct(repeat(5900, "__typename"), nil, ""), http.StatusOK, parse},
		{"one-letter fields up to the body limit", distinct(repeat(32000, "a"), nil, ""), http.StatusOK, parse},
		{"unknown fields up to the token limit", distinct(repeat(maxFields, "a"), nil, ""), http.StatusOK, validation},
		{"1000 aliases of __schema", distinct(repeat(1000, "a%d: __schema { __typename }"), nil, ""), http.StatusOK, parse},
		{"10 aliases of __schema", distinct(repeat(10, "a%d: __schema { __typename }"), nil, ""), http.StatusOK, resolvers.CodeComplexityLimit},
		{"1024 __schema through fragments", distinct(strings.Replace(fragmentChain(11, true), "__typename", "__schema { __typename }", 1), nil, ""),
			http.StatusOK, resolvers.CodeComplexityLimit},
		{"1000 aliases of availability", distinct(repeat(1000, `a%d: availability(input: {category: "repair"}) { timeZone }`), nil, ""),
			http.StatusOK, parse},
		{"2 aliases of the largest availability", distinct("query($from: Time, $to: Time) { "+largestAvailability("a: ")+largestAvailability("b: ")+" }", availabilityVars(), ""),
			http.StatusOK, resolvers.CodeComplexityLimit},
		{"deep fragments", distinct(fragmentChain(50, false), nil, ""), http.StatusOK, resolvers.CodeDepthLimit},
		{"cyclic fragments", distinct(fragmentCycle(50), nil, ""), http.StatusOK, validation},
		{"fragments spreading the next twice", distinct(fragmentChain(40, true), nil, ""), http.StatusOK, resolvers.CodeComplexityLimit},
		{"3000 directives", distinct(repeat(1, "__typename"+strings.Repeat(" @include(if: true)", 3000)), nil, ""), http.StatusOK, parse},
		{"directives up to the token limit", distinct(repeat(1, "__typename"+strings.Repeat(" @include(if: true)", maxDirectives)), nil, ""), http.StatusOK, validation},
		{"1 MiB of variables", distinct("query($v: String) { __typename }", bigVars, ""), http.StatusRequestEntityTooLarge, apphub.ETOOLARGE},
		{"variables up to the body limit", distinct("query($v: [Int!]) { __typename }", map[string]any{"v": manyVars}, ""), http.StatusOK, validation},
		{"batch (a JSON array)", raw([]byte(`[` + strings.TrimSuffix(strings.Repeat(`{"query":"{ __typename }"},`, 1000), ",") + `]`)), http.StatusBadRequest, apphub.EINVALID},
		{"2200 operations in one document", distinct(ops.String(), nil, "Q2199"), http.StatusOK, parse},
		// Admitted: the limits let them through, and they run.
		{"same-named fields up to the token limit", distinct(repeat(maxFields, "__typename"), nil, ""), http.StatusOK, ""},
		{"operations up to the token limit", distinct(fewOps.String(), nil, fmt.Sprintf("Q%d", maxOps-1)), http.StatusOK, ""},
		{"largest availability", distinct("query($from: Time, $to: Time) { "+largestAvailability("")+" }", availabilityVars(), ""), http.StatusOK, ""},
	}
}

// callCounter counts the calls that only an operation that runs makes.
type callCounter struct {
	resolvers.Service
	calls atomic.Int64
}

func (s *callCounter) Search(ctx context.Context, q booking.SlotQuery) (*booking.SlotResult, error) {
	s.calls.Add(1)
	return s.Service.Search(ctx, q)
}

func (s *callCounter) CalendarAndVersion(ctx context.Context) (*apphub.Calendar, string, error) {
	s.calls.Add(1)
	return s.Service.CalendarAndVersion(ctx)
}

func (s *callCounter) Installation(ctx context.Context) (apphub.Installation, error) {
	s.calls.Add(1)
	return s.Service.Installation(ctx)
}

// newCountedService is a booking service on the real stores with the demo calendar, its calls
// counted.
func newCountedService(tb testing.TB) *callCounter {
	tb.Helper()
	db := storetest.Mongo(tb)
	rdb, prefix := storetest.Redis(tb)
	svc := booking.NewService(db, booking.Options{Now: func() time.Time { return now }, Cache: storetest.Cache(tb, rdb, prefix)})
	if err := svc.SaveCalendar(ctxAs(admin), demo.Data(), nil); err != nil {
		tb.Fatal(err)
	}
	return &callCounter{Service: svc}
}

// newHostileHandler is the handler at its defaults over newCountedService, calling as a
// customer.
func newHostileHandler(tb testing.TB) (http.Handler, *callCounter) {
	tb.Helper()
	svc := newCountedService(tb)
	h := resolvers.NewHandler(&resolvers.Resolver{Service: svc, Version: "test"}, slog.New(slog.DiscardHandler), resolvers.Options{})
	return resolvers.WithPrincipal(h, customer), svc
}

func postBody(h http.Handler, body []byte) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	return rec
}

func TestHostileDocuments(t *testing.T) {
	t.Parallel()
	h, svc := newHostileHandler(t)
	for _, doc := range hostileDocs() {
		t.Run(doc.name, func(t *testing.T) {
			before := svc.calls.Load()
			rec := postBody(h, doc.body(0))
			var resp struct {
				Data   map[string]any
				Errors []struct {
					Message    string
					Extensions struct{ Code string }
				}
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("status %d, not JSON: %.300s", rec.Code, rec.Body)
			}
			if rec.Code != doc.status {
				t.Errorf("status %d, want %d: %.300s", rec.Code, doc.status, rec.Body)
			}
			ran := svc.calls.Load() - before
			if doc.code == "" {
				if len(resp.Errors) != 0 || resp.Data == nil {
					t.Fatalf("errors %+v, data %.100v", resp.Errors, resp.Data)
				}
				return
			}
			if len(resp.Errors) == 0 || resp.Errors[0].Extensions.Code != doc.code {
				t.Fatalf("errors %.300s, want code %s", rec.Body, doc.code)
			}
			if resp.Data != nil || ran != 0 {
				t.Fatalf("a refused document ran: data %v, %d service calls", resp.Data, ran)
			}
		})
	}
}

func BenchmarkHostileDocuments(b *testing.B) {
	h, _ := newHostileHandler(b)
	for _, doc := range hostileDocs() {
		b.Run(strings.ReplaceAll(doc.name, " ", "_"), func(b *testing.B) {
			var i int
			for b.Loop() {
				i++
				if rec := postBody(h, doc.body(i)); rec.Code != doc.status {
					b.Fatalf("status %d, want %d: %.300s", rec.Code, doc.status, rec.Body)
				}
			}
		})
	}
}
