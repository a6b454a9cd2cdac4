package resolvers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/storetest"
)

// The availability query of a channel app: one category, one zone, 14 days, through the whole
// GraphQL handler (parse, validate, limits, resolvers, JSON), on the embedded store and the
// real Redis: warm, as channel apps see it between bookings (the version read from Redis, the
// response kept under it); and with the cache of this hub's responses and answers bypassed by a
// booking's Touch before every request, which is the cost of a search after each booking.
func BenchmarkAvailability14Days(b *testing.B) {
	db := storetest.Mongo(b)
	rdb, prefix := storetest.Redis(b)
	cache := storetest.Cache(b, rdb, prefix)
	svc := booking.NewService(db, booking.Options{Now: func() time.Time { return now }, Cache: cache})
	if err := svc.SaveCalendar(ctxAs(admin), demo.Data(), nil); err != nil {
		b.Fatal(err)
	}
	h := resolvers.WithPrincipal(resolvers.NewHandler(&resolvers.Resolver{Service: svc}, slog.New(slog.DiscardHandler), resolvers.Options{}), customer)
	cal, err := svc.Calendar(ctxAs(admin))
	if err != nil {
		b.Fatal(err)
	}
	zone, _ := cal.ZoneOfPostCode("75011")
	for _, sel := range []struct {
		name, fields string
		touch        bool
	}{
		{"grid", `start end capacity`, false},
		{"withResources", `start end capacity resources { capacity resource { id } }`, false},
		{"gridAfterBooking", `start end capacity`, true},
	} {
		b.Run(sel.name, func(b *testing.B) {
			body := fmt.Sprintf(`{"query":"{ availability(input: {category: \"repair\", place: \"75011\", from: \"%s\", to: \"%s\"}) { days { date slots { %s } } } }"}`,
				now.Format(time.RFC3339), now.Add(14*24*time.Hour).Format(time.RFC3339), sel.fields)
			for b.Loop() {
				if sel.touch {
					// Another booking in the zone: the version changes, the busy time of its
					// one technician-day is read again.
					cache.Touch(context.Background(), []apphub.ResourceDay{{Resource: cal.Resources()[0].ID, Day: apphub.DayOf(now)}},
						[]apphub.ZoneDay{{Zone: zone.ID, Day: apphub.DayOf(now.Add(48 * time.Hour))}})
				}
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("POST", "/graphql", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body.String())
				}
				b.SetBytes(int64(rec.Body.Len()))
			}
		})
	}
}
