package telemetry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/telemetry/telemetrytest"
)

const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// clearEnv unsets the OTEL_ variables that turn exporting on or off.
func clearEnv(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER"} {
		t.Setenv(k, "")
	}
}

// Without a tracing section or an OTEL endpoint, no exporter runs: the
// provider is not the SDK's, spans record nothing and nothing is sent,
// yet each span gets its own span id under its parent's trace.
func TestOffByDefault(t *testing.T) {
	clearEnv(t)
	rc := telemetrytest.NewReceiver(t)
	p, err := New(context.Background(), config.Tracing{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Exporting() {
		t.Fatal("exporting without configuration")
	}
	if _, sdk := p.TracerProvider().(*sdktrace.TracerProvider); sdk {
		t.Fatal("an SDK provider (with its batch processor goroutine) without configuration")
	}
	tr := p.Tracer()
	parent := WithTraceparent(context.Background(), caller)
	ctx, span := tr.Start(parent, SpanValidate)
	span.End()
	if span.IsRecording() {
		t.Error("a span records with tracing off")
	}
	tp := Traceparent(ctx)
	if tp[:36] != caller[:36] || tp == caller || !strings.HasSuffix(tp, "-01") {
		t.Errorf("child of %s = %s: want the same trace and flags under a new span id", caller, tp)
	}
	_, root := tr.Start(context.Background(), SpanWrite)
	if sc := root.SpanContext(); !sc.IsValid() || !sc.IsSampled() || sc.TraceID().String() == caller[3:35] {
		t.Errorf("root span context %v: want a new, valid, sampled trace", sc)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown when off: %v", err)
	}

	// OTEL_SDK_DISABLED wins over an endpoint in the environment.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	t.Setenv("OTEL_SDK_DISABLED", "true")
	p, err = New(context.Background(), config.Tracing{}, nil)
	if err != nil || p.Exporting() {
		t.Fatalf("OTEL_SDK_DISABLED=true: exporting=%v err=%v", p.Exporting(), err)
	}
	_, span = p.Tracer().Start(context.Background(), SpanApply)
	span.End()
	_ = p.Shutdown(context.Background())
	if n := rc.Requests(); n != 0 {
		t.Errorf("%d export requests with tracing off", n)
	}
}

// Configured (here by the standard environment variable, and by the config,
// which wins), spans go to the collector, at the latest on Shutdown.
func TestExportsAndFlushesOnShutdown(t *testing.T) {
	clearEnv(t)
	envRC, cfgRC := telemetrytest.NewReceiver(t), telemetrytest.NewReceiver(t)
	for _, tc := range []struct {
		name string
		cfg  config.Tracing
		env  string
		want *telemetrytest.Receiver
	}{
		{"environment", config.Tracing{}, envRC.URL, envRC},
		{"config wins", config.Tracing{OTLPEndpoint: cfgRC.URL + "/", ServiceName: "lienthong-test"}, envRC.URL, cfgRC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", tc.env)
			t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "600000") // only Shutdown flushes
			before := len(tc.want.Spans())
			p, err := New(context.Background(), tc.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Exporting() {
				t.Fatal("not exporting")
			}
			_, span := p.Tracer().Start(WithTraceparent(context.Background(), caller), SpanDeliver)
			if !span.IsRecording() {
				t.Fatal("span not recording")
			}
			span.End()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			spans := tc.want.Spans()[before:]
			if len(spans) != 1 || spans[0].Name != SpanDeliver || spans[0].TraceID != caller[3:35] || spans[0].ParentID != caller[36:52] {
				t.Fatalf("received %s", telemetrytest.Dump(spans))
			}
			wantService := tc.cfg.ServiceName
			if wantService == "" {
				wantService = DefaultServiceName
			}
			if spans[0].Service != wantService {
				t.Errorf("service.name %q, want %q", spans[0].Service, wantService)
			}
		})
	}
}

func TestTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://otel:4318":          "http://otel:4318/v1/traces",
		"https://otel:4318/":        "https://otel:4318/v1/traces",
		"https://gw.example/otlp":   "https://gw.example/otlp/v1/traces",
		"https://gw.example/otlp/":  "https://gw.example/otlp/v1/traces",
		"http://127.0.0.1:4318/a/b": "http://127.0.0.1:4318/a/b/v1/traces",
	} {
		if got, err := TracesURL(in); err != nil || got != want {
			t.Errorf("TracesURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := TracesURL("otel:4318"); err == nil {
		t.Error("TracesURL without a scheme: no error")
	}
}

func TestKafkaCarrier(t *testing.T) {
	hs := []kafka.Header{{Key: "lienthong-accepted-at", Value: []byte("x")}, {Key: "traceparent", Value: []byte("00-old")}}
	ctx := WithTraceparent(context.Background(), caller)
	ToKafka(ctx, &hs)
	if len(hs) != 2 || string(hs[1].Value) != caller {
		t.Fatalf("headers %v: want the traceparent replaced in place", hs)
	}
	if got := Traceparent(FromKafka(context.Background(), hs)); got != caller {
		t.Errorf("FromKafka: %q", got)
	}
	var none []kafka.Header
	ToKafka(context.Background(), &none)
	if len(none) != 0 {
		t.Errorf("a context without a span wrote %v", none)
	}
	if FromKafka(context.Background(), nil) != context.Background() {
		t.Error("FromKafka without headers changed the context")
	}
}

// recorder is an SDK provider that keeps ended spans in memory.
type recorder struct{ spans []sdktrace.ReadOnlySpan }

func (r *recorder) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	r.spans = append(r.spans, s...)
	return nil
}
func (r *recorder) Shutdown(context.Context) error { return nil }

func newRecorder() (*recorder, trace.Tracer) {
	r := &recorder{}
	return r, sdktrace.NewTracerProvider(sdktrace.WithSyncer(r)).Tracer(ScopeName)
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// The wrappers: the server span answers its traceparent; the Kafka write
// puts the write span's context on every record; each delivery attempt is
// a span under the record's context, and the driver gets the span's
// traceparent while the engine's message keeps the record's.
func TestWrappers(t *testing.T) {
	rec, tr := newRecorder()

	var inner string
	h := Serve(tr, "/v1/events", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = Traceparent(r.Context())
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	req := httptest.NewRequest(http.MethodPost, "/v1/events", nil)
	req.Header.Set("traceparent", caller)
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, req)
	if got := rw.Header().Get("traceparent"); got != inner || got[:36] != caller[:36] || got == caller {
		t.Errorf("answered %q, handler saw %q: want the server span, child of %s", got, inner, caller)
	}
	server := rec.spans[len(rec.spans)-1]
	if server.Name() != "POST /v1/events" || server.SpanKind() != trace.SpanKindServer || server.Parent().SpanID().String() != caller[36:52] ||
		attr(server, "http.response.status_code") != "503" || server.Status().Code.String() != "Error" {
		t.Errorf("server span %s kind %v parent %v status %v attrs %v", server.Name(), server.SpanKind(), server.Parent().SpanID(), server.Status(), server.Attributes())
	}

	var written []kafka.Message
	w := Writes(tr, writerFunc(func(_ context.Context, msgs ...kafka.Message) error { written = msgs; return nil }))
	ctx := WithTraceparent(context.Background(), caller)
	if err := w.WriteMessages(ctx, kafka.Message{Topic: "lienthong.events"}, kafka.Message{Topic: "lienthong.events"}); err != nil {
		t.Fatal(err)
	}
	write := rec.spans[len(rec.spans)-1]
	for _, m := range written {
		if tp := Traceparent(FromKafka(context.Background(), m.Headers)); tp[36:52] != write.SpanContext().SpanID().String() || tp[3:35] != caller[3:35] {
			t.Errorf("record traceparent %q, want the write span %s", tp, write.SpanContext().SpanID())
		}
	}
	if write.Name() != SpanWrite || write.Parent().SpanID().String() != caller[36:52] || attr(write, "messaging.batch.message_count") != "2" {
		t.Errorf("write span %s parent %v attrs %v", write.Name(), write.Parent().SpanID(), write.Attributes())
	}

	var seen []string
	d := Deliveries(tr, adapters.DriverFunc(func(_ context.Context, m *adapters.Message) error {
		seen = append(seen, m.Traceparent)
		if len(seen) == 1 {
			return &adapters.StatusError{Status: 503, Err: errors.New("busy")}
		}
		return nil
	}))
	m := &adapters.Message{Agency: "VPDK", Type: "dossier.assigned", Subject: "HCC-20260315-0001", Traceparent: caller}
	for attempt := 1; attempt <= 2; attempt++ {
		m.Attempt = attempt
		_ = d.Deliver(context.Background(), m)
	}
	if m.Traceparent != caller {
		t.Errorf("the engine's message changed: %q", m.Traceparent)
	}
	attempts := rec.spans[len(rec.spans)-2:]
	for i, s := range attempts {
		if s.Name() != SpanDeliver || s.Parent().SpanID().String() != caller[36:52] || s.SpanContext().TraceID().String() != caller[3:35] ||
			seen[i][36:52] != s.SpanContext().SpanID().String() {
			t.Errorf("attempt %d: span %s parent %v, driver saw %q", i+1, s.Name(), s.Parent().SpanID(), seen[i])
		}
		if attr(s, "lienthong.agency") != "VPDK" || attr(s, "lienthong.delivery.attempt") != string(rune('1'+i)) ||
			attr(s, "lienthong.dossier.agency") != "HCC" || attr(s, "cloudevents.event_type") != "dossier.assigned" {
			t.Errorf("attempt %d attrs %v", i+1, s.Attributes())
		}
	}
	if attr(attempts[0], "http.response.status_code") != "503" || attempts[0].Status().Code.String() != "Error" || attempts[1].Status().Code.String() == "Error" {
		t.Errorf("statuses %v %v", attempts[0].Status(), attempts[1].Status())
	}
	for _, s := range rec.spans {
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.Emit(), "HCC-20260315-0001") {
				t.Errorf("span %s has the whole dossier code in %s", s.Name(), kv.Key)
			}
		}
	}
}

type writerFunc func(ctx context.Context, msgs ...kafka.Message) error

func (f writerFunc) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	return f(ctx, msgs...)
}

// The cost of tracing off, per span and per wrapped call.
func BenchmarkOff(b *testing.B) {
	tr := Off().Tracer()
	parent := WithTraceparent(context.Background(), caller)
	b.Run("span", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, span := tr.Start(parent, SpanApply)
			span.End()
		}
	})
	b.Run("serve", func(b *testing.B) {
		h := Serve(tr, "/v1/events", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		req := httptest.NewRequest(http.MethodPost, "/v1/events", nil)
		req.Header.Set("traceparent", caller)
		w := httptest.NewRecorder()
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	})
	b.Run("deliver", func(b *testing.B) {
		d := Deliveries(tr, adapters.DriverFunc(func(context.Context, *adapters.Message) error { return nil }))
		m := &adapters.Message{Agency: "VPDK", Type: "dossier.assigned", Subject: "HCC-20260315-0001", Traceparent: caller, Attempt: 1}
		b.ReportAllocs()
		for b.Loop() {
			_ = d.Deliver(context.Background(), m)
		}
	})
}
