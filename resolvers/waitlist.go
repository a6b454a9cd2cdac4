package resolvers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/graph/model"
)

// The waitlist over GraphQL. Booking keeps the entries, makes the offers and decides who sees
// what; here its views are converted, its refusals typed, and waitlistOffers watches for new
// offers. No event reaches the bus when an offer is made, so that subscription polls booking,
// as its caller, every waitlistPoll: one timer per subscription, no goroutine while it waits,
// and at most maxWaitlistSubscriptions of them per websocket.

const (
	// waitlistPoll is how often a waitlistOffers subscription looks for new offers (the
	// schema and the README say 2 seconds).
	waitlistPoll = 2 * time.Second
	// maxWaitlistSubscriptions bounds the waitlistOffers subscriptions of one websocket (each
	// reads the waitlist every waitlistPoll); the operations of a websocket are bounded by
	// Options.MaxSubscriptionsPerConnection besides.
	maxWaitlistSubscriptions = 2
	// waitlistQueue is the offers a subscriber may not have taken yet. An offer that does not
	// fit is not marked sent: the next poll tries it again.
	waitlistQueue = 16
)

var waitlistStatuses = map[string]model.WaitlistStatus{
	apphub.WaitlistWaiting: model.WaitlistStatusWaiting,
	apphub.WaitlistOffered: model.WaitlistStatusOffered,
	apphub.WaitlistBooked:  model.WaitlistStatusBooked,
	apphub.WaitlistLeft:    model.WaitlistStatusLeft,
	apphub.WaitlistExpired: model.WaitlistStatusExpired,
}

func waitlistStatusOf(s string) model.WaitlistStatus {
	if st, ok := waitlistStatuses[s]; ok {
		return st
	}
	return model.WaitlistStatus(strings.ToUpper(s))
}

var offerOutcomes = map[string]model.WaitlistOfferOutcome{
	apphub.OfferAccepted:  model.WaitlistOfferOutcomeAccepted,
	apphub.OfferDeclined:  model.WaitlistOfferOutcomeDeclined,
	apphub.OfferExpired:   model.WaitlistOfferOutcomeExpired,
	apphub.OfferWithdrawn: model.WaitlistOfferOutcomeWithdrawn,
}

// offerOutcomeOf is null for an open offer.
func offerOutcomeOf(s string) *model.WaitlistOfferOutcome {
	if s == apphub.OfferOpen {
		return nil
	}
	if o, ok := offerOutcomes[s]; ok {
		return &o
	}
	return ptr(model.WaitlistOfferOutcome(strings.ToUpper(s)))
}

var weekdayNames = [...]model.Weekday{model.WeekdaySunday, model.WeekdayMonday, model.WeekdayTuesday, model.WeekdayWednesday,
	model.WeekdayThursday, model.WeekdayFriday, model.WeekdaySaturday}

// weekdaysOf names the days of a preferred time (validated: Sunday to Saturday).
func weekdaysOf(days []time.Weekday) []model.Weekday {
	out := make([]model.Weekday, 0, len(days))
	for _, d := range days {
		if d >= time.Sunday && d <= time.Saturday {
			out = append(out, weekdayNames[d])
		}
	}
	return out
}

// preferredTimesFrom reads PreferredTimeInputs; booking validates them.
func preferredTimesFrom(in []*model.PreferredTimeInput) ([]apphub.PreferredTime, error) {
	var out []apphub.PreferredTime
	for i, p := range in {
		pt := apphub.PreferredTime{From: p.From, To: p.To}
		for _, w := range p.Weekdays {
			d, ok := weekdays[string(w)]
			if !ok {
				return nil, apphub.FieldError(fmt.Sprintf("preferredTimes[%d].weekdays", i), "%q is not SUNDAY … SATURDAY", w)
			}
			pt.Weekdays = append(pt.Weekdays, d)
		}
		out = append(out, pt)
	}
	return out, nil
}

// waitlistPayload is an entry, or the refusal typed (fields named as the input names them).
func (r *Resolver) waitlistPayload(ctx context.Context, v booking.WaitlistView, err error) (*model.WaitlistEntryPayload, error) {
	if err != nil {
		ue, err := r.userError(ctx, inputFieldNames(err))
		return &model.WaitlistEntryPayload{Error: ue}, err
	}
	return &model.WaitlistEntryPayload{Entry: &v}, nil
}

func (r *Resolver) joinWaitlist(ctx context.Context, in model.JoinWaitlistInput) (*model.WaitlistEntryPayload, error) {
	prefs, err := preferredTimesFrom(in.PreferredTimes)
	if err != nil {
		return r.waitlistPayload(ctx, booking.WaitlistView{}, err)
	}
	v, err := r.Service.JoinWaitlist(ctx, booking.JoinWaitlist{Customer: deref(in.Customer), Category: in.Category, Place: in.Place,
		From: in.From, To: in.To, Preferred: prefs, Earliest: deref(in.Earliest)})
	return r.waitlistPayload(ctx, v, err)
}

// waitlistEntry finds an entry for node(id:), among those the caller may see; null for an
// anonymous caller. The response reads the waitlist once, however many ids it looks up.
func (r *Resolver) waitlistEntry(ctx context.Context, id string) (*booking.WaitlistView, error) {
	views, err := r.loadersFrom(ctx).waitlist(ctx)
	switch apphub.ErrorCode(err) {
	case "":
	case apphub.EUNAUTHENTICATED, apphub.EFORBIDDEN:
		return nil, nil
	default:
		return nil, err
	}
	for i := range views {
		if views[i].ID == id {
			v := views[i]
			return &v, nil
		}
	}
	return nil, nil
}

func (r *subscriptionResolver) waitlistOffers(ctx context.Context) (<-chan *model.WaitlistOfferEvent, error) {
	s, onSocket := ctx.Value(wsSessionKey{}).(*wsSession)
	if onSocket && !s.startPoll(maxWaitlistSubscriptions) {
		return nil, apphub.Errorf(apphub.ERATELIMITED,
			"this websocket already runs %d waitlistOffers subscriptions, the most it may: complete one first", maxWaitlistSubscriptions)
	}
	// The first look, as the caller: its errors (UNAUTHENTICATED, …) are the subscription's.
	views, err := r.Service.WaitlistEntries(ctx)
	if err != nil {
		if onSocket {
			s.endPoll()
		}
		return nil, err
	}
	signal, claim := streamSignalOf(ctx)
	p := &offerPoll{r: r.Resolver, ctx: ctx, signal: signal, out: make(chan *model.WaitlistOfferEvent, waitlistQueue), sent: map[string]bool{}}
	p.mu.Lock()
	p.send(views)
	p.timer = time.AfterFunc(waitlistPoll, p.poll)
	p.mu.Unlock()
	context.AfterFunc(ctx, func() {
		p.stop()
		if onSocket {
			s.endPoll()
		}
	})
	claim()
	return p.out, nil
}

// offerPoll is one waitlistOffers subscription: a timer that reads the waitlist as the caller
// and sends each open offer it has not sent yet.
type offerPoll struct {
	r      *Resolver
	ctx    context.Context // the subscription's: its caller, and its end
	signal func()          // called for each event put in out, and when out closes (streamSignalOf)
	out    chan *model.WaitlistOfferEvent

	mu     sync.Mutex
	timer  *time.Timer
	sent   map[string]bool // the open offers sent, by offer id
	closed bool
}

// poll reads the waitlist and sends the new offers, then waits for the next poll. Only one
// runs at a time: the next is armed when this one is done.
func (p *offerPoll) poll() {
	views, err := p.r.Service.WaitlistEntries(p.ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if err != nil {
		if p.ctx.Err() == nil && p.r.Logger != nil {
			p.r.Logger.WarnContext(p.ctx, "waitlistOffers could not read the waitlist", "err", err)
		}
	} else {
		p.send(views)
	}
	p.timer.Reset(waitlistPoll)
}

// send puts an event in out for every open offer not sent yet, and forgets the offers that
// are no longer open (an offer never opens again): what it keeps is bounded by the open
// offers the caller may see. p.mu is held.
func (p *offerPoll) send(views []booking.WaitlistView) {
	open := make(map[string]bool, len(p.sent))
	for i := range views {
		v := views[i]
		if v.Open == nil {
			continue
		}
		o := *v.Open
		if p.sent[o.ID] {
			open[o.ID] = true
			continue
		}
		select {
		case p.out <- &model.WaitlistOfferEvent{Entry: &v, Offer: &o}:
			open[o.ID] = true
			p.signal()
		default:
			// The subscriber has not taken what it was sent: the next poll tries again.
		}
	}
	p.sent = open
}

// stop ends the subscription: no more polls, and out closes.
func (p *offerPoll) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.timer.Stop()
	close(p.out)
	p.signal()
}
