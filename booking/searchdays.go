package booking

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/slots"
)

// Answers by day. A search's window is assembled from the answers of the local days it
// touches (in the time zone its days are grouped in), each computed once for its category and
// target (zone or managed place, or the one resource) and kept under a version that covers all
// it depends on: the calendar, the busy time of the UTC days around it (slots.BusyDays: a
// buffer before, a shift and a buffer after, for shifts that cross midnight and buffers that
// spill over) and the minimum notice and horizon where they cut into it. Another postcode of
// the zone, another start day or another window length finds the days already computed; a
// booking changes the versions of the days around it only.
//
// The versions of all the days are read in one round trip before any busy time, as Search's
// window version is, so a day answer kept under a version is never older than a booking
// answered before that version was read.

// maxDayRun bounds the local days computed in one engine run (slots.MaxSearchWindow, with
// room for days of 25 hours).
const maxDayRun = 28

// localDay is one local day of a search's window: the instants [from, to) whose starts it
// holds, and its key and version among the answers kept.
type localDay struct {
	from, to time.Time
	key      answerKey
	version  string
}

// localDays lists the local days in loc that hold the starts of [from, to): nil when their
// midnights do not tile the window (a zone whose clock skips or repeats a midnight in a way
// time.Date cannot name), which the window's own search then answers.
func localDays(from, to time.Time, loc *time.Location) []localDay {
	y, m, d := from.In(loc).Date()
	var days []localDay
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if start.After(from) {
		return nil
	}
	for i := 1; start.Before(to); i++ {
		end := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		if !end.After(start) {
			return nil
		}
		days = append(days, localDay{from: start.UTC(), to: end.UTC()})
		start = end
	}
	return days
}

// searchByDay answers q from day answers. It reports false when it cannot: the search has
// neither a zone nor a resource to version days by, the cache gives no versions (Redis is
// down), the days cannot be told apart, or the window has no slot (the window's own search
// then says why, and looks ahead for the next dates).
func (s *Service) searchByDay(ctx context.Context, cal *apphub.Calendar, calVersion string, sc *scope, q SlotQuery) (*SlotResult, bool, error) {
	days := s.versionedDays(ctx, cal, calVersion, sc, q)
	if days == nil {
		return nil, false, nil
	}
	answers := make([]*SlotResult, len(days))
	missing := make([]int, len(days))
	for i := range missing {
		missing[i] = i
	}
	missing = s.fillKept(days, missing, answers)
	source, took := SourceMemory, time.Duration(0)
	if len(missing) > 0 {
		var err error
		if source, took, err = s.missingDays(ctx, cal, q, days, missing, answers); err != nil {
			return nil, false, err
		}
	}
	res := assemble(sc.TimeZone(), q.From, q.To, days, answers)
	if len(res.Days) == 0 {
		return nil, false, nil
	}
	s.observe(source, took)
	return res, true, nil
}

// versionedDays are the local days of q's window with their keys and versions, or nil when
// the search has neither a zone nor a resource to version days by, the days cannot be told
// apart, or the cache gives no versions.
func (s *Service) versionedDays(ctx context.Context, cal *apphub.Calendar, calVersion string, sc *scope, q SlotQuery) []localDay {
	loc := cal.Location(sc.TimeZone())
	if (sc.Zone() == "" && sc.Resource() == "") || loc == nil {
		return nil
	}
	days := localDays(q.From, q.To, loc)
	if len(days) == 0 || !s.dayVersions(ctx, calVersion, sc, q, days) {
		return nil
	}
	return days
}

// dayVersions sets the key and the version of each day, from one round trip to the cache,
// and reports whether the cache gave them.
func (s *Service) dayVersions(ctx context.Context, calVersion string, sc *scope, q SlotQuery, days []localDay) bool {
	first, last := slots.BusyDays(days[0].from, days[len(days)-1].to)
	var utc []time.Time
	for d := first; !d.After(last); d = d.Add(24 * time.Hour) {
		utc = append(utc, d)
	}
	tokens, ok := s.dayTokens(ctx, sc, utc)
	if !ok {
		return false
	}
	earliest, latest := sc.Timing()
	target := sc.Target()
	for i := range days {
		d := &days[i]
		d.key = answerKey{category: q.Category, target: target, resource: q.Resource, from: d.from.UnixNano(), to: d.to.UnixNano(), day: true}
		lo, hi := slots.BusyDays(d.from, d.to)
		// The notice and the horizon matter where they fall inside the day: outside it, every
		// instant before (or after) the day gives the same answer.
		from, to := d.from.Unix(), d.to.Unix()
		e := min(max(earliest.Unix(), from), to)
		l := int64(math.MaxInt64)
		if !latest.IsZero() {
			l = min(max(latest.Unix(), from-1), to)
		}
		d.version = versionOf(calVersion, tokens[int(lo.Sub(first)/(24*time.Hour)):int(hi.Sub(first)/(24*time.Hour))+1], e, l)
	}
	return true
}

// missingDays fills the answers of the missing days, in runs of consecutive days: from
// another instance's answers at the same versions, else computed (then kept and shared). One
// search at a time computes days of a (category, target, resource): the others wait for it,
// then take from memory what it kept and compute only what is still missing, so that searches
// missing overlapping days at once (one of them may look while another is keeping its days)
// compute each day once. It returns where this search's answers came from: SourceComputed
// (and how long that took) when it computed some, SourceRedis when it loaded them,
// SourceMemory when it waited for another search.
func (s *Service) missingDays(ctx context.Context, cal *apphub.Calendar, q SlotQuery, days []localDay, missing []int, answers []*SlotResult) (string, time.Duration, error) {
	source, took := SourceMemory, time.Duration(0)
	lane := fmt.Sprintf("day\x00%s\x00%s\x00%s", days[0].key.category, days[0].key.target, days[0].key.resource)
	for len(missing) > 0 {
		n := 1
		for n < len(missing) && n < maxDayRun && missing[n] == missing[0]+n {
			n++
		}
		at := missing[0]
		run := days[at : at+n]
		ran := false
		v, err, _ := s.flight.Do(lane, func() (any, error) {
			ran = true
			// It goes on if its own caller leaves: the others still want it.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opTimeout)
			defer cancel()
			if kept := s.keptDays(run); kept != nil {
				return kept, nil // computed by a search that ended after this one looked
			}
			if found := s.sharedDays(ctx, cal, run); found != nil {
				if source == SourceMemory {
					source = SourceRedis
				}
				return found, nil
			}
			// Wall-clock time, not s.now: the service's clock is the calendar's, which tests
			// move.
			started := time.Now()
			out, err := s.computeRun(ctx, cal, q, run)
			source, took = SourceComputed, took+time.Since(started)
			return out, err
		})
		if err != nil {
			return "", 0, err
		}
		if ran {
			copy(answers[at:], v.([]*SlotResult))
			missing = missing[n:]
			continue
		}
		// Another search's computation, of its own days: take what it kept, go on with the rest.
		missing = s.fillKept(days, missing, answers)
	}
	return source, took, nil
}

// kept returns the answer of d kept in memory at its version, nil when there is none.
func (s *Service) kept(d localDay) *SlotResult {
	if a, found := s.answers.GetIfPresent(d.key); found && a.res.Version == d.version {
		return a.res
	}
	return nil
}

// fillKept fills the answers of the days at indices that are kept in memory, and returns the
// indices of the others.
func (s *Service) fillKept(days []localDay, indices []int, answers []*SlotResult) []int {
	missing := indices[:0]
	for _, i := range indices {
		if answers[i] = s.kept(days[i]); answers[i] == nil {
			missing = append(missing, i)
		}
	}
	return missing
}

// keptDays returns the answers of run kept in memory at their versions; nil unless all are.
func (s *Service) keptDays(run []localDay) []*SlotResult {
	out := make([]*SlotResult, len(run))
	for i, d := range run {
		if out[i] = s.kept(d); out[i] == nil {
			return nil
		}
	}
	return out
}

// sharedDays returns the answers of run that another instance computed at the same versions,
// in one round trip; nil unless it found them all.
func (s *Service) sharedDays(ctx context.Context, cal *apphub.Calendar, run []localDay) []*SlotResult {
	if s.shared == nil {
		return nil
	}
	keys := make([]string, len(run))
	for i, d := range run {
		keys[i] = sharedDayKey(d.key)
	}
	out := make([]*SlotResult, len(run))
	for i, data := range s.shared.LoadAnswers(ctx, keys) {
		if data == nil {
			return nil
		}
		res, err := decodeAnswer(cal, data)
		if err != nil || res.Version != run[i].version {
			return nil
		}
		out[i] = res
	}
	for i, d := range run {
		s.keep(d.key, answer{res: out[i]})
	}
	return out
}

func sharedDayKey(k answerKey) string {
	return fmt.Sprintf("day:%s|%s|%s|%d", k.category, k.target, k.resource, k.from/int64(time.Second))
}

// computeRun runs the engine over consecutive days, on the busy time they depend on, and
// splits its slots by day.
func (s *Service) computeRun(ctx context.Context, cal *apphub.Calendar, q SlotQuery, run []localDay) ([]*SlotResult, error) {
	sq := slots.Query{Category: q.Category, Place: q.Place, Resource: q.Resource, From: run[0].from, To: run[len(run)-1].to, Now: q.Now}
	sc, err := slots.NewScope(cal, sq)
	if err != nil {
		return nil, err
	}
	busy, err := s.busyOf(ctx, sc.Resources(), sc.Days(false))
	if err != nil {
		return nil, err
	}
	found, err := slots.OfferedSlots(cal, busy, sq)
	if err != nil {
		return nil, err
	}
	out := make([]*SlotResult, len(run))
	asOf := s.now().UTC()
	for i, d := range run {
		out[i] = &SlotResult{Result: slots.Result{TimeZone: found.TimeZone}, AsOf: asOf, Version: d.version}
	}
	// A date's slots are ascending, and the days tile the run: each day takes the part of
	// each date that starts within it.
	for _, date := range found.Days {
		for i, d := range run {
			part := startingIn(date.Slots, d.from, d.to)
			if len(part) > 0 {
				out[i].Days = append(out[i].Days, apphub.SlotDay{Date: date.Date, Slots: part})
			}
		}
	}
	keys := make([]string, len(run))
	data := make([][]byte, len(run))
	for i, d := range run {
		s.keep(d.key, answer{res: out[i]})
		keys[i], data[i] = sharedDayKey(d.key), encodeAnswer(out[i])
	}
	if s.shared != nil {
		s.shared.StoreAnswers(ctx, keys, data)
	}
	return out, nil
}

// startingIn returns the part of slots, ascending by start, that starts in [from, to), with
// no room to append into the rest.
func startingIn(list []apphub.Slot, from, to time.Time) []apphub.Slot {
	lo := sort.Search(len(list), func(i int) bool { return !list[i].Start.Before(from) })
	hi := sort.Search(len(list), func(i int) bool { return !list[i].Start.Before(to) })
	return list[lo:hi:hi]
}

// assemble puts together the window [from, to) from the answers of its days: their slots
// that start in the window, by local date (a date split over two days, by a clock that goes
// back across midnight, is one).
func assemble(timeZone string, from, to time.Time, days []localDay, answers []*SlotResult) *SlotResult {
	res := &SlotResult{Result: slots.Result{TimeZone: timeZone}, Version: windowVersion(from, to, days)}
	for _, a := range answers {
		if a.AsOf.After(res.AsOf) {
			res.AsOf = a.AsOf
		}
		for _, d := range a.Days {
			part := startingIn(d.Slots, from, to)
			if len(part) == 0 {
				continue
			}
			if n := len(res.Days); n > 0 && res.Days[n-1].Date == d.Date {
				res.Days[n-1].Slots = append(slices.Clip(res.Days[n-1].Slots), part...)
				continue
			}
			res.Days = append(res.Days, apphub.SlotDay{Date: d.Date, Slots: part})
		}
	}
	return res
}

// windowVersion is the version of the answer assembled for [from, to) from days: the same
// window over days of the same versions, the same answer.
func windowVersion(from, to time.Time, days []localDay) string {
	b := make([]byte, 0, 16+len(days)*20)
	b = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(b, uint64(from.UnixNano())), uint64(to.UnixNano()))
	for _, d := range days {
		b = append(b, d.version...)
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:15])
}
