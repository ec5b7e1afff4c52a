// Package telemetry gives lienthong's roles their OpenTelemetry tracer and
// carries the W3C trace context (traceparent, tracestate) across HTTP and
// Kafka, so that one dossier's POST, its routing and its deliveries are one
// trace.
//
// Spans, each parented on the trace context carried to it:
//
//	POST /v1/events  (gateway, server)   parent: the caller's traceparent
//	├─ validate      (gateway)           the contract's checks of the events
//	└─ write         (gateway, producer) the acknowledged Kafka write; its
//	   │                                 context goes in each record's headers
//	   └─ apply      (router, consumer)  one event applied to its dossier's
//	      │                              route; its context goes on the
//	      │                              records it makes
//	      └─ deliver (delivery, client)  one delivery attempt to an agency;
//	                                     its context is the webhook's traceparent
//
// Attributes name event types, agencies (the dossier code's agency prefix,
// never the whole code), counts, attempts and status codes: no personal data.
//
// Off (the default: no endpoint configured) spans are not recorded and
// nothing is exported, at the cost of two random numbers a span: the trace
// context is still carried, each role under span ids of its own, as when on.
// The wrappers here are the only places that start spans around the roles'
// existing calls (HTTP handler, Kafka writer, delivery driver); the router
// starts its apply span itself, around the engine call.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/internal/config"
)

// Span names.
const (
	SpanValidate = "validate"
	SpanWrite    = "write"
	SpanApply    = "apply"
	SpanDeliver  = "deliver"
)

// Tracer (instrumentation scope) name.
const ScopeName = "github.com/lienthong/lienthong"

// DefaultServiceName is service.name when the config names none.
const DefaultServiceName = "lienthong"

// Attribute keys of lienthong's own (the rest are OpenTelemetry semantic
// conventions).
const (
	AttrAgency        = attribute.Key("lienthong.agency")         // the sender (gateway) or the recipient (deliver)
	AttrDossierAgency = attribute.Key("lienthong.dossier.agency") // the agency prefix of the dossier code
	AttrEvents        = attribute.Key("lienthong.events")         // events in a request
	AttrAttempt       = attribute.Key("lienthong.delivery.attempt")
	AttrPermanent     = attribute.Key("lienthong.delivery.permanent")
	AttrOutputs       = attribute.Key("lienthong.outputs") // records an applied event made
	AttrProblem       = attribute.Key("lienthong.problem") // a refusal's problem type
)

// Propagator is the W3C Trace Context propagator every carrier uses.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Provider is a process's tracer provider: an OpenTelemetry SDK one with an
// OTLP/HTTP exporter when tracing is configured, else one that records
// nothing.
type Provider struct {
	tp  trace.TracerProvider
	sdk *sdktrace.TracerProvider // nil when off
}

// Off returns a provider that records and exports nothing but still gives
// each span its own span id (and a new trace id when there is no parent),
// so trace context is carried as when tracing is on.
func Off() *Provider { return &Provider{tp: offProvider{}} }

// Enabled reports whether c or the environment turns exporting on: an
// endpoint in c, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT set; never with OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none.
func Enabled(c config.Tracing) bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(os.Getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return c.OTLPEndpoint != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// New returns Off() unless Enabled(c), else a provider that batches spans
// to the OTLP/HTTP collector at c.OTLPEndpoint (or where the standard
// OTEL_EXPORTER_OTLP_* variables say; the config wins). The SDK's other
// standard variables apply: OTEL_TRACES_SAMPLER (default: parent-based,
// always on), OTEL_BSP_*, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES.
// Export errors go to log. Nothing is dialled before the first export.
func New(ctx context.Context, c config.Tracing, log *slog.Logger) (*Provider, error) {
	if !Enabled(c) {
		return Off(), nil
	}
	var opts []otlptracehttp.Option
	if c.OTLPEndpoint != "" {
		u, err := TracesURL(c.OTLPEndpoint)
		if err != nil {
			return nil, err
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(u))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	name := c.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(name)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
		resource.WithHost(),
	)
	if err != nil && res == nil {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	if log != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing: export failed", "err", err) }))
	}
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Provider{tp: sdk, sdk: sdk}, nil
}

// TracesURL is the traces URL of a collector's base URL, as the SDK derives
// it from OTEL_EXPORTER_OTLP_ENDPOINT: its path and /v1/traces.
func TracesURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("tracing: otlp_endpoint %q is not an http:// or https:// URL", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	return u.String(), nil
}

// Exporting reports whether spans are recorded and exported.
func (p *Provider) Exporting() bool { return p.sdk != nil }

// Tracer returns lienthong's tracer.
func (p *Provider) Tracer() trace.Tracer { return p.tp.Tracer(ScopeName) }

// TracerProvider returns the underlying provider.
func (p *Provider) TracerProvider() trace.TracerProvider { return p.tp }

// Shutdown exports the spans still buffered and stops the exporter, within
// ctx. It does nothing when off.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.sdk == nil {
		return nil
	}
	return p.sdk.Shutdown(ctx)
}

// offProvider's tracers start spans that record nothing: each gets a new
// span id under its parent's trace id, trace flags and trace state (a new
// sampled trace when there is no parent). Span options are ignored.
type offProvider struct{ embedded.TracerProvider }

func (offProvider) Tracer(string, ...trace.TracerOption) trace.Tracer { return offTracer{} }

type offTracer struct{ embedded.Tracer }

func (offTracer) Start(ctx context.Context, _ string, _ ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanContextFromContext(ctx)
	sc := trace.SpanContextConfig{TraceID: parent.TraceID(), TraceFlags: parent.TraceFlags(), TraceState: parent.TraceState()}
	if !parent.IsValid() {
		for !sc.TraceID.IsValid() {
			hi, lo := rand.Uint64(), rand.Uint64()
			for i := range 8 {
				sc.TraceID[i], sc.TraceID[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
			}
		}
		sc.TraceFlags = trace.FlagsSampled
	}
	for !sc.SpanID.IsValid() {
		id := rand.Uint64()
		for i := range 8 {
			sc.SpanID[i] = byte(id >> (56 - 8*i))
		}
	}
	ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(sc))
	return ctx, trace.SpanFromContext(ctx)
}

// KafkaCarrier is a propagation.TextMapCarrier over a Kafka record's
// headers: Set replaces a header of the same key or appends one.
type KafkaCarrier struct{ Headers *[]kafka.Header }

// Get returns the value of the first header named key, or "".
func (c KafkaCarrier) Get(key string) string {
	for _, h := range *c.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set sets the header named key to value.
func (c KafkaCarrier) Set(key, value string) {
	for i, h := range *c.Headers {
		if h.Key == key {
			(*c.Headers)[i] = kafka.Header{Key: key, Value: []byte(value)}
			return
		}
	}
	*c.Headers = append(*c.Headers, kafka.Header{Key: key, Value: []byte(value)})
}

// Keys lists the header keys.
func (c KafkaCarrier) Keys() []string {
	keys := make([]string, len(*c.Headers))
	for i, h := range *c.Headers {
		keys[i] = h.Key
	}
	return keys
}

// FromKafka returns ctx with the trace context of a record's headers as
// its remote parent (ctx itself when they carry none).
func FromKafka(ctx context.Context, headers []kafka.Header) context.Context {
	return Propagator.Extract(ctx, KafkaCarrier{&headers})
}

// ToKafka writes the trace context of ctx into headers (nothing when ctx
// has none).
func ToKafka(ctx context.Context, headers *[]kafka.Header) {
	Propagator.Inject(ctx, KafkaCarrier{headers})
}

// Traceparent returns the traceparent of ctx's span, "" when it has none.
func Traceparent(ctx context.Context) string {
	var tp string
	Propagator.Inject(ctx, traceparentCarrier{&tp})
	return tp
}

// WithTraceparent returns ctx with the trace context of a traceparent value
// as its remote parent (ctx itself when tp is not a valid one).
func WithTraceparent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return Propagator.Extract(ctx, traceparentCarrier{&tp})
}

// traceparentCarrier carries a traceparent value alone (no tracestate).
type traceparentCarrier struct{ v *string }

func (c traceparentCarrier) Get(key string) string {
	if key == "traceparent" {
		return *c.v
	}
	return ""
}

func (c traceparentCarrier) Set(key, value string) {
	if key == "traceparent" {
		*c.v = value
	}
}

func (c traceparentCarrier) Keys() []string { return []string{"traceparent"} }

// DossierAgency is the agency prefix of a dossier code (HCC of
// HCC-20260303-0001), "" when it is not shaped like one. The whole code is
// never an attribute.
func DossierAgency(code string) string {
	if i := strings.IndexByte(code, '-'); i > 0 && i <= 32 {
		return code[:i]
	}
	return ""
}

// Serve wraps h, served at route: each request is a server span ("POST
// /v1/events") parented on the caller's traceparent (a new trace without a
// valid one), whose trace context is answered in the response headers so a
// caller can find its trace.
func Serve(t trace.Tracer, route string, h http.Handler) http.Handler {
	post := http.MethodPost + " " + route
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := post
		if r.Method != http.MethodPost {
			name = r.Method + " " + route
		}
		ctx := Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.Start(ctx, name, serverKind)
		defer span.End()
		Propagator.Inject(ctx, propagation.HeaderCarrier(w.Header()))
		if !span.IsRecording() {
			h.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		span.SetAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.HTTPRoute(route))
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r.WithContext(ctx))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

// statusWriter notes the status code; Unwrap keeps http.ResponseController
// working through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Span kinds, made once: options allocate.
var (
	serverKind   = trace.WithSpanKind(trace.SpanKindServer)
	producerKind = trace.WithSpanKind(trace.SpanKindProducer)
	consumerKind = trace.WithSpanKind(trace.SpanKindConsumer)
	clientKind   = trace.WithSpanKind(trace.SpanKindClient)
)

// Writer is a synchronous Kafka producer, as *kafka.Writer.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Writes wraps w: each WriteMessages is a producer span named write under
// ctx's span, and its trace context goes in every record's headers (in
// place of a traceparent they had).
func Writes(t trace.Tracer, w Writer) Writer { return tracedWriter{t, w} }

type tracedWriter struct {
	t trace.Tracer
	w Writer
}

func (tw tracedWriter) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	ctx, span := tw.t.Start(ctx, SpanWrite, producerKind)
	if span.IsRecording() {
		span.SetAttributes(semconv.MessagingSystemKafka, semconv.MessagingOperationTypeSend, semconv.MessagingBatchMessageCount(len(msgs)))
		if len(msgs) > 0 {
			span.SetAttributes(semconv.MessagingDestinationName(msgs[0].Topic))
		}
	}
	for i := range msgs {
		ToKafka(ctx, &msgs[i].Headers)
	}
	err := tw.w.WriteMessages(ctx, msgs...)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	return err
}

// StartApply starts the router's span for applying the event of record m
// (type typ, dossier code subject), parented on the record's trace context.
func StartApply(ctx context.Context, t trace.Tracer, m kafka.Message, typ, subject string) (context.Context, trace.Span) {
	ctx, span := t.Start(FromKafka(ctx, m.Headers), SpanApply, consumerKind)
	if span.IsRecording() {
		span.SetAttributes(semconv.MessagingSystemKafka, semconv.MessagingOperationTypeProcess,
			semconv.MessagingDestinationName(m.Topic), semconv.MessagingDestinationPartitionID(strconv.Itoa(m.Partition)), semconv.MessagingKafkaOffset(int(m.Offset)),
			semconv.CloudEventsEventType(typ), AttrDossierAgency.String(DossierAgency(subject)))
	}
	return ctx, span
}

// EndApply ends an apply span with the number of records the event made
// and, when a state rule refused it, the problem type.
func EndApply(span trace.Span, outputs int, refused string) {
	if span.IsRecording() {
		span.SetAttributes(AttrOutputs.Int(outputs))
		if refused != "" {
			span.SetAttributes(AttrProblem.String(refused))
			span.SetStatus(codes.Error, "refused: "+refused)
		}
	}
	span.End()
}

// Deliveries wraps a delivery driver: each attempt is a client span named
// deliver, parented on the message's traceparent, and the driver gets the
// span's traceparent (the webhook sends it on) and context.
func Deliveries(t trace.Tracer, d adapters.Driver) adapters.Driver {
	return adapters.DriverFunc(func(ctx context.Context, m *adapters.Message) error {
		ctx, span := t.Start(WithTraceparent(ctx, m.Traceparent), SpanDeliver, clientKind)
		defer span.End()
		if span.IsRecording() {
			span.SetAttributes(AttrAgency.String(m.Agency), AttrAttempt.Int(m.Attempt),
				semconv.CloudEventsEventType(m.Type), AttrDossierAgency.String(DossierAgency(m.Subject)))
		}
		mm := *m // the engine reuses m for the next attempt, under the same parent
		mm.Traceparent = Traceparent(ctx)
		err := d.Deliver(ctx, &mm)
		if err != nil && span.IsRecording() {
			status := adapters.StatusOf(err)
			if status != 0 {
				span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			}
			span.SetAttributes(AttrPermanent.Bool(adapters.IsPermanent(err)))
			// Not err's text: a driver's error may quote what the system answered.
			switch {
			case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
				span.SetStatus(codes.Error, "cancelled or timed out")
			case status != 0:
				span.SetStatus(codes.Error, fmt.Sprintf("answered %d", status))
			default:
				span.SetStatus(codes.Error, "no answer")
			}
		}
		return err
	})
}

// StartValidate starts the gateway's span for checking the events of one
// request from agency.
func StartValidate(ctx context.Context, t trace.Tracer, agency string, events int) (context.Context, trace.Span) {
	ctx, span := t.Start(ctx, SpanValidate)
	if span.IsRecording() {
		span.SetAttributes(AttrAgency.String(agency), AttrEvents.Int(events))
	}
	return ctx, span
}

// EndRefused ends a span whose work was refused with an HTTP status and a
// problem type (the gateway's validate).
func EndRefused(span trace.Span, status int, problemType string) {
	if span.IsRecording() {
		span.SetAttributes(semconv.HTTPResponseStatusCode(status), AttrProblem.String(problemType))
		span.SetStatus(codes.Error, "refused: "+problemType)
	}
	span.End()
}
