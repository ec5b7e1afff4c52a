package app

import (
	"context"

	"github.com/lienthong/lienthong/internal/delivery"
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
	return nil
}
