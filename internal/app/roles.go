package app

import (
	"context"

	"github.com/lienthong/lienthong/internal/delivery"
	"github.com/lienthong/lienthong/router"
)

// startRoles starts delivery (engines in the delivery role; the pull feed
// and dead-letter endpoints wherever the HTTP API runs) and the router.
func (a *App) startRoles(ctx context.Context) error {
	prom, err := delivery.NewPrometheus(a.Registry)
	if err != nil {
		return err
	}
	svc, err := delivery.New(a.Config, a.Bus, delivery.Options{Metrics: prom, Logger: a.Log})
	if err != nil {
		return err
	}
	svc.Routes(a.api)
	if a.roles[RoleDelivery] {
		a.Go("delivery", svc.Run, ctx)
	}
	// Tracking answers wherever the HTTP API runs; it tails the state topic.
	view := router.NewView(a.Bus, router.ViewOptions{Logger: a.Log})
	a.Go("tracking view", view.Run, ctx)
	a.AddReady(view.Ready)
	h := view.Handler()
	a.api.Handle("/v1/dossiers", h)
	a.api.Handle("/v1/dossiers/", h)
	a.api.Handle("/v1/stats", h)
	if a.roles[RoleRouter] {
		r := router.NewRunner(a.Bus, router.NewEngine(router.FromConfig(a.Config)), router.RunnerConfig{
			Agencies: router.AgencyCodes(a.Config),
			Logger:   a.Log,
		})
		a.Go("router", r.Run, ctx)
	}
	return nil
}
