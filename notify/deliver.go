package notify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/apphub/apphub"
)

// keyQueue holds the deliveries of one (subscription, appointment) that this instance knows
// and that have not ended, in (version, event type) order. One worker goroutine at a time
// works on it, head first: the next delivery waits for the outcome of the previous one.
type keyQueue struct {
	pending []*pending
	active  bool // a worker runs
	// persisting serializes the outbox inserts of this key, so that they happen in order: a
	// scan that finds version v+1 then finds version v too.
	persisting chan struct{}
}

type pending struct {
	d      apphub.Delivery
	stored bool // known to be in the outbox
}

// deliveryKey is the queue of d: its subscription and appointment.
func deliveryKey(d apphub.Delivery) string { return d.SubscriptionID + "|" + d.AppointmentID }

// eventOrder is the order of the events of one revision (apphub.EventsOf's order).
var eventOrder = map[string]int{
	apphub.EventCreated: 0, apphub.EventStateChanged: 1, apphub.EventAttributeChanged: 2, apphub.EventDeleted: 3,
}

func compareDeliveries(a, b apphub.Delivery) int {
	return cmp.Or(cmp.Compare(a.Version, b.Version), cmp.Compare(eventOrder[a.EventType], eventOrder[b.EventType]))
}

// enqueue adds d to its key's queue unless it is there; it starts the key's worker when Run
// is running. It returns the key and whether d was added.
func (n *Notifier) enqueue(d apphub.Delivery, stored bool) (string, bool) {
	key := deliveryKey(d)
	n.mu.Lock()
	defer n.mu.Unlock()
	kq := n.keys[key]
	if kq == nil {
		kq = &keyQueue{persisting: make(chan struct{}, 1)}
		n.keys[key] = kq
	}
	for _, p := range kq.pending {
		if p.d.ID == d.ID {
			p.stored = p.stored || stored
			return key, false
		}
	}
	i, _ := slices.BinarySearchFunc(kq.pending, d, func(p *pending, d apphub.Delivery) int { return compareDeliveries(p.d, d) })
	kq.pending = slices.Insert(kq.pending, i, &pending{d: d, stored: stored})
	n.m.pending.Inc()
	n.startLocked(key, kq)
	return key, true
}

// startLocked starts the worker of a key when Run is running and none is; n.mu is held.
func (n *Notifier) startLocked(key string, kq *keyQueue) {
	if !n.running || kq.active || len(kq.pending) == 0 {
		return
	}
	kq.active = true
	ctx := n.runCtx
	n.workers.Go(func() { n.work(ctx, key, kq) })
}

// persist inserts the deliveries of a key that are not known to be in the outbox, in order,
// and stops at the first failure (the worker tries again before each attempt).
func (n *Notifier) persist(ctx context.Context, key string) bool {
	n.mu.Lock()
	kq := n.keys[key]
	n.mu.Unlock()
	if kq == nil {
		return true
	}
	select {
	case kq.persisting <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-kq.persisting }()
	for {
		n.mu.Lock()
		var next *pending
		for _, p := range kq.pending {
			if !p.stored {
				next = p
				break
			}
		}
		var d apphub.Delivery
		if next != nil {
			d = next.d
		}
		n.mu.Unlock()
		if next == nil {
			return true
		}
		if err := n.store.InsertDelivery(ctx, d); err != nil && apphub.ErrorCode(err) != apphub.ECONFLICT {
			if ctx.Err() == nil {
				n.m.storeErrors.Inc()
				n.logger.WarnContext(ctx, "notify: delivery not recorded in the outbox; trying again", "delivery", d.ID, "err", err)
			}
			return false
		}
		n.mu.Lock()
		next.stored = true
		n.mu.Unlock()
	}
}

// work runs the deliveries of one key, head first, until its queue is empty or ctx ends.
func (n *Notifier) work(ctx context.Context, key string, kq *keyQueue) {
	for {
		n.mu.Lock()
		if len(kq.pending) == 0 || ctx.Err() != nil {
			kq.active = false
			if len(kq.pending) == 0 {
				delete(n.keys, key)
			}
			n.mu.Unlock()
			return
		}
		head := kq.pending[0].d
		n.mu.Unlock()

		if !n.persist(ctx, key) {
			n.sleep(ctx, n.opts.PollInterval)
			continue
		}
		if !n.process(ctx, head) {
			continue // ctx ended: the loop returns
		}
		n.mu.Lock()
		kq.pending = slices.DeleteFunc(kq.pending, func(p *pending) bool { return p.d.ID == head.ID })
		n.m.pending.Dec()
		n.mu.Unlock()
	}
}

// process works on d until it has an outcome (true) or ctx ends (false). See the package
// comment for the protocol.
func (n *Notifier) process(ctx context.Context, d apphub.Delivery) bool {
	var (
		last     apphub.DeliveryAttempt // the highest lease known (N == 0: none)
		ownDone  int                    // the attempt this instance made and saw fail, while it is last.N
		retryAt  time.Time
		lastErr  error
		pollWait = n.firstPoll()
	)
	for ctx.Err() == nil {
		// Ended, here or on another instance?
		o, err := n.store.GetOutcome(ctx, d.ID)
		if err == nil {
			// Whoever recorded it cleans up; a delivery found long after (a scan, or a late
			// duplicate of the event re-inserted it) is cleaned up here.
			if n.now().Sub(o.At) > n.opts.LeaseMargin {
				n.cleanup(ctx, d, max(last.N, o.Attempts))
			}
			return true
		}
		if apphub.ErrorCode(err) != apphub.ENOTFOUND {
			n.storeFailed(ctx, "the outcome of a delivery cannot be read", d, err)
			continue
		}
		// The highest lease taken so far.
		if last, err = n.lastAttempt(ctx, d.ID, last); err != nil {
			n.storeFailed(ctx, "the attempts of a delivery cannot be read", d, err)
			continue
		}
		now := n.now()
		if last.N > 0 {
			if ownDone == last.N {
				// This instance made the last attempt and retries it by itself; nobody else
				// may take the next one before the lease ends, after retryAt.
				if now.Before(retryAt) {
					n.sleep(ctx, retryAt.Sub(now))
					continue
				}
			} else if now.Before(last.LeaseUntil) {
				// Another instance holds the lease (or this one did, before a restart): look
				// again soon whether the delivery ended, and take over when the lease ends.
				n.sleep(ctx, min(last.LeaseUntil.Sub(now), pollWait))
				pollWait = min(2*pollWait, n.opts.PollInterval)
				continue
			}
			if last.N >= n.opts.MaxAttempts {
				msg := "the last attempt's outcome is unknown (the instance that made it stopped)"
				if ownDone == last.N && lastErr != nil {
					msg = lastErr.Error()
				}
				return n.finish(ctx, d, apphub.DeliveryOutcome{Result: apphub.OutcomeDeadLettered, Attempts: last.N, Error: msg})
			}
		}

		// Take the next attempt. The concurrency slot comes first, so that the lease covers
		// the request alone.
		select {
		case n.sem <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		k := last.N + 1
		wait := n.backoff(k)
		start := n.now()
		a := apphub.DeliveryAttempt{DeliveryID: d.ID, N: k, Owner: n.instance, Start: start,
			LeaseUntil: start.Add(n.opts.Timeout + wait + n.opts.LeaseMargin)}
		if err := n.store.InsertAttempt(ctx, a); err != nil {
			<-n.sem
			if apphub.ErrorCode(err) != apphub.ECONFLICT {
				n.storeFailed(ctx, "the lease of an attempt cannot be taken", d, err)
			}
			continue // ECONFLICT: another instance took it; the next round reads its lease
		}
		last, pollWait = a, n.firstPoll()
		n.logger.DebugContext(ctx, "notify: lease taken", "delivery", d.ID, "attempt", k, "instance", n.instance,
			"leaseUntil", a.LeaseUntil)
		// Cleanup deletes the leases of an ended delivery, which frees their _ids: a lease won
		// just now may be one of those. The outcome is inserted before the leases are deleted,
		// so reading it after winning tells.
		if _, err := n.store.GetOutcome(ctx, d.ID); err == nil {
			<-n.sem
			n.cleanup(ctx, d, k) // the lease just inserted, too
			return true
		}
		if k > 1 && n.unsubscribed(ctx, d) {
			<-n.sem
			return n.finish(ctx, d, apphub.DeliveryOutcome{Result: apphub.OutcomeUnsubscribed, Attempts: k})
		}
		err = n.attempt(ctx, d, start.Add(n.opts.Timeout))
		<-n.sem
		if err == nil {
			return n.finish(ctx, d, apphub.DeliveryOutcome{Result: apphub.OutcomeDelivered, Attempts: k})
		}
		if ctx.Err() != nil {
			return false
		}
		ownDone, retryAt, lastErr = k, n.now().Add(wait), err
		if k >= n.opts.MaxAttempts {
			return n.finish(ctx, d, apphub.DeliveryOutcome{Result: apphub.OutcomeDeadLettered, Attempts: k, Error: err.Error()})
		}
		n.logger.WarnContext(ctx, "notify: delivery failed; retrying", "delivery", d.ID, "subscription", d.SubscriptionID,
			"appointment", d.AppointmentID, "version", d.Version, "eventType", d.EventType, "attempt", k,
			"retryIn", wait, "err", err)
	}
	return false
}

func (n *Notifier) firstPoll() time.Duration { return min(25*time.Millisecond, n.opts.PollInterval) }

// lastAttempt returns the highest lease of a delivery, reading those after last.
func (n *Notifier) lastAttempt(ctx context.Context, deliveryID string, last apphub.DeliveryAttempt) (apphub.DeliveryAttempt, error) {
	for {
		a, err := n.store.GetAttempt(ctx, deliveryID, last.N+1)
		switch apphub.ErrorCode(err) {
		case "":
			last = a
		case apphub.ENOTFOUND:
			return last, nil
		default:
			return last, err
		}
	}
}

func (n *Notifier) storeFailed(ctx context.Context, what string, d apphub.Delivery, err error) {
	if ctx.Err() == nil {
		n.m.storeErrors.Inc()
		n.logger.WarnContext(ctx, "notify: "+what+"; trying again", "delivery", d.ID, "err", err)
	}
	n.sleep(ctx, n.opts.PollInterval)
}

// outcomeTimeout is the least time finish gives the store to record an outcome.
const outcomeTimeout = 5 * time.Second

// finish records d's outcome and removes what it leaves in the outbox. It returns false only
// when ctx ended before the outcome could be recorded. Only the instance whose insert wins
// counts and logs it, so that the metrics summed over the instances count each delivery once.
func (n *Notifier) finish(ctx context.Context, d apphub.Delivery, o apphub.DeliveryOutcome) bool {
	o.DeliveryID, o.Owner, o.At = d.ID, n.instance, n.now().UTC()
	// A shutdown must not lose the outcome of an attempt that was made (a delivered event
	// would be sent again): record it, cancelled or not, for the lease margin and at least
	// outcomeTimeout — once the lease ran out another instance may attempt it again, but the
	// first outcome recorded still wins, so recording late is better than not at all.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(n.opts.LeaseMargin, outcomeTimeout))
	defer cancel()
	for {
		err := n.store.InsertOutcome(ctx, o)
		if err == nil {
			break
		}
		if apphub.ErrorCode(err) == apphub.ECONFLICT {
			// Another instance ended it (a takeover racing a slow holder) — or this one did: an
			// insert whose answer timed out may still have been written, and the retry then
			// finds it. Only the latter is counted here.
			if prev, err := n.store.GetOutcome(ctx, d.ID); err != nil || prev.Owner != n.instance || prev.Attempts != o.Attempts || prev.Result != o.Result {
				return true
			}
			break
		}
		if ctx.Err() != nil {
			return false
		}
		n.storeFailed(ctx, "the outcome of a delivery cannot be recorded", d, err)
	}
	attrs := []any{"delivery", d.ID, "subscription", d.SubscriptionID, "appointment", d.AppointmentID,
		"version", d.Version, "eventType", d.EventType, "eventId", d.EventID, "attempts", o.Attempts}
	switch o.Result {
	case apphub.OutcomeDelivered:
		n.m.delivered.Inc()
		n.logger.DebugContext(ctx, "notify: delivered", append(attrs, "instance", n.instance)...)
	case apphub.OutcomeDeadLettered:
		n.m.deadLetters.Inc()
		n.logger.ErrorContext(ctx, "notify: dead letter: the listener did not take the event", append(attrs,
			"callback", d.Callback, "err", o.Error)...)
	case apphub.OutcomeUnsubscribed:
		n.m.dropped.WithLabelValues("unsubscribed").Inc()
		n.logger.InfoContext(ctx, "notify: the subscription was deleted; event dropped", attrs...)
	}
	n.cleanup(ctx, d, o.Attempts)
	return true
}

// cleanup removes an ended delivery's attempts and outbox record; the outcome stays, so that
// a late duplicate of the event is recognised. A failure only leaves garbage for the sweep
// (attempts) or the next scan (the outbox record).
func (n *Notifier) cleanup(ctx context.Context, d apphub.Delivery, attempts int) {
	if err := n.store.DeleteAttempts(ctx, d.ID, attempts); err != nil && ctx.Err() == nil {
		n.logger.DebugContext(ctx, "notify: attempts not removed", "delivery", d.ID, "err", err)
	}
	if err := n.store.DeleteDelivery(ctx, d.ID); err != nil && ctx.Err() == nil {
		n.logger.DebugContext(ctx, "notify: outbox record not removed", "delivery", d.ID, "err", err)
	}
}

// unsubscribed reports whether d's subscription is gone, from a list read now, after d was
// created. When the list cannot be read, the subscription is assumed to be there.
func (n *Notifier) unsubscribed(ctx context.Context, d apphub.Delivery) bool {
	subs, err := n.subscriptions(ctx)
	if err != nil {
		return false
	}
	return !slices.ContainsFunc(subs, func(s apphub.EventSubscription) bool { return s.ID == d.SubscriptionID })
}

// backoff is the wait after attempt k fails: BaseBackoff doubled k-1 times, at most
// MaxBackoff, drawn in [half, whole] so that listeners coming back are not hit all at once.
func (n *Notifier) backoff(k int) time.Duration {
	d := n.opts.BaseBackoff
	for i := 1; i < k && d < n.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, n.opts.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

func (n *Notifier) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// attempt POSTs d's envelope to its listener once, before deadline.
func (n *Notifier) attempt(ctx context.Context, d apphub.Delivery, deadline time.Time) (err error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	began := time.Now()
	result := "ok"
	defer func() {
		n.m.attempts.WithLabelValues(result).Inc()
		n.m.duration.Observe(time.Since(began).Seconds())
	}()
	if d.TraceParent != "" {
		// The attempt continues the trace of the request that made the change, however late
		// and on whichever instance it is made; the traced transport starts its span there.
		ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": d.TraceParent})
	}
	target, err := listenerURL(d.Callback, d.EventType)
	if err != nil {
		result = "error"
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(d.Body))
	if err != nil {
		result = "error"
		return apphub.WrapError(apphub.EINVALID, err, "the callback %q is not a valid URL", d.Callback)
	}
	// Without GetBody, net/http never sends the request again by itself (it does so for a POST
	// on a kept-alive connection that failed under it, which may have reached the listener):
	// every attempt is one of the protocol's, leased and counted.
	req.GetBody = nil
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	req.Header.Set("User-Agent", "apphub-notify")
	if d.TraceParent != "" {
		// Without tracing the listener gets the request's traceparent as it is; with it, the
		// transport replaces it with its client span's, of the same trace.
		req.Header.Set("traceparent", d.TraceParent)
	}
	if len(n.opts.Secret) > 0 {
		req.Header.Set("X-Hub-Signature-256", Sign(n.opts.Secret, d.Body))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		result = "error"
		if errors.Is(err, ErrRefusedDestination) {
			result = "refused"
			// The refusal is ours, with its reason: keep it rather than the transport's wrapping.
			var refused *apphub.Error
			if errors.As(err, &refused) {
				return refused
			}
		}
		return apphub.WrapError(apphub.EUNAVAILABLE, err, "the listener cannot be reached")
	}
	defer resp.Body.Close()
	// Read a little of the answer so that the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		result = "status"
		return apphub.Errorf(apphub.EUNAVAILABLE, "the listener answered %d", resp.StatusCode)
	}
	return nil
}

// listenerURL is {callback}/listener/{eventName}; a query in the callback is kept.
func listenerURL(callback, eventType string) (string, error) {
	u, err := url.Parse(callback)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", apphub.Errorf(apphub.EINVALID, "the callback %q is not an absolute http or https URL", callback)
	}
	return u.JoinPath("listener", EventName(eventType)).String(), nil
}

// Sign is the X-Hub-Signature-256 value of body: "sha256=" and the hex HMAC-SHA256 of body
// under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature (an X-Hub-Signature-256 value) signs body under secret,
// in constant time: what a listener does.
func Verify(secret, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}
