package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Every line logged with a request's context names the request, and durations are numbers of
// milliseconds whichever handler writes them.
func TestLoggerLines(t *testing.T) {
	ctx := withRequestID(context.Background(), "req-7")
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	traced := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID}))
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want map[string]any // fields of the JSON line
		text string         // in the text line
	}{
		{"a request's line", func(l *slog.Logger) { l.InfoContext(ctx, "booked") }, map[string]any{"request_id": "req-7"}, "request_id=req-7"},
		{"through With", func(l *slog.Logger) { l.With("component", "x").WarnContext(ctx, "slow") }, map[string]any{"request_id": "req-7", "component": "x"}, "request_id=req-7"},
		{"a traced request's line", func(l *slog.Logger) { l.InfoContext(traced, "booked") },
			map[string]any{"request_id": "req-7", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}, "trace_id=4bf92f3577b34da6a3ce929d0e0e4736"},
		{"no request", func(l *slog.Logger) { l.Info("started") }, map[string]any{"request_id": nil, "trace_id": nil}, "msg=started"},
		{"a duration", func(l *slog.Logger) { l.Info("seeded", "took", 382100*time.Microsecond) }, map[string]any{"took_ms": 382.1, "took": nil}, "took_ms=382.1"},
		{"a duration named in ms", func(l *slog.Logger) { l.Info("x", "wait_ms", 2*time.Second) }, map[string]any{"wait_ms": 2000.0}, "wait_ms=2000"},
		{"not a duration", func(l *slog.Logger) { l.Info("x", "n", 3) }, map[string]any{"n": 3.0}, "n=3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var js, text bytes.Buffer
			tc.log(newLogger(&js, "json", "info"))
			tc.log(newLogger(&text, "text", "info"))
			var line map[string]any
			if err := json.Unmarshal(js.Bytes(), &line); err != nil {
				t.Fatalf("%v: %s", err, js.String())
			}
			for k, v := range tc.want {
				if got, ok := line[k]; v == nil && ok || v != nil && got != v {
					t.Errorf("JSON %s = %v (present %v), want %v: %s", k, got, ok, v, js.String())
				}
			}
			if !strings.Contains(text.String(), tc.text) {
				t.Errorf("text line %q lacks %q", text.String(), tc.text)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{arg}, envFunc(nil), &out, &out, testHooks()); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if got := out.String(); !strings.HasPrefix(got, "apphub ") || !strings.Contains(got, "revision ") || !strings.Contains(got, "go1.") {
			t.Errorf("%s printed %q", arg, got)
		}
	}
}
