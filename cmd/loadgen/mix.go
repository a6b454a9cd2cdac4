package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/demo"
)

// search is one availability search of a channel app.
type search struct {
	category, place string
	from, to        time.Time
	resources       bool // with every slot's resources, as a technician picker needs
}

// document is the search as a GraphQL query, or as the subscription of the same grid.
func (s search) document(subscription bool) string {
	fields := "start end capacity"
	if s.resources {
		fields += " resources { capacity resource { id } }"
	}
	op, field := "", "availability"
	if subscription {
		op, field = "subscription ", "availabilityChanged"
	}
	return fmt.Sprintf(`%s{ %s(input: {category: %q, place: %q, from: %q, to: %q}) { days { date slots { %s } } } }`,
		op, field, s.category, s.place, s.from.UTC().Format(time.RFC3339), s.to.UTC().Format(time.RFC3339), fields)
}

// body is a GraphQL request body of one document.
func body(document string) []byte {
	b, err := json.Marshal(struct {
		Query string `json:"query"`
	}{document})
	if err != nil {
		panic(err) // a string always encodes
	}
	return b
}

// localDay returns local midnight of the day days after now's date in loc.
func localDay(now time.Time, loc *time.Location, days int) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d+days, 0, 0, 0, 0, loc)
}

// where is a place a category is searched at, with its time zone.
type where struct {
	place string
	loc   *time.Location
}

// placesOf returns where a category of the demo is searched: a category booked at a store at
// each managed place, any other at each postcode of every zone.
func placesOf(data apphub.CalendarData, cat apphub.Category) ([]where, error) {
	var out []where
	add := func(place, tz string) error {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return err
		}
		out = append(out, where{place, loc})
		return nil
	}
	if cat.AtPlace {
		for _, p := range data.Places {
			if err := add(p.ID, p.TimeZone); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for _, z := range data.Zones {
		for _, pc := range z.PostCodes {
			if err := add(pc, z.TimeZone); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// availabilityMix returns the searches of the demo's channel apps: every category at each
// place it is searched at, starting on each of the startDays local days after today, over
// each of windows days, with and without resources. In a fixed order.
func availabilityMix(data apphub.CalendarData, now time.Time, startDays int, windows []int) ([]search, error) {
	var out []search
	for _, cat := range data.Categories {
		places, err := placesOf(data, cat)
		if err != nil {
			return nil, err
		}
		for _, w := range places {
			for d := 1; d <= startDays; d++ {
				for _, days := range windows {
					from, to := localDay(now, w.loc, d), localDay(now, w.loc, d+days)
					for _, res := range []bool{false, true} {
						out = append(out, search{cat.ID, w.place, from, to, res})
					}
				}
			}
		}
	}
	return out, nil
}

// gridMix returns n distinct grids of category at the zone of place, first the one at place
// from tomorrow over 14 days without resources, then others drawn with seed: each postcode
// of the zone, from tomorrow or the day after, over 7 to 14 days, with and without resources.
// Every one of them shows the days 2 to 6 after today, so that a booking on those days
// changes them all.
func gridMix(data apphub.CalendarData, now time.Time, category, place string, n int, seed uint64) ([]search, error) {
	var zone *apphub.Zone
	for i, z := range data.Zones {
		if slices.Contains(z.PostCodes, place) {
			zone = &data.Zones[i]
		}
	}
	if zone == nil {
		return nil, fmt.Errorf("grids: %q is no postcode of the demo", place)
	}
	loc, err := time.LoadLocation(zone.TimeZone)
	if err != nil {
		return nil, err
	}
	first := search{category, place, localDay(now, loc, 1), localDay(now, loc, 15), false}
	var rest []search
	for _, pc := range zone.PostCodes {
		for start := 1; start <= 2; start++ {
			for days := 7; days <= 14; days++ {
				for _, res := range []bool{false, true} {
					s := search{category, pc, localDay(now, loc, start), localDay(now, loc, start+days), res}
					if s != first {
						rest = append(rest, s)
					}
				}
			}
		}
	}
	if n > len(rest)+1 {
		return nil, fmt.Errorf("grids: %d wanted, the zone of %s has %d", n, place, len(rest)+1)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	return append([]search{first}, rest[:max(n-1, 0)]...), nil
}

// bodiesMain writes a mix of GraphQL request bodies, one a line.
func bodiesMain(args []string) error {
	fs := flag.NewFlagSet("loadgen bodies", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: loadgen bodies [flags] >FILE

Writes GraphQL request bodies for the demo data, one a line, for -bodies-file:
  -mix availability  every category at each place it is searched at (postcodes; stores for a
                     category booked at a store), starting on each of the next -days days, over
                     7 and 14 days, with and without resources; -n of them drawn with -seed
                     (0: all, shuffled)
  -mix grids         -n distinct availabilityChanged subscriptions of -category in the zone of
                     -place (the first: at -place, from tomorrow, 14 days), all showing the days
                     2 to 6 after today`)
		fs.PrintDefaults()
	}
	mix := fs.String("mix", "availability", "availability or grids")
	n := fs.Int("n", 0, "how many (0: all of the availability mix)")
	seed := fs.Uint64("seed", 1, "seed of the draw")
	days := fs.Int("days", 14, "availability: start days, from tomorrow")
	category := fs.String("category", "repair", "grids: category")
	place := fs.String("place", "75011", "grids: postcode")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data := demo.Data()
	now := time.Now()
	var docs []string
	switch *mix {
	case "availability":
		all, err := availabilityMix(data, now, *days, []int{7, 14})
		if err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(*seed, 0))
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		if *n > 0 {
			all = all[:min(*n, len(all))]
		}
		for _, s := range all {
			docs = append(docs, s.document(false))
		}
	case "grids":
		grids, err := gridMix(data, now, *category, *place, max(*n, 1), *seed)
		if err != nil {
			return err
		}
		for _, s := range grids {
			docs = append(docs, s.document(true))
		}
	default:
		return fmt.Errorf("-mix %q: want availability or grids", *mix)
	}
	w := bufio.NewWriter(os.Stdout)
	for _, d := range docs {
		w.Write(body(d))
		w.WriteByte('\n')
	}
	return w.Flush()
}
