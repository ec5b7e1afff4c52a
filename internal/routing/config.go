package routing

import (
	"time"

	"github.com/lienthong/lienthong/internal/calendar"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/router"
)

// FromConfig builds the routes from a loaded config: every procedure with
// its steps, the receivers resolved (none listed: every receiver agency),
// and the config's calendar as the clock.
func FromConfig(c *config.Config) *router.Routes {
	r := &router.Routes{Procedures: make(map[string]*router.Procedure, len(c.Procedures)), Clock: CalendarClock{c.Cal()}, Schemas: c.Schemas()}
	for _, p := range c.Procedures {
		rp := &router.Procedure{Code: p.Code, Name: p.Name, Deadline: router.Span(p.Deadline), Receivers: p.ReceiverCodes(), FormSchemas: p.FormSchemas,
			SupplementDeadline: router.Span(p.SupplementDeadline), PaymentConfirmers: p.PaymentConfirmers, CutOff: cutOff(&p)}
		for _, s := range p.Steps {
			name := s.Name
			if name == "" {
				name = s.ID
			}
			rp.Steps = append(rp.Steps, router.Step{ID: s.ID, Name: name, Agency: s.Agency, Deadline: router.Span(s.Deadline), After: s.After, OutputSchema: s.OutputSchema})
		}
		r.Procedures[p.Code] = rp
	}
	return r
}

// AgencyCodes lists the config's agency codes (RunnerConfig.Agencies).
func AgencyCodes(c *config.Config) []string {
	out := make([]string, 0, len(c.Agencies))
	for _, a := range c.Agencies {
		out = append(out, a.Code)
	}
	return out
}

// CalendarClock adapts the working-time calendar to router.Clock.
type CalendarClock struct{ Cal *calendar.Calendar }

func (k CalendarClock) Due(start time.Time, s router.Span) time.Time {
	return k.Cal.Due(start, calendar.Span(s))
}
func (k CalendarClock) Add(t time.Time, d time.Duration) time.Time { return k.Cal.Add(t, d) }
func (k CalendarClock) WorkBetween(a, b time.Time) time.Duration   { return k.Cal.WorkBetween(a, b) }
func (k CalendarClock) CountFrom(t time.Time, cutOff time.Duration) time.Time {
	return k.Cal.CountFrom(t, cutOff)
}

// cutOff is the procedure's cut-off time of day (0: none).
func cutOff(p *config.Procedure) time.Duration { return p.CutOff() }
