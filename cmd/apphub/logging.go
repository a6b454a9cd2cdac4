package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/apphub/apphub/tracing"
)

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
	}
	return l, nil
}

// newLogger logs as text on a terminal and as JSON otherwise (to a file, a pipe, a collector).
// Every line logged with a request's context names the request (contextHandler), and every
// duration is in milliseconds (durationInMS).
func newLogger(w io.Writer, format, level string) *slog.Logger {
	l, _ := parseLevel(level) // validated with the config
	opts := &slog.HandlerOptions{Level: l, ReplaceAttr: durationInMS}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(contextHandler{slog.NewTextHandler(w, opts)})
	}
	return slog.New(contextHandler{slog.NewJSONHandler(w, opts)})
}

// durationInMS writes a duration as a number of milliseconds under a key ending in _ms: the
// text handler would write "382ms" and the JSON one nanoseconds, and a log reader should not
// have to know which wrote a line.
func durationInMS(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	key := a.Key
	if !strings.HasSuffix(key, "_ms") {
		key += "_ms"
	}
	return slog.Float64(key, float64(a.Value.Duration().Microseconds())/1000)
}

type requestIDKey struct{}

// withRequestID puts the request's id (X-Request-Id) in ctx, for every line logged with it.
func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// contextHandler adds to each line what its context knows of the request it serves — its id,
// and its trace's when it is traced — so that the lines a request caused, wherever they are
// written, can be found by its id and next to its spans.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	if id := tracing.TraceID(ctx); id != "" {
		r.AddAttrs(slog.String("trace_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
