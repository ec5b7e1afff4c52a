package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"go.opentelemetry.io/otel/trace"

	"github.com/lienthong/lienthong/adapters"
	engine "github.com/lienthong/lienthong/adapters/delivery"
	"github.com/lienthong/lienthong/adapters/webhook"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/pullfeed"
	"github.com/lienthong/lienthong/internal/telemetry"
)

// WebhookOptions maps an agency's delivery config to its webhook driver.
func WebhookOptions(a config.Agency) webhook.Options {
	return webhook.Options{URL: a.Delivery.URL, Secret: a.Delivery.Secret, Timeout: a.Delivery.Timeout.Duration}
}

// EngineOptions maps an agency's delivery config to its engine's options.
func EngineOptions(a config.Agency) engine.Options {
	return engine.Options{
		MaxAttempts: a.Delivery.MaxAttempts,
		MinBackoff:  a.Delivery.MinBackoff.Duration,
		MaxBackoff:  a.Delivery.MaxBackoff.Duration,
		Concurrency: a.Delivery.Concurrency,
	}
}

// ForBus makes the engine of an agency on the server's bus: its inbox and
// dead-letter topics, the shared producer, group "lienthong-delivery-<CODE>".
func ForBus(b *kafkabus.Bus, agency string, d adapters.Driver, o engine.Options) (*engine.Engine, error) {
	return engine.New(engine.Config{
		Agency:     agency,
		Driver:     d,
		Brokers:    b.Brokers(),
		Dialer:     b.Dialer(),
		Writer:     b.Writer(),
		InboxTopic: b.Topic(kafkabus.InboxTopic(agency)),
		DLQTopic:   b.Topic(kafkabus.DLQTopic(agency)),
		Options:    o,
	})
}

// Options are the server's hooks for every engine.
type Options struct {
	Metrics engine.Metrics
	Logger  *slog.Logger
	// CursorKey keys pull cursors (nil: a fixed key, see internal/pullfeed).
	CursorKey []byte
	// Tracer makes the span deliver of each webhook attempt, parented on
	// the record's traceparent; the webhook sends the span's. nil:
	// telemetry.Off(), nothing recorded.
	Tracer trace.Tracer
}

// Service is delivery inside `lienthong serve`: one engine per webhook
// agency (the delivery role), and the pull feeds and dead-letter endpoints
// (the gateway role). Kafka-mode agencies need nothing: they read their
// inbox topic themselves.
type Service struct {
	engines map[string]*engine.Engine
	drivers []*webhook.Driver
	Feed    *pullfeed.Feed
	DLQ     *DLQ
}

// New builds the engines and handlers of cfg on b.
func New(cfg *config.Config, b *kafkabus.Bus, o Options) (*Service, error) {
	s := &Service{engines: map[string]*engine.Engine{}}
	if o.Tracer == nil {
		o.Tracer = telemetry.Off().Tracer()
	}
	pullMode := map[string]bool{}
	var codes []string
	for _, a := range cfg.Agencies {
		codes = append(codes, a.Code)
		switch a.Delivery.Mode {
		case config.ModePull, "":
			pullMode[a.Code] = true
		case config.ModeWebhook:
			d, err := webhook.New(WebhookOptions(a))
			if err != nil {
				return nil, fmt.Errorf("delivery to %s: %w", a.Code, err)
			}
			eo := EngineOptions(a)
			eo.Metrics, eo.Logger = o.Metrics, o.Logger
			e, err := ForBus(b, a.Code, telemetry.Deliveries(o.Tracer, d), eo)
			if err != nil {
				return nil, err
			}
			s.engines[a.Code] = e
			s.drivers = append(s.drivers, d)
		}
	}
	s.Feed = pullfeed.NewFeed(b, pullfeed.Options{IsPull: func(a string) bool { return pullMode[a] }, CursorKey: o.CursorKey})
	s.DLQ = NewDLQ(b, codes)
	return s, nil
}

// Routes registers the pull feed and the dead-letter endpoints.
func (s *Service) Routes(mux *http.ServeMux) {
	s.Feed.Routes(mux)
	s.DLQ.Routes(mux)
}

// Engines returns the codes of the agencies with a running engine.
func (s *Service) Engines() []string {
	out := make([]string, 0, len(s.engines))
	for c := range s.engines {
		out = append(out, c)
	}
	return out
}

// Run runs every engine until ctx ends and they have shut down.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(s.engines))
	for code, e := range s.engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.Run(ctx); err != nil {
				errs <- fmt.Errorf("delivery to %s: %w", code, err)
			}
		}()
	}
	wg.Wait()
	for _, d := range s.drivers {
		d.Close()
	}
	close(errs)
	return <-errs
}
