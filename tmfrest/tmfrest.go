// Package tmfrest is the TMF646 Appointment Management v4.0.0 REST transport, mounted at
// BasePath: the 20 operations of the swagger, under the rules of the contract
// (docs/tmf646.md). Every answer it gives, including those for unknown paths and
// wrong methods, is TMF JSON; domain error codes become HTTP statuses and TMF Error bodies
// here, once. Request bodies are validated against the swagger's schemas (kin-openapi);
// representations are built from the raw JSON clients sent, so that their values come back
// byte-identical; lists are filtered, sorted and paged in Go over the representations, so that
// nothing a client sends reaches the database as a query.
package tmfrest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// BasePath is where the API is mounted.
const BasePath = "/tmf-api/appointment/v4/"

const contentTypeJSON = "application/json;charset=utf-8"

// Challenge is the WWW-Authenticate header of a 401: a bearer token (a JWT or an API key).
const Challenge = `Bearer realm="apphub"`

// maxBody bounds a request body. What a client has reason to send is a few kilobytes: an
// appointment with its notes and contact media, a search of at most booking.MaxSearchWindows
// windows, a registration. 64 KiB leaves room for extension attributes and slots a client sends
// back; the work of reading, checking and storing a body grows with its size.
const maxBody = 64 << 10

// Service is what the TMF646 API needs from the booking service.
type Service interface {
	Book(ctx context.Context, req booking.NewAppointment) (apphub.Appointment, error)
	Appointment(ctx context.Context, id string) (apphub.Appointment, error)
	Appointments(ctx context.Context) ([]apphub.Appointment, error)
	ChangeWith(ctx context.Context, id string, build func(cur apphub.Appointment) (booking.Change, error)) (apphub.Appointment, error)
	Calendar(ctx context.Context) (*apphub.Calendar, error)
	RunSearchTask(ctx context.Context, t booking.SearchTask) (booking.TaskResult, error)
	Delete(ctx context.Context, id string, expectedVersion int) error

	CreateSearchTimeSlot(ctx context.Context, req booking.NewSearchTimeSlot) (apphub.SearchTimeSlot, error)
	SearchTimeSlot(ctx context.Context, id string) (apphub.SearchTimeSlot, error)
	SearchTimeSlots(ctx context.Context) ([]apphub.SearchTimeSlot, error)
	UpdateSearchTimeSlotWith(ctx context.Context, id string, build func(cur apphub.SearchTimeSlot) (booking.SearchTimeSlotUpdate, error)) (apphub.SearchTimeSlot, error)
	DeleteSearchTimeSlot(ctx context.Context, id string, expectedVersion int) error

	Subscribe(ctx context.Context, req booking.NewSubscription) (apphub.EventSubscription, error)
	Unsubscribe(ctx context.Context, id string) error
}

// Options tune a Handler; the zero value is the default.
type Options struct {
	// PublicURL is the scheme and host (and optional path prefix) clients reach the hub at,
	// e.g. https://api.example.com; hrefs and Location headers start with it. Default: the
	// scheme and Host of each request.
	PublicURL string
	// TrustForwardedHeaders makes the default public URL honour X-Forwarded-Proto and
	// X-Forwarded-Host, for a hub behind a reverse proxy that sets them. Off by default: a
	// client could otherwise choose the hrefs others are given.
	TrustForwardedHeaders bool
}

// Handler serves the TMF646 API.
type Handler struct {
	mux     *http.ServeMux
	svc     Service
	logger  *slog.Logger
	opts    Options
	schemas *Schemas
}

// NewHandler returns the TMF646 handler on svc; it expects request paths that start with
// BasePath.
func NewHandler(svc Service, logger *slog.Logger, opts Options) *Handler {
	schemas, err := LoadSchemas()
	if err != nil {
		panic(err) // the swagger is embedded: only a broken build gets here, and a test catches it
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	h := &Handler{mux: http.NewServeMux(), svc: svc, logger: logger, opts: opts, schemas: schemas}
	h.routes()
	return h
}

func (h *Handler) handle(pattern string, fn http.HandlerFunc) {
	h.mux.HandleFunc(pattern, fn)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	}
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

// readBody reads a request body of one of the allowed media types.
func readBody(r *http.Request, allowed ...string) (media string, body []byte, err error) {
	media, err = mediaType(r.Header.Get("Content-Type"), allowed...)
	if err != nil {
		return "", nil, err
	}
	body, err = io.ReadAll(r.Body)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return "", nil, apphub.WrapError(apphub.ETOOLARGE, err, "the body is larger than %d bytes", maxBody)
	}
	if err != nil {
		return "", nil, apphub.WrapError(apphub.EINVALID, err, "the body could not be read")
	}
	if err := checkBody(body); err != nil {
		return "", nil, err
	}
	return media, body, nil
}

// fail answers err: an unsupported media type (415), or a domain error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errMediaType):
		writeError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", http.StatusText(http.StatusUnsupportedMediaType),
			"Content-Type "+strconv.Quote(r.Header.Get("Content-Type"))+" is not accepted here")
	default:
		h.writeDomainError(w, r, err)
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
	case apphub.EUNAUTHENTICATED:
		return http.StatusUnauthorized
	case apphub.EFORBIDDEN:
		return http.StatusForbidden
	case apphub.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case apphub.ERATELIMITED:
		return http.StatusTooManyRequests
	case apphub.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// writeDomainError answers with the TMF Error for err. Only a failure of the hub's own (500) is
// an ERROR in the log, with its details; a refusal of the request is the client's to fix, so
// it goes to the debug log, where one looking into a client's trouble finds it.
func (h *Handler) writeDomainError(w http.ResponseWriter, r *http.Request, err error) {
	if statusOf(apphub.ErrorCode(err)) == http.StatusInternalServerError {
		h.logger.ErrorContext(r.Context(), "TMF646 request failed", "err", err)
	} else {
		h.logger.DebugContext(r.Context(), "TMF646 request refused", "code", apphub.ErrorCode(err), "err", err)
	}
	WriteError(w, err)
}

// WriteError answers err as a TMF Error, its status mapped from the domain code: VALIDATION 400,
// UNAUTHENTICATED 401 (with the Bearer challenge, unless the caller set its own), FORBIDDEN
// 403, NOT_FOUND 404, CONFLICT 409, PRECONDITION_FAILED 412, REQUEST_TOO_LARGE 413,
// RATE_LIMITED 429, UNAVAILABLE 503, anything else 500 with no detail. A refusal's code is its
// reason (INVALID_TRANSITION, VERSION_CONFLICT, …), which says more than its class. When the
// *apphub.Error has a RetryAfter, the answer carries Retry-After in whole seconds, rounded up.
//
// It needs nothing but the error, so that the edge (authentication, rate limits) answers the
// TMF646 routes as the handler does; it does not log.
func WriteError(w http.ResponseWriter, err error) {
	code := apphub.ErrorCode(err)
	status := statusOf(code)
	if reason := apphub.ErrorReason(err); reason != "" {
		code = reason
	}
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		// RFC 9110 requires the challenge on every 401: it says how to authenticate.
		w.Header().Set("WWW-Authenticate", Challenge)
	}
	if e, ok := errors.AsType[*apphub.Error](err); ok && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(apphub.RetryAfterSeconds(e.RetryAfter)))
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
		w.Header().Set("Content-Type", contentTypeJSON)
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"code":"INTERNAL","reason":"Internal Server Error","message":"internal error","status":"500","@type":"Error"}`+"\n")
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
