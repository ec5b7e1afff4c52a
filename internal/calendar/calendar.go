// Package calendar computes deadlines in working time: the office hours of
// working days in one time zone, public holidays excluded. Vietnamese law
// counts administrative deadlines in working days (some in working hours), so
// every due time in lienthong comes from here.
//
// # Semantics
//
// A working day is a configured workday (e.g. Monday to Friday) that is not a
// holiday, or a swapped workday: a date the government made a working day
// although its weekday is not (a Saturday worked in exchange for a bridge day
// off, the bridge day being listed among the holidays). A swapped workday has
// the normal office hours. Working time is the time inside the office-hour
// intervals of working days (e.g. 08:00-12:00 and 13:30-17:00); nights, lunch
// breaks, weekends and holidays do not count. Intervals are half-open: 12:00 is
// outside 08:00-12:00, 08:00 is inside.
//
// Add(t, d) walks forward from t through office-hour intervals until d of
// working time has elapsed. If t is outside office hours, counting starts at
// the next opening. When d runs out exactly at the end of an interval, the
// result is that closing time (17:00), not the next opening: "due by the end
// of Monday's office hours".
//
// One working day ("1d") is worth the office time of a normal day, DayLength
// (7h30m for the default hours), and Due(start, Span{N, W}) is
// Add(start, N*DayLength + W). This gives the rule of the law and of the
// one-stop desks:
//
//   - received inside office hours, "Nd" is due at the same clock time on the
//     N-th working day after (Friday 15:00 + 5d = next Friday 15:00; with
//     Thursday and Friday holidays in between, the Tuesday after). Received
//     exactly at an opening (08:00, 13:30), Add alone would give the
//     equivalent closing before it (17:00 the day before, 12:00); Due returns
//     the opening, so the clock time stays the same;
//   - received at or after closing, or on a weekend or holiday, counting starts
//     at the next opening, so "Nd" is due at the closing time of the N-th
//     working day (Friday 17:30 + 1d = Monday 17:00);
//   - received at lunch, counting starts at 13:30 (12:30 + 1d = next working
//     day 12:00, the end of the morning's work);
//   - "Nh" is N hours of office time, counted through intervals only
//     (16:00 + 4h = next working day 11:00).
//
// Working time is real elapsed time inside each interval, whose ends are wall
// clock times in the calendar's zone, so a zone with daylight saving time works:
// a transition at night changes nothing, and one inside office hours makes that
// interval one hour shorter or longer, as a clock on the wall would.
//
// Add and WorkBetween are inverses: WorkBetween(t, Add(t, d)) == d for d >= 0.
// The router uses WorkBetween to measure how much working time a paused clock
// (a supplement request) consumed and shifts due times by it with Add.
//
// A cut-off time of day (CountFrom) makes a dossier received at or after it
// count from the next working day, as one received after closing does.
//
// All methods walk interval by interval and skip whole weeks free of holidays,
// swapped workdays and zone transitions, so a long deadline costs no more
// than a short one.
package calendar

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the zone database travels in the binary: minimal hosts lack /usr/share/zoneinfo
)

// DefaultTimezone is the zone of Vietnamese administrative deadlines.
const DefaultTimezone = "Asia/Ho_Chi_Minh"

// Defaults of the calendar section of the config.
var (
	DefaultWorkdays    = []string{"mon", "tue", "wed", "thu", "fri"}
	DefaultOfficeHours = []string{"08:00-12:00", "13:30-17:00"}
)

// interval is one office-hours interval of a day, in minutes after midnight
// (wall clock).
type interval struct{ open, close int }

// Calendar is a working-time calendar. It is immutable and safe for
// concurrent use.
type Calendar struct {
	loc      *time.Location
	workday  [7]bool // by time.Weekday
	hours    []interval
	holidays []int64 // civil day numbers, sorted, unique
	swapped  []int64 // swapped workdays: civil day numbers, sorted, unique
	dayLen   time.Duration
	weekLen  time.Duration
}

// Problem is one invalid calendar setting: Field is the config key
// ("timezone", "workdays", "office_hours", "holidays", "swapped_workdays"),
// Index the position in the list (-1 for the whole field).
type Problem struct {
	Field   string
	Index   int
	Message string
}

// Error lists every problem New found, so a config check can report each one
// at its path.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("calendar:")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteByte(' ')
		b.WriteString(p.Field)
		if p.Index >= 0 {
			b.WriteString("[" + strconv.Itoa(p.Index) + "]")
		}
		b.WriteString(": " + p.Message)
	}
	return b.String()
}

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Option is an optional setting of New.
type Option func(*settings)

type settings struct{ swapped []string }

// SwappedWorkdays makes dates ("2006-01-02") working days with the normal
// office hours although their weekday is not a workday: a Saturday worked in
// exchange for a bridge day off, which is listed in the holidays. New reports
// (at Field "swapped_workdays") a date that is not a date, one whose weekday
// is already a workday, and one that is also a holiday.
func SwappedWorkdays(dates []string) Option {
	return func(s *settings) { s.swapped = append(s.swapped, dates...) }
}

// New builds a calendar. timezone is an IANA zone name; workdays are "mon" ..
// "sun"; officeHours are "HH:MM-HH:MM" intervals, sorted and not
// overlapping; holidays are "2006-01-02" dates; opts add swapped workdays.
// Every invalid entry is reported in a *Error.
func New(timezone string, workdays []string, officeHours []string, holidays []string, opts ...Option) (*Calendar, error) {
	var set settings
	for _, o := range opts {
		o(&set)
	}
	c := &Calendar{}
	var probs []Problem
	add := func(field string, i int, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Index: i, Message: fmt.Sprintf(format, args...)})
	}

	if timezone == "" {
		add("timezone", -1, "required (e.g. %s)", DefaultTimezone)
	} else if loc, err := time.LoadLocation(timezone); err != nil {
		add("timezone", -1, "unknown time zone %q", timezone)
	} else {
		c.loc = loc
	}

	if len(workdays) == 0 {
		add("workdays", -1, "at least one workday is required")
	}
	for i, w := range workdays {
		wd, ok := weekdayNames[strings.ToLower(strings.TrimSpace(w))]
		switch {
		case !ok:
			add("workdays", i, "unknown day %q (want mon, tue, wed, thu, fri, sat or sun)", w)
		case c.workday[wd]:
			add("workdays", i, "%q listed twice", w)
		default:
			c.workday[wd] = true
		}
	}

	if len(officeHours) == 0 {
		add("office_hours", -1, "at least one interval is required (e.g. 08:00-12:00)")
	}
	for i, h := range officeHours {
		iv, err := parseInterval(h)
		if err != nil {
			add("office_hours", i, "%v", err)
			continue
		}
		if n := len(c.hours); n > 0 && iv.open < c.hours[n-1].close {
			add("office_hours", i, "%q must start at or after the previous interval ends (%s), intervals sorted and not overlapping", h, clock(c.hours[n-1].close))
			continue
		}
		c.hours = append(c.hours, iv)
	}

	for i, h := range holidays {
		d, err := time.Parse("2006-01-02", strings.TrimSpace(h))
		if err != nil {
			add("holidays", i, "%q is not a date like 2026-04-30", h)
			continue
		}
		c.holidays = append(c.holidays, dayNumber(d.Year(), d.Month(), d.Day()))
	}
	sortUniq(&c.holidays)

	for i, s := range set.swapped {
		d, err := time.Parse("2006-01-02", strings.TrimSpace(s))
		if err != nil {
			add("swapped_workdays", i, "%q is not a date like 2026-01-10", s)
			continue
		}
		n := dayNumber(d.Year(), d.Month(), d.Day())
		switch {
		case c.isHoliday(n):
			add("swapped_workdays", i, "%s is also listed in holidays: a day is either worked or off", s)
		case c.workday[d.Weekday()]:
			add("swapped_workdays", i, "%s is a %s, already a working day: list only days whose weekday is not a workday (a Saturday worked for a bridge day off)", s, d.Weekday())
		default:
			c.swapped = append(c.swapped, n)
		}
	}
	sortUniq(&c.swapped)

	if len(probs) > 0 {
		return nil, &Error{Problems: probs}
	}
	for _, iv := range c.hours {
		c.dayLen += time.Duration(iv.close-iv.open) * time.Minute
	}
	for _, w := range c.workday {
		if w {
			c.weekLen += c.dayLen
		}
	}
	return c, nil
}

// Default returns the calendar of DESIGN.md with no holidays:
// Asia/Ho_Chi_Minh, Monday to Friday, 08:00-12:00 and 13:30-17:00.
func Default() *Calendar {
	c, err := New(DefaultTimezone, DefaultWorkdays, DefaultOfficeHours, nil)
	if err != nil {
		panic("calendar: default calendar: " + err.Error()) // tzdata is embedded: cannot happen
	}
	return c
}

func parseInterval(s string) (interval, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return interval{}, fmt.Errorf("%q is not an interval like 08:00-12:00", s)
	}
	open, err1 := parseClock(strings.TrimSpace(a))
	close, err2 := parseClock(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return interval{}, fmt.Errorf("%q is not an interval like 08:00-12:00 (times HH:MM, 00:00 to 24:00)", s)
	}
	if close <= open {
		return interval{}, fmt.Errorf("%q ends before it starts", s)
	}
	return interval{open, close}, nil
}

func parseClock(s string) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) != 2 || len(mm) != 2 {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	return h*60 + m, nil
}

func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// sortUniq sorts *s and drops repeated values.
func sortUniq(s *[]int64) {
	v := *s
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	out := v[:0]
	for i, x := range v {
		if i == 0 || x != v[i-1] {
			out = append(out, x)
		}
	}
	*s = out
}

// Civil day numbers: days since 1970-01-01 in the proleptic Gregorian
// calendar, independent of any zone. They make "the next day" and "seven days
// later" plain integer steps.
func dayNumber(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func civil(n int64) (int, time.Month, int) {
	return time.Unix(n*86400, 0).UTC().Date()
}

// weekday of a civil day number: 1970-01-01 was a Thursday.
func weekday(n int64) time.Weekday {
	return time.Weekday(((n+4)%7 + 7) % 7)
}

// Location returns the calendar's time zone; Add and Due return times in it.
func (c *Calendar) Location() *time.Location { return c.loc }

// DayLength returns the office time of one normal working day: what "1d" is
// worth.
func (c *Calendar) DayLength() time.Duration { return c.dayLen }

// contains reports whether the sorted days hold day n.
func contains(days []int64, n int64) bool {
	i := sort.Search(len(days), func(i int) bool { return days[i] >= n })
	return i < len(days) && days[i] == n
}

// nextIn returns the first of the sorted days on or after day n, or false.
func nextIn(days []int64, n int64) (int64, bool) {
	i := sort.Search(len(days), func(i int) bool { return days[i] >= n })
	if i == len(days) {
		return 0, false
	}
	return days[i], true
}

func (c *Calendar) isHoliday(n int64) bool { return contains(c.holidays, n) }

func (c *Calendar) isWorkingDay(n int64) bool {
	if c.workday[weekday(n)] {
		return !c.isHoliday(n)
	}
	return contains(c.swapped, n)
}

// HasHolidays reports whether any holiday falls in the given year: a
// calendar without the year's holidays counts them as working days.
func (c *Calendar) HasHolidays(year int) bool {
	h, ok := nextIn(c.holidays, dayNumber(year, time.January, 1))
	return ok && h < dayNumber(year+1, time.January, 1)
}

// IsWorkingDay reports whether the calendar day of t (in the calendar's zone)
// is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	y, m, d := t.In(c.loc).Date()
	return c.isWorkingDay(dayNumber(y, m, d))
}

// bounds returns the instants at which interval iv of day n opens and closes.
func (c *Calendar) bounds(n int64, iv interval) (time.Time, time.Time) {
	y, m, d := civil(n)
	open := time.Date(y, m, d, 0, iv.open, 0, 0, c.loc)
	close := time.Date(y, m, d, 0, iv.close, 0, 0, c.loc)
	return open, close
}

// IsWorkingTime reports whether t is inside office hours of a working day.
func (c *Calendar) IsWorkingTime(t time.Time) bool {
	y, m, d := t.In(c.loc).Date()
	n := dayNumber(y, m, d)
	if !c.isWorkingDay(n) {
		return false
	}
	for _, iv := range c.hours {
		open, close := c.bounds(n, iv)
		if !t.Before(open) && t.Before(close) {
			return true
		}
	}
	return false
}

// skippableWeeks returns how many whole weeks starting at the beginning of
// day n can be counted as weekLen each without looking at them: no holiday,
// no swapped workday and no zone transition inside, and at most limit weeks.
func (c *Calendar) skippableWeeks(n int64, limit int64) int64 {
	if limit <= 0 || c.weekLen == 0 {
		return 0
	}
	k := limit
	for _, days := range [][]int64{c.holidays, c.swapped} {
		if h, ok := nextIn(days, n); ok {
			if w := (h - n) / 7; w < k {
				k = w
			}
		}
	}
	if k <= 0 {
		return 0
	}
	y, m, d := civil(n)
	start := time.Date(y, m, d, 0, 0, 0, 0, c.loc)
	if _, end := start.ZoneBounds(); !end.IsZero() {
		// Stay clear of the transition by a day so that wall-clock intervals
		// of every skipped day have their nominal length.
		w := int64(end.Sub(start)/(24*time.Hour)-1) / 7
		if w < k {
			k = w
		}
	}
	if k < 0 {
		return 0
	}
	return k
}

// Add returns the instant at which d of working time has elapsed after t.
// If t is outside office hours, counting starts at the next opening; d <= 0
// returns t itself. The result is in the calendar's zone.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	t = t.In(c.loc)
	if d <= 0 {
		return t
	}
	y, m, dd := t.Date()
	n := dayNumber(y, m, dd)
	remaining := d
	for first := true; ; first = false {
		if !first && remaining > c.weekLen {
			// Leave the last (possibly partial) week to the walk so that an
			// exact end lands on a closing time, not past it.
			k := c.skippableWeeks(n, int64((remaining-1)/c.weekLen))
			n += 7 * k
			remaining -= time.Duration(k) * c.weekLen
		}
		if c.isWorkingDay(n) {
			for _, iv := range c.hours {
				open, close := c.bounds(n, iv)
				if !close.After(t) {
					continue
				}
				if open.Before(t) {
					open = t
				}
				avail := close.Sub(open)
				if avail <= 0 {
					continue // an interval swallowed by a zone transition
				}
				if remaining <= avail {
					return open.Add(remaining)
				}
				remaining -= avail
			}
		}
		n++
	}
}

// Due returns the instant at which span of working time has elapsed after
// start: Add(start, span.Days*DayLength() + span.Work), except that a span of
// whole days started inside office hours ends at the same clock time even
// when that clock time is an opening (13:30 + 1d is due at 13:30 the next
// working day, not at the equivalent 12:00). See the package documentation.
func (c *Calendar) Due(start time.Time, span Span) time.Time {
	d := time.Duration(span.Days)*c.dayLen + span.Work
	due := c.Add(start, d)
	if d > 0 && span.Work == 0 && !c.IsWorkingTime(due) && c.IsWorkingTime(start) {
		// due is a closing time; the next opening is the same point in
		// working time, and the clock time the law's "N days later" means.
		due = c.Add(due, 1).Add(-1)
	}
	return due
}

// WorkBetween returns the working time between a and b: the office-hours
// time of working days inside [a, b). It is 0 when b <= a.
func (c *Calendar) WorkBetween(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	a, b = a.In(c.loc), b.In(c.loc)
	ya, ma, da := a.Date()
	yb, mb, db := b.Date()
	n, last := dayNumber(ya, ma, da), dayNumber(yb, mb, db)
	var total time.Duration
	for first := true; n <= last; first = false {
		if !first {
			// Whole weeks strictly before b's day.
			k := c.skippableWeeks(n, (last-n)/7)
			n += 7 * k
			total += time.Duration(k) * c.weekLen
		}
		if c.isWorkingDay(n) {
			for _, iv := range c.hours {
				open, close := c.bounds(n, iv)
				if open.Before(a) {
					open = a
				}
				if close.After(b) {
					close = b
				}
				if close.After(open) {
					total += close.Sub(open)
				}
			}
		}
		n++
	}
	return total
}
