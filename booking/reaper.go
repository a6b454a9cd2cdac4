package booking

import (
	"context"
	"strconv"
	"time"

	"github.com/apphub/apphub"
)

// The reaper is the only one that deletes claims it does not own: the claims of expired holds
// and of writers that never committed, each only once the grace has passed, and the claims
// a committed state no longer lists (left behind by a writer that stopped after its commit).
//
// Before it deletes the claims a writer took for version w of an appointment, the reaper
// inserts revision w itself (ChangeVoided). The _id of a revision is exclusive, so from then
// on the writer can never commit: either the writer's revision landed first (and the claims
// are kept) or the reaper's did (and the writer's commit fails cleanly). That is how a booking
// paused past the grace can never end up holding time that was given to someone else.
// Several reapers on several instances may run at once: every step is an exclusive insert or
// an idempotent delete.

// ReapReport says what one pass of the reaper did.
type ReapReport struct {
	ClaimsFreed  int
	Voided       int // writers that never committed, fenced off
	Holds        int // expired hold records removed
	Idempotency  int // expired idempotency records removed
	ClaimsSeen   int
	OwnersLooked int
}

// verifiedFor is how long the reaper trusts that a group of claims belongs to a committed
// state before it looks again.
const verifiedFor = 5 * time.Minute

// Reap runs one pass of the reaper.
func (s *Service) Reap(ctx context.Context) (ReapReport, error) {
	s.reapMu.Lock()
	defer s.reapMu.Unlock()
	var rep ReapReport
	now := s.now()

	// Time already past cannot be booked, so what holds it is nobody's concern: the scan
	// stays the size of the bookings ahead, not of the history.
	claims, err := s.store.ClaimsFrom(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return rep, err
	}
	rep.ClaimsSeen = len(claims)
	type group struct {
		owner   string
		version int
		ids     []string
		young   bool // some claim is within its grace (or its hold is unexpired)
	}
	groups := make(map[string]*group)
	var order []string
	for _, c := range claims {
		key := c.Owner + "|" + strconv.Itoa(c.Version)
		g := groups[key]
		if g == nil {
			g = &group{owner: c.Owner, version: c.Version}
			groups[key] = g
			order = append(order, key)
		}
		g.ids = append(g.ids, c.ID)
		if now.Sub(c.CreatedAt) <= s.grace || (!c.ExpiresAt.IsZero() && now.Sub(c.ExpiresAt) <= s.grace) {
			g.young = true
		}
	}
	for k, until := range s.verified {
		if now.After(until) {
			delete(s.verified, k)
		}
	}

	for _, key := range order {
		g := groups[key]
		if g.young {
			continue
		}
		if _, ok := s.verified[key]; ok {
			continue
		}
		rep.OwnersLooked++
		cur, err := s.latest(ctx, g.owner)
		if err != nil && apphub.ErrorCode(err) != apphub.ENOTFOUND {
			return rep, err
		}
		if cur.Version < g.version {
			// The writer never committed version g.version: take that version first.
			fence := apphub.Revision{AppointmentID: g.owner, Version: g.version, Change: apphub.ChangeVoided, At: now,
				State: cur.State, PartyID: "reaper", By: "reaper"}
			fence.State.ID, fence.State.Version = g.owner, g.version
			if err := s.store.InsertRevision(ctx, fence); err != nil {
				if apphub.ErrorCode(err) == apphub.ECONFLICT {
					continue // the writer committed meanwhile: look again next pass
				}
				return rep, err
			}
			if fence.Version > 1 {
				s.project(ctx, fence)
			}
			rep.Voided++
			s.logger.WarnContext(ctx, "reaper voided a write that never committed", "appointment", g.owner, "version", g.version, "claims", len(g.ids))
			if err := s.store.DeleteClaims(ctx, g.owner, g.ids); err != nil {
				return rep, err
			}
			s.touch(ctx, g.ids)
			rep.ClaimsFreed += len(g.ids)
			continue
		}
		// Committed: keep what the current state holds, free the rest.
		var held []string
		if cur.Exists() && apphub.Active(cur.State.Status) {
			held = cur.State.Claims
		}
		if orphans := without(g.ids, held); len(orphans) > 0 {
			if err := s.store.DeleteClaims(ctx, g.owner, orphans); err != nil {
				return rep, err
			}
			s.touch(ctx, orphans)
			rep.ClaimsFreed += len(orphans)
		}
		if len(without(g.ids, held)) < len(g.ids) {
			s.verified[key] = now.Add(verifiedFor)
		}
	}

	holds, err := s.store.ExpiredHolds(ctx, now.Add(-s.grace))
	if err != nil {
		return rep, err
	}
	for _, h := range holds {
		if err := s.store.DeleteHold(ctx, h.Token); err != nil {
			return rep, err
		}
		rep.Holds++
	}
	if rep.Idempotency, err = s.store.DeleteExpiredIdempotency(ctx, now); err != nil {
		return rep, err
	}
	if rep.ClaimsFreed > 0 {
		s.KickWaitlist()
	}
	return rep, nil
}

// RunReaper runs the reaper every interval until ctx ends.
func (s *Service) RunReaper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := s.Reap(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.WarnContext(ctx, "reaper pass failed", "err", err)
			}
			continue
		}
		if rep.ClaimsFreed+rep.Holds+rep.Idempotency > 0 {
			s.logger.InfoContext(ctx, "reaper pass", "claimsFreed", rep.ClaimsFreed, "voided", rep.Voided, "holds", rep.Holds, "idempotency", rep.Idempotency)
		}
	}
}
