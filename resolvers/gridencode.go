package resolvers

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"weak"

	"github.com/99designs/gqlgen/graphql"
	"github.com/maypok86/otter/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// gridEncoder writes the data of an availability query straight from the search's answer,
// honouring the operation's selection sets (aliases, fragments, @skip and @include, merged
// fields, __typename) as gqlgen's executor and transport would, byte for byte
// (TestGridEncoderMatchesGqlgen).
// gqlgen builds a grid as one marshaler per field of every slot, marshalling each list element
// in a goroutine of its own: that cost 20 times the search on a grid of resources. The
// selection sets are collected once per level rather than once per element, and a resource's
// object is written once per request and copied where it appears again.
type gridEncoder struct {
	oc   *graphql.OperationContext
	cal  *apphub.Calendar
	days *dayFragments // nil: days are written each time
	res  *booking.SlotResult
	rank ranking // the order of a day's slots, and the preferred times of recommended
	buf  []byte
	// The time zone of the answer's days, and its recommendations, once needed.
	loc  *time.Location
	recs []apphub.Recommendation
	// A resource's object, by the fields collected for it (a document may select resources
	// several ways, through aliases and fragments).
	resources map[resourceObject][]byte
	// The fields collected for the selection of a field, by the field: gqlgen keeps its own
	// collections too, but finding one costs more than writing a slot.
	collected map[*graphql.CollectedField][]graphql.CollectedField
	// The shape of a day's selection, by its first collected field (dayFragments).
	shapes map[*graphql.CollectedField]string
}

type resourceObject struct {
	fields *graphql.CollectedField
	id     string
}

// The types' names, as gqlgen's generated code passes them to CollectFields.
var (
	availabilityType     = []string{"Availability"}
	availabilityDayType  = []string{"AvailabilityDay"}
	timeSlotType         = []string{"TimeSlot"}
	timeSlotResourceType = []string{"TimeSlotResource"}
	resourceType         = []string{"Resource"}
	reasonType           = []string{"Reason"}
	recommendedSlotType  = []string{"RecommendedSlot"}
	recommendationType   = []string{"RecommendationReason"}
)

// encodeAvailability returns the data of oc, an operation whose one field f is availability
// (availabilityOnly), answered by res and ranked by rk (the input's, valid): {"<alias>":{…}}.
// It reports false when the selection asks for what it does not write (a field unknown to it,
// a deferred fragment) or has a value gqlgen would refuse (the answer's, or an argument's):
// gqlgen then executes the operation.
func encodeAvailability(oc *graphql.OperationContext, f *ast.Field, cal *apphub.Calendar, res *booking.SlotResult, days *dayFragments, rk ranking) ([]byte, bool) {
	if res.AsOf.IsZero() {
		return nil, false // gqlgen answers a null non-null field with an error
	}
	e := &gridEncoder{oc: oc, cal: cal, days: days, res: res, rank: rk, buf: make([]byte, 0, 4096)}
	e.buf = append(e.buf, '{')
	e.buf = appendQuoted(e.buf, f.Alias)
	e.buf = append(e.buf, ':')
	if !e.availability(f.SelectionSet, res) {
		return nil, false
	}
	e.buf = append(e.buf, '}')
	return e.buf, true
}

// fields collects a selection set as gqlgen does, and reports false when a fragment of it is
// deferred.
func (e *gridEncoder) fields(sel ast.SelectionSet, typ []string) ([]graphql.CollectedField, bool) {
	fields := graphql.CollectFields(e.oc, sel, typ)
	for _, f := range fields {
		if len(f.Deferrables) > 0 {
			return nil, false
		}
	}
	return fields, true
}

// fieldsOf is fields of the selection of f, an object field met once per list element.
func (e *gridEncoder) fieldsOf(f *graphql.CollectedField, typ []string) ([]graphql.CollectedField, bool) {
	if fields, found := e.collected[f]; found {
		return fields, true
	}
	fields, ok := e.fields(f.Selections, typ)
	if ok {
		if e.collected == nil {
			e.collected = make(map[*graphql.CollectedField][]graphql.CollectedField)
		}
		e.collected[f] = fields
	}
	return fields, ok
}

// object writes an object of fields, each by write, which reports false for a field it does
// not know.
func (e *gridEncoder) object(fields []graphql.CollectedField, write func(f *graphql.CollectedField) bool) bool {
	e.buf = append(e.buf, '{')
	for i := range fields {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendQuoted(e.buf, fields[i].Alias)
		e.buf = append(e.buf, ':')
		if !write(&fields[i]) {
			return false
		}
	}
	e.buf = append(e.buf, '}')
	return true
}

func (e *gridEncoder) availability(sel ast.SelectionSet, res *booking.SlotResult) bool {
	fields, ok := e.fields(sel, availabilityType)
	return ok && e.object(fields, func(f *graphql.CollectedField) bool {
		switch f.Name {
		case "__typename":
			e.buf = appendQuoted(e.buf, availabilityType[0])
		case "timeZone":
			e.buf = appendQuoted(e.buf, res.TimeZone)
		case "days":
			days, ok := e.fields(f.Selections, availabilityDayType)
			return ok && e.list(len(res.Days), func(i int) bool { return e.day(days, &res.Days[i]) })
		case "reasons":
			reasons, ok := e.fields(f.Selections, reasonType)
			return ok && e.list(len(res.Reasons), func(i int) bool { return e.reason(reasons, reasonType, &res.Reasons[i]) })
		case "recommended":
			n, ok := recommendedCountArg(f.ArgumentMap(e.oc.Variables)["first"])
			if !ok {
				return false // gqlgen reports it
			}
			slots, ok := e.fields(f.Selections, recommendedSlotType)
			if !ok {
				return false
			}
			if e.recs == nil && n > 0 {
				e.recs = apphub.Recommend(res.Days, e.location(), e.rank.preferred)
			}
			recs := e.recs[:min(n, len(e.recs))]
			return e.list(len(recs), func(i int) bool { return e.recommendation(slots, &recs[i]) })
		case "nextDates":
			e.strings(res.NextDates)
		case "asOf":
			e.buf = appendTime(e.buf, res.AsOf)
		case "version":
			if res.Version == "" {
				e.buf = append(e.buf, "null"...)
			} else {
				e.buf = appendQuoted(e.buf, res.Version)
			}
		default:
			return false
		}
		return true
	})
}

// location is the time zone of the answer's days.
func (e *gridEncoder) location() *time.Location {
	if e.loc == nil {
		e.loc = locationOf(e.cal, e.res.TimeZone)
	}
	return e.loc
}

// reason writes a Reason or a RecommendationReason (typ), which have the same fields.
func (e *gridEncoder) reason(fields []graphql.CollectedField, typ []string, r *apphub.Reason) bool {
	return e.object(fields, func(f *graphql.CollectedField) bool {
		switch f.Name {
		case "__typename":
			e.buf = appendQuoted(e.buf, typ[0])
		case "code":
			e.buf = appendQuoted(e.buf, r.Code)
		case "message":
			e.buf = appendQuoted(e.buf, r.Message)
		default:
			return false
		}
		return true
	})
}

func (e *gridEncoder) day(fields []graphql.CollectedField, d *apphub.SlotDay) bool {
	var key dayFragmentKey
	if e.days != nil && len(d.Slots) > 0 && len(fields) > 0 {
		shape, ok := e.shape(fields)
		if !ok {
			return false
		}
		key = dayFragmentKey{slots: weak.Make(&d.Slots[0]), n: len(d.Slots), date: d.Date, shape: shape, order: e.rank.dayOrder()}
		if b, found := e.days.cache.GetIfPresent(key); found {
			e.buf = append(e.buf, b...)
			return true
		}
	}
	start := len(e.buf)
	if !e.dayObject(fields, d) {
		return false
	}
	if key.shape != "" {
		e.days.keep(key, e.buf[start:])
	}
	return true
}

func (e *gridEncoder) dayObject(fields []graphql.CollectedField, d *apphub.SlotDay) bool {
	return e.object(fields, func(f *graphql.CollectedField) bool {
		switch f.Name {
		case "__typename":
			e.buf = appendQuoted(e.buf, availabilityDayType[0])
		case "date":
			e.buf = appendQuoted(e.buf, d.Date)
		case "slots":
			fields, ok := e.fieldsOf(f, timeSlotType)
			if !ok {
				return false
			}
			slots := d.Slots
			if e.rank.recommended {
				slots = rankedSlots(d, e.location(), e.rank.preferred)
			}
			return e.list(len(slots), func(i int) bool { return e.slot(fields, &slots[i]) })
		default:
			return false
		}
		return true
	})
}

func (e *gridEncoder) slot(fields []graphql.CollectedField, s *apphub.Slot) bool {
	return e.object(fields, func(f *graphql.CollectedField) bool {
		switch f.Name {
		case "__typename":
			e.buf = appendQuoted(e.buf, timeSlotType[0])
		case "start":
			e.buf = appendTime(e.buf, s.Start)
		case "end":
			e.buf = appendTime(e.buf, s.End)
		case "capacity":
			e.buf = strconv.AppendInt(e.buf, int64(s.Capacity), 10)
		case "resources":
			resources, ok := e.fieldsOf(f, timeSlotResourceType)
			if !ok {
				return false
			}
			e.buf = append(e.buf, '[')
			first := true
			for _, sr := range s.Resources {
				res, found := e.cal.Resource(sr.ResourceID)
				if !found {
					continue // gone from the calendar since: as timeSlots leaves it out
				}
				if !first {
					e.buf = append(e.buf, ',')
				}
				first = false
				if !e.slotResource(resources, res, sr.Capacity) {
					return false
				}
			}
			e.buf = append(e.buf, ']')
		case "crew":
			return e.crew(f, s.Crew)
		default:
			return false
		}
		return true
	})
}

// crew writes a crew's members, as crewOf looks them up: those gone from the calendar left out.
func (e *gridEncoder) crew(f *graphql.CollectedField, crew []string) bool {
	fields, ok := e.fieldsOf(f, resourceType)
	if !ok {
		return false
	}
	e.buf = append(e.buf, '[')
	first := true
	for _, id := range crew {
		res, found := e.cal.Resource(id)
		if !found {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		if !e.resourceObject(fields, res) {
			return false
		}
	}
	e.buf = append(e.buf, ']')
	return true
}

// recommendation writes a RecommendedSlot as recommendedSlots converts it.
func (e *gridEncoder) recommendation(fields []graphql.CollectedField, r *apphub.Recommendation) bool {
	return e.object(fields, func(f *graphql.CollectedField) bool {
		switch f.Name {
		case "__typename":
			e.buf = appendQuoted(e.buf, recommendedSlotType[0])
		case "start":
			e.buf = appendTime(e.buf, r.Slot.Start)
		case "end":
			e.buf = appendTime(e.buf, r.Slot.End)
		case "capacity":
			e.buf = strconv.AppendInt(e.buf, int64(r.Slot.Capacity), 10)
		case "score":
			e.buf = strconv.AppendInt(e.buf, int64(r.Score), 10)
		case "resource":
			res, found := e.cal.Resource(r.Resource)
			if r.Resource == "" || !found {
				e.buf = append(e.buf, "null"...) // a crew job's, or gone from the calendar since
				return true
			}
			fields, ok := e.fieldsOf(f, resourceType)
			return ok && e.resourceObject(fields, res)
		case "crew":
			return e.crew(f, r.Slot.Crew)
		case "reasons":
			reasons, ok := e.fieldsOf(f, recommendationType)
			return ok && e.list(len(r.Reasons), func(i int) bool { return e.reason(reasons, recommendationType, &r.Reasons[i]) })
		default:
			return false
		}
		return true
	})
}

func (e *gridEncoder) slotResource(fields []graphql.CollectedField, res *apphub.Resource, capacity int) bool {
	return e.object(fields, func(f *graphql.CollectedField) bool {
		switch f.Name {
		case "__typename":
			e.buf = appendQuoted(e.buf, timeSlotResourceType[0])
		case "capacity":
			e.buf = strconv.AppendInt(e.buf, int64(capacity), 10)
		case "resource":
			fields, ok := e.fieldsOf(f, resourceType)
			return ok && e.resourceObject(fields, res)
		default:
			return false
		}
		return true
	})
}

// resourceObject writes res with the fields collected for one selection of it (a slot
// resource's resource, or a crew member), each resource's object once per selection.
func (e *gridEncoder) resourceObject(fields []graphql.CollectedField, res *apphub.Resource) bool {
	if len(fields) == 0 {
		e.buf = append(e.buf, "{}"...)
		return true
	}
	// gqlgen keeps one collection per selection set: the same slice for every slot.
	key := resourceObject{&fields[0], res.ID}
	if b, found := e.resources[key]; found {
		e.buf = append(e.buf, b...)
		return true
	}
	start := len(e.buf)
	if !e.resource(fields, res) {
		return false
	}
	if e.resources == nil {
		e.resources = make(map[resourceObject][]byte)
	}
	e.resources[key] = e.buf[start:len(e.buf):len(e.buf)]
	return true
}

func (e *gridEncoder) resource(fields []graphql.CollectedField, res *apphub.Resource) bool {
	return e.object(fields, func(f *graphql.CollectedField) bool {
		switch f.Name {
		case "__typename":
			e.buf = appendQuoted(e.buf, resourceType[0])
		case "id":
			e.buf = appendQuoted(e.buf, res.ID)
		case "kind":
			e.buf = appendQuoted(e.buf, res.Kind)
		case "name":
			e.buf = appendQuoted(e.buf, res.Name)
		case "timeZone":
			e.buf = appendQuoted(e.buf, res.TimeZone)
		case "zones":
			e.strings(res.Zones)
		case "skills":
			e.strings(res.Skills)
		case "place":
			e.buf = appendQuoted(e.buf, res.PlaceID)
		case "capacity":
			e.buf = strconv.AppendInt(e.buf, int64(res.EffectiveCapacity()), 10)
		default:
			return false
		}
		return true
	})
}

// children are the object types of the fields below a day, by parent type and field.
var children = map[string]map[string][]string{
	"AvailabilityDay":  {"slots": timeSlotType},
	"TimeSlot":         {"resources": timeSlotResourceType, "crew": resourceType},
	"TimeSlotResource": {"resource": resourceType},
}

// shape writes a day's selection, its aliases and fields down to the resources', as a key
// equal for equal selections of any document; it reports false where a fragment is deferred.
func (e *gridEncoder) shape(fields []graphql.CollectedField) (string, bool) {
	if s, found := e.shapes[&fields[0]]; found {
		return s, true
	}
	var b strings.Builder
	if !e.writeShape(&b, fields, availabilityDayType) {
		return "", false
	}
	if e.shapes == nil {
		e.shapes = make(map[*graphql.CollectedField]string)
	}
	e.shapes[&fields[0]] = b.String()
	return b.String(), true
}

func (e *gridEncoder) writeShape(b *strings.Builder, fields []graphql.CollectedField, typ []string) bool {
	b.WriteByte('{')
	for i := range fields {
		f := &fields[i]
		b.WriteString(f.Alias)
		b.WriteByte(':')
		b.WriteString(f.Name)
		if child := children[typ[0]][f.Name]; child != nil {
			sub, ok := e.fieldsOf(f, child)
			if !ok || !e.writeShape(b, sub, child) {
				return false
			}
		}
		b.WriteByte(',')
	}
	b.WriteByte('}')
	return true
}

// dayFragments keeps the bytes of day objects across requests. The days of an answer are the
// kept day answers' own slices, which every window covering them meets again, and writing a
// day's slots is most of a response. A day is known by its slots — a weak pointer to the first
// and their number: equal for the same slice of the same answer, never for a new one at a
// reused address — its date, the shape of its selection, and the order of its slots (a ranked
// day's, which depends on the caller's preferred times as well as on the answer).
type dayFragments struct {
	cache  *otter.Cache[dayFragmentKey, []byte]
	budget int
}

type dayFragmentKey struct {
	slots weak.Pointer[apphub.Slot]
	n     int
	date  string
	shape string
	order string // ranking.dayOrder: the same slots in another order are another day
}

// dayFragmentBytes bounds the day fragments kept: a 14-day grid with resources is 100 KB.
const dayFragmentBytes = 8 << 20

func newDayFragments(budget int) *dayFragments {
	return &dayFragments{budget: budget, cache: otter.Must(&otter.Options[dayFragmentKey, []byte]{
		MaximumWeight: uint64(budget),
		Weigher:       func(k dayFragmentKey, b []byte) uint32 { return uint32(len(b) + len(k.shape) + len(k.order) + 100) },
	})}
}

func (d *dayFragments) keep(k dayFragmentKey, b []byte) {
	if len(b)+len(k.shape)+len(k.order)+100 <= d.budget {
		d.cache.Set(k, bytes.Clone(b))
	}
}

// list writes n elements, each by write, which reports false for what it does not know.
func (e *gridEncoder) list(n int, write func(i int) bool) bool {
	e.buf = append(e.buf, '[')
	for i := range n {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if !write(i) {
			return false
		}
	}
	e.buf = append(e.buf, ']')
	return true
}

func (e *gridEncoder) strings(list []string) {
	e.list(len(list), func(i int) bool {
		e.buf = appendQuoted(e.buf, list[i])
		return true
	})
}

// appendTime writes t as gqlgen's Time scalar does: RFC 3339 with the nanoseconds it has, in
// quotes (the layout writes ASCII only, which strconv.Quote leaves as it is). Slots are whole
// seconds in UTC, written here without going through the layout.
func appendTime(buf []byte, t time.Time) []byte {
	buf = append(buf, '"')
	if y := t.Year(); t.Location() != time.UTC || t.Nanosecond() != 0 || y < 1000 || y > 9999 {
		buf = t.AppendFormat(buf, time.RFC3339Nano)
	} else {
		_, m, d := t.Date()
		h, mi, s := t.Clock()
		buf = append(buf, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
			byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
			byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10), 'Z')
	}
	return append(buf, '"')
}

// appendQuoted writes s as a JSON string exactly as it reaches the client through gqlgen: its
// String scalar escapes quotes, backslashes and control characters (upper-case hex) and
// passes everything else through, invalid UTF-8 included; then encoding/json, marshalling
// the response, escapes <, > and & (lower-case hex) and U+2028 and U+2029.
func appendQuoted(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && s[i+2]&^1 == 0xA8:
			buf = append(append(buf, s[start:i]...), '\\', 'u', '2', '0', '2', lowerHex[s[i+2]&0xF])
			i += 2
			start = i + 1
		case c == '<' || c == '>' || c == '&':
			buf = append(append(buf, s[start:i]...), '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			start = i + 1
		case c < 0x20 || c == '\\' || c == '"':
			buf = append(buf, s[start:i]...)
			switch c {
			case '\t':
				buf = append(buf, `\t`...)
			case '\r':
				buf = append(buf, `\r`...)
			case '\n':
				buf = append(buf, `\n`...)
			case '\\':
				buf = append(buf, `\\`...)
			case '"':
				buf = append(buf, `\"`...)
			default:
				buf = append(buf, '\\', 'u', '0', '0', upperHex[c>>4], upperHex[c&0xf])
			}
			start = i + 1
		}
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

const (
	upperHex = "0123456789ABCDEF" // gqlgen's
	lowerHex = "0123456789abcdef" // encoding/json's
)
