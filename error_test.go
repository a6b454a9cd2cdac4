package apphub_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

func TestErrorCodeAndMessage(t *testing.T) {
	cause := errors.New("socket: connection refused")
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string
	}{
		{"nil", nil, "", ""},
		{"plain error hides detail", cause, apphub.EINTERNAL, "internal error"},
		{"coded", apphub.Errorf(apphub.ENOTFOUND, "appointment %q not found", "a1"), apphub.ENOTFOUND, `appointment "a1" not found`},
		{"field", apphub.FieldError("validFor.startDateTime", "is required"), apphub.EINVALID, "validFor.startDateTime: is required"},
		{"wrapped cause stays out of the message", apphub.WrapError(apphub.EUNAVAILABLE, cause, "database unreachable"), apphub.EUNAVAILABLE, "database unreachable"},
		{"coded inside fmt wrap", fmt.Errorf("booking: %w", apphub.Errorf(apphub.ECONFLICT, "slot taken")), apphub.ECONFLICT, "slot taken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apphub.ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, tt.wantCode)
			}
			if got := apphub.ErrorMessage(tt.err); got != tt.wantMsg {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.wantMsg)
			}
		})
	}
}

func TestWrapErrorKeepsCause(t *testing.T) {
	cause := errors.New("boom")
	err := apphub.WrapError(apphub.EUNAVAILABLE, cause, "down")
	if !errors.Is(err, cause) {
		t.Fatal("cause lost")
	}
}

func TestParseClaimID(t *testing.T) {
	start := time.Date(2026, 3, 29, 0, 45, 0, 0, time.UTC)
	for _, resource := range []string{"tech-paris-007", "odd|name"} {
		id := apphub.ClaimID(resource, start, 12)
		r, s, seat, err := apphub.ParseClaimID(id)
		if err != nil || r != resource || !s.Equal(start) || seat != 12 {
			t.Fatalf("ParseClaimID(%q) = %q %v %d %v", id, r, s, seat, err)
		}
	}
	for _, bad := range []string{"", "x", "a|b", "r|2026-03-29T00:45Z|x", "r|yesterday|0"} {
		if _, _, _, err := apphub.ParseClaimID(bad); err == nil {
			t.Errorf("ParseClaimID(%q) accepted", bad)
		}
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Nanosecond, 1}, {time.Second, 1}, {time.Second + time.Millisecond, 2}, {59500 * time.Millisecond, 60}, {time.Minute, 60}} {
		if got := apphub.RetryAfterSeconds(tc.d); got != tc.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}
