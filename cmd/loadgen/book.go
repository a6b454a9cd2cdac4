package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apphub/apphub/demo"
)

// demoTargets returns every category of the demo at one place of each zone it is searched
// in: the first postcode of every zone, or every store for a category booked at a store.
func demoTargets() []target {
	data := demo.Data()
	var out []target
	for _, cat := range data.Categories {
		if cat.AtPlace {
			for _, p := range data.Places {
				out = append(out, target{cat.ID, p.ID})
			}
			continue
		}
		for _, z := range data.Zones {
			out = append(out, target{cat.ID, z.PostCodes[0]})
		}
	}
	return out
}

// window returns [from, to) of the bookings: whole UTC days, fromDay days after today, days long.
func window(now time.Time, fromDay, days int) (time.Time, time.Time) {
	from := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, fromDay)
	return from, from.AddDate(0, 0, days)
}

// bookMain books slots at a pace, as a channel app's customers do, and reports how long the
// bookings took.
func bookMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen book", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: loadgen book -token TOKEN [flags] URL

Books free slots through GraphQL at URL at -rate bookings per second for -d: each booking
searches the free slots of its target (category@place, in turn from -targets) and books one
drawn at random.`)
		fs.PrintDefaults()
	}
	token := fs.String("token", "", "bearer token that may book (required)")
	targets := fs.String("targets", "", "category@place,… (default: every category of the demo at the first postcode of each zone, and at each store when booked at a store)")
	rate := fs.Float64("rate", 5, "bookings per second")
	d := fs.Duration("d", 10*time.Second, "duration")
	fromDay := fs.Int("from-day", 1, "first day of the slots booked, after today (UTC)")
	days := fs.Int("days", 14, "days of slots booked")
	seed := fs.Uint64("seed", 1, "seed of the slots drawn")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *token == "" || *rate <= 0 {
		fs.Usage()
		return fmt.Errorf("want -token, -rate > 0 and one URL")
	}
	ts := demoTargets()
	if *targets != "" {
		var err error
		if ts, err = parseTargets(*targets); err != nil {
			return err
		}
	}
	c := &gqlClient{http: &http.Client{Timeout: 10 * time.Second}, url: fs.Arg(0), token: *token}
	rng := rand.New(rand.NewPCG(*seed, 0))
	rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
	from, to := window(time.Now(), *fromDay, *days)

	// Open loop: each booking starts when due, whether the last one answered or not, as
	// bookings of different customers do.
	interval := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	var (
		mu       sync.Mutex
		lat      []time.Duration
		failures = map[string]int{}
		wg       sync.WaitGroup
	)
	late := 0
	for i := 0; ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= *d {
			break
		}
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		} else if -wait > lateAfter {
			late++
		}
		// Each booking draws with its own generator, so that the draws do not depend on
		// which answered first.
		rng := rand.New(rand.NewPCG(*seed, uint64(i)))
		t := ts[i%len(ts)]
		wg.Go(func() {
			b, err := c.bookOne(ctx, rng, t, from, to, "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures[err.Error()]++
				return
			}
			lat = append(lat, b.answered.Sub(b.sent))
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	nFailed := 0
	for _, n := range failures {
		nFailed += n
	}
	fmt.Printf("bookings %d in %s: %.1f/s over %d targets, failed %d, late %d\n", len(lat), elapsed.Round(time.Millisecond),
		float64(len(lat))/elapsed.Seconds(), len(ts), nFailed, late)
	if len(lat) > 0 {
		us := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
		fmt.Printf("booking latency p50 %s  p99 %s  max %s\n", us(percentile(lat, 0.5)), us(percentile(lat, 0.99)), us(lat[len(lat)-1]))
	}
	var kinds []string
	for k := range failures {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Printf("  %6d  %s\n", failures[k], strings.TrimSpace(k))
	}
	return nil
}
