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

	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/storetest"
)

// The availability query of a channel app: one category, one zone, 14 days, through the whole
// GraphQL handler (parse, validate, limits, resolvers, JSON), on the embedded store.
func BenchmarkAvailability14Days(b *testing.B) {
	db := storetest.Mongo(b)
	svc := booking.NewService(db, booking.Options{Now: func() time.Time { return now }})
	if err := svc.SaveCalendar(context.Background(), demo.Data(), nil); err != nil {
		b.Fatal(err)
	}
	h := resolvers.NewHandler(&resolvers.Resolver{Service: svc}, slog.New(slog.DiscardHandler), resolvers.Options{})
	for _, sel := range []struct{ name, fields string }{
		{"grid", `start end capacity`},
		{"withResources", `start end capacity resources { capacity resource { id } }`},
	} {
		b.Run(sel.name, func(b *testing.B) {
			body := fmt.Sprintf(`{"query":"{ availability(input: {category: \"repair\", place: \"75011\", from: \"%s\", to: \"%s\"}) { days { date slots { %s } } } }"}`,
				now.Format(time.RFC3339), now.Add(14*24*time.Hour).Format(time.RFC3339), sel.fields)
			for b.Loop() {
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
