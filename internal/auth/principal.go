// Package auth authenticates HTTP callers (bearer tokens checked in constant
// time against the config's SHA-256 hashes, optionally a TLS client
// certificate naming the agency) and carries the caller, the Principal,
// through the request context to the handlers that decide what it may see.
package auth

import "context"

// Principal is an authenticated caller: an agency, the admin, or both when an
// agency token is also the admin's (not allowed by config, but harmless).
type Principal struct {
	Agency string // agency code; "" for the admin token
	Admin  bool
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the caller that the middleware authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
