package apphub_test

import (
	"errors"
	"fmt"
	"testing"

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
