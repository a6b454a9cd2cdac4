package booking

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"

	"github.com/apphub/apphub"
)

// Store is what the booking service needs from its database. Every exclusive fact is an
// insert keyed by _id that fails with ECONFLICT when the _id exists (docs/design.md).
type Store interface {
	Installation(ctx context.Context) (apphub.Installation, error)
	// Secret returns the installation's random secret of that name, the same on every hub.
	Secret(ctx context.Context, name string) ([]byte, error)

	CalendarVersion(ctx context.Context) (string, error)
	LoadCalendar(ctx context.Context) (apphub.CalendarData, string, error)
	SaveCalendar(ctx context.Context, d apphub.CalendarData, progress func(done, total int)) error

	InsertClaim(ctx context.Context, c apphub.Claim) error
	GetClaims(ctx context.Context, ids []string) (map[string]apphub.Claim, error)
	DeleteClaims(ctx context.Context, owner string, ids []string) error
	ScanClaims(ctx context.Context, from, to time.Time) ([]apphub.Claim, error)
	ClaimsFrom(ctx context.Context, from time.Time) ([]apphub.Claim, error)

	InsertPending(ctx context.Context, p apphub.Pending) error
	DeletePending(ctx context.Context, p apphub.Pending) error
	ListPending(ctx context.Context) ([]apphub.Pending, error)

	InsertRevision(ctx context.Context, r apphub.Revision) error
	GetRevision(ctx context.Context, appointmentID string, version int) (apphub.Revision, error)
	GetAppointment(ctx context.Context, id string) (apphub.Appointment, error)
	PutAppointment(ctx context.Context, a apphub.Appointment) error
	DeleteAppointment(ctx context.Context, id string) error
	ListAppointments(ctx context.Context) ([]apphub.Appointment, error)

	InsertHold(ctx context.Context, h apphub.Hold) error
	GetHold(ctx context.Context, token string) (apphub.Hold, error)
	ExpiredHolds(ctx context.Context, before time.Time) ([]apphub.Hold, error)
	DeleteHold(ctx context.Context, token string) error

	InsertIdempotency(ctx context.Context, r apphub.IdempotencyRecord) error
	PutIdempotency(ctx context.Context, r apphub.IdempotencyRecord) error
	GetIdempotency(ctx context.Context, id string) (apphub.IdempotencyRecord, error)
	DeleteIdempotency(ctx context.Context, id string) error
	DeleteExpiredIdempotency(ctx context.Context, before time.Time) (int, error)

	TMFStore // search tasks and hub subscriptions (tmf.go)

	InsertWaitlistEntry(ctx context.Context, e apphub.WaitlistEntry) error
	LeaveWaitlist(ctx context.Context, id string, at time.Time) error
	WaitlistEntries(ctx context.Context) ([]apphub.WaitlistEntry, error)
	OpenOffer(ctx context.Context, o apphub.WaitlistOffer) error
	CloseOffer(ctx context.Context, o apphub.WaitlistOffer) error
	Offers(ctx context.Context) ([]apphub.WaitlistOffer, error)

	InsertAPIKey(ctx context.Context, k apphub.APIKey) error
	GetAPIKey(ctx context.Context, id string) (apphub.APIKey, error)
	ListAPIKeys(ctx context.Context) ([]apphub.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
}

// Options tune a Service; the zero value of a field means its default.
type Options struct {
	// CalendarCheck is how often the service asks the store whether the calendar changed on
	// another instance (one _id lookup). Default 2s.
	CalendarCheck time.Duration
	// HoldTTL is how long a hold keeps its time. Default 5 minutes.
	HoldTTL time.Duration
	// OfferTTL is how long a waitlist offer keeps its time for its entry. Default 15 minutes.
	OfferTTL time.Duration
	// OfferMade is told of every waitlist offer once it is open (the hub sends it to the hub
	// registrations that may see it). Optional.
	OfferMade func(ctx context.Context, e apphub.WaitlistEntry, o apphub.WaitlistOffer)
	// Grace is how long a claim whose owner has not committed is left alone by the reaper. It
	// must be longer than any request may take: OpTimeout is kept below it. Default 60s.
	Grace time.Duration
	// OpTimeout bounds one booking operation. Default (and at most) Grace/3.
	OpTimeout time.Duration
	// AfterClaims, when set, runs after a booking inserted its claims and before it commits;
	// fault-injection tests pause there.
	AfterClaims func(ctx context.Context, appointmentID string)
	// AfterCommit, when set, runs after a change's revision is inserted (the commit point) and
	// before it is projected and published; crash tests stop the process there.
	AfterCommit func(ctx context.Context, rev apphub.Revision)
	// RelayAfter is how old a change in flight of another writer must be before Relay finishes
	// it in the writer's stead: longer than a live writer takes from its commit to its events.
	// Default 5s.
	RelayAfter time.Duration
	// Cache keeps busy time for searches (never for bookings); default none: MongoDB every time.
	Cache BusyCache
	// Answers shares computed search answers between instances; default none.
	Answers SharedAnswers
	// AnswerCacheBytes bounds the memory of the search answers kept in memory, the last of
	// each distinct query, as sizeOf estimates it. Default DefaultAnswerCacheBytes.
	AnswerCacheBytes int64
	// Observe, when set, is told where each answer Search gives came from (SourceMemory,
	// SourceRedis or SourceComputed) and, for a computed one, how long computing it took;
	// d is 0 otherwise. It runs on the searching goroutine and must be quick.
	Observe func(source string, d time.Duration)
	// Publisher receives the events of every commit and the calendar's changes; default none.
	Publisher Publisher
	// PublicAvailability lets anonymous callers search availability (and read the calendar's
	// pickers); everything else needs someone.
	PublicAvailability bool
	// CallbackNetworks are the private networks hub callbacks may point into besides the
	// global unicast addresses (apphub.AddressRefusal): the operator's --notify-allow, the
	// same as notify.Options.AllowedNetworks, so that what registration accepts is what
	// delivery may reach.
	CallbackNetworks []netip.Prefix
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the one place for business rules: every transport calls it.
type Service struct {
	store  Store
	now    func() time.Time
	logger *slog.Logger

	holdTTL     time.Duration
	offerTTL    time.Duration
	offerMade   func(ctx context.Context, e apphub.WaitlistEntry, o apphub.WaitlistOffer)
	grace       time.Duration
	opTimeout   time.Duration
	afterClaims func(ctx context.Context, appointmentID string)
	afterCommit func(ctx context.Context, rev apphub.Revision)
	relayAfter  time.Duration
	inflight    sync.Map // apphub.Pending.ID() of this instance's commits under way
	relayMu     sync.Mutex
	cache       BusyCache
	publisher   Publisher
	answers     *otter.Cache[answerKey, answer] // the last answer of each search query
	answerBytes uint64                          // the answers' budget
	shared      SharedAnswers
	observe     func(source string, d time.Duration)
	flight      singleflight.Group // searches computing an answer, by query and version
	// appointmentReads shares the reads of every appointment among concurrent callers, and
	// tokenReads the reads of the same days' tokens.
	appointmentReads nextRead[[]apphub.Appointment]
	tokenReads       nextReads[[]string]

	waitlistMu   sync.Mutex    // one pass of MatchWaitlist at a time on this instance
	waitlistKick chan struct{} // asks RunWaitlist for a pass

	reapMu   sync.Mutex
	verified map[string]time.Time // claim groups the reaper found committed, until when

	linkMu  sync.Mutex
	linkKey []byte // the key of calendar file links, read once it could be (calendarfile.go)

	publicAvailability bool
	callbackNetworks   []netip.Prefix
	calendarCheck      time.Duration
	calMu              sync.Mutex // serializes calendar loads; readers take the snapshot under it
	cal                *apphub.Calendar
	calVersion         string
	calCheckedAt       time.Time
}

// NewService returns a service on store.
func NewService(store Store, opts Options) *Service {
	s := &Service{store: store, now: opts.Now, logger: opts.Logger, calendarCheck: opts.CalendarCheck,
		holdTTL: opts.HoldTTL, offerTTL: opts.OfferTTL, offerMade: opts.OfferMade, waitlistKick: make(chan struct{}, 1), grace: opts.Grace, opTimeout: opts.OpTimeout, afterClaims: opts.AfterClaims,
		afterCommit: opts.AfterCommit, relayAfter: opts.RelayAfter, publicAvailability: opts.PublicAvailability,
		verified: make(map[string]time.Time), cache: opts.Cache, publisher: opts.Publisher, shared: opts.Answers,
		observe: opts.Observe, callbackNetworks: slices.Clone(opts.CallbackNetworks)}
	s.answers, s.answerBytes = newAnswerCache(opts.AnswerCacheBytes)
	if s.observe == nil {
		s.observe = func(string, time.Duration) {}
	}
	if s.cache == nil {
		s.cache = noCache{}
	}
	if s.publisher == nil {
		s.publisher = noPublisher{}
	}
	if s.holdTTL <= 0 {
		s.holdTTL = 5 * time.Minute
	}
	if s.offerTTL <= 0 {
		s.offerTTL = 15 * time.Minute
	}
	if s.grace <= 0 {
		s.grace = time.Minute
	}
	if s.opTimeout <= 0 || s.opTimeout > s.grace/3 {
		s.opTimeout = s.grace / 3
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.relayAfter <= 0 {
		s.relayAfter = 5 * time.Second
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.calendarCheck <= 0 {
		s.calendarCheck = 2 * time.Second
	}
	return s
}

// Installation returns the identity of the hub's data.
func (s *Service) Installation(ctx context.Context) (apphub.Installation, error) {
	return s.store.Installation(ctx)
}
