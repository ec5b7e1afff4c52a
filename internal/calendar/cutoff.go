package calendar

import (
	"fmt"
	"strings"
	"time"
)

// ParseClock parses a time of day "HH:MM" (00:00 to 24:00) into the wall
// clock time since midnight, as CountFrom takes a cut-off.
func ParseClock(s string) (time.Duration, error) {
	m, err := parseClock(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day like 15:00 (HH:MM, 00:00 to 24:00)", s)
	}
	return time.Duration(m) * time.Minute, nil
}

// FormatClock formats a wall clock time since midnight as "HH:MM".
func FormatClock(d time.Duration) string { return clock(int(d / time.Minute)) }

// CheckCutOff returns an error unless cutOff (wall clock time since
// midnight) lies within one of the office-hour intervals, both ends included:
// 15:00 and 12:00 are cut-offs of 08:00-12:00, 13:30-17:00; 12:30 (lunch)
// and 18:00 are not.
func (c *Calendar) CheckCutOff(cutOff time.Duration) error {
	var ivs []string
	for _, iv := range c.hours {
		open, close := time.Duration(iv.open)*time.Minute, time.Duration(iv.close)*time.Minute
		if open <= cutOff && cutOff <= close {
			return nil
		}
		ivs = append(ivs, clock(iv.open)+"-"+clock(iv.close))
	}
	return fmt.Errorf("%s is outside office hours (%s): a cut-off must fall within one of them", FormatClock(cutOff), strings.Join(ivs, ", "))
}

// sinceMidnight returns the wall clock reading of t (in its own zone) as a
// duration since midnight.
func sinceMidnight(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
}

// CountFrom returns the instant from which the deadline of a dossier
// received at t counts, for a procedure whose day ends at cutOff: a wall
// clock time since midnight in the calendar's zone (15*time.Hour for
// "15:00"; 0 or less: no cut-off). Pass the result to Due.
//
// Received on a working day at or after the cut-off and before the day's
// last closing (15:30 with a 15:00 cut-off), the dossier counts from the next
// working day. CountFrom then returns that day's last closing time (17:00):
// in working time the same point as the next opening, so that Due treats the
// dossier exactly as one received after closing, and "Nd" is due at the
// closing time of the N-th working day after (Friday 15:30 + 1d = Monday
// 17:00, or Tuesday 17:00 when Monday is a holiday).
//
// Otherwise CountFrom returns t unchanged: before the cut-off inside office
// hours the clock starts at once; outside office hours (before opening, at
// lunch, after closing, on a weekend or a holiday) Due and Add already count
// from the next opening, so Due(CountFrom(t, c), span) == Due(t, span) there.
// A swapped workday is a working day like any other, cut-off included. The
// result is in the calendar's zone; NextOpening of it gives the instant the
// clock actually starts, for display.
func (c *Calendar) CountFrom(t time.Time, cutOff time.Duration) time.Time {
	t = t.In(c.loc)
	if cutOff <= 0 || sinceMidnight(t) < cutOff {
		return t
	}
	y, m, d := t.Date()
	n := dayNumber(y, m, d)
	if !c.isWorkingDay(n) || len(c.hours) == 0 {
		return t
	}
	_, last := c.bounds(n, c.hours[len(c.hours)-1])
	if !t.Before(last) {
		return t
	}
	return last
}

// NextOpening returns t when t is inside working time, and otherwise the
// next opening of an office-hour interval on a working day: the instant from
// which Add counts. The result is in the calendar's zone.
func (c *Calendar) NextOpening(t time.Time) time.Time {
	// Add of one nanosecond starts counting where Add starts; undo it.
	return c.Add(t, 1).Add(-1)
}
