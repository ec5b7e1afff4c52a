// Package adapters is the small contract between lienthong's delivery engine
// and the code that hands one event to one department system: a Driver.
//
// A driver does one thing: deliver one event, once, honouring its context,
// and say how it failed. Everything that must be the same for every
// department system (retries with backoff, per-dossier ordering, dead
// letters, Kafka offsets, concurrency limits) lives once, in the engine
// (package adapters/delivery), around every driver. The shape follows
// gocloud.dev's pubsub drivers: a tiny interface plus a conformance suite
// (package adapters/adaptertest) that every driver runs from its own tests.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Message is one event for one agency, as the engine hands it to a driver.
type Message struct {
	ID      string // the CloudEvent id: receivers dedupe on it
	Type    string // the CloudEvent type
	Subject string // the dossier code
	Source  string // the CloudEvent source
	Body    []byte // the CloudEvent JSON, byte for byte as lienthong accepted or made it
	Attempt int    // 1 for the first try, 2 for the first retry...
	Agency  string // the code of the agency it is delivered to
	// Traceparent is the W3C trace context of the request that caused the
	// event ("" when none): drivers pass it on (webhook: the traceparent
	// header) so a trace goes from the sender to the receiver.
	Traceparent string
}

// Driver delivers one event to one department system.
//
// Deliver returns nil only once the system has taken the event. It must
// return promptly (with ctx.Err() or an error wrapping it) when ctx ends. An
// error is retried by the engine unless it is Permanent; a *StatusError may
// carry the answer's status and a Retry-After hint. Deliver is called
// concurrently for different dossiers, never concurrently for one dossier.
type Driver interface {
	Deliver(ctx context.Context, m *Message) error
}

// DriverFunc adapts a function to the Driver interface.
type DriverFunc func(ctx context.Context, m *Message) error

// Deliver calls f.
func (f DriverFunc) Deliver(ctx context.Context, m *Message) error { return f(ctx, m) }

// PermanentError marks a failure that retrying cannot fix (the system refused
// the event): the engine dead-letters the event at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that IsPermanent reports true. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err (or anything it wraps) is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// StatusError is a failure with the department system's answer: its status
// code (HTTP, or whatever the protocol has; 0 when there was no answer) and
// how long it asked us to wait before trying again (0: no hint). The engine
// records Status in dead letters and honours RetryAfter up to its backoff cap.
type StatusError struct {
	Status     int
	RetryAfter time.Duration
	Err        error
}

func (e *StatusError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("status %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("status %d: %v", e.Status, e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }

// StatusOf returns the status carried by a *StatusError in err's chain, or 0.
func StatusOf(err error) int {
	var s *StatusError
	if errors.As(err, &s) {
		return s.Status
	}
	return 0
}

// RetryAfterOf returns the Retry-After hint carried by err's chain, or 0.
func RetryAfterOf(err error) time.Duration {
	var s *StatusError
	if errors.As(err, &s) {
		return s.RetryAfter
	}
	return 0
}

// Backoff is lienthong's one wait between tries, used by the engine (between
// deliveries), the webhook driver and the client (between HTTP tries): before
// retry number attempt (1 = the wait after the first failure) it waits
// between min and min(max, min·2^(attempt-1)), exponential, capped, with full
// jitter (r in [0,1) picks the point). A Retry-After hint raises the wait to
// the hint, but never above max: a receiver cannot park a dossier for days
// (go-retryablehttp #247).
func Backoff(min, max time.Duration, attempt int, retryAfter time.Duration, r float64) time.Duration {
	ceil := max
	if attempt < 63 {
		if d := min << (attempt - 1); d > 0 && d < max {
			ceil = d
		}
	}
	wait := min + time.Duration(r*float64(ceil-min))
	if retryAfter > wait {
		wait = retryAfter
	}
	if wait > max {
		wait = max
	}
	return wait
}
