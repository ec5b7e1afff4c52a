package app

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/delivery"
	"github.com/lienthong/lienthong/internal/routing"
	"github.com/lienthong/lienthong/internal/tracking"
	"github.com/lienthong/lienthong/router"
)

// startRoles starts delivery (engines in the delivery role; the pull feed
// and dead-letter endpoints wherever the HTTP API runs) and the router.
func (a *App) startRoles(ctx context.Context) error {
	prom, err := delivery.NewPrometheus(a.Registry)
	if err != nil {
		return err
	}
	svc, err := delivery.New(a.Config, a.Bus, delivery.Options{Metrics: prom, Logger: a.Logger, Tracer: a.Tracing.Tracer()})
	if err != nil {
		return err
	}
	svc.Routes(a.api)
	if a.roles[RoleDelivery] {
		a.Go("delivery", svc.Run, ctx)
	}
	// Tracking answers wherever the HTTP API runs, from the store.
	h := tracking.Handler(a.store.get, tracking.Options{Location: a.Config.Cal().Location(), ProcedureName: func(code string) string {
		if p, ok := a.Config.Procedure(code); ok {
			return p.Name
		}
		return ""
	}})
	a.api.Handle("/v1/dossiers", h)
	a.api.Handle("/v1/dossiers/", h)
	a.api.Handle("/v1/stats", h)
	a.api.Handle("/v1/reports/handling", h)
	if a.roles[RoleRouter] {
		r := routing.NewRunner(a.Bus, router.NewEngine(routing.FromConfig(a.Config)), routing.RunnerConfig{
			Agencies: routing.AgencyCodes(a.Config),
			Logger:   a.Logger,
			Archive:  archive{a.store},
			Tracer:   a.Tracing.Tracer(),
		})
		if err := registerRouterMetrics(a.Registry, r); err != nil {
			return err
		}
		a.Go("router", r.Run, ctx)
	}
	return nil
}

// registerRouterMetrics exports the router's counters, read when scraped.
func registerRouterMetrics(reg prometheus.Registerer, r *routing.Runner) error {
	counter := func(name, help string, v func(routing.RunnerStats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v(r.Stats())) })
	}
	for _, c := range []prometheus.Collector{
		counter("lienthong_router_records_total", "Records of the events topic the router handled.", func(s routing.RunnerStats) int64 { return s.Records }),
		counter("lienthong_router_applied_total", "Events that changed a dossier.", func(s routing.RunnerStats) int64 { return s.Applied }),
		counter("lienthong_router_refused_total", "Events refused by a state rule (message.rejected sent).", func(s routing.RunnerStats) int64 { return s.Refused }),
		counter("lienthong_router_outputs_total", "Records the router wrote to inbox and rejected topics.", func(s routing.RunnerStats) int64 { return s.Outputs }),
		counter("lienthong_router_write_failures_total", "Failed router write attempts (retried).", func(s routing.RunnerStats) int64 { return s.WriteFailures }),
		counter("lienthong_router_write_refusals_total", "Router writes Kafka refused for a reason retrying does not cure (the partition waits for an operator).", func(s routing.RunnerStats) int64 { return s.WriteRefusals }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lienthong_router_partitions", Help: "Partitions of the events topic this router owns."}, func() float64 { return float64(r.Stats().Partitions) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lienthong_router_dossiers_in_memory", Help: "Dossiers the router holds in memory: the open ones, and closed ones until the tracking store has them."}, func() float64 { return float64(r.Stats().InMemory) }),
		counter("lienthong_router_evicted_total", "Closed dossiers that left the router's memory (the tracking store holds them; tombstoned on the state topic).", func(s routing.RunnerStats) int64 { return s.Evicted }),
		counter("lienthong_router_archive_failures_total", "Failed lookups in the tracking store (retried; the partition waits).", func(s routing.RunnerStats) int64 { return s.ArchiveFailures }),
		counter("lienthong_router_archive_waits_total", "Times a partition stopped reading because too many closed dossiers waited for the tracking store.", func(s routing.RunnerStats) int64 { return s.ArchiveWaits }),
		counter("lienthong_router_skipped_records_total", "Records of the events topic deleted before the router read them (accepted, never routed): retention shorter than the router's lag.", func(s routing.RunnerStats) int64 { return s.Skipped }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("router metrics: %w", err)
		}
	}
	return nil
}
