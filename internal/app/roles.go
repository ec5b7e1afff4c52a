package app

import "context"

// startRoles starts the router and delivery roles.
func (a *App) startRoles(ctx context.Context) error {
	return nil
}
