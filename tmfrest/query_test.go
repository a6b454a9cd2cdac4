package tmfrest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		filters []filter
		fields  [][]string
		ok      bool
	}{
		{"status=initialized,confirmed", []filter{{[]string{"status"}, opEq, []string{"initialized", "confirmed"}}}, nil, true},
		{"externalId=a%2Cb", []filter{{[]string{"externalId"}, opEq, []string{"a,b"}}}, nil, true},
		{"validFor.startDateTime.gte=2026-03-02T10:00:00+01:00", []filter{{[]string{"validFor", "startDateTime"}, opGte, []string{"2026-03-02T10:00:00+01:00"}}}, nil, true},
		{"href=http://h/tmf-api/appointment/v4/appointment/abc", []filter{{[]string{"href"}, opEq, []string{"http://h/tmf-api/appointment/v4/appointment/abc"}}}, nil, true},
		{"gt=5", []filter{{[]string{"gt"}, opEq, []string{"5"}}}, nil, true}, // an attribute named like an operator
		{"fields=none", nil, [][]string{}, true},
		{"fields=a,b.c", nil, [][]string{{"a"}, {"b", "c"}}, true},
		{"depth=3&expand=x", nil, nil, true},
		{"$where=1", nil, nil, false},
		{"a[$ne]=1", nil, nil, false},
		{"a.$gt=1", nil, nil, false},
		{"a..b=1", nil, nil, false},
		{".a=1", nil, nil, false},
		{"a=%zz", nil, nil, false},
		{"offset=1&offset=1", nil, nil, false},
		{"limit=-1", nil, nil, false},
	} {
		q, err := parseQuery(tc.raw)
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v", tc.raw, err)
			continue
		}
		if !tc.ok {
			continue
		}
		if !slices.EqualFunc(q.filters, tc.filters, func(a, b filter) bool {
			return slices.Equal(a.path, b.path) && a.op == b.op && slices.Equal(a.values, b.values)
		}) {
			t.Errorf("%s: filters %v, want %v", tc.raw, q.filters, tc.filters)
		}
		if !slices.EqualFunc(q.fields, tc.fields, slices.Equal) || (q.fields == nil) != (tc.fields == nil) {
			t.Errorf("%s: fields %v, want %v", tc.raw, q.fields, tc.fields)
		}
	}
}

func TestCompareLeaf(t *testing.T) {
	for _, tc := range []struct {
		leaf  any
		value string
		c     int
		ok    bool
	}{
		{"2026-03-02T10:00:00Z", "2026-03-02T11:00:00+01:00", 0, true},
		{"2026-03-02T10:00:00.001Z", "2026-03-02T10:00:00Z", 1, true},
		{"b", "a", 1, true},
		{json.Number("10"), "9", 1, true},
		{json.Number("1.10"), "1.1", 0, true},
		{json.Number("12345678901234567890123"), "12345678901234567890122", 1, true},
		{json.Number("1"), "0x1", 0, false},
		{json.Number("1"), "NaN", 0, false},
		{true, "true", 0, true},
		{true, "1", 0, false},
		{nil, "null", 0, false},
		{map[string]any{}, "x", 0, false},
	} {
		c, ok := compareLeaf(tc.leaf, tc.value)
		if ok != tc.ok || (ok && c != tc.c) {
			t.Errorf("compare %v with %q: %d, %v; want %d, %v", tc.leaf, tc.value, c, ok, tc.c, tc.ok)
		}
	}
}

// fuzzItem is a representation with the shapes filters walk: strings, date-times, numbers,
// arrays of objects, nesting, awkward names.
var fuzzItem = `{"id":"a1","href":"http://h/x/a1","status":"initialized","priority":3,"ok":true,"none":null,
	"validFor":{"startDateTime":"2026-03-02T09:00:00.000Z","endDateTime":"2026-03-02T10:00:00+01:00"},
	"relatedParty":[{"id":"32","role":"customer"},{"id":"56","role":"technician","tags":["x","y"]}],
	"$where":{"$ne":1},"a.b":{"c":[[1,2],[3]]}}`

// fuzzAppointment is an appointment as the handler represents it, for filters to walk.
func fuzzAppointment() object {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a := apphub.Appointment{ID: "b2", Status: "confirmed", Start: start, End: start.Add(time.Hour), Resource: "tech-1",
		Category: "repair", Description: "fix <b>&", CreatedAt: start.Add(-time.Hour), UpdatedAt: start.Add(-time.Minute),
		Notes:        []apphub.Note{{Author: "ops", Date: start, Text: "call first"}},
		ContactMedia: []apphub.ContactMedium{{Type: "email", Value: "a@example.com", Preferred: true}},
		Attributes: map[string]json.RawMessage{"externalId": json.RawMessage(`"x,1"`), "priority": json.RawMessage(`1.10`),
			"relatedPlace": json.RawMessage(`{"role":"installationAddress","postCode":"75011"}`)}}
	h := &Handler{}
	return h.appointmentObject("http://h", a, nil)
}

// FuzzFilterParser parses any query string and applies what it accepts to representations (a
// sample with awkward shapes, and an appointment as the handler renders it): it must never
// panic, never accept an operator-looking name, keep its promises on the counts and pages it
// returns, and find an item by any value it holds at a filter's path. `go test` runs the seeds
// only.
func FuzzFilterParser(f *testing.F) {
	for _, seed := range []string{
		"status=initialized,confirmed", "externalId=a%2Cb", "relatedParty.id=56", "relatedParty.tags=y",
		"validFor.startDateTime.gte=2026-03-02T10:00:00+01:00", "validFor.endDateTime.lt=2026-03-02T09:30:00Z",
		"priority.gt=1.5&priority.lte=3", "priority.ne=3", "ok=true", "none=null", "a.b.c.gt=2",
		"fields=none", "fields=validFor.startDateTime,relatedParty.role", "sort=-priority,status", "offset=1&limit=1",
		"$where=1", "status[$ne]=x", "status.$ne=x", "%24where=1", "a=%", "a=%zz", "&&==,,", "x.=1", "limit=99999999999999999999",
		"priority.gt=1e999999999", "priority.eq=-0", "validFor.startDateTime.eq=2026-13-40T99:99:99Z",
		"status.ne=confirmed", "priority.eq=1.1", "externalId=x%2C1", "contactMedium.characteristic.emailAddress=a@example.com",
		"note.date.lte=2026-03-02T10:00:00%2B01:00", "relatedPlace.postCode.gte=75000", "description=fix%20<b>%26",
		"validFor.startDateTime=2026-03-02T10:00:00+01:00&sort=-validFor.endDateTime,creationDate", "href.eq=http://h/tmf-api/appointment/v4/appointment/b2",
	} {
		f.Add(seed)
	}
	appointment := fuzzAppointment()
	f.Fuzz(func(t *testing.T, raw string) {
		if len(raw) > 4096 {
			return // bounded: the server never sees more than a request line holds
		}
		q, err := parseQuery(raw)
		if err != nil {
			return
		}
		for _, fl := range q.filters {
			for _, p := range fl.path {
				if p == "" || strings.HasPrefix(p, "$") || strings.ContainsAny(p, "[]") {
					t.Fatalf("%q: accepted path %q", raw, fl.path)
				}
			}
			if !slices.Contains(operators, fl.op) {
				t.Fatalf("%q: operator %q", raw, fl.op)
			}
		}
		obj, err := parseObject([]byte(fuzzItem))
		if err != nil {
			t.Fatal(err)
		}
		items := []*item{{obj: obj}, {obj: obj}, {obj: object{{"id", json.RawMessage(`"b"`)}}}, {obj: appointment}}
		// An equality filter with a value the hub returned finds the resource, whatever the path.
		for _, fl := range q.filters {
			for _, it := range items {
				for _, leaf := range it.leaves(fl.path) {
					var text string
					switch l := leaf.(type) {
					case string:
						text = l
					case json.Number:
						text = string(l)
					case bool:
						text = strconv.FormatBool(l)
					default:
						continue
					}
					if eq := (filter{path: fl.path, op: opEq, values: []string{text}}); !eq.match(it) {
						t.Fatalf("%q: %v=%q does not find the item that holds it", raw, fl.path, text)
					}
				}
			}
		}
		page, total := q.apply(items)
		if total > len(items) || len(page) > total || q.limit >= 0 && len(page) > q.limit {
			t.Fatalf("%q: page %d of %d", raw, len(page), total)
		}
		for _, it := range page {
			p := project(it.obj, q.fields)
			b, err := p.MarshalJSON()
			if err != nil || !json.Valid(b) {
				t.Fatalf("%q: projection %s: %v", raw, b, err)
			}
		}
	})
}

func TestPagingBounds(t *testing.T) {
	items := []*item{{}, {}, {}}
	for _, raw := range []string{"limit=9223372036854775807&offset=1", "offset=9223372036854775807&limit=9223372036854775807", "offset=2&limit=0"} {
		q, err := parseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		page, total := q.apply(items)
		if total != 3 || len(page) > 2 {
			t.Errorf("%s: %d of %d", raw, len(page), total)
		}
	}
}
