// Package app wires lienthong's parts from a config: the Kafka bus (the
// embedded broker when no brokers are configured), the gateway, the router,
// delivery and the HTTP server, for the roles a process runs. cmd/lienthong
// calls it; tests start it in-process or as a real process.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/gateway"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/embedded"
	"github.com/lienthong/lienthong/internal/telemetry"
	"github.com/lienthong/lienthong/internal/tracking"
	"github.com/lienthong/lienthong/schemas"
)

// Roles a process can run.
const (
	RoleGateway  = "gateway"
	RoleRouter   = "router"
	RoleDelivery = "delivery"
)

// AllRoles is the default.
var AllRoles = []string{RoleGateway, RoleRouter, RoleDelivery}

// ParseRoles parses "gateway,router".
func ParseRoles(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return AllRoles, nil
	}
	var out []string
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		switch r {
		case RoleGateway, RoleRouter, RoleDelivery:
			out = append(out, r)
		default:
			return nil, fmt.Errorf("unknown role %q (want gateway, router, delivery)", r)
		}
	}
	return out, nil
}

// App is a running lienthong process.
type App struct {
	Config   *config.Config
	Bus      *kafkabus.Bus
	Embedded *embedded.Broker // nil with an external cluster
	Schemas  *schemas.Registry
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// Tracing is the tracer provider of every role: OTLP when the config's
	// tracing section (or OTEL_EXPORTER_OTLP_ENDPOINT) says so, else off.
	Tracing *telemetry.Provider

	roles    map[string]bool
	server   *http.Server
	listener net.Listener
	index    *gateway.Index
	tail     *kafkabus.Tail
	mux      *http.ServeMux // public: schemas, health, metrics; /v1/ goes to api
	api      *http.ServeMux // behind authentication and rate limiting
	authn    *auth.Authenticator
	limiter  *auth.RateLimiter

	store     *storeHolder
	projector atomic.Pointer[tracking.Projector]

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	errc     chan error
	checks   []check
	stoppers []func(context.Context)
}

// check is one readiness condition: nil when it holds, else why not.
type check struct {
	name string
	fn   func() error
}

// Options for Start.
type Options struct {
	Roles  []string
	Logger *slog.Logger
	// Listener overrides cfg.Listen (tests pass a listener on port 0).
	Listener net.Listener
}

// Start opens the bus, creates topics and starts every role's workers and
// the HTTP server. It returns once the server listens; readiness follows.
func Start(ctx context.Context, cfg *config.Config, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if len(o.Roles) == 0 {
		o.Roles = AllRoles
	}
	// The config compiled the schemas with its forms_dir's form schemas.
	reg := cfg.Schemas()
	if reg == nil {
		return nil, fmt.Errorf("load schemas: the config was not validated")
	}
	a := &App{Config: cfg, Schemas: reg, Logger: o.Logger, roles: map[string]bool{}, errc: make(chan error, 16)}
	for _, r := range o.Roles {
		a.roles[r] = true
	}
	a.Registry = prometheus.NewRegistry()
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := a.openBus(ctx); err != nil {
		a.closeBus()
		return nil, err
	}
	tracing, err := telemetry.New(ctx, cfg.Tracing, o.Logger)
	if err != nil {
		a.closeBus()
		return nil, err
	}
	a.Tracing = tracing
	if a.Tracing.Exporting() {
		o.Logger.Info("tracing: exporting spans over OTLP/HTTP", "endpoint", cfg.Tracing.OTLPEndpoint)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.mux = http.NewServeMux()
	a.api = http.NewServeMux()
	a.authn = auth.New(cfg)
	a.authn.RequireClientCert = cfg.HTTP.TLS.RequireClientCert
	a.limiter = auth.NewRateLimiter(cfg.HTTP.RatePerSecond, cfg.HTTP.Burst)
	a.mountCommon()
	a.mux.Handle("/v1/", a.Authenticated(a.api))
	if err := a.startStore(runCtx); err != nil {
		a.Stop(context.Background())
		return nil, err
	}
	if a.roles[RoleGateway] {
		a.startGateway(runCtx)
	}
	if err := a.startRoles(runCtx); err != nil {
		a.Stop(context.Background())
		return nil, err
	}
	a.mountConsole(runCtx) // the operator console at /console/ (internal/console)
	if err := a.serveHTTP(o.Listener); err != nil {
		a.Stop(context.Background())
		return nil, err
	}
	return a, nil
}

// Has reports whether the process runs role.
func (a *App) Has(role string) bool { return a.roles[role] }

// API is the mux of the authenticated /v1/ endpoints: handlers mounted here
// find the caller with auth.FromContext.
func (a *App) API() *http.ServeMux { return a.api }

// Authenticated wraps h in the bearer-token middleware and the per-agency
// rate limit.
func (a *App) Authenticated(h http.Handler) http.Handler {
	return a.authn.Middleware(a.limiter.Middleware(h))
}

// Go runs fn until the app stops; an error other than cancellation is fatal
// to the process and reported by Wait.
func (a *App) Go(name string, fn func(ctx context.Context) error, ctx context.Context) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
			a.errc <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// OnStop registers work to do at shutdown, in reverse order of registration.
func (a *App) OnStop(fn func(context.Context)) { a.stoppers = append(a.stoppers, fn) }

// AddReady adds a readiness condition named name (shown by /readyz when it
// does not hold).
func (a *App) AddReady(name string, fn func() bool) {
	a.addCheck(name, func() error {
		if fn() {
			return nil
		}
		return errors.New("starting")
	})
}

func (a *App) addCheck(name string, fn func() error) { a.checks = append(a.checks, check{name, fn}) }

// notReady returns why the process is not ready, "" when it is.
func (a *App) notReady() string {
	for _, c := range a.checks {
		if err := c.fn(); err != nil {
			return c.name + ": " + err.Error()
		}
	}
	return ""
}

// Addr is the HTTP listen address.
func (a *App) Addr() string { return a.listener.Addr().String() }

// Errors reports a fatal error of a worker.
func (a *App) Errors() <-chan error { return a.errc }

func (a *App) openBus(ctx context.Context) error {
	k := a.Config.Kafka
	brokers := k.Brokers
	if len(brokers) == 0 {
		e, err := embedded.Start(embedded.Options{
			DataDir: filepath.Join(a.Config.DataDir, "kafka"),
			Listen:  k.EmbeddedListen,
		})
		if err != nil {
			return err
		}
		a.Embedded = e
		brokers = []string{e.Addr()}
		a.Logger.Info("embedded Kafka broker started", "addr", e.Addr(), "data_dir", filepath.Join(a.Config.DataDir, "kafka"))
	}
	opts, err := BusOptions(k)
	if err != nil {
		return err
	}
	opts.Brokers = brokers
	bus, err := kafkabus.New(opts)
	if err != nil {
		return err
	}
	a.Bus = bus
	agencies := make([]string, 0, len(a.Config.Agencies))
	for _, ag := range a.Config.Agencies {
		agencies = append(agencies, ag.Code)
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := bus.EnsureTopics(tctx, kafkabus.AllTopics(agencies)...); err != nil {
		return fmt.Errorf("kafka at %s: %w", strings.Join(brokers, ","), err)
	}
	return nil
}

// BusOptions maps the config's kafka section to bus options (TLS, SASL).
func BusOptions(k config.Kafka) (kafkabus.Options, error) {
	o := kafkabus.Options{
		Brokers:           k.Brokers,
		TopicPrefix:       k.TopicPrefix,
		Partitions:        k.Partitions,
		ReplicationFactor: k.ReplicationFactor,
	}
	if k.TLS.Enabled {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if k.TLS.CAFile != "" {
			pem, err := os.ReadFile(k.TLS.CAFile)
			if err != nil {
				return o, fmt.Errorf("kafka.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return o, fmt.Errorf("kafka.tls.ca_file: no PEM certificates in %s", k.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		if k.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(k.TLS.CertFile, k.TLS.KeyFile)
			if err != nil {
				return o, fmt.Errorf("kafka.tls.cert_file/key_file: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		o.TLS = tc
	}
	var mech sasl.Mechanism
	var err error
	switch k.SASL.Mechanism {
	case "":
	case "PLAIN":
		mech = plain.Mechanism{Username: k.SASL.Username, Password: k.SASL.Password}
	case "SCRAM-SHA-256":
		mech, err = scram.Mechanism(scram.SHA256, k.SASL.Username, k.SASL.Password)
	case "SCRAM-SHA-512":
		mech, err = scram.Mechanism(scram.SHA512, k.SASL.Username, k.SASL.Password)
	default:
		err = fmt.Errorf("unknown mechanism %q", k.SASL.Mechanism)
	}
	if err != nil {
		return o, fmt.Errorf("kafka.sasl: %w", err)
	}
	o.SASL = mech
	return o, nil
}

func (a *App) startGateway(ctx context.Context) {
	a.index = gateway.NewIndex()
	window := a.Config.Gateway.DuplicateWindow.Duration
	a.index.SetWindow(window)
	a.tail = a.Bus.NewTail(a.Bus.Topic(kafkabus.TopicEvents), a.index.Observe).WithLogger(a.Logger).Window(window, nil)
	a.Go("idempotency index", a.tail.Run, ctx)
	a.Go("idempotency index pruning", func(ctx context.Context) error {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				a.index.Prune(time.Now().Add(-window))
			}
		}
	}, ctx)
	caught := a.tail.Caught()
	indexReady := func() bool {
		select {
		case <-caught:
			return true
		default:
			return false
		}
	}
	a.AddReady("idempotency index", indexReady)
	gw := gateway.New(gateway.Options{
		Config:           a.Config,
		Schemas:          a.Schemas,
		Writer:           a.Bus.Writer(),
		Topic:            a.Bus.Topic(kafkabus.TopicEvents),
		Index:            a.index,
		PastCodes:        a.pastCodes,
		DossierProcedure: a.dossierProcedure,
		DueAt:            a.dueAt(),
		Window:           window,
		Ready:            indexReady,
		MaxBodyBytes:     a.Config.HTTP.MaxBodyBytes,
		MaxClockSkew:     a.Config.Gateway.MaxClockSkew.Duration,
		Metrics:          gateway.NewMetrics(a.Registry),
		Logger:           a.Logger,
		Tracer:           a.Tracing.Tracer(),
	})
	a.api.Handle("/v1/events", telemetry.Serve(a.Tracing.Tracer(), "/v1/events", gw))
}

func (a *App) mountCommon() {
	a.mux.Handle("/v1/schemas", a.Schemas.Handler())
	a.mux.Handle("/v1/schemas/", a.Schemas.Handler())
	a.mountContract() // GET /v1/openapi.json, public like the schemas
	a.mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	a.mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.Bus.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, `{"status":"kafka unreachable"}`+"\n")
			return
		}
		if why := a.notReady(); why != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			b, _ := json.Marshal(map[string]string{"status": "starting", "reason": why})
			_, _ = w.Write(append(b, '\n'))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
	a.mux.Handle("/metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{}))
}

// Ready reports whether every readiness condition holds.
func (a *App) Ready() bool { return a.notReady() == "" }

func (a *App) serveHTTP(ln net.Listener) error {
	h := a.Config.HTTP
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", a.Config.Listen)
		if err != nil {
			return fmt.Errorf("listen %s: %w", a.Config.Listen, err)
		}
	}
	a.server = &http.Server{
		Handler:           a.mux,
		ReadHeaderTimeout: h.ReadHeaderTimeout.Duration,
		ReadTimeout:       h.ReadTimeout.Duration,
		WriteTimeout:      h.WriteTimeout.Duration,
		IdleTimeout:       h.IdleTimeout.Duration,
		MaxHeaderBytes:    h.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
	if h.TLS.CertFile != "" {
		tc, err := serverTLS(h.TLS)
		if err != nil {
			ln.Close()
			return err
		}
		a.server.TLSConfig = tc
		ln = tls.NewListener(ln, tc)
	}
	a.listener = ln
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.errc <- fmt.Errorf("http: %w", err)
		}
	}()
	return nil
}

func serverTLS(t config.HTTPTLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("http.tls: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("http.tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("http.tls.client_ca_file: no PEM certificates")
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if t.RequireClientCert {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return tc, nil
}

// Stop shuts down gracefully: stop accepting HTTP, let in-flight requests
// (and their Kafka writes) finish, stop workers (they commit what is done),
// flush the writer and the spans, close the broker. It returns within ctx's
// deadline.
func (a *App) Stop(ctx context.Context) {
	if a.server != nil {
		_ = a.server.Shutdown(ctx)
	}
	for i := len(a.stoppers) - 1; i >= 0; i-- {
		a.stoppers[i](ctx)
	}
	if a.cancel != nil {
		a.cancel()
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		a.Logger.Warn("shutdown deadline passed with workers still running")
	}
	if a.store != nil {
		a.store.close() // after the projector and the router stopped using it
	}
	if a.Tracing != nil {
		if err := a.Tracing.Shutdown(ctx); err != nil {
			a.Logger.Warn("tracing: spans not flushed on stop", "err", err)
		}
	}
	a.closeBus()
}

func (a *App) closeBus() {
	if a.Bus != nil {
		_ = a.Bus.Close()
	}
	if a.Embedded != nil {
		a.Embedded.Close()
	}
}
