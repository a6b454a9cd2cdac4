package notify

import (
	"context"
	"fmt"

	"github.com/apphub/apphub"
)

// Offer sends a waitlist offer, as the extension event WaitlistOfferEvent, to the registrations
// whose owner may see its entry (as they may an appointment of its customer, made by its maker,
// at its place) and whose query matches. It goes through the outbox like any event: at least
// once, retried, on whichever instance. The instance that made the offer calls it: an offer
// made by an instance that stops before its delivery is stored is not sent (the customer sees
// it in the hub all the same).
func (n *Notifier) Offer(ctx context.Context, e apphub.WaitlistEntry, o apphub.WaitlistOffer) {
	if n.opts.RenderOffer == nil {
		return
	}
	subs, err := n.subscriptions(ctx)
	if err != nil {
		n.m.storeErrors.Inc()
		n.logger.WarnContext(ctx, "notify: the subscriptions cannot be read; waitlist offer not sent", "entry", e.ID, "offer", o.ID, "err", err)
		return
	}
	body, eventID, err := n.offerEnvelope(ctx, e, o)
	if err != nil {
		n.m.dropped.WithLabelValues("render").Inc()
		n.logger.ErrorContext(ctx, "notify: waitlist offer not rendered; not sent", "entry", e.ID, "offer", o.ID, "err", err)
		return
	}
	seen := apphub.Appointment{PartyID: e.PartyID, CreatedBy: e.CreatedBy, Place: e.Place}
	for _, s := range subs {
		if n.opts.MayRead != nil && !n.opts.MayRead(ctx, s.Owner, seen) || !n.matches(ctx, s, body) {
			continue
		}
		d := apphub.Delivery{ID: apphub.DeliveryID(s.ID, o.AppointmentID, 0, apphub.EventWaitlistOffer), SubscriptionID: s.ID,
			AppointmentID: o.AppointmentID, EventType: apphub.EventWaitlistOffer, EventID: eventID, Callback: s.Callback,
			Body: body, CreatedAt: n.now().UTC()}
		if key, added := n.enqueue(d, false); added {
			n.m.deliveries.Inc()
			n.persist(ctx, key)
		}
	}
}

// offerEnvelope renders the notification of an offer, in the envelope of TMF646's events.
func (n *Notifier) offerEnvelope(ctx context.Context, e apphub.WaitlistEntry, o apphub.WaitlistOffer) ([]byte, string, error) {
	rep, err := n.opts.RenderOffer(ctx, e, o)
	if err != nil {
		return nil, "", err
	}
	when := o.OfferedAt.UTC().Format(dateTimeLayout)
	env := envelope{EventID: o.ID + "-" + EventName(apphub.EventWaitlistOffer), EventTime: when, EventType: apphub.EventWaitlistOffer,
		CorrelationID: e.ID, Domain: n.opts.Domain, Title: "Waitlist offer", Priority: "normal", TimeOcurred: when,
		Description: fmt.Sprintf("waitlist entry %s is offered %s until %s", e.ID, o.Start.UTC().Format(dateTimeLayout), o.ExpiresAt.UTC().Format(dateTimeLayout)),
		Event:       payload{WaitlistOffer: rep}}
	return env.encode()
}
