package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// raceMain runs booking races over TMF646: -c partners at once POST an appointment for the
// same slot of the same technician, -races times, and reports how long the requests took and
// whether each race had exactly one winner.
func raceMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen race", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: loadgen race -token TOKEN [flags] HUB

Races for slots over TMF646 at HUB (e.g. http://127.0.0.1:8080): for each of -races free slots
of -target (found through GraphQL availability), -c requests at once POST an appointment for
that slot and its first technician. Exactly one of each race must get 201, the others 409.`)
		fs.PrintDefaults()
	}
	token := fs.String("token", "", "bearer token that may book for customers (required)")
	target := fs.String("target", "repair@75011", "category@place")
	races := fs.Int("races", 20, "races, one after the other")
	c := fs.Int("c", 50, "requests racing for each slot")
	fromDay := fs.Int("from-day", 2, "first day of the slots raced for, after today (UTC)")
	days := fs.Int("days", 7, "days of slots raced for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *token == "" || *races <= 0 || *c <= 0 {
		fs.Usage()
		return fmt.Errorf("want -token, -races > 0, -c > 0 and one URL")
	}
	ts, err := parseTargets(*target)
	if err != nil || len(ts) != 1 {
		return fmt.Errorf("-target: want one category@place: %v", err)
	}
	hub := strings.TrimSuffix(fs.Arg(0), "/")
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *c}}
	gql := &gqlClient{http: client, url: hub + "/graphql", token: *token}
	from, to := window(time.Now(), *fromDay, *days)
	var (
		lat   []time.Duration
		wrong []string
		other = map[string]int{}
	)
	started := time.Now()
	for i := 0; i < *races && ctx.Err() == nil; i++ {
		// The free slots as of now: each race's winner takes time from the next ones.
		slots, err := gql.freeSlots(ctx, ts[0].category, ts[0].place, from, to)
		if err != nil {
			return err
		}
		if len(slots) == 0 {
			return fmt.Errorf("no free slot of %s@%s left", ts[0].category, ts[0].place)
		}
		s := slots[(i*7)%len(slots)]
		body := fmt.Sprintf(`{"category":%q,"validFor":{"startDateTime":%q,"endDateTime":%q},
			"relatedParty":[{"id":"race-%d","role":"customer","@referredType":"Individual"},{"id":%q,"role":"technician","@referredType":"PartyRole"}],
			"relatedPlace":{"role":"installationAddress","postCode":%q,"@type":"GeographicAddress"}}`,
			ts[0].category, s.start.Format(time.RFC3339), s.end.Format(time.RFC3339), i, s.resource, ts[0].place)
		var (
			mu    sync.Mutex
			wg    sync.WaitGroup
			codes = map[int]int{}
		)
		gate := make(chan struct{})
		for range *c {
			wg.Go(func() {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, hub+"/tmf-api/appointment/v4/appointment", strings.NewReader(body))
				if err != nil {
					panic(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+*token)
				<-gate
				sent := time.Now()
				resp, err := client.Do(req)
				took := time.Since(sent)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					other[errorKind(err)]++
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[resp.StatusCode]++
				lat = append(lat, took)
			})
		}
		close(gate)
		wg.Wait()
		if codes[http.StatusCreated] != 1 || codes[http.StatusConflict] != *c-1 {
			wrong = append(wrong, fmt.Sprintf("race %d (%s): %v", i, s.start.Format(time.RFC3339), codes))
		}
	}
	slices.Sort(lat)
	fmt.Printf("races %d of %d requests each in %s (%s@%s, one technician each), requests answered %d\n", *races, *c,
		time.Since(started).Round(time.Millisecond), ts[0].category, ts[0].place, len(lat))
	if len(lat) > 0 {
		ms := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
		fmt.Printf("request latency p50 %s  p90 %s  p99 %s  max %s\n", ms(percentile(lat, 0.5)), ms(percentile(lat, 0.9)),
			ms(percentile(lat, 0.99)), ms(lat[len(lat)-1]))
	}
	fmt.Printf("races with exactly one 201 and %d 409s: %d of %d\n", *c-1, *races-len(wrong), *races)
	for _, w := range wrong {
		fmt.Println("  " + w)
	}
	for k, n := range other {
		fmt.Printf("  %6d  %s\n", n, k)
	}
	if len(wrong) > 0 {
		return fmt.Errorf("%d races without exactly one winner", len(wrong))
	}
	return nil
}

// raceSlot is a free slot and its first resource.
type raceSlot struct {
	start, end time.Time
	resource   string
}

// freeSlots returns the free slots of category at place in [from, to), with their first
// resource.
func (c *gqlClient) freeSlots(ctx context.Context, category, place string, from, to time.Time) ([]raceSlot, error) {
	var data struct {
		Availability struct {
			Days []struct {
				Slots []struct {
					Start, End time.Time
					Resources  []struct{ Resource struct{ ID string } }
				}
			}
		}
	}
	doc := fmt.Sprintf(`{ availability(input: {category: %q, place: %q, from: %q, to: %q}) { days { slots { start end resources { resource { id } } } } } }`,
		category, place, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	if err := c.do(ctx, doc, &data); err != nil {
		return nil, err
	}
	var out []raceSlot
	for _, d := range data.Availability.Days {
		for _, s := range d.Slots {
			if len(s.Resources) > 0 {
				out = append(out, raceSlot{s.Start, s.End, s.Resources[0].Resource.ID})
			}
		}
	}
	return out, nil
}
