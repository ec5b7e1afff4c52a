package router

import (
	"time"

	"github.com/lienthong/lienthong/schemas"
)

// Span is a deadline in working time: whole working days plus working hours
// (config "5d", "4h"). It mirrors calendar.Span so that the engine does not
// depend on the calendar package; internal/routing.FromConfig converts.
type Span struct {
	Days int           `json:"days,omitempty"`
	Work time.Duration `json:"work,omitempty"`
}

// Clock does working-time arithmetic (the calendar of DESIGN.md section 4).
type Clock interface {
	// Due returns the moment span of working time after start.
	Due(start time.Time, span Span) time.Time
	// Add returns t moved forward by d of working time.
	Add(t time.Time, d time.Duration) time.Time
	// WorkBetween returns the working time between a and b.
	WorkBetween(a, b time.Time) time.Duration
	// CountFrom returns when a deadline starts counting for a dossier
	// received at t under a cut-off time of day (0: none): t, or the start
	// of the next working day when t is after the cut-off.
	CountFrom(t time.Time, cutOff time.Duration) time.Time
}

// Step is one agency's part of a procedure.
type Step struct {
	ID       string
	Name     string
	Agency   string
	Deadline Span
	After    []string
	// OutputSchema is the form schema URN the step's outputs must match;
	// empty: any object.
	OutputSchema string
}

// Procedure is a route: the steps of one administrative procedure.
type Procedure struct {
	Code     string
	Name     string
	Deadline Span
	// Receivers are the agencies that may submit dossiers of this procedure
	// (already resolved: the config's default "every receiver" is expanded).
	Receivers []string
	// FormSchemas are the form schemas a submission may follow, newest
	// last (config form_schemas); empty: the procedure has no form.
	FormSchemas []string
	Steps       []Step
	// CutOff is the time of day after which a dossier counts from the next
	// working day (0: none).
	CutOff time.Duration
	// SupplementDeadline is how long a requested supplement may take before
	// the dossier is closed as rejected (zero: no deadline).
	SupplementDeadline Span
	// PaymentConfirmers may confirm a payment besides the receiver.
	PaymentConfirmers []string
}

// ReceivableBy reports whether agency may submit dossiers of p.
func (p *Procedure) ReceivableBy(agency string) bool {
	for _, r := range p.Receivers {
		if r == agency {
			return true
		}
	}
	return false
}

// Routes is what the engine needs from the configuration.
type Routes struct {
	Procedures map[string]*Procedure
	Clock      Clock
	// Schemas checks a step's outputs and a form after a supplement's
	// patch (the gateway checked the submitted form). nil: not checked.
	Schemas *schemas.Registry
}

// Procedure returns the procedure with the given code.
func (r *Routes) Procedure(code string) (*Procedure, bool) {
	p, ok := r.Procedures[code]
	return p, ok
}
