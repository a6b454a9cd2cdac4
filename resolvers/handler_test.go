package resolvers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/graph"
)

// These tests are about the transport: limits, errors, the body bound. The service behind
// the resolvers is a fake.

type fakeService struct {
	Service       // the rest of the service: these tests never reach it
	err     error // returned by Installation when set
	panic   bool  // Installation panics when set
}

func (s fakeService) Installation(context.Context) (apphub.Installation, error) {
	if s.panic {
		panic("boom")
	}
	if s.err != nil {
		return apphub.Installation{}, s.err
	}
	return apphub.Installation{ID: "inst-1", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, nil
}

// newTestHandler is the handler as an operator calls it.
func newTestHandler(t *testing.T, svc Service, opts Options) http.Handler {
	t.Helper()
	return WithPrincipal(NewHandler(&Resolver{Service: svc, Version: "test"}, slog.New(slog.DiscardHandler), opts), operator)
}

// gqlResponse is a GraphQL response as the tests read it.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// code returns the extensions.code of the only error, failing the test when there is not
// exactly one.
func (r gqlResponse) code(t *testing.T) string {
	t.Helper()
	if len(r.Errors) != 1 {
		t.Fatalf("want exactly one error, got %+v", r.Errors)
	}
	code, _ := r.Errors[0].Extensions["code"].(string)
	return code
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) gqlResponse {
	t.Helper()
	var resp gqlResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, rec.Body.String())
	}
	return resp
}

// post sends one operation as application/json and returns the status and the response.
func post(t *testing.T, h http.Handler, query string) (int, gqlResponse) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	h.ServeHTTP(rec, req)
	return rec.Code, decode(t, rec)
}

// nestedOfType is an introspection query `depth` fields deep: __type › ofType … › name.
func nestedOfType(depth int) string {
	return `{ __type(name: "Hub") { ` + nest(depth-1) + ` } }`
}

// nest is a selection `depth` fields deep: ofType › … › name.
func nest(depth int) string {
	q := "name"
	for range depth - 1 {
		q = "ofType { " + q + " }"
	}
	return q
}

// readFixture reads testdata/name. The introspection fixtures are the text of
// getIntrospectionQuery() from graphql-js 16.11.0, the version bundled in the vendored
// GraphiQL 4.1.2:
//
//   - graphiql-introspection.graphql: getIntrospectionQuery(), byte for byte what GraphiQL
//     posts by default (checked against a real browser's request), operationName
//     IntrospectionQuery;
//   - graphiql-introspection-all-options.graphql: with every option on (descriptions,
//     specifiedByUrl, directiveIsRepeatable, schemaDescription, inputValueDeprecation, oneOf),
//     as GraphiQL may be configured to ask.
//
// Regenerate with: node -e 'process.stdout.write(require("graphql").getIntrospectionQuery())'
func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHubQuery(t *testing.T) {
	h := newTestHandler(t, fakeService{}, Options{})
	status, resp := post(t, h, `{ hub { version installationId installedAt } }`)
	if status != http.StatusOK || len(resp.Errors) != 0 {
		t.Fatalf("status %d, errors %+v", status, resp.Errors)
	}
	want := `{"hub":{"version":"test","installationId":"inst-1","installedAt":"2025-01-02T03:04:05Z"}}`
	if string(resp.Data) != want {
		t.Fatalf("data = %s, want %s", resp.Data, want)
	}
}

func TestDepthLimit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxDepth int
		query    string
		refused  bool
	}{
		{"at the limit", 2, `{ hub { version } }`, false},
		{"over the limit", 1, `{ hub { version } }`, true},
		{"leaf at the root", 1, `{ __typename }`, false},
		{"named fragments count", 2, `query { ...Q } fragment Q on Query { hub { ...H } } fragment H on Hub { version }`, false},
		{"named fragments over", 1, `query { ...Q } fragment Q on Query { hub { ...H } } fragment H on Hub { version }`, true},
		{"inline fragments add nothing", 2, `{ ... on Query { hub { ... on Hub { version } } } }`, false},
		{"inline fragments over", 1, `{ ... on Query { hub { ... on Hub { version } } } }`, true},
		{"deepest branch counts", 2, `{ __typename hub { version } }`, false},
		{"introspection at the default", 0, nestedOfType(DefaultMaxDepth), false},
		{"introspection over the default", 0, nestedOfType(DefaultMaxDepth + 1), true},
		{"__schema over the default", 0, `{ __schema { types { fields { type { ` + nest(DefaultMaxDepth+1-4) + ` } } } } }`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(t, fakeService{}, Options{MaxDepth: tc.maxDepth})
			status, resp := post(t, h, tc.query)
			if !tc.refused {
				if status != http.StatusOK || len(resp.Errors) != 0 {
					t.Fatalf("status %d, errors %+v", status, resp.Errors)
				}
				return
			}
			if code := resp.code(t); code != CodeDepthLimit {
				t.Fatalf("code = %q, want %q", code, CodeDepthLimit)
			}
			if status != http.StatusOK { // application/json: a request error is a 200 (GraphQL over HTTP)
				t.Errorf("status = %d, want 200", status)
			}
			if string(resp.Data) != "" && string(resp.Data) != "null" {
				t.Errorf("a refused operation must not run; data = %s", resp.Data)
			}
			limit := tc.maxDepth
			if limit == 0 {
				limit = DefaultMaxDepth
			}
			want := "which exceeds the limit of " + strconv.Itoa(limit)
			if msg := resp.Errors[0].Message; !strings.HasPrefix(msg, "operation has depth ") || !strings.HasSuffix(msg, want) {
				t.Errorf("message = %q, want the depth and %q", msg, want)
			}
		})
	}
}

func TestDepthLimitMessage(t *testing.T) {
	h := newTestHandler(t, fakeService{}, Options{})
	_, resp := post(t, h, nestedOfType(17))
	if got, want := resp.Errors[0].Message, "operation has depth 17, which exceeds the limit of 15"; got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
}

// TestDepthLimitOverGET checks that the limit holds for every transport, not only POST.
func TestDepthLimitOverGET(t *testing.T) {
	h := newTestHandler(t, fakeService{}, Options{MaxDepth: 1})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape(`{ hub { version } }`), nil)
	h.ServeHTTP(rec, req)
	if code := decode(t, rec).code(t); code != CodeDepthLimit {
		t.Fatalf("code = %q, want %q", code, CodeDepthLimit)
	}
}

// TestLimitStatusGraphQLResponseJSON: a client that accepts application/graphql-response+json
// gets 400 for a refused operation, as for a validation error.
func TestLimitStatusGraphQLResponseJSON(t *testing.T) {
	h := newTestHandler(t, fakeService{}, Options{MaxDepth: 1})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ hub { version } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", rec.Code)
	}
	if code := decode(t, rec).code(t); code != CodeDepthLimit {
		t.Fatalf("code = %q, want %q", code, CodeDepthLimit)
	}
}

func TestMeasureOperation(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{Resolvers: &Resolver{}}).Schema()
	for _, tc := range []struct {
		name  string
		query string
		want  shape
	}{
		{"leaf", `{ __typename }`, shape{depth: 1, fields: 1}},
		{"nested", `{ hub { version installedAt } }`, shape{depth: 2, fields: 3}},
		{"fragment spread twice at different depths", `
			{ __type(name: "Hub") { ...T fields { type { ...T } } } }
			fragment T on __Type { ofType { ofType { name } } }`, shape{depth: 6, fields: 9, introspection: typeCost + 8, introspects: true}},
		{"fragments within fragments", `
			query { ...A }
			fragment A on Query { hub { ...B } }
			fragment B on Hub { ... on Hub { version } }`, shape{depth: 2, fields: 2}},
		{"__schema costs more than its fields", `{ __typename __schema { types { name } } }`,
			shape{depth: 3, fields: 4, introspection: schemaCost + 2, introspects: true}},
		{"introspection through a fragment", `{ ...Q } fragment Q on Query { a: __schema { description } b: __schema { description } }`,
			shape{depth: 2, fields: 4, introspection: 2 * (schemaCost + 1), introspects: true}},
		{"__typename is no introspection", `{ __typename hub { __typename } }`, shape{depth: 2, fields: 3}},
		{"GraphiQL introspection", readFixture(t, "graphiql-introspection.graphql"),
			shape{depth: 15, fields: 220, introspection: schemaCost + 219, introspects: true}},
		{"GraphiQL introspection, all options", readFixture(t, "graphiql-introspection-all-options.graphql"),
			shape{depth: 15, fields: 230, introspection: schemaCost + 229, introspects: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQueryWithRules(schema, tc.query, nil) // nil: the default validation rules
			if errs != nil {
				t.Fatal(errs)
			}
			if got := measureOperation(doc, doc.Operations[0]); got != tc.want {
				t.Fatalf("shape = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestMeasureOperationFragmentCycle: validation refuses fragment cycles before the limits
// run, but the walk must end even on a document that skipped validation.
func TestMeasureOperationFragmentCycle(t *testing.T) {
	doc, err := parser.ParseQuery(&ast.Source{Input: `
		query { ...A }
		fragment A on Query { hub { ...B } }
		fragment B on Hub { version ...A }`})
	if err != nil {
		t.Fatal(err)
	}
	if got := measureOperation(doc, doc.Operations[0]); got.depth != 2 {
		t.Fatalf("depth = %d, want 2", got.depth)
	}

	h := newTestHandler(t, fakeService{}, Options{})
	_, resp := post(t, h, `query { ...A } fragment A on Query { hub { ...B } } fragment B on Hub { version ...C } fragment C on Hub { ...B }`)
	if code := resp.code(t); code != "GRAPHQL_VALIDATION_FAILED" {
		t.Fatalf("code = %q, want GRAPHQL_VALIDATION_FAILED", code)
	}
}

// fragmentBomb is a small document whose fragments each spread the next one twice: it
// selects 2^(levels-1) fields once expanded.
func fragmentBomb(levels int) string {
	var q strings.Builder
	q.WriteString("query { ...F0 }\n")
	for i := range levels {
		next := "__typename"
		if i < levels-1 {
			next = "...F" + strconv.Itoa(i+1) + " ... on Query { ...F" + strconv.Itoa(i+1) + " }"
		}
		q.WriteString("fragment F" + strconv.Itoa(i) + " on Query { " + next + " }\n")
	}
	return q.String()
}

// TestFragmentBomb: gqlgen's complexity walk would take 2^59 steps on this 3 KB document;
// the guard refuses it at once, with the complexity code. (At the default token limit the
// parser refuses it first; the guard holds for a hub that raises the limit.)
func TestFragmentBomb(t *testing.T) {
	doc, err := parser.ParseQuery(&ast.Source{Input: fragmentBomb(60)})
	if err != nil {
		t.Fatal(err)
	}
	if got := measureOperation(doc, doc.Operations[0]); got != (shape{depth: 1, fields: 1 << 40}) {
		t.Fatalf("shape = %+v, want depth 1 and the capped size", got)
	}

	h := newTestHandler(t, fakeService{}, Options{MaxTokens: 10000})
	start := time.Now()
	status, resp := post(t, h, fragmentBomb(60))
	if code := resp.code(t); code != CodeComplexityLimit {
		t.Fatalf("code = %q, want %q", code, CodeComplexityLimit)
	}
	if status != http.StatusOK { // application/json: a request error is a 200 (GraphQL over HTTP)
		t.Errorf("status = %d, want 200", status)
	}
	if want := "operation has complexity of at least 1099511627776, which exceeds the limit of 1000"; resp.Errors[0].Message != want {
		t.Errorf("message = %q, want %q", resp.Errors[0].Message, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}

	// Under the guard, gqlgen's extension decides: 2^10 fields is over 1000, under 10 000.
	_, resp = post(t, h, fragmentBomb(11))
	if want := "operation has complexity 1024, which exceeds the limit of 1000"; resp.Errors[0].Message != want {
		t.Errorf("message = %q, want gqlgen's %q", resp.Errors[0].Message, want)
	}
}

func TestComplexityLimit(t *testing.T) {
	h := newTestHandler(t, fakeService{}, Options{MaxComplexity: 1})
	status, resp := post(t, h, `{ hub { version } }`)
	if code := resp.code(t); code != CodeComplexityLimit {
		t.Fatalf("code = %q, want %q", code, CodeComplexityLimit)
	}
	if status != http.StatusOK { // application/json: a request error is a 200 (GraphQL over HTTP)
		t.Errorf("status = %d, want 200", status)
	}
	if got, want := resp.Errors[0].Message, "operation has complexity 2, which exceeds the limit of 1"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}

	status, resp = post(t, h, `{ __typename }`)
	if status != http.StatusOK || len(resp.Errors) != 0 {
		t.Fatalf("complexity 1 at limit 1: status %d, errors %+v", status, resp.Errors)
	}
}

func TestGraphiQLIntrospectionAtDefaults(t *testing.T) {
	h := newTestHandler(t, fakeService{}, Options{})
	for _, fixture := range []string{"graphiql-introspection.graphql", "graphiql-introspection-all-options.graphql"} {
		t.Run(fixture, func(t *testing.T) {
			status, resp := post(t, h, readFixture(t, fixture))
			if status != http.StatusOK || len(resp.Errors) != 0 {
				t.Fatalf("status %d, errors %+v", status, resp.Errors)
			}
			var data struct {
				Schema struct {
					QueryType struct{ Name string }
					Types     []struct{ Name string }
				} `json:"__schema"`
			}
			if err := json.Unmarshal(resp.Data, &data); err != nil {
				t.Fatal(err)
			}
			if data.Schema.QueryType.Name != "Query" || len(data.Schema.Types) == 0 {
				t.Fatalf("unexpected introspection result: %s", resp.Data)
			}
		})
	}

	// The default is tight on purpose: one level less refuses GraphiQL's query.
	_, resp := post(t, newTestHandler(t, fakeService{}, Options{MaxDepth: DefaultMaxDepth - 1}),
		readFixture(t, "graphiql-introspection.graphql"))
	if code := resp.code(t); code != CodeDepthLimit {
		t.Fatalf("at depth %d: code = %q, want %q", DefaultMaxDepth-1, code, CodeDepthLimit)
	}
}

func TestBodyLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   int64
		size    int
		refused bool
	}{
		{"default, at the limit", 0, DefaultMaxBodyBytes, false},
		{"default, one byte over", 0, DefaultMaxBodyBytes + 1, true},
		{"small limit, over", 64, 65, true},
		{"small limit, far over", 64, 10 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(t, fakeService{}, Options{MaxBodyBytes: tc.limit})
			// A valid request padded with spaces (valid JSON whitespace) to the size.
			body := `{"query":"{ __typename }"}`
			body += strings.Repeat(" ", tc.size-len(body))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(rec, req)
			resp := decode(t, rec)
			if !tc.refused {
				if rec.Code != http.StatusOK || len(resp.Errors) != 0 {
					t.Fatalf("status %d, errors %+v", rec.Code, resp.Errors)
				}
				return
			}
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("status = %d, want 413", rec.Code)
			}
			if code := resp.code(t); code != apphub.ETOOLARGE {
				t.Fatalf("code = %q, want %q", code, apphub.ETOOLARGE)
			}
			limit := tc.limit
			if limit == 0 {
				limit = DefaultMaxBodyBytes
			}
			if msg := resp.Errors[0].Message; !strings.Contains(msg, strconv.FormatInt(limit, 10)+" bytes") {
				t.Errorf("message = %q, want the limit in it", msg)
			}
		})
	}
}

// TestBodyReadError: a body that fails for another reason than its size is a 400.
func TestBodyReadError(t *testing.T) {
	h := newTestHandler(t, fakeService{}, Options{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/graphql", io.MultiReader(strings.NewReader(`{"query":`), errReader{}))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", rec.Code)
	}
	if code := decode(t, rec).code(t); code != apphub.EINVALID {
		t.Fatalf("code = %q, want %q", code, apphub.EINVALID)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestPanicGivesInternal(t *testing.T) {
	h := newTestHandler(t, fakeService{panic: true}, Options{})
	status, resp := post(t, h, `{ hub { version } }`)
	if status != http.StatusOK {
		t.Errorf("status = %d, want 200", status)
	}
	if code := resp.code(t); code != apphub.EINTERNAL {
		t.Fatalf("code = %q, want %q", code, apphub.EINTERNAL)
	}
	if msg := resp.Errors[0].Message; msg != "internal error" {
		t.Errorf("message = %q, want no detail of the panic", msg)
	}
}

func TestDomainErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		wantCode  string
		wantMsg   string
		wantField string
	}{
		{"coded", apphub.Errorf(apphub.EUNAVAILABLE, "the store is down"), apphub.EUNAVAILABLE, "the store is down", ""},
		{"with field", apphub.FieldError("start", "must be in the future"), apphub.EINVALID, "start: must be in the future", "start"},
		{"wrapped cause hidden", apphub.WrapError(apphub.ENOTFOUND, errors.New("secret detail"), "no such thing"), apphub.ENOTFOUND, "no such thing", ""},
		{"plain error", errors.New("secret detail"), apphub.EINTERNAL, "internal error", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(t, fakeService{err: tc.err}, Options{})
			_, resp := post(t, h, `{ hub { version } }`)
			if code := resp.code(t); code != tc.wantCode {
				t.Fatalf("code = %q, want %q", code, tc.wantCode)
			}
			e := resp.Errors[0]
			if e.Message != tc.wantMsg {
				t.Errorf("message = %q, want %q", e.Message, tc.wantMsg)
			}
			if field, _ := e.Extensions["field"].(string); field != tc.wantField {
				t.Errorf("field = %q, want %q", field, tc.wantField)
			}
		})
	}
}

// TestParseErrorKeepsGQLGenCode: gqlgen's own errors pass through the presenter unchanged.
func TestParseErrorKeepsGQLGenCode(t *testing.T) {
	h := newTestHandler(t, fakeService{}, Options{})
	_, resp := post(t, h, `{ hub {`)
	if code := resp.code(t); code != "GRAPHQL_PARSE_FAILED" {
		t.Fatalf("code = %q, want GRAPHQL_PARSE_FAILED", code)
	}
}
