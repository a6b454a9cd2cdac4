package apphub

import (
	"errors"
	"fmt"
	"time"
)

// Error codes: the domain's vocabulary of failures. Each transport maps them once
// (GraphQL extensions.code, TMF646 HTTP status and Error body).
const (
	ENOTFOUND        = "NOT_FOUND"           // the thing asked for does not exist
	ECONFLICT        = "CONFLICT"            // the request clashes with the current state (taken, duplicate, bad transition)
	EINVALID         = "VALIDATION"          // the request itself is malformed or breaks a rule
	EUNAVAILABLE     = "UNAVAILABLE"         // a dependency the request needs cannot be reached
	EINTERNAL        = "INTERNAL"            // a bug or an unexpected failure; details go to the log, not the caller
	EUNAUTHENTICATED = "UNAUTHENTICATED"     // the caller is nobody the hub can verify (no or a bad credential)
	EFORBIDDEN       = "FORBIDDEN"           // the principal may not do this
	EPRECONDITION    = "PRECONDITION_FAILED" // an expected version did not match
	ETOOLARGE        = "REQUEST_TOO_LARGE"   // a request body over the transport's limit (HTTP 413)
	ERATELIMITED     = "RATE_LIMITED"        // the caller has spent its budget for now; RetryAfter says when to come back
)

// Error is a failure the caller can act on: a code from the list above, a message safe to
// show to a client, and optionally the field that caused it and the underlying cause (kept
// for logs, never shown).
type Error struct {
	Code    string
	Message string
	Field   string
	Reason  string // finer than Code, for refusals: e.g. FULLY_BOOKED, HOLD_EXPIRED (see slot.go)
	// Alternatives are free slots near one that was refused, for the caller to choose from.
	Alternatives []Slot
	// RetryAfter, when positive, is how long the caller should wait before trying again
	// (ERATELIMITED, EUNAVAILABLE): HTTP's Retry-After.
	RetryAfter time.Duration
	Err        error
}

// RetryAfterSeconds is d as HTTP's Retry-After says it: whole seconds, rounded up — a client
// that waits what it says must not come back early — and at least 1, since "0" would invite it
// back at once. Every transport answers with it.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, msg, e.Err)
	}
	return e.Code + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted, client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error naming the offending field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with the given code that keeps cause for the logs.
func WrapError(code string, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorReason returns the reason of the first *Error in err's chain, or "".
func ErrorReason(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Reason
	}
	return ""
}

// Refusef returns an *Error with the given code and reason, whose message starts with the reason.
func Refusef(code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: reason + ": " + fmt.Sprintf(format, args...)}
}

// StaleVersion is the refusal of a change that names a version of what (an appointment, a
// search task) which is no longer the current one.
func StaleVersion(what string, current int) *Error {
	return &Error{Code: EPRECONDITION, Reason: ReasonVersionConflict,
		Message: fmt.Sprintf("%s: the %s is at version %d", ReasonVersionConflict, what, current)}
}

// ErrorMessage returns the client-safe message of the first *Error in err's chain
// (prefixed with its field, if any); any other error yields a generic message so that no
// internal detail leaks.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return "internal error"
}
