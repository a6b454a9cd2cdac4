package booking

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apphub/apphub"
)

// maxAnswerBytes bounds the answers kept in memory (one per distinct query), as sizeOf counts.
const maxAnswerBytes = 64 << 20

// Search returns the free slots for q on the current calendar and the busy time (claims) in
// the cache or MongoDB. q.Now defaults to the service's clock, q.From to now to the quantum (so
// that the window, and the answer kept for it, holds for a quantum) and q.To to
// DefaultSearchWindow after q.From. Every claim present counts as
// busy: a hold's until the reaper frees it, so that search never offers time a booking would be
// refused.
//
// The answer carries a version: a digest of the calendar's version, the quanta the minimum
// notice and the horizon fall on, and the cache's version of the days searched (for the zone
// searched, or the one resource). The version is read before the busy time, and the cache
// changes it before any booking on those days answers, so an answer kept under a version is
// never older than a booking answered before that version was read: the service keeps the last
// answer of each query and serves it again while the version stays the same. The result is
// shared and must not be modified.
func (s *Service) Search(ctx context.Context, q SlotQuery) (*SlotResult, error) {
	if q.Now.IsZero() {
		q.Now = s.now()
	}
	if q.From.IsZero() {
		q.From = q.Now.UTC().Truncate(apphub.Quantum)
	}
	if q.To.IsZero() {
		q.To = q.From.Add(DefaultSearchWindow)
	}
	if err := q.validate(); err != nil {
		return nil, err
	}
	cal, calVersion, err := s.CalendarAndVersion(ctx)
	if err != nil {
		return nil, err
	}
	sc, err := newScope(cal, q)
	if err != nil {
		return nil, err
	}
	prev, found := s.answers.Get(sc.key)
	// An answer whose window had no slot depends on the look-ahead for the next dates too.
	extended := found && prev.extended
	version := s.version(ctx, calVersion, sc, q, extended)
	if version != "" && found && prev.res.Version == version {
		return prev.res, nil
	}
	if version == "" {
		return s.answer(ctx, cal, calVersion, sc, q, extended, version)
	}
	// The searches that miss the same answer at the same version (right after a booking, all
	// of a zone's channel apps at once) wait for one of them to compute it. It goes on if its
	// own caller leaves: the others still want it.
	v, err, _ := s.flight.Do(fmt.Sprintf("%v\x00%s", sc.key, version), func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opTimeout)
		defer cancel()
		return s.answer(ctx, cal, calVersion, sc, q, extended, version)
	})
	if err != nil {
		return nil, err
	}
	return v.(*SlotResult), nil
}

// answer is a search's answer at version when the service has not kept it: shared by another
// instance, or computed (and then kept and shared).
func (s *Service) answer(ctx context.Context, cal *apphub.Calendar, calVersion string, sc *scope, q SlotQuery, extended bool, version string) (*SlotResult, error) {
	if a, found := s.answers.Get(sc.key); version != "" && found && a.res.Version == version {
		return a.res, nil // computed by a search that ended after this one looked
	}
	if res := s.sharedAnswer(ctx, q, version); res != nil {
		s.keep(sc.key, answer{res: res, extended: extended})
		return res, nil
	}
	res, err := s.compute(ctx, cal, sc, q, extended)
	if err != nil {
		return nil, err
	}
	if !extended && len(res.Days) == 0 && len(res.NextDates) > 0 {
		// The next dates were looked for with the window's busy time only, which may offer
		// too much: read the version of, then the busy time up to, the end of the look-ahead,
		// and search again.
		extended = true
		version = s.version(ctx, calVersion, sc, q, extended)
		if res, err = s.compute(ctx, cal, sc, q, extended); err != nil {
			return nil, err
		}
	}
	res.AsOf, res.Version = s.now().UTC(), version
	if version != "" {
		s.keep(sc.key, answer{res: res, extended: extended})
		s.shareAnswer(ctx, q, res)
	}
	return res, nil
}

// SharedAnswers keeps computed answers where every instance finds them: the last one stored
// for each query, with its version. The instance that computes an answer first stores it, the
// others load it instead of computing, when its version is the one they read. One entry per
// query keeps the memory bounded while bookings keep changing versions.
type SharedAnswers interface {
	// LoadAnswer returns the data stored under key, nil when there is none or it cannot be read.
	LoadAnswer(ctx context.Context, key string) []byte
	StoreAnswer(ctx context.Context, key string, data []byte)
}

// sharedKey names q's answers.
func sharedKey(q SlotQuery) string {
	h := sha256.New()
	for _, f := range []string{q.Category, q.Place, q.Resource, q.From.UTC().Format(time.RFC3339Nano), q.To.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:15])
}

func (s *Service) sharedAnswer(ctx context.Context, q SlotQuery, version string) *SlotResult {
	if s.shared == nil || version == "" {
		return nil
	}
	data := s.shared.LoadAnswer(ctx, sharedKey(q))
	if data == nil {
		return nil
	}
	var res SlotResult
	if err := json.Unmarshal(data, &res); err != nil {
		s.logger.WarnContext(ctx, "a shared search answer could not be read; computing it", "err", err)
		return nil
	}
	if res.Version != version {
		return nil // an answer from before (or after) a change: the version covers the look-ahead exactly when the answer does
	}
	return &res
}

func (s *Service) shareAnswer(ctx context.Context, q SlotQuery, res *SlotResult) {
	if s.shared == nil {
		return
	}
	data, err := json.Marshal(res)
	if err != nil {
		s.logger.ErrorContext(ctx, "a search answer could not be encoded", "err", err)
		return
	}
	s.shared.StoreAnswer(ctx, sharedKey(q), data)
}

// scope is what a search's answer depends on besides the calendar: the busy time of the days
// around its window (through the look-ahead when extended), for its zone or its one resource,
// and the quanta of the minimum notice and the horizon.
type scope struct {
	key                answerKey        // the query, for the answers kept
	e                  *engine          // without resources: the target and the timing bounds
	only               *apphub.Resource // the one resource asked for, if any
	first, last, ahead time.Time        // the UTC days of the window's busy time, and the look-ahead's last
}

func newScope(cal *apphub.Calendar, q SlotQuery) (*scope, error) {
	e, only, err := newBareEngine(cal, q.Category, q.Place, q.Resource, q.Now)
	if err != nil {
		return nil, err
	}
	return &scope{key: answerKey{q.Category, q.Place, q.Resource, q.From.UnixNano(), q.To.UnixNano()}, e: e, only: only,
		first: apphub.DayOf(q.From.Add(-apphub.MaxBuffer)),
		last:  apphub.DayOf(q.To.Add(apphub.MaxShift + apphub.MaxBuffer)),
		ahead: apphub.DayOf(time.Unix(e.lookaheadEnd(ceilSeconds(q.To)), 0).Add(apphub.MaxShift + apphub.MaxBuffer))}, nil
}

// days lists the UTC days whose busy time the answer needs.
func (sc *scope) days(extended bool) []time.Time {
	last := sc.last
	if extended {
		last = maxTime(last, sc.ahead)
	}
	var out []time.Time
	for d := sc.first; !d.After(last); d = d.Add(24 * time.Hour) {
		out = append(out, d)
	}
	return out
}

// version returns the version of q's answer as of now, or "" when the cache cannot give one
// or the search has neither a zone nor a single resource to version it by.
func (s *Service) version(ctx context.Context, calVersion string, sc *scope, q SlotQuery, extended bool) string {
	var keys, zones []apphub.DayKey
	for _, d := range sc.days(extended) {
		switch {
		case sc.only != nil:
			keys = append(keys, apphub.DayKey{Resource: sc.only.ID, Day: d})
		case sc.e.target.zone != "":
			zones = append(zones, apphub.DayKey{Resource: sc.e.target.zone, Day: d})
		default:
			return ""
		}
	}
	v, err := s.cache.Version(ctx, keys, zones)
	if err != nil {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(calVersion))
	h.Write([]byte{0})
	h.Write([]byte(v))
	h.Write(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(sc.e.earliest)), uint64(sc.e.latest)))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:15])
}

// compute runs the engine on the busy time of the scope's resources.
func (s *Service) compute(ctx context.Context, cal *apphub.Calendar, sc *scope, q SlotQuery, extended bool) (*SlotResult, error) {
	days := sc.days(extended)
	var keys []apphub.DayKey
	for _, r := range sc.e.eligibleResources(sc.only) {
		for _, d := range days {
			keys = append(keys, apphub.DayKey{Resource: r.ID, Day: d})
		}
	}
	loaded, err := s.cache.Busy(ctx, keys, s.loadBusy)
	if err != nil {
		return nil, err
	}
	busy := &Busy{}
	for _, claims := range loaded {
		for _, c := range claims {
			busy.Add(c.Resource, c.Start, c.Seat)
		}
	}
	return SearchSlots(cal, busy, q)
}

// loadBusy reads the claims of keys from MongoDB: one scan over the days they span.
func (s *Service) loadBusy(ctx context.Context, keys []apphub.DayKey) (map[apphub.DayKey][]apphub.Claim, error) {
	out := make(map[apphub.DayKey][]apphub.Claim, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	from, to := keys[0].Day, keys[0].Day
	for _, k := range keys {
		out[k] = nil
		from, to = minTime(from, k.Day), maxTime(to, k.Day)
	}
	claims, err := s.store.ScanClaims(ctx, from, to.Add(24*time.Hour))
	if err != nil {
		return nil, err
	}
	for _, c := range claims {
		k := apphub.DayKey{Resource: c.Resource, Day: apphub.DayOf(c.Start)}
		if cs, wanted := out[k]; wanted {
			out[k] = append(cs, c)
		}
	}
	return out, nil
}

type answerKey struct {
	category, place, resource string
	from, to                  int64
}

// answer is the last answer of a query, kept in memory with its version.
type answer struct {
	res      *SlotResult
	extended bool // the version covers the look-ahead too
}

func (s *Service) keep(k answerKey, a answer) { s.answers.Put(k, a, sizeOf(a.res)) }

// sizeOf estimates the memory an answer holds: a month of 60 technicians is about 1.5 MB.
func sizeOf(res *SlotResult) int {
	n := 200
	for _, d := range res.Days {
		n += 40
		for _, s := range d.Slots {
			n += 80 + 32*len(s.Resources)
		}
	}
	return n
}
