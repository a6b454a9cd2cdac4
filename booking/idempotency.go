package booking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/apphub/apphub"
)

// idempotencyTTL is how long a key is remembered.
const idempotencyTTL = 24 * time.Hour

// maxKeyLength bounds an idempotency key.
const maxKeyLength = 255

// outcome is what a request produced, as an idempotency record keeps it.
type outcome struct {
	id        string // what the request created or changed: an appointment, a search task, a registration
	version   int
	holdToken string
}

// idempotent runs do at most once per (caller, key): the first request with a key records a
// hash of itself and then its outcome; a later one with the same key and the same request gets
// the same outcome again (replay rebuilds the answer from it), with a different request an
// IDEMPOTENCY_KEY_REUSED refusal, and while the first is still running a REQUEST_IN_PROGRESS
// refusal. Refusals are remembered like successes; failures that may pass (UNAVAILABLE,
// INTERNAL) give the key back so that a retry runs again. GraphQL and REST share it: the hash
// is of the service request, not of its transport.
func (s *Service) idempotent(ctx context.Context, key, op string, req any, do func(context.Context) (outcome, error), replay func(outcome) error) (outcome, error) {
	if key == "" {
		return do(ctx)
	}
	if len(key) > maxKeyLength {
		return outcome{}, apphub.FieldError("idempotencyKey", "must be at most %d characters", maxKeyLength)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return outcome{}, apphub.WrapError(apphub.EINTERNAL, err, "internal error")
	}
	sum := sha256.Sum256(append([]byte(op+"\n"), body...))
	hash := hex.EncodeToString(sum[:])
	party := apphub.PrincipalFromContext(ctx).PartyID
	if party == "" {
		party = "anonymous"
	}
	now := s.now()
	rec := apphub.IdempotencyRecord{ID: party + "|" + key, RequestHash: hash, CreatedAt: now, ExpiresAt: now.Add(idempotencyTTL)}

	for attempt := 0; ; attempt++ {
		err := s.store.InsertIdempotency(ctx, rec)
		if err == nil {
			break
		}
		if apphub.ErrorCode(err) != apphub.ECONFLICT || attempt > 0 {
			return outcome{}, err
		}
		prev, err := s.store.GetIdempotency(ctx, rec.ID)
		if apphub.ErrorCode(err) == apphub.ENOTFOUND {
			continue // given back meanwhile
		}
		if err != nil {
			return outcome{}, err
		}
		stale := !now.Before(prev.ExpiresAt) || (!prev.Done && now.Sub(prev.CreatedAt) > s.grace)
		switch {
		case stale:
			// Expired, or its request died (requests end well within the grace): forget it.
			if err := s.store.DeleteIdempotency(ctx, rec.ID); err != nil {
				return outcome{}, err
			}
			continue
		case prev.RequestHash != hash:
			return outcome{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonIdempotencyKeyReused, "this idempotency key was used for a different request")
		case !prev.Done:
			return outcome{}, apphub.Refusef(apphub.ECONFLICT, apphub.ReasonRequestInProgress, "a request with this idempotency key is still in progress")
		case prev.ErrCode != "":
			return outcome{}, &apphub.Error{Code: prev.ErrCode, Reason: prev.ErrReason, Message: prev.ErrMessage,
				Field: prev.ErrField, Alternatives: prev.ErrAlternatives}
		default:
			o := outcome{id: prev.ResultID, version: prev.Version, holdToken: prev.HoldToken}
			return o, replay(o)
		}
	}

	o, err := do(ctx)
	done := context.WithoutCancel(ctx)
	switch code := apphub.ErrorCode(err); code {
	case apphub.EUNAVAILABLE, apphub.EINTERNAL:
		if derr := s.store.DeleteIdempotency(done, rec.ID); derr != nil {
			s.logger.WarnContext(ctx, "idempotency key not given back", "err", derr)
		}
		return o, err
	case "":
		rec.ResultID, rec.Version, rec.HoldToken = o.id, o.version, o.holdToken
	default:
		if e, ok := errors.AsType[*apphub.Error](err); ok {
			rec.ErrCode, rec.ErrReason, rec.ErrMessage, rec.ErrField, rec.ErrAlternatives = e.Code, e.Reason, e.Message, e.Field, e.Alternatives
		}
	}
	rec.Done = true
	if perr := s.store.PutIdempotency(done, rec); perr != nil {
		s.logger.WarnContext(ctx, "idempotency outcome not recorded", "err", perr)
	}
	return o, err
}
