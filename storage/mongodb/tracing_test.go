package mongodb_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
)

// Every command is a client span of the caller's trace, named "<command> <collection>", with
// where it went and what it was, and nothing of the documents. A duplicate _id (how exclusive
// facts are decided) is not an error of the span; a command the server refuses is.
func TestCommandSpans(t *testing.T) {
	t.Parallel()
	uri, database := storetest.MongoURI(t)
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(context.Background())
	db, err := mongodb.Open(uri, database, mongodb.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	defer parent.End()

	const secret = "claim|tech-secret|2026-03-29T01:00:00Z|0"
	doc := map[string]any{"_id": secret, "customer": "Ada Lovelace"}
	tests := []struct {
		name     string
		run      func() error
		wantCode string // the operation's apphub error code
		span     string
		op, coll string
		failed   bool
	}{
		{name: "an insert", run: func() error { return mongodb.InsertForTest(ctx, db, "claims", doc) },
			span: "insert claims", op: "insert", coll: "claims"},
		{name: "a duplicate _id", run: func() error { return mongodb.InsertForTest(ctx, db, "claims", doc) }, wantCode: apphub.ECONFLICT,
			span: "insert claims", op: "insert", coll: "claims"},
		{name: "a find", run: func() error { var out map[string]any; return mongodb.FindByIDForTest(ctx, db, "claims", secret, &out) },
			span: "find claims", op: "find", coll: "claims"},
		{name: "a command on no collection", run: func() error { return db.Ping(ctx) }, span: "ping", op: "ping"},
		{name: "a refused command", run: func() error { return mongodb.InsertForTest(ctx, db, "bad$name", doc) }, wantCode: "any",
			span: "insert bad$name", op: "insert", coll: "bad$name", failed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exporter.Reset()
			err := tt.run()
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatal(err)
			case tt.wantCode == "any" && err == nil, tt.wantCode != "" && tt.wantCode != "any" && apphub.ErrorCode(err) != tt.wantCode:
				t.Fatalf("err = %v, want %s", err, tt.wantCode)
			}
			spans := exporter.GetSpans().Snapshots()
			i := slices.IndexFunc(spans, func(s sdktrace.ReadOnlySpan) bool { return s.Name() == tt.span })
			if i < 0 {
				var names []string
				for _, s := range spans {
					names = append(names, s.Name())
				}
				t.Fatalf("no span %q among %v", tt.span, names)
			}
			s := spans[i]
			if s.SpanKind() != trace.SpanKindClient || s.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("span kind %v parent %v, want a client span under the request", s.SpanKind(), s.Parent().SpanID())
			}
			attrs := s.Attributes()
			for _, want := range []attribute.KeyValue{attribute.String("db.system", "mongodb"), attribute.String("db.operation.name", tt.op),
				attribute.String("db.namespace", database)} {
				if !slices.Contains(attrs, want) {
					t.Errorf("no attribute %s=%s in %v", want.Key, want.Value.String(), attrs)
				}
			}
			if tt.coll != "" && !slices.Contains(attrs, attribute.String("db.collection.name", tt.coll)) {
				t.Errorf("no collection %q in %v", tt.coll, attrs)
			}
			if !slices.ContainsFunc(attrs, func(a attribute.KeyValue) bool { return a.Key == "server.address" }) ||
				!slices.ContainsFunc(attrs, func(a attribute.KeyValue) bool { return a.Key == "server.port" && a.Value.AsInt64() > 0 }) {
				t.Errorf("no server address and port in %v", attrs)
			}
			if got := s.Status().Code == codes.Error; got != tt.failed {
				t.Errorf("status %v, want an error: %v", s.Status(), tt.failed)
			}
			for _, a := range attrs {
				if v := a.Value.String(); strings.Contains(v, "tech-secret") || strings.Contains(v, "Lovelace") {
					t.Errorf("the span records the document: %s=%s", a.Key, v)
				}
			}
			if strings.Contains(s.Status().Description, "tech-secret") {
				t.Errorf("the span's status quotes the document: %s", s.Status().Description)
			}
		})
	}
}

// Without a tracer provider nothing is traced, and Open behaves as before.
func TestOpenWithoutTracing(t *testing.T) {
	t.Parallel()
	uri, database := storetest.MongoURI(t)
	for _, with := range [][]mongodb.OpenOption{nil, {mongodb.WithTracerProvider(nil)}} {
		db, err := mongodb.Open(uri, database, with...)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		db.Close(context.Background())
	}
}

// An outbox record keeps its event's traceparent, so that an instance taking the delivery over
// continues the same trace.
func TestDeliveryKeepsTraceParent(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()
	tests := []struct{ id, traceParent string }{
		{"s1|a1|0000000001|" + apphub.EventCreated, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"s1|a2|0000000001|" + apphub.EventCreated, ""},
	}
	for _, tt := range tests {
		d := apphub.Delivery{ID: tt.id, SubscriptionID: "s1", AppointmentID: "a", Version: 1, EventType: apphub.EventCreated,
			Callback: "http://listener.test", Body: []byte(`{}`), CreatedAt: time.Now().UTC().Truncate(time.Millisecond), TraceParent: tt.traceParent}
		if err := db.InsertDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	all, err := db.Deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		i := slices.IndexFunc(all, func(d apphub.Delivery) bool { return d.ID == tt.id })
		if i < 0 || all[i].TraceParent != tt.traceParent {
			t.Errorf("delivery %s read back as %+v, want traceparent %q", tt.id, all, tt.traceParent)
		}
	}
}
