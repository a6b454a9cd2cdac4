package booking_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

// A small calendar whose every slot the tests can reason about: one technician working
// 08:00–18:00 every day in Paris, a store counter of capacity 3, and categories of 30, 60 and
// 90 minutes.
func testCalendar() apphub.CalendarData {
	var shifts []apphub.Shift
	for d := time.Sunday; d <= time.Saturday; d++ {
		shifts = append(shifts, apphub.Shift{Weekday: d, Start: "08:00", End: "18:00"})
	}
	return apphub.CalendarData{
		Zones:  []apphub.Zone{{ID: "paris-11", Name: "Paris 11", TimeZone: "Europe/Paris", PostCodes: []string{"75011", "75012"}}},
		Places: []apphub.Place{{ID: "store-1", Name: "Store", TimeZone: "Europe/Paris", Zone: "paris-11", PostCode: "75011"}},
		HolidayCalendars: []apphub.HolidayCalendar{{ID: "fr", Region: "FR",
			Dates: []apphub.Holiday{{Date: holiday.Format(time.DateOnly), Name: "Jour férié"}}}},
		Resources: []apphub.Resource{
			{ID: "tech-1", Kind: apphub.KindTechnician, Name: "Tech", TimeZone: "Europe/Paris", Zones: []string{"paris-11"},
				Skills: []string{"fiber"}, Shifts: shifts, HolidayCalendar: "fr"},
			{ID: "counter-1", Kind: apphub.KindCounter, Name: "Counter", TimeZone: "Europe/Paris", PlaceID: "store-1",
				Capacity: 3, Shifts: shifts, HolidayCalendar: "fr"},
		},
		Categories: []apphub.Category{
			{ID: "repair", Name: "Repair", Duration: time.Hour, Step: 30 * time.Minute, ResourceKinds: []string{apphub.KindTechnician}},
			{ID: "long", Name: "Long", Duration: 90 * time.Minute, Step: 30 * time.Minute, ResourceKinds: []string{apphub.KindTechnician}},
			{ID: "visit", Name: "Visit", Duration: 30 * time.Minute, Step: 15 * time.Minute, ResourceKinds: []string{apphub.KindCounter}, AtPlace: true},
		},
	}
}

var paris = mustLoadLocation("Europe/Paris")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// day is the Paris date two days after the test clock's base, so that the tests run on
// whatever day the clock starts (a DST change, the end of a year): times are wall-clock times
// in Paris on it.
var day = func() time.Time {
	b := testclock.Base().In(paris)
	return time.Date(b.Year(), b.Month(), b.Day()+2, 0, 0, 0, 0, paris)
}()

// holiday is the test calendar's one holiday, three weeks after day.
var holiday = day.AddDate(0, 0, 21)

// at is hh:mm on day, Paris time.
func at(hhmm string) time.Time { return onDay(day, hhmm) }

// onDay is hh:mm Paris time on the date of d.
func onDay(d time.Time, hhmm string) time.Time {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), t.Hour(), t.Minute(), 0, 0, paris).UTC()
}

type env struct {
	svc   *booking.Service
	db    *mongodb.DB
	clock *fakeClock
	uri   string
	name  string
}

func newEnv(t *testing.T, opts booking.Options) *env {
	t.Helper()
	uri, name := storetest.MongoURI(t)
	db, err := mongodb.Open(uri, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(asAdmin()) })
	clock := &fakeClock{t: testclock.Base()}
	testclock.Report(t)
	opts.Now = clock.Now
	svc := booking.NewService(db, opts)
	if err := svc.SaveCalendar(asAdmin(), testCalendar(), nil); err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, db: db, clock: clock, uri: uri, name: name}
}

// another returns a second service (another hub instance) on the same database and clock.
func (e *env) another(t *testing.T, opts booking.Options) *booking.Service {
	db, err := mongodb.Open(e.uri, e.name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(asAdmin()) })
	opts.Now = e.clock.Now
	return booking.NewService(db, opts)
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if got := apphub.ErrorReason(err); got != reason {
		t.Fatalf("err = %v (reason %q), want reason %q", err, got, reason)
	}
}

// race runs n goroutines at once and counts the successes.
func race(n int, fn func(i int) error) (wins int, errs []error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				errs = append(errs, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return wins, errs
}

// onlyRefusals fails the test on any error that is not a booking refusal.
func onlyRefusals(t *testing.T, errs []error, reasons ...string) {
	t.Helper()
	for _, err := range errs {
		if !slices.Contains(reasons, apphub.ErrorReason(err)) {
			t.Fatalf("unexpected error %v (reason %q), want one of %v", err, apphub.ErrorReason(err), reasons)
		}
	}
}

func TestHundredBookersOneTechnicianSlot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	wins, errs := race(100, func(int) error {
		_, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("10:00")})
		return err
	})
	if wins != 1 {
		t.Fatalf("%d bookings of one slot succeeded, want exactly 1", wins)
	}
	onlyRefusals(t, errs, apphub.ReasonFullyBooked, apphub.ReasonSlotTaken)
}

func TestCounterOfCapacityThree(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	wins, errs := race(100, func(int) error {
		_, err := e.svc.Book(ctx, booking.NewAppointment{Category: "visit", Resource: "counter-1", Place: "store-1", Start: at("11:00")})
		return err
	})
	if wins != 3 {
		t.Fatalf("%d bookings of a capacity-3 slot succeeded, want exactly 3", wins)
	}
	onlyRefusals(t, errs, apphub.ReasonFullyBooked, apphub.ReasonSlotTaken)
	res, err := e.svc.Search(ctx, booking.SlotQuery{Category: "visit", Place: "store-1", From: at("11:00"), To: at("11:15")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Days) != 0 {
		t.Fatalf("search still offers the full slot: %+v", res.Days)
	}
}

// A 60-minute and a 90-minute booking that overlap: exactly one wins each round, never none.
func TestOverlappingBookingsOfDifferentLengths(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	for round := range 8 {
		// Rounds 3 hours apart (08:00, 11:00, 14:00), then on the next days.
		offset := time.Duration(round/3)*24*time.Hour + time.Duration(round%3)*3*time.Hour
		a, b := at("08:00").Add(offset), at("08:30").Add(offset)
		wins, errs := race(2, func(i int) error {
			req := booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: a}
			if i == 1 {
				req = booking.NewAppointment{Category: "long", Resource: "tech-1", Start: b}
			}
			_, err := e.svc.Book(ctx, req)
			return err
		})
		if wins != 1 {
			t.Fatalf("round %d: %d winners (errors %v), want exactly 1", round, wins, errs)
		}
		onlyRefusals(t, errs, apphub.ReasonFullyBooked, apphub.ReasonSlotTaken)
	}
}

func TestHoldAgainstDirectBooking(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	for round := range 5 {
		start := at("09:00").Add(time.Duration(round) * time.Hour)
		var hold apphub.Hold
		wins, errs := race(2, func(i int) error {
			if i == 0 {
				h, err := e.svc.Hold(ctx, booking.HoldRequest{Category: "repair", Resource: "tech-1", Start: start})
				hold = h
				return err
			}
			_, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: start})
			return err
		})
		if wins != 1 {
			t.Fatalf("round %d: %d winners, want 1 (errors %v)", round, wins, errs)
		}
		onlyRefusals(t, errs, apphub.ReasonFullyBooked, apphub.ReasonSlotTaken)
		if hold.Token != "" {
			a, err := e.svc.Book(ctx, booking.NewAppointment{HoldToken: hold.Token})
			if err != nil {
				t.Fatalf("booking the winning hold: %v", err)
			}
			if a.ID != hold.AppointmentID || !slices.Equal(a.Claims, hold.Claims) {
				t.Fatalf("the booking did not reuse the hold's id and claims: %+v vs %+v", a, hold)
			}
		}
	}
}

func TestHoldLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{HoldTTL: 5 * time.Minute, Grace: 30 * time.Second})
	ctx := asAdmin()
	h, err := e.svc.Hold(ctx, booking.HoldRequest{Category: "repair", Resource: "tech-1", Start: at("14:00")})
	if err != nil {
		t.Fatal(err)
	}
	if !h.ExpiresAt.Equal(e.clock.Now().Add(5 * time.Minute)) {
		t.Fatalf("hold expires at %v", h.ExpiresAt)
	}
	// Held time is not offered and cannot be booked by others.
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("14:00")}); apphub.ErrorReason(err) != apphub.ReasonFullyBooked {
		t.Fatalf("booking held time: %v", err)
	}
	e.clock.Advance(5 * time.Minute)
	_, err = e.svc.Book(ctx, booking.NewAppointment{HoldToken: h.Token})
	wantReason(t, err, apphub.ReasonHoldExpired)

	// Within the grace the expired hold's claims stay; after it the reaper frees them.
	if rep, err := e.svc.Reap(ctx); err != nil || rep.ClaimsFreed != 0 {
		t.Fatalf("reap within grace: %+v, %v", rep, err)
	}
	e.clock.Advance(31 * time.Second)
	rep, err := e.svc.Reap(ctx)
	if err != nil || rep.ClaimsFreed != len(h.Claims) || rep.Holds != 1 {
		t.Fatalf("reap after grace: %+v, %v; want %d claims and 1 hold freed", rep, err, len(h.Claims))
	}
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("14:00")}); err != nil {
		t.Fatalf("booking freed time: %v", err)
	}
	_, err = e.svc.Book(ctx, booking.NewAppointment{HoldToken: h.Token})
	wantReason(t, err, apphub.ReasonHoldExpired)
}

func TestTwoReschedulesIntoOneSlot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	a1, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("08:00")})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("09:00")})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{a1.ID, a2.ID}
	wins, errs := race(2, func(i int) error {
		_, err := e.svc.Reschedule(ctx, booking.Reschedule{ID: ids[i], Start: at("15:00")})
		return err
	})
	if wins != 1 {
		t.Fatalf("%d reschedules into one slot succeeded, want 1 (%v)", wins, errs)
	}
	onlyRefusals(t, errs, apphub.ReasonFullyBooked, apphub.ReasonSlotTaken)
	// The loser is unchanged and still holds its time.
	for _, id := range ids {
		a, err := e.svc.Appointment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Start.Equal(at("15:00")) {
			continue
		}
		if a.Version != 1 {
			t.Fatalf("the losing appointment changed: %+v", a)
		}
		if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: a.Start}); apphub.ErrorReason(err) != apphub.ReasonFullyBooked {
			t.Fatalf("the losing appointment's time was freed: %v", err)
		}
	}
}

func TestRescheduleOntoItsOwnTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	a, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := e.svc.Reschedule(ctx, booking.Reschedule{ID: a.ID, ExpectedVersion: 1, Start: at("10:30")})
	if err != nil {
		t.Fatalf("a 30-minute reschedule overlapping its own time: %v", err)
	}
	if moved.Version != 2 || !moved.Start.Equal(at("10:30")) || !moved.End.Equal(at("11:30")) {
		t.Fatalf("moved: %+v", moved)
	}
	shared := 0
	for _, id := range moved.Claims {
		if slices.Contains(a.Claims, id) {
			shared++
		}
	}
	if shared != 2 {
		t.Fatalf("%d claims kept across the reschedule, want the 2 shared quanta", shared)
	}
	// 10:00 is free again, 11:00 is not.
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "visit", Resource: "counter-1", Start: at("10:00")}); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Search(ctx, booking.SlotQuery{Category: "repair", Resource: "tech-1", From: at("08:00"), To: at("18:00")})
	if err != nil {
		t.Fatal(err)
	}
	var starts []string
	for _, d := range res.Days {
		for _, s := range d.Slots {
			starts = append(starts, s.Start.In(paris).Format("15:04"))
		}
	}
	if !slices.Contains(starts, "09:00") || slices.Contains(starts, "10:00") || slices.Contains(starts, "11:00") || !slices.Contains(starts, "11:30") {
		t.Fatalf("slots after the reschedule: %v", starts)
	}
	// A refused reschedule changes nothing.
	_, err = e.svc.Reschedule(ctx, booking.Reschedule{ID: a.ID, Start: at("19:00")})
	wantReason(t, err, apphub.ReasonOutsideHours)
	if cur, _ := e.svc.Appointment(ctx, a.ID); cur.Version != 2 || !slices.Equal(cur.Claims, moved.Claims) {
		t.Fatalf("a refused reschedule changed the appointment: %+v", cur)
	}
}

func TestConcurrentUpdatesAtOneVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	a, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}
	wins, errs := race(20, func(i int) error {
		d := fmt.Sprintf("update %d", i)
		_, err := e.svc.Update(ctx, booking.Update{ID: a.ID, ExpectedVersion: 1, Description: &d})
		return err
	})
	if wins != 1 {
		t.Fatalf("%d updates at version 1 succeeded, want 1", wins)
	}
	onlyRefusals(t, errs, apphub.ReasonVersionConflict)
	// Without an expected version every update lands, one revision each.
	wins, errs = race(10, func(i int) error {
		_, err := e.svc.Update(ctx, booking.Update{ID: a.ID, Attributes: map[string]json.RawMessage{fmt.Sprintf("x%d", i): json.RawMessage(`1`)}})
		return err
	})
	if wins+len(errs) != 10 {
		t.Fatal("lost results")
	}
	onlyRefusals(t, errs, apphub.ReasonVersionConflict)
	hist, err := e.svc.History(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2+wins {
		t.Fatalf("history has %d revisions, want %d (creation, one description, %d attribute updates)", len(hist), 2+wins, wins)
	}
	for i, r := range hist {
		if r.Version != i+1 || r.State.Version != i+1 {
			t.Fatalf("revision %d has version %d", i, r.Version)
		}
	}
	cur, _ := e.svc.Appointment(ctx, a.ID)
	if len(cur.Attributes) != wins {
		t.Fatalf("current state has %d attributes, want every accepted update's (%d)", len(cur.Attributes), wins)
	}
}

func TestSameIdempotencyKeyFromTwentyGoroutines(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := apphub.NewContextWithPrincipal(context.Background(), apphub.Principal{PartyID: "channel-web", Roles: []string{apphub.RoleCustomer}})
	req := booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00"), IdempotencyKey: "k-1"}
	var mu sync.Mutex
	ids := map[string]bool{}
	wins, errs := race(20, func(int) error {
		a, err := e.svc.Book(ctx, req)
		if err == nil {
			mu.Lock()
			ids[a.ID] = true
			mu.Unlock()
		}
		return err
	})
	onlyRefusals(t, errs, apphub.ReasonRequestInProgress)
	if wins == 0 || len(ids) != 1 {
		t.Fatalf("%d successes with %d distinct appointments, want one appointment", wins, len(ids))
	}
	// After it finished: the same answer again; a different request with the key is refused;
	// another caller's key is its own.
	a, err := e.svc.Book(ctx, req)
	if err != nil || !ids[a.ID] {
		t.Fatalf("replay: %+v, %v", a, err)
	}
	other := req
	other.Start = at("12:00")
	_, err = e.svc.Book(ctx, other)
	wantReason(t, err, apphub.ReasonIdempotencyKeyReused)
	ctx2 := apphub.NewContextWithPrincipal(context.Background(), apphub.Principal{PartyID: "partner", Roles: []string{apphub.RolePartner}})
	if _, err := e.svc.Book(ctx2, other); err != nil {
		t.Fatalf("another caller's key: %v", err)
	}
	// A refusal is remembered too.
	taken := booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00"), IdempotencyKey: "k-2"}
	_, err1 := e.svc.Book(ctx, taken)
	_, err2 := e.svc.Book(ctx, taken)
	wantReason(t, err1, apphub.ReasonFullyBooked)
	wantReason(t, err2, apphub.ReasonFullyBooked)
}

// A booking paused between its claims and its revision past the grace: the reaper frees its
// time, somebody else books it, and the paused booking fails cleanly.
func TestPausedBookingIsReapedAndFailsCleanly(t *testing.T) {
	t.Parallel()
	paused := make(chan struct{})
	resume := make(chan struct{})
	var once sync.Once
	e := newEnv(t, booking.Options{Grace: 30 * time.Second, AfterClaims: func(ctx context.Context, id string) {
		once.Do(func() {
			close(paused)
			<-resume
		})
	}})
	ctx := asAdmin()
	result := make(chan error, 1)
	go func() {
		_, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")})
		result <- err
	}()
	<-paused
	if rep, err := e.svc.Reap(ctx); err != nil || rep.ClaimsFreed != 0 {
		t.Fatalf("reap within grace: %+v, %v", rep, err)
	}
	e.clock.Advance(31 * time.Second)
	other := e.another(t, booking.Options{Grace: 30 * time.Second})
	rep, err := other.Reap(ctx)
	if err != nil || rep.Voided != 1 || rep.ClaimsFreed == 0 {
		t.Fatalf("reap past grace: %+v, %v", rep, err)
	}
	winner, err := other.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")})
	if err != nil {
		t.Fatalf("booking the freed time: %v", err)
	}
	close(resume)
	err = <-result
	wantReason(t, err, apphub.ReasonCommitTooLate)
	// Exactly one appointment holds 10:00, and its claims are intact.
	claims, err := e.db.ClaimsFrom(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range claims {
		if c.Owner != winner.ID {
			t.Fatalf("claim %s of %s survived; only %s may hold time", c.ID, c.Owner, winner.ID)
		}
	}
	if len(claims) != len(winner.Claims) {
		t.Fatalf("%d claims, want the winner's %d", len(claims), len(winner.Claims))
	}
}

// A crash after the revision and before the projection: the next read repairs it.
func TestReadRepairsAProjectionLeftBehind(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	a, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}
	// Commit version 2 the way the service does, but "crash" before the projection.
	next := a
	next.Version, next.Status = 2, apphub.StatusConfirmed
	if err := e.db.InsertRevision(ctx, apphub.Revision{AppointmentID: a.ID, Version: 2, Change: apphub.ChangeStatus, Fields: []string{"status"}, State: next, At: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.db.GetAppointment(ctx, a.ID); p.Version != 1 {
		t.Fatalf("setup: projection at %d", p.Version)
	}
	got, err := e.svc.Appointment(ctx, a.ID)
	if err != nil || got.Version != 2 || got.Status != apphub.StatusConfirmed {
		t.Fatalf("read: %+v, %v; want version 2 confirmed", got, err)
	}
	if p, _ := e.db.GetAppointment(ctx, a.ID); p.Version != 2 {
		t.Fatalf("the projection was not repaired: version %d", p.Version)
	}
	// The next change builds on the repaired state.
	if c, err := e.svc.SetStatus(ctx, booking.StatusChange{ID: a.ID, ExpectedVersion: 2, Status: apphub.StatusCompleted}); err != nil || c.Version != 3 {
		t.Fatalf("change after repair: %+v, %v", c, err)
	}
}

func TestStatusCancelDeleteAndHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	a, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00"), Description: "fibre box"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != apphub.StatusInitialized {
		t.Fatalf("new appointment status %q", a.Status)
	}
	_, err = e.svc.SetStatus(ctx, booking.StatusChange{ID: a.ID, Status: apphub.StatusCompleted})
	wantReason(t, err, apphub.ReasonInvalidTransition)
	c, err := e.svc.SetStatus(ctx, booking.StatusChange{ID: a.ID, ExpectedVersion: 1, Status: apphub.StatusConfirmed})
	if err != nil || c.Version != 2 {
		t.Fatalf("confirm: %+v, %v", c, err)
	}
	same, err := e.svc.SetStatus(ctx, booking.StatusChange{ID: a.ID, Status: apphub.StatusConfirmed})
	if err != nil || same.Version != 2 {
		t.Fatalf("same-status move must be a no-op: %+v, %v", same, err)
	}
	_, err = e.svc.SetStatus(ctx, booking.StatusChange{ID: a.ID, ExpectedVersion: 1, Status: apphub.StatusCancelled})
	wantReason(t, err, apphub.ReasonVersionConflict)
	if apphub.ErrorCode(err) != apphub.EPRECONDITION {
		t.Fatalf("stale version code %q", apphub.ErrorCode(err))
	}
	x, err := e.svc.SetStatus(ctx, booking.StatusChange{ID: a.ID, ExpectedVersion: 2, Status: apphub.StatusCancelled, Reason: "customer moved"})
	if err != nil || len(x.Claims) != 0 || x.StatusReason != "customer moved" {
		t.Fatalf("cancel: %+v, %v", x, err)
	}
	_, err = e.svc.Reschedule(ctx, booking.Reschedule{ID: a.ID, Start: at("12:00")})
	wantReason(t, err, apphub.ReasonAppointmentNotActive)
	// Cancelling freed the time.
	b, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")})
	if err != nil {
		t.Fatalf("booking cancelled time: %v", err)
	}
	// Deleting frees the time, hides the appointment and keeps its history.
	if err := e.svc.Delete(ctx, b.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Appointment(ctx, b.ID); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("deleted appointment: %v", err)
	}
	if err := e.svc.Delete(ctx, b.ID, 0); apphub.ErrorCode(err) != apphub.ENOTFOUND {
		t.Fatalf("second delete: %v", err)
	}
	hist, err := e.svc.History(ctx, b.ID)
	if err != nil || len(hist) != 2 || hist[1].Change != apphub.ChangeDeleted {
		t.Fatalf("history of a deleted appointment: %+v, %v", hist, err)
	}
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")}); err != nil {
		t.Fatalf("booking deleted appointment's time: %v", err)
	}
	hist, err = e.svc.History(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, r := range hist {
		changes = append(changes, r.Change)
	}
	if want := []string{apphub.ChangeCreated, apphub.ChangeStatus, apphub.ChangeStatus}; !slices.Equal(changes, want) {
		t.Fatalf("history %v, want %v", changes, want)
	}
	// Events are derived from the revisions in version order; a receiver asks for what it missed.
	evs, err := e.svc.Events(ctx, a.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Version != 2 || evs[1].Version != 3 || evs[1].Kind != apphub.EventStateChanged || evs[1].State.Status != apphub.StatusCancelled {
		t.Fatalf("events after version 1: %+v", evs)
	}
	evs, err = e.svc.Events(ctx, b.ID, 0)
	if err != nil || len(evs) != 2 || evs[0].Kind != apphub.EventCreated || evs[1].Kind != apphub.EventDeleted {
		t.Fatalf("events of a deleted appointment: %+v, %v", evs, err)
	}
}

func TestRefusalsCarryTheEngineReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	tests := []struct {
		name   string
		req    booking.NewAppointment
		reason string
	}{
		{"outside hours", booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("18:00")}, apphub.ReasonOutsideHours},
		{"holiday", booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: onDay(holiday, "10:00")}, apphub.ReasonHoliday},
		{"not a start", booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:15")}, apphub.ReasonNotASlotStart},
		{"wrong kind", booking.NewAppointment{Category: "visit", Resource: "tech-1", Start: at("10:00")}, apphub.ReasonNoSkilledResourceInZone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Book(ctx, tt.req)
			wantReason(t, err, tt.reason)
		})
	}
	claims, _ := e.db.ClaimsFrom(ctx, time.Time{})
	if len(claims) != 0 {
		t.Fatalf("refused bookings left %d claims", len(claims))
	}
	// Bad input is a validation error.
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "nope", Resource: "tech-1", Start: at("10:00")}); apphub.ErrorCode(err) != apphub.EINVALID {
		t.Fatalf("unknown category: %v", err)
	}
}

func TestPlainRecordsAndUpdates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	past := time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC)
	r, err := e.svc.Book(ctx, booking.NewAppointment{Start: past, End: past.Add(time.Hour),
		Attributes: map[string]json.RawMessage{"$weird.key": json.RawMessage(`{"n":1.50}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Booked() || len(r.Claims) != 0 {
		t.Fatalf("a record must not book: %+v", r)
	}
	got, err := e.svc.Appointment(ctx, r.ID)
	if err != nil || string(got.Attributes["$weird.key"]) != `{"n":1.50}` {
		t.Fatalf("attributes after a round trip: %q, %v", got.Attributes["$weird.key"], err)
	}
	notes := []apphub.Note{{Author: "agent", Text: "call first"}}
	media := []apphub.ContactMedium{{Type: "phone", Value: "+33 1 23 45 67 89", Preferred: true}}
	desc := "new"
	u, err := e.svc.Update(ctx, booking.Update{ID: r.ID, Description: &desc, Notes: &notes, ContactMedia: &media,
		Attributes: map[string]json.RawMessage{"$weird.key": nil, "channel": json.RawMessage(`"web"`)}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Version != 2 || u.Description != "new" || len(u.Notes) != 1 || len(u.ContactMedia) != 1 || string(u.Attributes["channel"]) != `"web"` {
		t.Fatalf("updated: %+v", u)
	}
	if _, ok := u.Attributes["$weird.key"]; ok {
		t.Fatal("a null attribute was not removed")
	}
	hist, _ := e.svc.History(ctx, r.ID)
	if f := hist[1].Fields; !slices.Contains(f, "description") || !slices.Contains(f, "note") || !slices.Contains(f, "contactMedium") || !slices.Contains(f, "channel") {
		t.Fatalf("revision fields %v", f)
	}
	again, err := e.svc.Update(ctx, booking.Update{ID: r.ID, Description: &desc})
	if err != nil || again.Version != 2 {
		t.Fatalf("an update that changes nothing must not create a revision: %+v, %v", again, err)
	}
}

// Search on the demo data sees bookings made through the service.
func TestSearchSeesBookings(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := asAdmin()
	now := testclock.Now()
	svc := booking.NewService(db, booking.Options{Now: testclock.Now})
	if err := svc.SaveCalendar(ctx, demo.Data(), nil); err != nil {
		t.Fatal(err)
	}
	q := booking.SlotQuery{Category: demo.Repair, Place: "75011", From: now.Add(24 * time.Hour), To: now.Add(4 * 24 * time.Hour)}
	res, err := svc.Search(ctx, q)
	if err != nil || len(res.Days) == 0 {
		t.Fatalf("search: %+v, %v", res, err)
	}
	slot := res.Days[0].Slots[0]
	var booked atomic.Int32
	for _, r := range slot.Resources {
		if _, err := svc.Book(ctx, booking.NewAppointment{Category: demo.Repair, Resource: r.ResourceID, Place: "75011", Start: slot.Start}); err != nil {
			t.Fatalf("book %s: %v", r.ResourceID, err)
		}
		booked.Add(1)
	}
	res, err = svc.Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Days {
		for _, s := range d.Slots {
			if s.Start.Equal(slot.Start) {
				t.Fatalf("the slot booked on all %d resources is still offered: %+v", booked.Load(), s)
			}
		}
	}
}

// Change commits a new time, attributes and a status in one revision, and nothing when a part
// is refused.
func TestChangeIsOneRevision(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	a, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}
	desc := "moved and confirmed"
	c, err := e.svc.Change(ctx, booking.Change{ID: a.ID, ExpectedVersion: 1, Start: at("14:00"),
		Update: booking.Update{Description: &desc}, Status: apphub.StatusConfirmed})
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || !c.Start.Equal(at("14:00")) || c.Status != apphub.StatusConfirmed || c.Description != desc {
		t.Fatalf("changed: %+v", c)
	}
	hist, _ := e.svc.History(ctx, a.ID)
	if len(hist) != 2 || !slices.Equal(hist[1].Fields, []string{"description", "status", "validFor"}) {
		t.Fatalf("history %+v", hist)
	}
	kinds := []string{}
	for _, ev := range apphub.EventsOf(hist[1]) {
		kinds = append(kinds, ev.Kind)
	}
	if !slices.Equal(kinds, []string{apphub.EventStateChanged, apphub.EventAttributeChanged}) {
		t.Fatalf("events %v", kinds)
	}
	// 10:00 is free again, 14:00 is taken.
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")}); err != nil {
		t.Fatal(err)
	}
	// A refused part (a move backwards in the status machine) leaves everything, claims included.
	_, err = e.svc.Change(ctx, booking.Change{ID: a.ID, Start: at("16:00"), Status: apphub.StatusInitialized})
	wantReason(t, err, apphub.ReasonInvalidTransition)
	cur, _ := e.svc.Appointment(ctx, a.ID)
	if cur.Version != 2 || !cur.Start.Equal(at("14:00")) {
		t.Fatalf("a refused change changed the appointment: %+v", cur)
	}
	claims, _ := e.db.ClaimsFrom(ctx, time.Time{})
	for _, cl := range claims {
		if cl.Start.Equal(at("16:00")) {
			t.Fatalf("a refused change left claim %s", cl.ID)
		}
	}
}

// asAdmin is a context that calls as an operator, who may do anything: for tests of the
// booking rules rather than of who may apply them (access_test.go is about that).
func asAdmin() context.Context {
	return apphub.NewContextWithPrincipal(context.Background(), apphub.Principal{PartyID: "ops", Roles: []string{apphub.RoleAdmin}})
}
