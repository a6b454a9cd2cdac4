package apphub

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// CalendarData is the content of a calendar as stored or seeded: every resource, category,
// zone, managed place and holiday calendar.
type CalendarData struct {
	Resources        []Resource
	Categories       []Category
	Zones            []Zone
	Places           []Place
	HolidayCalendars []HolidayCalendar
	// TravelTimes between zones, optional: where they are given they replace the fixed
	// buffers (see LeadTime).
	TravelTimes *TravelTimes
}

// Calendar is a validated, immutable snapshot of CalendarData with its indexes. It is built
// once per change of the data and shared by concurrent searches; nothing it returns may be
// modified.
type Calendar struct {
	data       CalendarData
	resources  map[string]int
	categories map[string]int
	zones      map[string]int
	places     map[string]int
	holidays   map[string]int
	closedDays map[string]map[int64]string // holiday calendar → civil day → holiday name
	postCodes  map[string]int              // postcode → zone index
	locations  map[string]*time.Location
	// travelIndex is the row and column of each zone in TravelTimes; nil without them.
	travelIndex map[string]int
}

// NewCalendar validates d, including the references between its parts, and returns a
// snapshot that owns a copy of it. Resources are kept sorted by id.
func NewCalendar(d CalendarData) (*Calendar, error) {
	c := &Calendar{
		data:      d.clone(),
		locations: make(map[string]*time.Location),
	}
	load := func(name string) (*time.Location, error) {
		if loc, ok := c.locations[name]; ok {
			return loc, nil
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			return nil, err
		}
		c.locations[name] = loc
		return loc, nil
	}

	var err error
	if c.holidays, err = indexIDs("holidayCalendars", c.data.HolidayCalendars, func(h *HolidayCalendar) string { return h.ID }, (*HolidayCalendar).Validate); err != nil {
		return nil, err
	}
	// Every search asks which days a resource's holidays close; a calendar lists decades of them.
	c.closedDays = make(map[string]map[int64]string, len(c.data.HolidayCalendars))
	for _, h := range c.data.HolidayCalendars {
		days := make(map[int64]string, len(h.Dates))
		for _, d := range h.Dates {
			day, _ := ParseCivilDate(d.Date) // validated above
			days[day] = d.Name
		}
		c.closedDays[h.ID] = days
	}
	if c.zones, err = indexIDs("zones", c.data.Zones, func(z *Zone) string { return z.ID }, func(z *Zone) error { return z.validate(load) }); err != nil {
		return nil, err
	}
	if c.places, err = indexIDs("places", c.data.Places, func(p *Place) string { return p.ID }, func(p *Place) error { return p.validate(load) }); err != nil {
		return nil, err
	}
	if c.categories, err = indexIDs("categories", c.data.Categories, func(k *Category) string { return k.ID }, (*Category).Validate); err != nil {
		return nil, err
	}
	if c.resources, err = indexIDs("resources", c.data.Resources, func(r *Resource) string { return r.ID }, func(r *Resource) error { return r.validate(load) }); err != nil {
		return nil, err
	}

	if err := c.checkNodeIDs(); err != nil {
		return nil, err
	}
	if t := c.data.TravelTimes; t != nil {
		if err := t.validate(c.zones); err != nil {
			return nil, prefixField("travelTimes", err)
		}
		c.travelIndex = make(map[string]int, len(t.Zones))
		for i, z := range t.Zones {
			c.travelIndex[z] = i
		}
	}

	c.postCodes = make(map[string]int)
	for i, z := range c.data.Zones {
		if err := c.checkRef(fmt.Sprintf("zones[%d].holidayCalendar", i), z.HolidayCalendar, c.holidays, "holiday calendar"); err != nil {
			return nil, err
		}
		for j, pc := range z.PostCodes {
			if k, dup := c.postCodes[pc]; dup {
				return nil, FieldError(fmt.Sprintf("zones[%d].postCodes[%d]", i, j), "postcode %q already belongs to zone %q", pc, c.data.Zones[k].ID)
			}
			c.postCodes[pc] = i
		}
	}
	for i, p := range c.data.Places {
		if err := c.checkRef(fmt.Sprintf("places[%d].zone", i), p.Zone, c.zones, "zone"); err != nil {
			return nil, err
		}
	}
	for i, r := range c.data.Resources {
		for j, z := range r.Zones {
			if err := c.checkRef(fmt.Sprintf("resources[%d].zones[%d]", i, j), z, c.zones, "zone"); err != nil {
				return nil, err
			}
		}
		if err := c.checkRef(fmt.Sprintf("resources[%d].placeId", i), r.PlaceID, c.places, "place"); err != nil {
			return nil, err
		}
		if err := c.checkRef(fmt.Sprintf("resources[%d].holidayCalendar", i), r.HolidayCalendar, c.holidays, "holiday calendar"); err != nil {
			return nil, err
		}
	}

	// Sorted only now, so that errors above name the caller's indexes.
	slices.SortFunc(c.data.Resources, func(a, b Resource) int { return cmp.Compare(a.ID, b.ID) })
	for i, r := range c.data.Resources {
		c.resources[r.ID] = i
	}
	return c, nil
}

// checkNodeIDs keeps the ids of resources, places and categories apart: they are GraphQL
// nodes, which node(id:) finds by id alone.
func (c *Calendar) checkNodeIDs() error {
	others := []struct {
		what  string
		index map[string]int
	}{{"a place", c.places}, {"a category", c.categories}}
	for i, r := range c.data.Resources {
		for _, o := range others {
			if _, taken := o.index[r.ID]; taken {
				return FieldError(fmt.Sprintf("resources[%d].id", i), "%q is already the id of %s: resources, places and categories share one id space", r.ID, o.what)
			}
		}
	}
	for i, p := range c.data.Places {
		if _, taken := c.categories[p.ID]; taken {
			return FieldError(fmt.Sprintf("places[%d].id", i), "%q is already the id of a category: resources, places and categories share one id space", p.ID)
		}
	}
	return nil
}

// checkRef accepts an empty reference (the field is optional) or the id of an existing item.
func (c *Calendar) checkRef(field, id string, index map[string]int, what string) error {
	if id == "" {
		return nil
	}
	if _, ok := index[id]; !ok {
		return FieldError(field, "unknown %s %q", what, id)
	}
	return nil
}

func indexIDs[T any](field string, items []T, id func(*T) string, validate func(*T) error) (map[string]int, error) {
	index := make(map[string]int, len(items))
	for i := range items {
		if err := validate(&items[i]); err != nil {
			return nil, prefixField(fmt.Sprintf("%s[%d]", field, i), err)
		}
		key := id(&items[i])
		if j, dup := index[key]; dup {
			return nil, FieldError(fmt.Sprintf("%s[%d].id", field, i), "%q is already used by %s[%d]", key, field, j)
		}
		index[key] = i
	}
	return index, nil
}

// Data returns the snapshot's content (read-only).
func (c *Calendar) Data() CalendarData { return c.data }

// Resources returns every resource, sorted by id (read-only).
func (c *Calendar) Resources() []Resource { return c.data.Resources }

// Resource returns the resource with the given id.
func (c *Calendar) Resource(id string) (*Resource, bool) {
	return lookup(c.data.Resources, c.resources, id)
}

// Category returns the category with the given id.
func (c *Calendar) Category(id string) (*Category, bool) {
	return lookup(c.data.Categories, c.categories, id)
}

// Zone returns the zone with the given id.
func (c *Calendar) Zone(id string) (*Zone, bool) { return lookup(c.data.Zones, c.zones, id) }

// Place returns the managed place with the given id.
func (c *Calendar) Place(id string) (*Place, bool) { return lookup(c.data.Places, c.places, id) }

// HolidayDays returns the days a holiday calendar closes (civil day as ParseCivilDate gives it
// → the holiday's name); nil for an unknown calendar.
func (c *Calendar) HolidayDays(id string) map[int64]string { return c.closedDays[id] }

// HolidayCalendar returns the holiday calendar with the given id.
func (c *Calendar) HolidayCalendar(id string) (*HolidayCalendar, bool) {
	return lookup(c.data.HolidayCalendars, c.holidays, id)
}

// ZoneOfPostCode returns the zone that covers a postcode.
func (c *Calendar) ZoneOfPostCode(postCode string) (*Zone, bool) {
	i, ok := c.postCodes[postCode]
	if !ok {
		return nil, false
	}
	return &c.data.Zones[i], true
}

// ZoneOf returns the work zone of a place: a managed place's, or the zone that covers a
// postcode; "" for anything else.
func (c *Calendar) ZoneOf(place string) string {
	if p, ok := c.Place(place); ok {
		return p.Zone
	}
	if z, ok := c.ZoneOfPostCode(place); ok {
		return z.ID
	}
	return ""
}

// Location returns the loaded time zone for a name used anywhere in the calendar, or nil.
func (c *Calendar) Location(name string) *time.Location { return c.locations[name] }

func lookup[T any](items []T, index map[string]int, id string) (*T, bool) {
	i, ok := index[id]
	if !ok {
		return nil, false
	}
	return &items[i], true
}

// clone copies d deeply enough that the caller's later changes do not reach the snapshot.
func (d CalendarData) clone() CalendarData {
	out := CalendarData{
		Resources:        slices.Clone(d.Resources),
		Categories:       slices.Clone(d.Categories),
		Zones:            slices.Clone(d.Zones),
		Places:           slices.Clone(d.Places),
		HolidayCalendars: slices.Clone(d.HolidayCalendars),
	}
	for i := range out.Resources {
		r := &out.Resources[i]
		r.Zones = slices.Clone(r.Zones)
		r.Skills = slices.Clone(r.Skills)
		r.Shifts = slices.Clone(r.Shifts)
		r.Exceptions = slices.Clone(r.Exceptions)
	}
	for i := range out.Categories {
		k := &out.Categories[i]
		k.RequiredSkills = slices.Clone(k.RequiredSkills)
		k.ResourceKinds = slices.Clone(k.ResourceKinds)
		k.Windows = slices.Clone(k.Windows)
		k.Requirements = slices.Clone(k.Requirements)
		for j := range k.Requirements {
			k.Requirements[j].Skills = slices.Clone(k.Requirements[j].Skills)
		}
	}
	for i := range out.Zones {
		out.Zones[i].PostCodes = slices.Clone(out.Zones[i].PostCodes)
	}
	for i := range out.HolidayCalendars {
		h := &out.HolidayCalendars[i]
		h.Dates = slices.Clone(h.Dates)
		h.Blackouts = slices.Clone(h.Blackouts)
	}
	if d.TravelTimes != nil {
		t := &TravelTimes{Zones: slices.Clone(d.TravelTimes.Zones)}
		for _, row := range d.TravelTimes.Minutes {
			t.Minutes = append(t.Minutes, slices.Clone(row))
		}
		out.TravelTimes = t
	}
	return out
}

// Merge returns d with the items of changes put in: an item replaces the one with its id, or is
// added. The result still has to pass NewCalendar.
func (d CalendarData) Merge(changes CalendarData) CalendarData {
	out := d.clone()
	out.Resources = mergeByID(out.Resources, changes.Resources, func(r Resource) string { return r.ID })
	out.Categories = mergeByID(out.Categories, changes.Categories, func(c Category) string { return c.ID })
	out.Zones = mergeByID(out.Zones, changes.Zones, func(z Zone) string { return z.ID })
	out.Places = mergeByID(out.Places, changes.Places, func(p Place) string { return p.ID })
	out.HolidayCalendars = mergeByID(out.HolidayCalendars, changes.HolidayCalendars, func(h HolidayCalendar) string { return h.ID })
	if changes.TravelTimes != nil {
		out.TravelTimes = changes.clone().TravelTimes // the matrix is one item: it is replaced whole
	}
	return out
}

func mergeByID[T any](items, changes []T, id func(T) string) []T {
	for _, c := range changes {
		if i := slices.IndexFunc(items, func(it T) bool { return id(it) == id(c) }); i >= 0 {
			items[i] = c
		} else {
			items = append(items, c)
		}
	}
	return items
}

// Len is the number of items in d.
func (d CalendarData) Len() int {
	n := len(d.Resources) + len(d.Categories) + len(d.Zones) + len(d.Places) + len(d.HolidayCalendars)
	if d.TravelTimes != nil {
		n++
	}
	return n
}
