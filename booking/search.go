package booking

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/slots"
)

// DefaultSearchWindow is the window of a search that names no end.
const DefaultSearchWindow = 7 * 24 * time.Hour

// SlotQuery asks Service.Search for the slots of a category at a place. It is a slots.Query
// whose window and clock may be left out: Search fills them in.
type SlotQuery struct {
	Category string
	Place    string    // postcode or managed place id; optional when Resource is set
	Resource string    // optional: only this resource
	From, To time.Time // slots whose start is in [From, To), at most slots.MaxSearchWindow apart; optional
	Now      time.Time // optional: the service's clock
}

// SlotResult is Service.Search's answer: the slot engine's (slots.Result: the days, or the
// reasons and the next dates), with when and from what it was computed.
type SlotResult struct {
	slots.Result
	// When the answer was computed, and the version of the data it was computed from (equal
	// versions, equal answers); "" when no version could be given.
	AsOf    time.Time
	Version string
}

// DefaultAnswerCacheBytes is the default of Options.AnswerCacheBytes. A 14-day answer for a
// zone of the demo is about 50 KB, a month of 60 technicians 3 MB: 32 MiB keeps hundreds of
// answers, the queries asked again and again among them, and leaves most of a 256 MB process
// to the requests in flight, the GraphQL responses kept (16 MiB) and the embedded store.
const DefaultAnswerCacheBytes = 32 << 20

// Where an answer of Search came from, as Options.Observe is told it.
const (
	// SourceMemory: kept by this instance at the current version, or computed by another
	// search of this instance that this one waited for.
	SourceMemory = "memory"
	// SourceRedis: computed by another instance at the current version and shared through
	// Redis (SharedAnswers).
	SourceRedis = "redis"
	// SourceComputed: computed by this search (busy time read, the engine run).
	SourceComputed = "computed"
)

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
	q, cal, calVersion, sc, err := s.prepareSearch(ctx, q)
	if err != nil {
		return nil, err
	}
	if res, ok, err := s.searchByDay(ctx, cal, calVersion, sc, q); err != nil || ok {
		return res, err
	}
	// The window's own answer: without versions, or without a slot (its reasons and next
	// dates).
	prev, found := s.answers.GetIfPresent(sc.key)
	// An answer whose window had no slot depends on the look-ahead for the next dates too.
	extended := found && prev.extended
	version := s.version(ctx, calVersion, sc, q, extended)
	if version != "" && found && prev.res.Version == version {
		s.observe(SourceMemory, 0)
		return prev.res, nil
	}
	if version == "" {
		return s.answer(ctx, cal, calVersion, sc, q, extended, version)
	}
	// The searches that miss the same answer at the same version (right after a booking, all
	// of a zone's channel apps at once) wait for one of them to compute it. It goes on if its
	// own caller leaves: the others still want it.
	ran := false
	v, err, _ := s.flight.Do(fmt.Sprintf("%v\x00%s", sc.key, version), func() (any, error) {
		ran = true
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opTimeout)
		defer cancel()
		return s.answer(ctx, cal, calVersion, sc, q, extended, version)
	})
	if err != nil {
		return nil, err
	}
	if !ran {
		// One computation (or one read from Redis), observed once, however many waited for it.
		s.observe(SourceMemory, 0)
	}
	return v.(*SlotResult), nil
}

// prepareSearch checks that the caller may search and that q is valid, fills q's defaults,
// and gives the calendar and the scope to search.
func (s *Service) prepareSearch(ctx context.Context, q SlotQuery) (SlotQuery, *apphub.Calendar, string, *scope, error) {
	if err := s.maySearch(ctx); err != nil {
		return q, nil, "", nil, err
	}
	if q.Now.IsZero() {
		q.Now = s.now()
	}
	if q.From.IsZero() {
		q.From = q.Now.UTC().Truncate(apphub.Quantum)
	}
	if q.To.IsZero() {
		q.To = q.From.Add(DefaultSearchWindow)
	}
	if err := slots.Query(q).Validate(); err != nil {
		return q, nil, "", nil, err
	}
	cal, calVersion, err := s.CalendarAndVersion(ctx)
	if err != nil {
		return q, nil, "", nil, err
	}
	sc, err := newScope(cal, q)
	if err != nil {
		return q, nil, "", nil, err
	}
	return q, cal, calVersion, sc, nil
}

// IsCurrent reports whether an answer of version, which Search gave for q, is the one it would
// give now, so that a caller that kept what it made of that answer may give it again (an
// answer from memory, observed as such). It tells from the days' versions alone, read in one
// round trip, with nothing looked up or assembled: only answers assembled from days can be
// current (see searchByDay); for the others it reports false.
func (s *Service) IsCurrent(ctx context.Context, q SlotQuery, version string) (bool, error) {
	q, cal, calVersion, sc, err := s.prepareSearch(ctx, q)
	if err != nil {
		return false, err
	}
	days := s.versionedDays(ctx, cal, calVersion, sc, q)
	if days == nil || windowVersion(q.From, q.To, days) != version {
		return false, nil
	}
	s.observe(SourceMemory, 0)
	return true, nil
}

// answer is a search's answer at version when the service has not kept it: shared by another
// instance, or computed (and then kept and shared).
func (s *Service) answer(ctx context.Context, cal *apphub.Calendar, calVersion string, sc *scope, q SlotQuery, extended bool, version string) (*SlotResult, error) {
	if a, found := s.answers.GetIfPresent(sc.key); version != "" && found && a.res.Version == version {
		s.observe(SourceMemory, 0)
		return a.res, nil // computed by a search that ended after this one looked
	}
	if res := s.sharedAnswer(ctx, cal, sc, q, version); res != nil {
		s.keep(sc.key, answer{res: res, extended: extended})
		s.observe(SourceRedis, 0)
		return res, nil
	}
	// Wall-clock time, not s.now: the service's clock is the calendar's, which tests move.
	started := time.Now()
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
	s.observe(SourceComputed, time.Since(started))
	res.AsOf, res.Version = s.now().UTC(), version
	if version != "" {
		s.keep(sc.key, answer{res: res, extended: extended})
		s.shareAnswer(ctx, sc, q, res)
	}
	return res, nil
}

// SharedAnswers keeps computed answers where every instance finds them: the last one stored
// under each key (a query's window, or a local day of a category at a target), with its
// version. The instance that computes an answer first stores it, the others load it instead
// of computing, when its version is the one they read. One entry per key keeps the memory
// bounded while bookings keep changing versions.
type SharedAnswers interface {
	// LoadAnswers returns the data stored under each of keys, nil for those that have none
	// or cannot be read.
	LoadAnswers(ctx context.Context, keys []string) [][]byte
	StoreAnswers(ctx context.Context, keys []string, data [][]byte)
}

// sharedKey names the answers of q, searching at target (scope.Target).
func sharedKey(q SlotQuery, target string) string {
	h := sha256.New()
	for _, f := range []string{q.Category, target, q.Resource, q.From.UTC().Format(time.RFC3339Nano), q.To.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:15])
}

func (s *Service) sharedAnswer(ctx context.Context, cal *apphub.Calendar, sc *scope, q SlotQuery, version string) *SlotResult {
	if s.shared == nil || version == "" {
		return nil
	}
	data := s.shared.LoadAnswers(ctx, []string{sharedKey(q, sc.Target())})[0]
	if data == nil {
		return nil
	}
	res, err := decodeAnswer(cal, data)
	if err != nil {
		s.logger.WarnContext(ctx, "a shared search answer could not be read; computing it", "err", err)
		return nil
	}
	if res.Version != version {
		return nil // an answer from before (or after) a change: the version covers the look-ahead exactly when the answer does
	}
	return res
}

func (s *Service) shareAnswer(ctx context.Context, sc *scope, q SlotQuery, res *SlotResult) {
	if s.shared != nil {
		s.shared.StoreAnswers(ctx, []string{sharedKey(q, sc.Target())}, [][]byte{encodeAnswer(res)})
	}
}

// scope is what a search's answer depends on besides the calendar (the engine's scope: the
// busy time of the days around its window, through the look-ahead when extended, for its zone
// or its one resource, and the minimum notice and the horizon), and its key among the answers
// kept.
type scope struct {
	key answerKey
	*slots.Scope
}

func newScope(cal *apphub.Calendar, q SlotQuery) (*scope, error) {
	sc, err := slots.NewScope(cal, slots.Query(q))
	if err != nil {
		return nil, err
	}
	// Keyed by where the search happens rather than by the place string sent: the postcodes
	// of a zone share their answers.
	return &scope{key: answerKey{category: q.Category, target: sc.Target(), resource: q.Resource, from: q.From.UnixNano(), to: q.To.UnixNano()}, Scope: sc}, nil
}

// version returns the version of q's answer as of now, or "" when the cache cannot give one
// or the search has neither a zone nor a single resource to version it by.
func (s *Service) version(ctx context.Context, calVersion string, sc *scope, q SlotQuery, extended bool) string {
	tokens, ok := s.dayTokens(ctx, sc, sc.Days(extended))
	if !ok {
		return ""
	}
	earliest, latest := sc.Timing()
	last := int64(math.MaxInt64) // no horizon
	if !latest.IsZero() {
		last = latest.Unix()
	}
	return versionOf(calVersion, tokens, earliest.Unix(), last)
}

// dayTokens reads the cache's tokens of the UTC days for the search's one resource, else for
// its zone, in one round trip; false when it has neither, or the cache gives none.
func (s *Service) dayTokens(ctx context.Context, sc *scope, days []time.Time) ([]string, bool) {
	var keys []apphub.ResourceDay
	var zones []apphub.ZoneDay
	for _, d := range days {
		switch {
		case sc.Resource() != "" && !sc.Crew():
			keys = append(keys, apphub.ResourceDay{Resource: sc.Resource(), Day: d})
		case sc.Zone() != "":
			zones = append(zones, apphub.ZoneDay{Zone: sc.Zone(), Day: d})
		default:
			return nil, false
		}
	}
	name := make([]byte, 0, 64)
	name = append(append(name, sc.Resource()...), 0)
	name = append(append(name, sc.Zone()...), 0)
	for _, d := range days {
		name = binary.BigEndian.AppendUint64(name, uint64(d.Unix()))
	}
	tokens, err := s.tokenReads.do(ctx, string(name), func(ctx context.Context) ([]string, error) {
		return s.cache.Versions(ctx, keys, zones)
	})
	return tokens, err == nil && len(tokens) == len(days)
}

// versionOf digests what an answer depends on: the calendar's version, the tokens of the busy
// days it read, and the first and the last start the notice and the horizon allow it.
func versionOf(calVersion string, tokens []string, earliest, latest int64) string {
	// One buffer, on the stack for a usual day, and one digest: this runs for every day of
	// every search.
	var buf [256]byte
	b := append(buf[:0], calVersion...)
	for _, t := range tokens {
		b = append(append(b, 0), t...)
	}
	b = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(b, uint64(earliest)), uint64(latest))
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:15])
}

// compute runs the engine on the busy time of the scope's resources.
func (s *Service) compute(ctx context.Context, cal *apphub.Calendar, sc *scope, q SlotQuery, extended bool) (*SlotResult, error) {
	busy, err := s.busyOf(ctx, sc.Resources(), sc.Days(extended))
	if err != nil {
		return nil, err
	}
	res, err := slots.SearchSlots(cal, busy, slots.Query(q))
	if err != nil {
		return nil, err
	}
	return &SlotResult{Result: *res}, nil
}

// busyOf reads the busy time of resources over the UTC days, from the cache or MongoDB.
func (s *Service) busyOf(ctx context.Context, resources []string, days []time.Time) (*slots.Busy, error) {
	keys := make([]apphub.ResourceDay, 0, len(resources)*len(days))
	for _, r := range resources {
		for _, d := range days {
			keys = append(keys, apphub.ResourceDay{Resource: r, Day: d})
		}
	}
	loaded, err := s.cache.Busy(ctx, keys, s.loadBusy)
	if err != nil {
		return nil, err
	}
	busy := &slots.Busy{}
	for _, claims := range loaded {
		for _, c := range claims {
			busy.Add(c.Resource, c.Start, c.Seat)
		}
	}
	return busy, nil
}

// loadBusy reads the claims of keys from MongoDB: one scan over the days they span.
func (s *Service) loadBusy(ctx context.Context, keys []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error) {
	out := make(map[apphub.ResourceDay][]apphub.Claim, len(keys))
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
		k := apphub.ResourceDay{Resource: c.Resource, Day: apphub.DayOf(c.Start)}
		if cs, wanted := out[k]; wanted {
			out[k] = append(cs, c)
		}
	}
	return out, nil
}

type answerKey struct {
	category, target, resource string
	from, to                   int64
	day                        bool // a local day's answer (searchdays.go), not a window's
}

// answer is the last answer of a query, kept in memory with its version.
type answer struct {
	res      *SlotResult
	extended bool   // the version covers the look-ahead too
	size     uint32 // sizeOf(res), what it weighs against the budget
}

// newAnswerCache returns the cache of the answers kept, within budget bytes
// (DefaultAnswerCacheBytes when budget is not positive). otter evicts as soon as the weights
// pass the budget, and admits a new answer in place of one kept only when its query is asked
// more often (W-TinyLFU): queries asked once, of which a busy hub sees thousands, do not push
// out those every channel app asks again.
func newAnswerCache(budget int64) (*otter.Cache[answerKey, answer], uint64) {
	if budget <= 0 {
		budget = DefaultAnswerCacheBytes
	}
	return otter.Must(&otter.Options[answerKey, answer]{
		MaximumWeight: uint64(budget),
		Weigher:       func(_ answerKey, a answer) uint32 { return a.size },
	}), uint64(budget)
}

// keep keeps a as the answer of k, in place of the one from before.
func (s *Service) keep(k answerKey, a answer) {
	size := sizeOf(a.res)
	if uint64(size) > s.answerBytes || size > math.MaxUint32 {
		// Kept, it would push out every other answer, then itself. The answer from before is
		// stale: it goes.
		s.answers.Invalidate(k)
		return
	}
	a.size = uint32(size)
	s.answers.Set(k, a)
}

// sizeOf estimates the memory an answer holds, with its entry in the cache: a slot is 104
// bytes and the slack of its day's slice, a resource of a slot 32 and the 16 of its id, which
// an answer decoded from Redis holds on its own (the engine's share the calendar's).
// TestSizeOfMatchesTheHeap measures it: answers read from Redis hold about what it says,
// computed ones 0.85 of it. A month of 60 technicians is about 3 MB.
func sizeOf(res *SlotResult) int {
	n := 200
	for _, d := range res.Days {
		n += 64
		for _, s := range d.Slots {
			n += 120 + 56*len(s.Resources)
		}
	}
	return n
}
