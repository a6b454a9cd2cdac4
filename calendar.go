package apphub

import (
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // slots must never depend on the host's zoneinfo
)

// Kinds of resources the demo and the transports know. Kind is an open vocabulary: a
// category lists the kinds it may use.
const (
	KindTechnician = "technician"
	KindCounter    = "counter"
	KindAgentPool  = "agentPool"
	// KindEquipment is a thing a job needs besides people (a splicing machine, a van, a room),
	// booked like a technician; its type is one of its Skills (e.g. "splicer").
	KindEquipment = "equipment"
)

// Kinds of calendar exceptions.
const (
	ExceptionAbsence = "absence" // the resource does not work, whatever its shifts say
	ExceptionOpening = "opening" // the resource works, even outside its shifts or on a holiday
)

// MaxShift is the longest shift and the longest step between starts: one day.
const MaxShift = 24 * time.Hour

// MaxBuffer bounds travel buffers so that a booking's footprint stays local to its day.
const MaxBuffer = 12 * time.Hour

// Resource is something bookable: a technician, a store counter, a phone-agent pool.
//
// Its working time is wall-clock time in TimeZone: the Shifts repeat every week; a holiday of
// its HolidayCalendar closes the whole local date; an opening exception adds time (and
// overrides holidays); an absence exception or a blackout removes time (and overrides
// everything). An appointment occupies its duration plus BufferBefore and BufferAfter, all
// of which must be working time with a seat left.
type Resource struct {
	ID              string
	Kind            string
	Name            string
	TimeZone        string   // IANA name, e.g. Europe/Paris
	Zones           []string // work zones served
	Skills          []string
	PlaceID         string // the managed place (store) a counter belongs to; optional
	Capacity        int    // parallel appointments; 0 means 1
	Shifts          []Shift
	Exceptions      []Exception
	HolidayCalendar string // optional
	BufferBefore    time.Duration
	BufferAfter     time.Duration
}

// Shift is a weekly working interval that starts on Weekday at Start (local "HH:MM") and
// lasts Duration, or runs until End ("HH:MM"; an End at or before Start means the next day).
// Exactly one of End and Duration is set. A shift may cross midnight; its end is the wall
// clock reading start+duration, so across a DST change it is an hour shorter or longer.
type Shift struct {
	Weekday  time.Weekday
	Start    string
	End      string
	Duration time.Duration
}

// Exception is a one-off change to a resource's hours: an absence or an extra opening,
// from From to To (local "YYYY-MM-DDTHH:MM", To excluded).
type Exception struct {
	Kind   string
	From   string
	To     string
	Reason string
}

// Category is an appointment type: how long it takes, who can do it and when it may start.
// Starts are offered either every Step (aligned to local midnight) or as arrival Windows.
type Category struct {
	ID             string
	Name           string
	Duration       time.Duration
	RequiredSkills []string
	ResourceKinds  []string // empty means any kind
	Step           time.Duration
	Windows        []Window
	MinNotice      time.Duration // earliest start is now + MinNotice
	Horizon        time.Duration // latest start is now + Horizon; 0 means no limit
	AtPlace        bool          // booked at a managed place (store) with its counters
	// Requirements, when set, make the category a crew job: it needs every requirement met at
	// once, each by distinct resources, for the whole duration (lead times included). They
	// replace RequiredSkills and ResourceKinds, and need a Step and a place.
	Requirements []Requirement
}

// Requirement is Count distinct resources of Kind with all of Skills that a crew job needs,
// e.g. two fiber technicians, or one piece of equipment of type splicer.
type Requirement struct {
	Kind   string
	Skills []string
	Count  int
}

// MaxCrew is the most resources one crew job may need.
const MaxCrew = 8

// CrewSize is how many resources the category books at once: the sum of its requirements'
// counts, or 1 when it has none.
func (c *Category) CrewSize() int {
	n := 0
	for _, q := range c.Requirements {
		n += q.Count
	}
	return max(n, 1)
}

// Fits reports whether res has q's kind and skills.
func (q *Requirement) Fits(res *Resource) bool {
	if res.Kind != q.Kind {
		return false
	}
	for _, s := range q.Skills {
		if !slices.Contains(res.Skills, s) {
			return false
		}
	}
	return true
}

// Window is an arrival window, local "HH:MM" to "HH:MM" (End may be "24:00"), within one day.
type Window struct {
	Start string
	End   string
}

// Zone is a work zone: the postcodes it covers and the region's holiday calendar.
type Zone struct {
	ID              string
	Name            string
	TimeZone        string
	PostCodes       []string
	HolidayCalendar string // optional: the region's public holidays, for reference
}

// Place is a managed place where appointments happen, such as a store.
type Place struct {
	ID       string
	Name     string
	TimeZone string
	Zone     string
	PostCode string
	Street   string
	City     string
	Country  string // ISO 3166-1 alpha-2
}

// HolidayCalendar lists a region's public holidays (whole local dates) and blackouts (local
// date-time ranges when nothing is booked, e.g. a network freeze).
type HolidayCalendar struct {
	ID        string
	Region    string
	Dates     []Holiday
	Blackouts []Blackout
}

// Holiday is one public holiday, a local date "YYYY-MM-DD".
type Holiday struct {
	Date string
	Name string
}

// Blackout closes From to To (local "YYYY-MM-DDTHH:MM", To excluded).
type Blackout struct {
	From string
	To   string
	Name string
}

// EffectiveCapacity is the number of parallel appointments the resource takes.
func (r *Resource) EffectiveCapacity() int {
	if r.Capacity == 0 {
		return 1
	}
	return r.Capacity
}

// Validate reports the first invalid field of r.
func (r *Resource) Validate() error { return r.validate(time.LoadLocation) }

func (r *Resource) validate(load locationLoader) error {
	if r.ID == "" {
		return FieldError("id", "is required")
	}
	if r.Kind == "" {
		return FieldError("kind", "is required")
	}
	if err := validateTimeZone("timeZone", r.TimeZone, load); err != nil {
		return err
	}
	if err := validateNames("zones", r.Zones); err != nil {
		return err
	}
	if err := validateNames("skills", r.Skills); err != nil {
		return err
	}
	if r.Capacity < 0 {
		return FieldError("capacity", "must not be negative, got %d", r.Capacity)
	}
	if r.Capacity > MaxCapacity {
		return FieldError("capacity", "must be at most %d, got %d", MaxCapacity, r.Capacity)
	}
	if err := validateBuffer("bufferBefore", r.BufferBefore); err != nil {
		return err
	}
	if err := validateBuffer("bufferAfter", r.BufferAfter); err != nil {
		return err
	}
	for i := range r.Shifts {
		if _, _, err := r.Shifts[i].Span(); err != nil {
			return prefixField(fmt.Sprintf("shifts[%d]", i), err)
		}
	}
	if err := validateWeek(r.Shifts); err != nil {
		return err
	}
	for i, e := range r.Exceptions {
		if e.Kind != ExceptionAbsence && e.Kind != ExceptionOpening {
			return FieldError(fmt.Sprintf("exceptions[%d].kind", i), "must be %q or %q, got %q", ExceptionAbsence, ExceptionOpening, e.Kind)
		}
		if _, _, err := civilRange(e.From, e.To); err != nil {
			return prefixField(fmt.Sprintf("exceptions[%d]", i), err)
		}
	}
	return nil
}

// Span returns the shift's start in minutes after midnight and its length in minutes.
func (s Shift) Span() (start, length int, err error) {
	if s.Weekday < time.Sunday || s.Weekday > time.Saturday {
		return 0, 0, FieldError("weekday", "must be Sunday (0) to Saturday (6), got %d", s.Weekday)
	}
	start, err = ParseClock(s.Start)
	if err != nil || start == 1440 {
		return 0, 0, FieldError("start", "must be a time of day HH:MM, got %q", s.Start)
	}
	if !onQuantum(int64(start)) {
		return 0, 0, FieldError("start", "must be a whole number of %v after midnight, got %q", Quantum, s.Start)
	}
	switch {
	case s.End != "" && s.Duration != 0:
		return 0, 0, FieldError("end", "set end or duration, not both")
	case s.Duration != 0:
		if s.Duration < 0 || s.Duration > MaxShift || !wholeQuanta(s.Duration) {
			return 0, 0, FieldError("duration", "must be a whole number of %v, at most %v, got %v", Quantum, MaxShift, s.Duration)
		}
		return start, int(s.Duration / time.Minute), nil
	case s.End != "":
		end, err := ParseClock(s.End)
		if err != nil {
			return 0, 0, FieldError("end", "must be a time of day HH:MM, got %q", s.End)
		}
		if !onQuantum(int64(end)) {
			return 0, 0, FieldError("end", "must be a whole number of %v after midnight, got %q", Quantum, s.End)
		}
		if end%1440 == start {
			return 0, 0, FieldError("end", "must differ from start; use duration 24h for a whole day")
		}
		length := end - start
		if length < 0 {
			length += 1440
		}
		return start, length, nil
	default:
		return 0, 0, FieldError("end", "end or duration is required")
	}
}

// validateWeek rejects shifts whose weekly intervals overlap, the week being a circle so that
// Saturday night runs into Sunday morning.
func validateWeek(shifts []Shift) error {
	const week = 7 * 1440
	type interval struct{ from, to int }
	spans := make([]interval, len(shifts))
	for i, s := range shifts {
		start, length, _ := s.Span()
		from := int(s.Weekday)*1440 + start
		spans[i] = interval{from, from + length}
	}
	for j := range spans {
		for i := 0; i < j; i++ {
			for _, shift := range []int{-week, 0, week} {
				if spans[i].from+shift < spans[j].to && spans[j].from < spans[i].to+shift {
					return FieldError(fmt.Sprintf("shifts[%d]", j), "overlaps shifts[%d] (%s)", i, shifts[i].describe())
				}
			}
		}
	}
	return nil
}

func (s Shift) describe() string {
	if s.End != "" {
		return fmt.Sprintf("%s %s–%s", s.Weekday, s.Start, s.End)
	}
	return fmt.Sprintf("%s %s for %v", s.Weekday, s.Start, s.Duration)
}

// Validate reports the first invalid field of c.
func (c *Category) Validate() error {
	if c.ID == "" {
		return FieldError("id", "is required")
	}
	if c.Duration <= 0 || !wholeQuanta(c.Duration) {
		return FieldError("duration", "must be a positive whole number of %v, got %v", Quantum, c.Duration)
	}
	if c.Duration > MaxShift {
		return FieldError("duration", "must be at most %v, got %v", MaxShift, c.Duration)
	}
	if err := validateNames("requiredSkills", c.RequiredSkills); err != nil {
		return err
	}
	if err := validateNames("resourceKinds", c.ResourceKinds); err != nil {
		return err
	}
	switch {
	case c.Step != 0 && len(c.Windows) > 0:
		return FieldError("step", "set step or windows, not both")
	case c.Step != 0:
		if c.Step < 0 || c.Step > MaxShift || !wholeQuanta(c.Step) {
			return FieldError("step", "must be a positive whole number of %v, at most %v, got %v", Quantum, MaxShift, c.Step)
		}
	case len(c.Windows) > 0:
		if err := c.validateWindows(); err != nil {
			return err
		}
	default:
		return FieldError("step", "step or windows is required")
	}
	if c.MinNotice < 0 {
		return FieldError("minNotice", "must not be negative, got %v", c.MinNotice)
	}
	if c.Horizon < 0 {
		return FieldError("horizon", "must not be negative, got %v", c.Horizon)
	}
	if c.Horizon != 0 && c.Horizon <= c.MinNotice {
		return FieldError("horizon", "must be longer than minNotice (%v), got %v", c.MinNotice, c.Horizon)
	}
	return c.validateRequirements()
}

func (c *Category) validateRequirements() error {
	if len(c.Requirements) == 0 {
		return nil
	}
	switch {
	case len(c.RequiredSkills) > 0 || len(c.ResourceKinds) > 0:
		return FieldError("requirements", "set requirements or requiredSkills and resourceKinds, not both")
	case c.Step == 0:
		return FieldError("requirements", "a crew job starts every step: set step, not windows")
	case c.AtPlace:
		return FieldError("requirements", "a crew job goes to the customer: it cannot be booked at a place")
	}
	total := 0
	for i, q := range c.Requirements {
		field := fmt.Sprintf("requirements[%d]", i)
		if q.Kind == "" {
			return FieldError(field+".kind", "is required")
		}
		if err := validateNames(field+".skills", q.Skills); err != nil {
			return err
		}
		if q.Count < 1 {
			return FieldError(field+".count", "must be at least 1, got %d", q.Count)
		}
		total += q.Count
	}
	if total > MaxCrew {
		return FieldError("requirements", "a crew may have at most %d members, got %d", MaxCrew, total)
	}
	return nil
}

func (c *Category) validateWindows() error {
	type span struct{ start, end, index int }
	spans := make([]span, len(c.Windows))
	for i, w := range c.Windows {
		start, end, err := w.Span()
		if err != nil {
			return prefixField(fmt.Sprintf("windows[%d]", i), err)
		}
		if time.Duration(end-start)*time.Minute < c.Duration {
			return FieldError(fmt.Sprintf("windows[%d]", i), "is shorter than the duration %v", c.Duration)
		}
		spans[i] = span{start, end, i}
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	for k := 1; k < len(spans); k++ {
		if spans[k].start < spans[k-1].end {
			return FieldError(fmt.Sprintf("windows[%d]", spans[k].index), "overlaps windows[%d]", spans[k-1].index)
		}
	}
	return nil
}

// Span returns the window's start and end in minutes after midnight.
func (w Window) Span() (start, end int, err error) {
	start, err = ParseClock(w.Start)
	if err != nil || start == 1440 || !onQuantum(int64(start)) {
		return 0, 0, FieldError("start", "must be a time of day HH:MM on a whole %v, got %q", Quantum, w.Start)
	}
	end, err = ParseClock(w.End)
	if err != nil || !onQuantum(int64(end)) {
		return 0, 0, FieldError("end", "must be a time of day HH:MM on a whole %v, got %q", Quantum, w.End)
	}
	if end <= start {
		return 0, 0, FieldError("end", "must be after start %q within the same day, got %q", w.Start, w.End)
	}
	return start, end, nil
}

// Validate reports the first invalid field of z.
func (z *Zone) Validate() error { return z.validate(time.LoadLocation) }

func (z *Zone) validate(load locationLoader) error {
	if z.ID == "" {
		return FieldError("id", "is required")
	}
	if err := validateTimeZone("timeZone", z.TimeZone, load); err != nil {
		return err
	}
	return validateNames("postCodes", z.PostCodes)
}

// Validate reports the first invalid field of p.
func (p *Place) Validate() error { return p.validate(time.LoadLocation) }

func (p *Place) validate(load locationLoader) error {
	if p.ID == "" {
		return FieldError("id", "is required")
	}
	if err := validateTimeZone("timeZone", p.TimeZone, load); err != nil {
		return err
	}
	if p.Zone == "" {
		return FieldError("zone", "is required")
	}
	return nil
}

// Validate reports the first invalid field of h.
func (h *HolidayCalendar) Validate() error {
	if h.ID == "" {
		return FieldError("id", "is required")
	}
	seen := make(map[int64]int, len(h.Dates))
	for i, d := range h.Dates {
		day, err := ParseCivilDate(d.Date)
		if err != nil {
			return FieldError(fmt.Sprintf("dates[%d].date", i), "must be a date YYYY-MM-DD, got %q", d.Date)
		}
		if j, dup := seen[day]; dup {
			return FieldError(fmt.Sprintf("dates[%d].date", i), "%s is already listed as dates[%d]", d.Date, j)
		}
		seen[day] = i
	}
	for i, b := range h.Blackouts {
		if _, _, err := civilRange(b.From, b.To); err != nil {
			return prefixField(fmt.Sprintf("blackouts[%d]", i), err)
		}
	}
	return nil
}

// Span returns the exception's local range in minutes since 1970-01-01T00:00.
func (e Exception) Span() (from, to int64, err error) { return civilRange(e.From, e.To) }

// Span returns the blackout's local range in minutes since 1970-01-01T00:00.
func (b Blackout) Span() (from, to int64, err error) { return civilRange(b.From, b.To) }

func civilRange(fromS, toS string) (from, to int64, err error) {
	from, err = ParseCivilDateTime(fromS)
	if err != nil {
		return 0, 0, FieldError("from", "must be a local date and time YYYY-MM-DDTHH:MM, got %q", fromS)
	}
	if !onQuantum(from) {
		return 0, 0, FieldError("from", "must be on a whole %v, got %q", Quantum, fromS)
	}
	to, err = ParseCivilDateTime(toS)
	if err != nil {
		return 0, 0, FieldError("to", "must be a local date and time YYYY-MM-DDTHH:MM, got %q", toS)
	}
	if !onQuantum(to) {
		return 0, 0, FieldError("to", "must be on a whole %v, got %q", Quantum, toS)
	}
	if to <= from {
		return 0, 0, FieldError("to", "must be after from %q, got %q", fromS, toS)
	}
	return from, to, nil
}

type locationLoader func(name string) (*time.Location, error)

func validateTimeZone(field, name string, load locationLoader) error {
	if name == "" {
		return FieldError(field, "is required")
	}
	// "Local" and "UTC"-like aliases are fine for LoadLocation, but Local depends on the host.
	if name == "Local" {
		return FieldError(field, "must be an IANA time zone name, not Local")
	}
	if _, err := load(name); err != nil {
		return FieldError(field, "unknown time zone %q", name)
	}
	return nil
}

func validateBuffer(field string, d time.Duration) error {
	if !wholeQuanta(d) || d > MaxBuffer {
		return FieldError(field, "must be a whole number of %v between 0 and %v, got %v", Quantum, MaxBuffer, d)
	}
	return nil
}

func validateNames(field string, names []string) error {
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			return FieldError(fmt.Sprintf("%s[%d]", field, i), "must not be empty")
		}
		if j := slices.Index(names[:i], n); j >= 0 {
			return FieldError(fmt.Sprintf("%s[%d]", field, i), "%q is already listed as %s[%d]", n, field, j)
		}
	}
	return nil
}

// prefixField returns err with its field placed under prefix, so that a nested value's error
// names its path in the enclosing value.
func prefixField(prefix string, err error) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	field := prefix
	if e.Field != "" {
		field = prefix + "." + e.Field
	}
	return &Error{Code: e.Code, Message: e.Message, Field: field, Err: e.Err}
}
