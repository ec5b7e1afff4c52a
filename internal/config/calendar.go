package config

import (
	"fmt"
	"time"

	"github.com/lienthong/lienthong/internal/calendar"
)

// validateCutOffs checks each procedure's cut_off: a time of day within one
// of the calendar's office-hour intervals.
func (p *parser) validateCutOffs(c *Config) {
	for i := range c.Procedures {
		pr := &c.Procedures[i]
		if pr.CutOffClock == "" {
			continue
		}
		path := index("procedures", i) + ".cut_off"
		d, err := calendar.ParseClock(pr.CutOffClock)
		if err != nil {
			p.addf(path, "%v", err)
			continue
		}
		if c.cal == nil {
			continue // the calendar is invalid and reported
		}
		if err := c.cal.CheckCutOff(d); err != nil {
			p.addf(path, "%v", err)
			continue
		}
		pr.cutOff = d
	}
}

// CutOff returns the procedure's cut-off as wall clock time since midnight
// (15*time.Hour for "15:00"), 0 when it has none: the argument of
// calendar.CountFrom.
func (p *Procedure) CutOff() time.Duration { return p.cutOff }

// Warnings returns what is legal but probably a mistake in the config, by
// path, as of now: the calendar has no holidays for the current year or the
// next one (in the calendar's time zone), so deadlines would count them as
// working days. `lienthong config check` prints them and `serve` logs them;
// neither fails on them.
func (c *Config) Warnings(now time.Time) []Problem {
	if c.cal == nil {
		return nil
	}
	var out []Problem
	year := now.In(c.cal.Location()).Year()
	for _, y := range []struct {
		year int
		what string
	}{{year, "the current year"}, {year + 1, "next year"}} {
		if !c.cal.HasHolidays(y.year) {
			out = append(out, Problem{Path: "calendar.holidays", Message: fmt.Sprintf(
				"no holidays for %d (%s): its public holidays would count as working days; add them from the government's yearly notice (Labour Code art. 112)", y.year, y.what)})
		}
	}
	return out
}
