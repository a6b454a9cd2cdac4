package tmfrest

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

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
