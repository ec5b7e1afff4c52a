package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Span is a deadline in working time: Days working days plus Work office
// time. A working day is worth the calendar's normal day of office time (see
// Calendar.DayLength), so Span itself is calendar-free and can be parsed from
// the config before the calendar exists.
type Span struct {
	Days int
	Work time.Duration
}

// Limits that keep Days*DayLength and Work far from time.Duration overflow
// (about 292 years) while allowing any real deadline.
const (
	maxSpanDays = 10000
	maxSpanWork = 100000 * time.Hour
)

// ParseSpan parses a deadline such as "5d", "4h", "90m", "1d4h" or "2h30m".
// Units are d (working days), h, m and s (office time), each at most once and
// in that order. A zero or negative span is an error: a deadline must be in
// the future.
func ParseSpan(s string) (Span, error) {
	if s == "" {
		return Span{}, fmt.Errorf("empty deadline: want e.g. 5d, 4h, 1d4h or 90m")
	}
	var sp Span
	rest := s
	lastUnit := -1
	const units = "dhms"
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			if rest[0] == '-' {
				return Span{}, fmt.Errorf("deadline %q: must be positive", s)
			}
			return Span{}, fmt.Errorf("deadline %q: want a number before %q (e.g. 5d, 4h, 1d4h, 90m)", s, rest[:1])
		}
		if i == len(rest) {
			return Span{}, fmt.Errorf("deadline %q: number %s has no unit (d, h, m or s)", s, rest)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > 1_000_000_000 {
			return Span{}, fmt.Errorf("deadline %q: number %s is too large", s, rest[:i])
		}
		u := strings.IndexByte(units, rest[i])
		if u < 0 {
			return Span{}, fmt.Errorf("deadline %q: unknown unit %q (want d, h, m or s)", s, rest[i:i+1])
		}
		if u <= lastUnit {
			return Span{}, fmt.Errorf("deadline %q: units must appear once each, in the order d, h, m, s", s)
		}
		lastUnit = u
		switch units[u] {
		case 'd':
			if n > maxSpanDays {
				return Span{}, fmt.Errorf("deadline %q: more than %d days", s, maxSpanDays)
			}
			sp.Days = n
		case 'h':
			if n > int(maxSpanWork/time.Hour) {
				return Span{}, fmt.Errorf("deadline %q: too many hours", s)
			}
			sp.Work += time.Duration(n) * time.Hour
		case 'm':
			if n > int(maxSpanWork/time.Minute) {
				return Span{}, fmt.Errorf("deadline %q: too many minutes", s)
			}
			sp.Work += time.Duration(n) * time.Minute
		case 's':
			if n > int(maxSpanWork/time.Second) {
				return Span{}, fmt.Errorf("deadline %q: too many seconds", s)
			}
			sp.Work += time.Duration(n) * time.Second
		}
		rest = rest[i+1:]
	}
	if sp.Work > maxSpanWork {
		return Span{}, fmt.Errorf("deadline %q: too long", s)
	}
	if sp.IsZero() {
		return Span{}, fmt.Errorf("deadline %q: must be more than zero", s)
	}
	return sp, nil
}

// IsZero reports whether the span is empty (no deadline).
func (s Span) IsZero() bool { return s.Days == 0 && s.Work == 0 }

// String formats the span the way ParseSpan reads it: "1d4h", "2h30m", "5d".
// The zero span prints as "0d".
func (s Span) String() string {
	if s.IsZero() {
		return "0d"
	}
	var b strings.Builder
	if s.Days != 0 {
		b.WriteString(strconv.Itoa(s.Days))
		b.WriteByte('d')
	}
	w := s.Work
	if w < 0 {
		// Not produced by ParseSpan; print something recognisable anyway.
		b.WriteString(w.String())
		return b.String()
	}
	for _, u := range []struct {
		d time.Duration
		c byte
	}{{time.Hour, 'h'}, {time.Minute, 'm'}, {time.Second, 's'}} {
		if n := w / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteByte(u.c)
			w -= n * u.d
		}
	}
	if w > 0 {
		// Sub-second remainders cannot be parsed back; keep them visible.
		b.WriteString(w.String())
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler (JSON and YAML use it).
func (s Span) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseSpan.
func (s *Span) UnmarshalText(b []byte) error {
	sp, err := ParseSpan(string(b))
	if err != nil {
		return err
	}
	*s = sp
	return nil
}
