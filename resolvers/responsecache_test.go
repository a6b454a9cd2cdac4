package resolvers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/resolvers"
)

// calendarCounter counts the calls that only a response built by gqlgen makes.
type calendarCounter struct {
	resolvers.Service
	calendarReads atomic.Int32
}

func (c *calendarCounter) CalendarAndVersion(ctx context.Context) (*apphub.Calendar, string, error) {
	c.calendarReads.Add(1)
	return c.Service.CalendarAndVersion(ctx)
}

// A request asking for availability only is answered again with the same bytes, without
// building the response, while the version holds; a booking changes the version and the next
// response; other requests, other content types and errors take the ordinary path.
func TestAvailabilityResponseCache(t *testing.T) {
	t.Parallel()
	svc := &calendarCounter{Service: newService(t)}
	h := resolvers.WithPrincipal(newHandler(t, svc), customer)
	post := func(body, accept string) (int, string, string) {
		t.Helper()
		req := httptest.NewRequest("POST", "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()
	}
	grid := func(from time.Time) string {
		return fmt.Sprintf(`{"query":"query($from: Time!, $to: Time!) { availability(input: {category: \"repair\", place: \"75011\", from: $from, to: $to}) { version asOf days { date slots { start capacity resources { resource { id } } } } } }","variables":{"from":%q,"to":%q}}`,
			from.Format(time.RFC3339), from.Add(3*24*time.Hour).Format(time.RFC3339))
	}
	from := now.Add(24 * time.Hour)

	code, ctype, first := post(grid(from), "")
	if code != 200 || ctype != "application/json" || !strings.Contains(first, `"version":"`) {
		t.Fatalf("first: %d %s %s", code, ctype, first)
	}
	built := svc.calendarReads.Load()
	if _, _, again := post(grid(from), ""); again != first {
		t.Fatalf("the same request, same version, answered differently:\n%s\n%s", first, again)
	}
	if svc.calendarReads.Load() != built {
		t.Fatal("the second response was built again instead of served from the cache")
	}
	if _, ctype, body := post(grid(from), "application/graphql-response+json"); ctype != "application/graphql-response+json" || body != first {
		t.Fatalf("another content type: %s %s", ctype, body)
	}
	if _, _, other := post(grid(from.Add(24*time.Hour)), ""); other == first {
		t.Fatal("other variables got the same response")
	}

	// Book the first slot offered: the same request now gets a new version without it.
	var resp struct {
		Data struct {
			Availability struct {
				Version string
				Days    []struct {
					Slots []struct {
						Start     time.Time
						Resources []struct{ Resource struct{ ID string } }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(first), &resp); err != nil || len(resp.Data.Availability.Days) == 0 {
		t.Fatalf("%v: %s", err, first)
	}
	start, resource := resp.Data.Availability.Days[0].Slots[0].Start, resp.Data.Availability.Days[0].Slots[0].Resources[0].Resource.ID
	if _, err := svc.Book(ctxAs(customer), booking.NewAppointment{Category: "repair", Place: "75011",
		Resource: resource, Start: start}); err != nil {
		t.Fatal(err)
	}
	_, _, after := post(grid(from), "")
	if after == first || strings.Contains(after, resp.Data.Availability.Version) {
		t.Fatalf("after the booking the response (and its version) did not change:\n%s", after)
	}
	booked := resp.Data.Availability.Version
	resp.Data.Availability.Days = nil
	if err := json.Unmarshal([]byte(after), &resp); err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Data.Availability.Days {
		for _, s := range d.Slots {
			for _, r := range s.Resources {
				if s.Start.Equal(start) && r.Resource.ID == resource {
					t.Fatalf("the booked slot is still offered on its resource (version %s, was %s)", resp.Data.Availability.Version, booked)
				}
			}
		}
	}

	// Errors are never kept; a GET of the same query is learnt on its own.
	day := now.Add(48 * time.Hour).Truncate(24 * time.Hour)
	window := `from: \"` + day.Format(time.RFC3339) + `\", to: \"` + day.Add(24*time.Hour).Format(time.RFC3339) + `\"`
	bad := `{"query":"{ availability(input: {category: \"nope\", place: \"75011\", ` + window + `}) { version } }"}`
	for range 2 {
		if _, _, body := post(bad, ""); !strings.Contains(body, `"code":"VALIDATION"`) {
			t.Fatalf("unknown category: %s", body)
		}
	}
	get := func() string {
		req := httptest.NewRequest("GET", "/graphql?query="+url.QueryEscape(`{ availability(input: {category: "repair", place: "75011", `+
			strings.ReplaceAll(window, `\"`, `"`)+`}) { version days { date } } }`), nil)
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"version"`) {
			t.Fatalf("GET: %d %s", rec.Code, rec.Body.String())
		}
		return rec.Body.String()
	}
	if a, b := get(), get(); a != b {
		t.Fatalf("GET answered differently: %s\n%s", a, b)
	}
}

// A response is kept only when it fits the budget (Options.ResponseCacheBytes): one over it is
// built again for every request.
func TestAvailabilityResponseCacheBudget(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	from := now.Add(24 * time.Hour)
	grid := fmt.Sprintf(`{"query":"query($from: Time!, $to: Time!) { availability(input: {category: \"repair\", place: \"75011\", from: $from, to: $to}) { version days { date slots { start capacity } } } }","variables":{"from":%q,"to":%q}}`,
		from.Format(time.RFC3339), from.Add(3*24*time.Hour).Format(time.RFC3339))
	for _, tc := range []struct {
		name        string
		budget      int
		wantBuilt   int32 // responses built for three identical requests
		wantMinSize int
	}{
		{"the default budget", 0, 1, 1000},
		{"a budget under the response", 1000, 3, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counter := &calendarCounter{Service: svc}
			h := resolvers.WithPrincipal(resolvers.NewHandler(&resolvers.Resolver{Service: counter, Version: "test"},
				slog.New(slog.DiscardHandler), resolvers.Options{ResponseCacheBytes: tc.budget}), customer)
			var bodies []string
			for range 3 {
				req := httptest.NewRequest("POST", "/graphql", strings.NewReader(grid))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 || len(rec.Body.String()) < tc.wantMinSize || !strings.Contains(rec.Body.String(), `"version":"`) {
					t.Fatalf("%d %s", rec.Code, rec.Body.String())
				}
				bodies = append(bodies, rec.Body.String())
			}
			if bodies[1] != bodies[0] || bodies[2] != bodies[0] {
				t.Fatalf("identical requests answered differently:\n%s\n%s\n%s", bodies[0], bodies[1], bodies[2])
			}
			if n := counter.calendarReads.Load(); n != tc.wantBuilt {
				t.Fatalf("%d responses built for 3 requests, want %d", n, tc.wantBuilt)
			}
		})
	}
}
