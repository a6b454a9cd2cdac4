// Package tmfrest is the TMF646 Appointment Management v4.0.0 REST transport, mounted at
// BasePath. Every answer it gives, including those for unknown paths and wrong methods, is
// TMF JSON; domain error codes become HTTP statuses and TMF Error bodies here, once.
package tmfrest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/apphub/apphub"
)

// BasePath is where the API is mounted.
const BasePath = "/tmf-api/appointment/v4/"

const contentTypeJSON = "application/json;charset=utf-8"

// Handler serves the TMF646 API.
type Handler struct {
	mux    *http.ServeMux
	logger *slog.Logger
}

// NewHandler returns the TMF646 handler; it expects request paths that start with BasePath.
func NewHandler(logger *slog.Logger) *Handler {
	return &Handler{mux: http.NewServeMux(), logger: logger}
}

func (h *Handler) handle(pattern string, fn http.HandlerFunc) {
	h.mux.HandleFunc(pattern, fn)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	// No route matched. ServeMux would answer 404 or 405 in plain text; ask it which (and
	// which methods are allowed), then answer with a TMF Error instead.
	rec := &recorder{header: http.Header{}}
	pattern := r.Pattern // the mount point; keep it for the caller's logs and metrics
	h.mux.ServeHTTP(rec, r)
	r.Pattern = pattern
	switch rec.status {
	case http.StatusMethodNotAllowed:
		w.Header()["Allow"] = rec.header["Allow"]
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", http.StatusText(http.StatusMethodNotAllowed),
			"method "+r.Method+" is not allowed on "+r.URL.Path)
	case http.StatusNotFound:
		writeError(w, http.StatusNotFound, apphub.ENOTFOUND, http.StatusText(http.StatusNotFound), "no resource at "+r.URL.Path)
	default:
		// A redirect to the canonical path, or similar: pass it on as it was.
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
	}
}

// tmfError is the TMF630 Error resource.
type tmfError struct {
	Code    string `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
	Status  string `json:"status"`
	Type    string `json:"@type"`
}

// statusOf maps a domain error code to its HTTP status.
func statusOf(code string) int {
	switch code {
	case apphub.ENOTFOUND:
		return http.StatusNotFound
	case apphub.ECONFLICT:
		return http.StatusConflict
	case apphub.EINVALID:
		return http.StatusBadRequest
	case apphub.EPRECONDITION:
		return http.StatusPreconditionFailed
	case apphub.EFORBIDDEN:
		return http.StatusForbidden
	case apphub.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// writeDomainError answers with the TMF Error for err; internal details go to the log only.
func (h *Handler) writeDomainError(w http.ResponseWriter, r *http.Request, err error) {
	code := apphub.ErrorCode(err)
	status := statusOf(code)
	if status == http.StatusInternalServerError {
		h.logger.ErrorContext(r.Context(), "TMF646 request failed", "err", err)
	}
	writeError(w, status, code, http.StatusText(status), apphub.ErrorMessage(err))
}

func writeError(w http.ResponseWriter, status int, code, reason, message string) {
	writeJSON(w, status, tmfError{Code: code, Reason: reason, Message: message, Status: strconv.Itoa(status), Type: "Error"})
}

// writeJSON encodes v without HTML escaping, so that every string a client sent comes back
// byte-identical.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"code":"INTERNAL","reason":"Internal Server Error","status":"500","@type":"Error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// recorder captures what ServeMux would have answered.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
