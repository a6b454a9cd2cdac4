package tmfrest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

func TestErrorsAreTMFBodies(t *testing.T) {
	h := NewHandler(nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	h.handle("GET "+BasePath+"probe/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "missing":
			h.writeDomainError(w, r, apphub.Errorf(apphub.ENOTFOUND, "appointment %q not found", "missing"))
		case "taken":
			h.writeDomainError(w, r, apphub.Errorf(apphub.ECONFLICT, "slot taken"))
		case "boom":
			h.writeDomainError(w, r, errors.New("secret internal detail"))
		case "nobody":
			h.writeDomainError(w, r, apphub.Errorf(apphub.EUNAUTHENTICATED, "this needs a bearer token or an API key"))
		case "not-yours":
			h.writeDomainError(w, r, apphub.Errorf(apphub.EFORBIDDEN, "only partners delete"))
		default:
			writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
		}
	})

	tests := []struct {
		name, method, path string
		status             int
		code, message      string
		allow              string
	}{
		{"unknown path", "GET", BasePath + "nothing/here", 404, apphub.ENOTFOUND, "no resource at " + BasePath + "nothing/here", ""},
		{"base path itself", "GET", BasePath, 404, apphub.ENOTFOUND, "no resource at " + BasePath, ""},
		{"wrong method", "DELETE", BasePath + "probe/a1", 405, "METHOD_NOT_ALLOWED", "method DELETE is not allowed on " + BasePath + "probe/a1", "GET, HEAD"},
		{"domain not found", "GET", BasePath + "probe/missing", 404, apphub.ENOTFOUND, `appointment "missing" not found`, ""},
		{"domain conflict", "GET", BasePath + "probe/taken", 409, apphub.ECONFLICT, "slot taken", ""},
		{"internal hides detail", "GET", BasePath + "probe/boom", 500, apphub.EINTERNAL, "internal error", ""},
		{"unauthenticated", "GET", BasePath + "probe/nobody", 401, apphub.EUNAUTHENTICATED, "this needs a bearer token or an API key", ""},
		{"forbidden", "GET", BasePath + "probe/not-yours", 403, apphub.EFORBIDDEN, "only partners delete", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != contentTypeJSON {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.allow != "" && rec.Header().Get("Allow") != tt.allow {
				t.Errorf("Allow %q, want %q", rec.Header().Get("Allow"), tt.allow)
			}
			// Every 401, and only a 401, carries the challenge (RFC 9110 §11.6.1).
			wantChallenge := ""
			if tt.status == http.StatusUnauthorized {
				wantChallenge = Challenge
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != wantChallenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, wantChallenge)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not a TMF Error: %v: %s", err, rec.Body)
			}
			want := map[string]string{"code": tt.code, "reason": http.StatusText(tt.status), "message": tt.message,
				"status": strconv.Itoa(tt.status), "@type": "Error"}
			for k, v := range want {
				if body[k] != v {
					t.Errorf("%s = %q, want %q", k, body[k], v)
				}
			}
		})
	}
}

func TestWriteJSONKeepsStringsByteIdentical(t *testing.T) {
	rec := httptest.NewRecorder()
	writeJSON(rec, 200, map[string]string{"note": "<b>&é</b>"})
	if got, want := rec.Body.String(), "{\"note\":\"<b>&é</b>\"}\n"; got != want {
		t.Fatalf("body %q, want %q", got, want)
	}
}

// WriteError is the edge's writer too (rate limits, credentials): each code has its status,
// a refusal its reason as the code, a RetryAfter its Retry-After in whole seconds rounded up,
// and a 401 its challenge unless the edge set a more precise one.
func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		challenge  string // set by the caller before WriteError
		status     int
		code       string
		message    string
		retryAfter string
		wantAuth   string
	}{
		{"validation", apphub.FieldError("validFor", "is required"), "", 400, apphub.EINVALID, "validFor: is required", "", ""},
		{"unauthenticated", apphub.Errorf(apphub.EUNAUTHENTICATED, "no credential"), "", 401, apphub.EUNAUTHENTICATED, "no credential", "", Challenge},
		{"invalid token keeps the edge's challenge", apphub.Errorf(apphub.EUNAUTHENTICATED, "the token expired"), Challenge + `, error="invalid_token"`,
			401, apphub.EUNAUTHENTICATED, "the token expired", "", Challenge + `, error="invalid_token"`},
		{"forbidden", apphub.Errorf(apphub.EFORBIDDEN, "customers do not register"), "", 403, apphub.EFORBIDDEN, "customers do not register", "", ""},
		{"not found", apphub.Errorf(apphub.ENOTFOUND, "no appointment"), "", 404, apphub.ENOTFOUND, "no appointment", "", ""},
		{"refusal", apphub.Refusef(apphub.ECONFLICT, apphub.ReasonFullyBooked, "no one is free"), "", 409, apphub.ReasonFullyBooked, apphub.ReasonFullyBooked + ": no one is free", "", ""},
		{"precondition", apphub.StaleVersion("appointment", 3), "", 412, apphub.ReasonVersionConflict, apphub.ReasonVersionConflict + ": the appointment is at version 3", "", ""},
		{"too large", apphub.Errorf(apphub.ETOOLARGE, "the body is larger than 65536 bytes"), "", 413, apphub.ETOOLARGE, "the body is larger than 65536 bytes", "", ""},
		{"rate limited, whole seconds", &apphub.Error{Code: apphub.ERATELIMITED, Message: "slow down", RetryAfter: 3 * time.Second}, "", 429, apphub.ERATELIMITED, "slow down", "3", ""},
		{"rate limited, rounded up", &apphub.Error{Code: apphub.ERATELIMITED, Message: "slow down", RetryAfter: 2*time.Second + time.Millisecond}, "", 429, apphub.ERATELIMITED, "slow down", "3", ""},
		{"rate limited, under a second", &apphub.Error{Code: apphub.ERATELIMITED, Message: "slow down", RetryAfter: time.Nanosecond}, "", 429, apphub.ERATELIMITED, "slow down", "1", ""},
		{"rate limited, no hint", apphub.Errorf(apphub.ERATELIMITED, "slow down"), "", 429, apphub.ERATELIMITED, "slow down", "", ""},
		{"rate limited, wrapped", fmt.Errorf("edge: %w", &apphub.Error{Code: apphub.ERATELIMITED, Message: "slow down", RetryAfter: 90 * time.Second}), "", 429, apphub.ERATELIMITED, "slow down", "90", ""},
		{"unavailable with a hint", &apphub.Error{Code: apphub.EUNAVAILABLE, Message: "Redis is down", RetryAfter: 1500 * time.Millisecond}, "", 503, apphub.EUNAVAILABLE, "Redis is down", "2", ""},
		{"unavailable", apphub.Errorf(apphub.EUNAVAILABLE, "Redis is down"), "", 503, apphub.EUNAVAILABLE, "Redis is down", "", ""},
		{"internal hides detail", errors.New("secret internal detail"), "", 500, apphub.EINTERNAL, "internal error", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if tc.challenge != "" {
				rec.Header().Set("WWW-Authenticate", tc.challenge)
			}
			WriteError(rec, tc.err)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.wantAuth {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.wantAuth)
			}
			if ct := rec.Header().Get("Content-Type"); ct != contentTypeJSON {
				t.Errorf("Content-Type %q", ct)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not a TMF Error: %v: %s", err, rec.Body)
			}
			want := map[string]string{"code": tc.code, "reason": http.StatusText(tc.status), "message": tc.message,
				"status": strconv.Itoa(tc.status), "@type": "Error"}
			for k, v := range want {
				if body[k] != v {
					t.Errorf("%s = %q, want %q", k, body[k], v)
				}
			}
		})
	}
}

func TestCheckBody(t *testing.T) {
	nest := func(n int) string { return strings.Repeat(`{"a":[`, n/2) + "1" + strings.Repeat("]}", n/2) }
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{}`, true},
		{nest(maxDepth), true},
		{nest(maxDepth + 2), false},
		{`{"a":"` + strings.Repeat("[", 100) + `"}`, true},               // brackets in a string do not nest
		{`{"a":"\"` + strings.Repeat("{", 100) + `"}`, true},             // nor after an escaped quote
		{`{"a":"\\"` + strings.Repeat("[", 100) + `}`, false},            // an escaped backslash ends no string
		{strings.Repeat("]", 100) + strings.Repeat("[", maxDepth), true}, // not JSON: the parser's to say
		{`{"a\u0000b":1}`, false},                                        // NUL in a name
		{`{"a":"x\u0000"}`, false},                                       // in a value
		{`{"a":"x\\u0000"}`, true},                                       // an escaped backslash, then the text u0000
		{`{"a":"\u00000\u0001"}`, false},                                 // NUL followed by a digit
		{`{"a":"\u0001"}`, true},                                         // other control characters are text
	} {
		if err := checkBody([]byte(tc.body)); (err == nil) != tc.ok {
			t.Errorf("%.60s: %v", tc.body, err)
		}
	}
}
