package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/graph"
	"github.com/apphub/apphub/slots"
)

// fixedAnswer is a Service whose search answers one result on one calendar: what the
// encoder and gqlgen must write alike.
type fixedAnswer struct {
	Service
	cal *apphub.Calendar
	res *booking.SlotResult
}

func (f fixedAnswer) Search(context.Context, booking.SlotQuery) (*booking.SlotResult, error) {
	return f.res, nil
}

func (f fixedAnswer) CalendarAndVersion(context.Context) (*apphub.Calendar, string, error) {
	return f.cal, "v", nil
}

// TestGridEncoderMatchesGqlgen compares the encoder's bytes with gqlgen's executor's for
// random documents (aliases, merged fields, inline and named fragments, @skip and @include by
// literal and by variable, __typename at every level) over answers with every kind of value:
// strings gqlgen escapes, runes and bytes it passes through, empty and null values, a resource
// gone from the calendar, crews (of a crew category, a member gone from the calendar too);
// ranked by start or by recommendation, with and without preferred times (literals, a single
// value for a list, variables), and recommended with its resources and reasons.
func TestGridEncoderMatchesGqlgen(t *testing.T) {
	t.Parallel()
	data := demo.Data()
	var ids, splicers []string
	for i := range data.Resources {
		if i < 3 {
			r := &data.Resources[i]
			r.Name = []string{"Zoë \"Z\" \\ 中文 \u2028\u2029", "tab\tnew\nline\r\x01\x1f", "bad \xff\xfe\xe2\x80 utf-8 </script> & co"}[i]
			r.Skills = nil
		}
		ids = append(ids, data.Resources[i].ID)
		if data.Resources[i].Kind == apphub.KindEquipment {
			splicers = append(splicers, data.Resources[i].ID)
		}
	}
	cal, err := apphub.NewCalendar(data)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 3, 28, 0, 45, 0, 0, time.UTC)
	slot := func(i int, resources ...string) apphub.Slot {
		s := apphub.Slot{Start: at.Add(time.Duration(i) * time.Hour), End: at.Add(time.Duration(i)*time.Hour + 90*time.Minute), Capacity: i}
		for k, id := range resources {
			// The sides the job joins vary, so that the ranking orders slots otherwise than by start.
			s.Resources = append(s.Resources, apphub.SlotResource{ResourceID: id, Capacity: k + 1, Joined: uint8(i*5+k*3) & 0xf})
		}
		return s
	}
	// A crew slot lists its members as its resources, in crew order (lead first).
	crew := func(i int, members ...string) apphub.Slot {
		s := slot(i, members...)
		s.Crew = members
		return s
	}
	answers := []*booking.SlotResult{
		{Result: slotsResult("Europe/Paris", []apphub.SlotDay{
			{Date: "2027-03-28", Slots: []apphub.Slot{slot(0, ids[0], ids[1]), slot(1), slot(2, "gone", ids[2], ids[3])}},
			{Date: "2027-03-29", Slots: []apphub.Slot{slot(24, ids[4])}},
			{Date: "2027-03-30"},
		}), AsOf: at.Add(123456789), Version: "v\"1"},
		{Result: slotsResult("Europe/Paris", []apphub.SlotDay{
			{Date: "2027-03-28", Slots: []apphub.Slot{crew(0, ids[5], ids[0], splicers[0]), crew(1, ids[6], ids[7], splicers[1]), slot(2, ids[8])}},
			{Date: "2027-03-29", Slots: []apphub.Slot{crew(24, ids[1], "gone", splicers[0]), crew(25, ids[5], ids[6], splicers[0])}},
		}), AsOf: at, Version: "v2"},
		{Result: slotsResult("America/New_York", nil), AsOf: time.Date(2027, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 3600))},
	}
	// And the engine's own answer for the demo's crew category (its names escaped as above).
	monday := time.Date(2027, 3, 29, 0, 0, 0, 0, time.UTC)
	found, err := slots.SearchSlots(cal, nil, slots.Query{Category: demo.BuildingFibre, Place: "75011", From: monday, To: monday.Add(3 * 24 * time.Hour), Now: monday.Add(-7 * 24 * time.Hour)})
	if err != nil || len(found.Days) == 0 || len(found.Days[0].Slots) == 0 || len(found.Days[0].Slots[0].Crew) != 3 {
		t.Fatalf("the demo's crew category: %v %+v", err, found)
	}
	answers = append(answers, &booking.SlotResult{Result: *found, AsOf: monday, Version: "v3"})
	answers[2].Reasons = []apphub.Reason{{Code: "FULLY_BOOKED", Message: "no seat \"left\"\n"}, {Code: "HOLIDAY", Message: "Noël"}}
	answers[2].NextDates = []string{"2027-01-04", "2027-01-05"}

	// A resource selected two ways from one fragment: its object written once per way.
	fixed := []string{`{ availability(input: {category: "repair", place: "75011"}) { days { slots { resources { ...R resource { name } } r2: resources { ...R } } } } }
		fragment R on TimeSlotResource { resource { id } }`,
		// A crew's members selected as the slot's resources are too: each selection its own objects.
		`{ availability(input: {category: "buildingFibre", place: "75011"}) { days { slots { crew { ...M } resources { resource { ...M } } c2: crew { id } } } } }
		fragment M on Resource { id kind name skills }`}
	rng := rand.New(rand.NewPCG(1, 2))
	// One store of day fragments for all the documents: a day written for one selection must
	// never answer another.
	days := newDayFragments(dayFragmentBytes)
	ranked, recommended := 0, 0
	for i := range 400 {
		res := answers[i%len(answers)]
		doc := randomDocument(rng)
		if i < len(fixed) {
			doc = fixed[i]
		}
		exec := executor.New(graph.NewExecutableSchema(graph.Config{Resolvers: &Resolver{Service: fixedAnswer{cal: cal, res: res}}}))
		ctx := graphql.StartOperationTrace(context.Background())
		oc, errs := exec.CreateOperationContext(ctx, &graphql.RawParams{Query: doc, Variables: map[string]any{"yes": true, "no": false,
			"rank": "RECOMMENDED", "prefs": []any{map[string]any{"weekdays": []any{"SUNDAY"}, "from": "01:00", "to": "05:00"}}}})
		if errs != nil {
			t.Fatalf("document %d is not valid: %v\n%s", i, errs, doc)
		}
		handler, ctx := exec.DispatchOperation(ctx, oc)
		want := handler(ctx)
		if len(want.Errors) > 0 {
			t.Fatalf("gqlgen: %v\n%s", want.Errors, doc)
		}
		f, input, ok := availabilityOnly(oc)
		if !ok {
			t.Fatalf("not an availability query:\n%s", doc)
		}
		rk, err := rankingOf(input)
		if err != nil {
			t.Fatalf("the ranking of %s: %v", doc, err)
		}
		got, ok := encodeAvailability(oc, f, cal, res, days, rk)
		if !ok {
			t.Fatalf("the encoder declined:\n%s", doc)
		}
		// What gqlgen's transport writes: the response marshalled by encoding/json.
		wire, err := json.Marshal(&graphql.Response{Data: want.Data})
		if err != nil {
			t.Fatal(err)
		}
		if got = append(append([]byte(`{"data":`), got...), '}'); string(got) != string(wire) {
			t.Fatalf("document %d:\n%s\nencoder: %s\ngqlgen:  %s", i, doc, got, wire)
		}
		if rk.recommended {
			ranked++
		}
		if strings.Contains(string(got), `"recommended":[{`) || strings.Contains(string(got), `"recommended2":[{`) {
			recommended++
		}
	}
	if ranked < 50 || recommended < 50 {
		t.Fatalf("%d ranked documents, %d with recommendations: the documents miss what they test", ranked, recommended)
	}
	// Ranked, the first answer's first day is not in the order of its starts.
	day := &answers[0].Days[0]
	if got := rankedSlots(day, cal.Location("Europe/Paris"), nil); len(got) != 3 || !got[0].Start.Equal(day.Slots[0].Start) || !got[1].Start.Equal(day.Slots[2].Start) {
		t.Fatalf("the first day ranked: %+v", got)
	}
}

func slotsResult(tz string, days []apphub.SlotDay) slots.Result {
	return slots.Result{TimeZone: tz, Days: days}
}

// gridTypes lists, per type of an availability answer, its fields and the type of those that
// are objects.
var gridTypes = map[string][][2]string{
	"Availability": {{"timeZone"}, {"days", "AvailabilityDay"}, {"reasons", "Reason"}, {"nextDates"}, {"asOf"}, {"version"}, {"__typename"},
		{"recommended", "RecommendedSlot"}},
	"RecommendedSlot":      {{"start"}, {"end"}, {"capacity"}, {"resource", "Resource"}, {"crew", "Resource"}, {"score"}, {"reasons", "RecommendationReason"}, {"__typename"}},
	"RecommendationReason": {{"code"}, {"message"}, {"__typename"}},
	"AvailabilityDay":      {{"date"}, {"slots", "TimeSlot"}, {"__typename"}},
	"TimeSlot":             {{"start"}, {"end"}, {"capacity"}, {"resources", "TimeSlotResource"}, {"crew", "Resource"}, {"__typename"}},
	"TimeSlotResource":     {{"resource", "Resource"}, {"capacity"}, {"__typename"}},
	"Resource":             {{"id"}, {"kind"}, {"name"}, {"timeZone"}, {"zones"}, {"skills"}, {"place"}, {"capacity"}, {"__typename"}},
	"Reason":               {{"code"}, {"message"}, {"__typename"}},
}

// randomDocument writes a valid availability query with a random selection.
func randomDocument(rng *rand.Rand) string {
	g := &docGen{rng: rng}
	sel := g.selection("Availability", 0)
	var b strings.Builder
	alias := ""
	if rng.IntN(2) == 0 {
		alias = "grid: "
	}
	var decls []string
	for _, v := range g.vars {
		decls = append(decls, "$"+v+": Boolean!")
	}
	rank := []string{"", ", rank: EARLIEST", ", rank: RECOMMENDED", ", rank: $rank"}[rng.IntN(4)]
	prefs := []string{"", `, preferredTimes: [{from: "03:00", to: "06:00"}]`, `, preferredTimes: {weekdays: SUNDAY, from: "00:00", to: "24:00"}`,
		`, preferredTimes: [{weekdays: [MONDAY, SATURDAY], from: "02:00", to: "08:00"}, {from: "05:45", to: "07:30"}]`, ", preferredTimes: $prefs"}[rng.IntN(5)]
	if strings.Contains(rank, "$") {
		decls = append(decls, "$rank: SlotRank")
	}
	if strings.Contains(prefs, "$") {
		decls = append(decls, "$prefs: [PreferredTimeInput!]")
	}
	b.WriteString("query")
	if len(decls) > 0 {
		b.WriteString("(" + strings.Join(decls, ", ") + ")")
	}
	fmt.Fprintf(&b, " { %savailability(input: {category: \"repair\", place: \"75011\"%s%s}) %s }\n", alias, rank, prefs, sel)
	for _, f := range g.fragments {
		b.WriteString(f + "\n")
	}
	return b.String()
}

type docGen struct {
	rng       *rand.Rand
	vars      []string
	fragments []string
}

func (g *docGen) selection(typ string, depth int) string {
	fields := gridTypes[typ]
	var items []string
	for range 1 + g.rng.IntN(4) {
		kind := g.rng.IntN(8)
		if depth > 4 {
			kind = 7 // fields only, so that the document ends
		}
		switch kind {
		case 0: // an inline fragment, with or without a type condition
			cond := ""
			if g.rng.IntN(2) == 0 {
				cond = " on " + typ
			}
			items = append(items, "..."+cond+g.directive()+" "+g.selection(typ, depth+1))
		case 1: // a named fragment
			name := fmt.Sprintf("F%d", len(g.fragments))
			g.fragments = append(g.fragments, "") // its place, so that nested ones get other names
			i := len(g.fragments) - 1
			g.fragments[i] = "fragment " + name + " on " + typ + " " + g.selection(typ, depth+1)
			items = append(items, "..."+name+g.directive())
		default:
			f := fields[g.rng.IntN(len(fields))]
			item := f[0]
			if f[0] != "__typename" && g.rng.IntN(4) == 0 {
				item = f[0] + "2: " + f[0] // the same alias always names the same field
				if f[0] == "recommended" {
					item += "(first: 2)" // and with the same arguments
				}
			}
			item += g.directive()
			if f[1] != "" {
				item += " " + g.selection(f[1], depth+1)
			}
			items = append(items, item)
		}
	}
	// A selection whose every item is skipped would be empty: one field stays.
	items = append(items, fields[0][0]+selectionOf(fields[0][1], g, depth))
	g.rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	return "{ " + strings.Join(items, " ") + " }"
}

func selectionOf(typ string, g *docGen, depth int) string {
	if typ == "" {
		return ""
	}
	return " " + g.selection(typ, depth+1)
}

func (g *docGen) directive() string {
	switch g.rng.IntN(10) {
	case 0:
		return " @skip(if: true)"
	case 1:
		return " @include(if: true)"
	case 2:
		g.use("yes")
		return " @skip(if: $yes)"
	case 3:
		g.use("no")
		return " @include(if: $no)"
	case 4:
		g.use("no")
		return " @skip(if: $no)"
	}
	return ""
}

func (g *docGen) use(v string) {
	for _, have := range g.vars {
		if have == v {
			return
		}
	}
	g.vars = append(g.vars, v)
}
