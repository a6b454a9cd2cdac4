package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/graph/model"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// What an idle subscription costs the hub, as the resolvers hold it (gqlgen's own goroutine
// and the websocket's buffers per operation come on top): n subscriptions are opened on the
// real Redis bus, and the heap in use and the goroutines they add are reported per
// subscription. Status subscriptions each follow their own party; grid subscriptions all
// watch the same grid.
//
//	go test -run '^$' -bench BenchmarkIdleSubscriptions -benchtime 3x ./resolvers
func BenchmarkIdleSubscriptions(b *testing.B) {
	const n = 1000
	db := storetest.Mongo(b)
	rdb, prefix := storetest.Redis(b)
	bus, err := rediscache.NewBus(rdb, nil, rediscache.BusOptions{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bus.Close)
	svc := booking.NewService(db, booking.Options{Now: func() time.Time { return now }, Cache: storetest.Cache(b, rdb, prefix), Publisher: bus})
	go bus.Run(context.Background(), svc.Events)
	if err := svc.SaveCalendar(ctxAs(admin), demo.Data(), nil); err != nil {
		b.Fatal(err)
	}
	r := &resolvers.Resolver{Service: svc, Events: bus, Logger: slog.New(slog.DiscardHandler)}
	sub := r.Subscription()
	from, to := now.Add(24*time.Hour), now.Add(15*24*time.Hour)
	grid := model.AvailabilityInput{Category: "repair", Place: ptrTo("75011"), From: &from, To: &to}

	for _, kind := range []string{"status", "grid"} {
		b.Run(kind, func(b *testing.B) {
			var heap, stack, goroutines float64
			for b.Loop() {
				ctx, cancel := context.WithCancel(context.Background())
				before, g0 := memInuse(), runtime.NumGoroutine()
				var chans []any
				for i := range n {
					switch kind {
					case "status":
						party := fmt.Sprintf("party-%d", i)
						p := apphub.Principal{PartyID: party, Roles: []string{apphub.RoleCustomer}}
						ch, err := sub.AppointmentChanged(apphub.NewContextWithPrincipal(ctx, p), nil, &party, nil)
						if err != nil {
							b.Fatal(err)
						}
						chans = append(chans, ch)
					case "grid":
						ch, err := sub.AvailabilityChanged(apphub.NewContextWithPrincipal(ctx, customer), grid)
						if err != nil {
							b.Fatal(err)
						}
						<-ch // the first grid: what a client holds while it waits for changes
						chans = append(chans, ch)
					}
				}
				after := memInuse()
				heap += float64(after.heap-before.heap) / n
				stack += float64(after.stack-before.stack) / n
				goroutines += float64(runtime.NumGoroutine()-g0) / n
				cancel()
				runtime.KeepAlive(chans)
			}
			b.ReportMetric(heap/float64(b.N), "heap-bytes/sub")
			b.ReportMetric(stack/float64(b.N), "stack-bytes/sub")
			b.ReportMetric(goroutines/float64(b.N), "goroutines/sub")
		})
	}
}

type inuse struct{ heap, stack int64 }

// memInuse returns the heap and the goroutine stacks in use after a collection.
func memInuse() inuse {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return inuse{int64(m.HeapInuse), int64(m.StackInuse)}
}

func ptrTo[T any](v T) *T { return &v }

// How long one change of a grid takes to reach every websocket subscriber of it, all with the
// same document: a booking, then every client's next result read (the settling of the changes,
// availabilityRefresh, and the search are part of it).
//
//	go test -run '^$' -bench BenchmarkGridChange -benchtime 5x ./resolvers
func BenchmarkGridChange(b *testing.B) {
	for _, n := range []int{200, 2000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			e := newGridEnv(b)
			const perConn = 20
			doc, vars := gridSubscription(gridSelection), gridInput(14)
			results := make(chan json.RawMessage, n)
			for range n / perConn {
				c := dialGrid(b, e.url)
				for i := range perConn {
					c.subscribe(strconv.Itoa(i), doc, vars)
				}
				go func() {
					for {
						_, msg, err := c.c.Read(context.Background())
						if err != nil {
							return // the benchmark's end closes the connection
						}
						if bytes.HasSuffix(msg, []byte(`"type":"next"}`)) { // gqlgen writes the type last
							results <- msg
						}
					}
				}()
			}
			var last json.RawMessage
			waitAll := func() {
				for range n {
					last = <-results
				}
			}
			waitAll()
			var size int
			for b.Loop() {
				var m struct{ Payload json.RawMessage }
				json.Unmarshal(last, &m)
				size = len(m.Payload)
				e.bookFirstOffered(m.Payload)
				waitAll()
			}
			b.ReportMetric(float64(size), "bytes/response")
		})
	}
}
