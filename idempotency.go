package apphub

import "time"

// IdempotencyRecord remembers a request made with an idempotency key: a hash of the request
// and, once it is answered, the outcome — what it produced, or the error.
// Its id is scope|key, the scope being the caller, so keys of different callers never meet.
type IdempotencyRecord struct {
	ID          string
	RequestHash string
	Done        bool
	// Outcome, when Done: what the request created or changed (an appointment, a search task,
	// a hub registration) and its version, or the whole error as it was answered.
	ResultID        string
	Version         int
	ErrCode         string
	ErrReason       string
	ErrMessage      string
	ErrField        string
	ErrAlternatives []Slot
	// Token of a hold, when the request made one.
	HoldToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}
