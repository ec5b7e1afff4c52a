package calendar

import (
	"errors"
	"math/rand"
	"testing"
	"time"
)

// vn is a calendar with the default hours and the 30 April / 1 May holidays
// (Thursday and Friday in 2026).
func vn(t *testing.T) *Calendar {
	t.Helper()
	c, err := New("Asia/Ho_Chi_Minh", DefaultWorkdays, DefaultOfficeHours, []string{"2026-04-30", "2026-05-01"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func at(t testing.TB, c *Calendar, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, c.Location())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func span(t testing.TB, s string) Span {
	t.Helper()
	sp, err := ParseSpan(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestDue(t *testing.T) {
	c := vn(t)
	tests := []struct {
		name, start, span, want string
	}{
		{"1d inside hours: same clock next working day", "2026-04-20 09:00", "1d", "2026-04-21 09:00"},
		{"5d from Friday afternoon skips the weekend", "2026-04-17 15:00", "5d", "2026-04-24 15:00"},
		{"5d from Friday afternoon before the Thu+Fri holidays", "2026-04-24 15:00", "5d", "2026-05-05 15:00"},
		{"1d from the afternoon before the holidays", "2026-04-29 16:00", "1d", "2026-05-04 16:00"},
		{"received on a holiday counts from the next opening", "2026-04-30 09:00", "1h", "2026-05-04 09:00"},
		{"received Friday after closing: end of Monday", "2026-04-17 17:30", "1d", "2026-04-20 17:00"},
		{"received exactly at closing 17:00 is after hours", "2026-04-17 17:00", "1d", "2026-04-20 17:00"},
		{"received before opening: end of that day", "2026-04-20 07:00", "1d", "2026-04-20 17:00"},
		{"received exactly at 12:00: counting starts 13:30", "2026-04-20 12:00", "1d", "2026-04-21 12:00"},
		{"received during lunch", "2026-04-20 12:30", "1d", "2026-04-21 12:00"},
		{"received exactly at 13:30", "2026-04-20 13:30", "1d", "2026-04-21 13:30"},
		{"received exactly at 08:00: same clock next day", "2026-04-20 08:00", "1d", "2026-04-21 08:00"},
		{"received at opening before the holidays", "2026-04-29 08:00", "1d", "2026-05-04 08:00"},
		{"hours from 13:30 end at the 12:00 closing", "2026-04-20 13:30", "7h30m", "2026-04-21 12:00"},
		{"days plus hours from an opening", "2026-04-20 13:30", "1d4h", "2026-04-22 08:30"},
		{"received Saturday", "2026-04-18 10:00", "4h", "2026-04-20 12:00"},
		{"hours stop exactly at 12:00, not 13:30", "2026-04-20 08:00", "4h", "2026-04-20 12:00"},
		{"a full day of hours ends at 17:00", "2026-04-20 08:00", "7h30m", "2026-04-20 17:00"},
		{"hours cross lunch", "2026-04-20 11:00", "90m", "2026-04-20 14:00"},
		{"hours cross lunch and night", "2026-04-20 11:59", "4h", "2026-04-21 08:29"},
		{"hours cross the night", "2026-04-20 16:00", "4h", "2026-04-21 11:00"},
		{"days plus hours", "2026-04-17 15:00", "1d4h", "2026-04-21 10:00"},
		{"long deadline crosses both holidays", "2026-04-01 10:00", "30d", "2026-05-15 10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Due(at(t, c, tt.start), span(t, tt.span))
			if want := at(t, c, tt.want); !got.Equal(want) {
				t.Errorf("Due(%s, %s) = %s, want %s", tt.start, tt.span, got.Format("Mon 2006-01-02 15:04"), want.Format("Mon 2006-01-02 15:04"))
			}
			if got.Location() != c.Location() {
				t.Errorf("result in %v, want %v", got.Location(), c.Location())
			}
		})
	}
}

func TestDueLongSpanMatchesWalk(t *testing.T) {
	// 30d crossing holidays computed by hand above; here a year with Tết in
	// the middle must agree with the plain day-by-day walk (no week skipping).
	c, err := New("Asia/Ho_Chi_Minh", DefaultWorkdays, DefaultOfficeHours,
		[]string{"2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-04-27", "2026-04-30", "2026-05-01", "2026-09-01", "2026-09-02"})
	if err != nil {
		t.Fatal(err)
	}
	start := at(t, c, "2026-01-05 09:15")
	for _, days := range []int{1, 5, 10, 30, 60, 200} {
		d := time.Duration(days) * c.DayLength()
		got, want := c.Add(start, d), refAdd(c, start, d)
		if !got.Equal(want) {
			t.Errorf("%dd: Add = %s, walk = %s", days, got, want)
		}
	}
}

func TestWorkBetween(t *testing.T) {
	c := vn(t)
	tests := []struct {
		a, b string
		want time.Duration
	}{
		{"2026-04-17 15:00", "2026-04-20 09:00", 3 * time.Hour},
		{"2026-04-20 11:00", "2026-04-20 14:00", 90 * time.Minute},
		{"2026-04-20 12:00", "2026-04-20 13:30", 0},
		{"2026-04-20 06:00", "2026-04-20 20:00", 7*time.Hour + 30*time.Minute},
		{"2026-04-29 16:00", "2026-05-04 09:00", 2 * time.Hour},
		{"2026-04-18 00:00", "2026-04-19 23:59", 0},
		{"2026-04-20 10:00", "2026-04-20 10:00", 0},
		{"2026-04-20 10:00", "2026-04-20 09:00", 0},
		{"2026-04-01 08:00", "2026-05-15 08:00", 30 * (7*time.Hour + 30*time.Minute)},
	}
	for _, tt := range tests {
		if got := c.WorkBetween(at(t, c, tt.a), at(t, c, tt.b)); got != tt.want {
			t.Errorf("WorkBetween(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestIsWorkingTime(t *testing.T) {
	c := vn(t)
	tests := []struct {
		at   string
		want bool
	}{
		{"2026-04-20 07:59", false},
		{"2026-04-20 08:00", true},
		{"2026-04-20 11:59", true},
		{"2026-04-20 12:00", false},
		{"2026-04-20 13:29", false},
		{"2026-04-20 13:30", true},
		{"2026-04-20 16:59", true},
		{"2026-04-20 17:00", false},
		{"2026-04-18 10:00", false}, // Saturday
		{"2026-04-30 10:00", false}, // holiday
	}
	for _, tt := range tests {
		if got := c.IsWorkingTime(at(t, c, tt.at)); got != tt.want {
			t.Errorf("IsWorkingTime(%s) = %v, want %v", tt.at, got, tt.want)
		}
	}
	// The zone of the argument does not matter, only the instant.
	utc := at(t, c, "2026-04-20 08:00").UTC() // 01:00 UTC
	if !c.IsWorkingTime(utc) {
		t.Errorf("IsWorkingTime(%s) = false for 08:00 in Hanoi", utc)
	}
}

func TestDSTZone(t *testing.T) {
	berlin, err := New("Europe/Berlin", DefaultWorkdays, []string{"09:00-17:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Spring forward on Sunday 2026-03-29, fall back on Sunday 2026-10-25:
	// working days keep their wall-clock hours.
	tests := []struct{ start, span, want string }{
		{"2026-03-27 15:00", "1d", "2026-03-30 15:00"},
		{"2026-10-23 15:00", "1d", "2026-10-26 15:00"},
		{"2026-03-02 10:00", "30d", "2026-04-13 10:00"},
		{"2026-10-01 10:00", "40d", "2026-11-26 10:00"},
	}
	for _, tt := range tests {
		got := berlin.Due(at(t, berlin, tt.start), span(t, tt.span))
		if want := at(t, berlin, tt.want); !got.Equal(want) {
			t.Errorf("Berlin Due(%s, %s) = %s, want %s", tt.start, tt.span, got, want)
		}
	}

	// Office hours that contain the transition: the interval is shorter or
	// longer in real time, as the wall clock says.
	allDay, err := New("Europe/Berlin", []string{"sat", "sun"}, []string{"00:00-24:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sat := at(t, allDay, "2026-03-28 12:00")
	got := allDay.Add(sat, 24*time.Hour)
	if want := at(t, allDay, "2026-03-29 13:00"); !got.Equal(want) {
		t.Errorf("24h across spring forward = %s, want %s", got, want)
	}
	if w := allDay.WorkBetween(at(t, allDay, "2026-03-28 00:00"), at(t, allDay, "2026-03-30 00:00")); w != 47*time.Hour {
		t.Errorf("weekend of spring forward = %v of work, want 47h", w)
	}
	if w := allDay.WorkBetween(at(t, allDay, "2026-10-24 00:00"), at(t, allDay, "2026-10-26 00:00")); w != 49*time.Hour {
		t.Errorf("weekend of fall back = %v of work, want 49h", w)
	}
}

// refAdd is the plain definition of Add: walk day by day, interval by
// interval, with no week skipping.
func refAdd(c *Calendar, t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	day := time.Date(t.In(c.loc).Year(), t.In(c.loc).Month(), t.In(c.loc).Day(), 0, 0, 0, 0, time.UTC)
	for {
		y, m, dd := day.Date()
		n := dayNumber(y, m, dd)
		if (c.workday[day.Weekday()] && !c.isHoliday(n)) || contains(c.swapped, n) {
			for _, iv := range c.hours {
				open := time.Date(y, m, dd, 0, iv.open, 0, 0, c.loc)
				close := time.Date(y, m, dd, 0, iv.close, 0, 0, c.loc)
				if open.Before(t) {
					open = t
				}
				if !close.After(open) {
					continue
				}
				if d <= close.Sub(open) {
					return open.Add(d)
				}
				d -= close.Sub(open)
			}
		}
		day = day.AddDate(0, 0, 1)
	}
}

// TestAddProperties checks, for random starts and durations in a zone without
// and a zone with DST, that Add agrees with the plain walk, that WorkBetween
// inverts Add, and that minute-by-minute counting agrees for short spans.
func TestAddProperties(t *testing.T) {
	hcm := vn(t)
	berlin, err := New("Europe/Berlin", []string{"mon", "tue", "wed", "thu", "fri", "sat"}, []string{"07:30-11:45", "12:15-16:00"}, []string{"2026-03-30", "2026-10-26", "2026-12-25"},
		SwappedWorkdays([]string{"2026-03-29", "2026-06-14"})) // a DST Sunday worked, and another
	if err != nil {
		t.Fatal(err)
	}
	swapped := vn2026(t) // holidays and swapped Saturdays through the year
	rng := rand.New(rand.NewSource(1))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []*Calendar{hcm, berlin, swapped} {
		for i := 0; i < 400; i++ {
			start := base.Add(time.Duration(rng.Int63n(int64(365 * 24 * time.Hour))))
			d := time.Duration(rng.Int63n(int64(60*c.DayLength()))) + 1
			got := c.Add(start, d)
			if want := refAdd(c, start, d); !got.Equal(want) {
				t.Fatalf("%v: Add(%s, %v) = %s, walk says %s", c.loc, start, d, got, want)
			}
			if w := c.WorkBetween(start, got); w != d {
				t.Fatalf("%v: WorkBetween(%s, Add(.., %v)=%s) = %v", c.loc, start, d, got, w)
			}
			if got.Before(start) {
				t.Fatalf("Add went backwards")
			}
		}
		// Short spans against counting minute by minute.
		for i := 0; i < 40; i++ {
			start := base.Add(time.Duration(rng.Int63n(365*24)) * time.Hour).Add(time.Duration(rng.Intn(60)) * time.Minute)
			mins := 1 + rng.Intn(600)
			got := c.Add(start, time.Duration(mins)*time.Minute)
			cur, n := start, 0
			for {
				if c.IsWorkingTime(cur) {
					n++
				}
				cur = cur.Add(time.Minute)
				if n == mins {
					break
				}
			}
			if !got.Equal(cur) {
				t.Fatalf("%v: Add(%s, %dm) = %s, minute count says %s", c.loc, start, mins, got, cur)
			}
		}
	}
}

func TestAddZeroAndNegative(t *testing.T) {
	c := vn(t)
	sat := at(t, c, "2026-04-18 10:00")
	for _, d := range []time.Duration{0, -time.Hour} {
		if got := c.Add(sat, d); !got.Equal(sat) {
			t.Errorf("Add(%v) moved to %s", d, got)
		}
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Location().String() != "Asia/Ho_Chi_Minh" {
		t.Errorf("zone %s", c.Location())
	}
	if c.DayLength() != 7*time.Hour+30*time.Minute {
		t.Errorf("day length %v", c.DayLength())
	}
	// Asia/Ho_Chi_Minh is UTC+7 with no DST.
	mon := time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC) // 08:00 local
	if !c.IsWorkingTime(mon) || c.IsWorkingTime(mon.Add(-time.Nanosecond)) {
		t.Error("08:00 +07:00 should open the office")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name     string
		tz       string
		workdays []string
		hours    []string
		holidays []string
		field    string
		index    int
	}{
		{"unknown zone", "Mars/Olympus", DefaultWorkdays, DefaultOfficeHours, nil, "timezone", -1},
		{"empty zone", "", DefaultWorkdays, DefaultOfficeHours, nil, "timezone", -1},
		{"bad day", "UTC", []string{"mon", "funday"}, DefaultOfficeHours, nil, "workdays", 1},
		{"day twice", "UTC", []string{"mon", "Mon"}, DefaultOfficeHours, nil, "workdays", 1},
		{"no days", "UTC", nil, DefaultOfficeHours, nil, "workdays", -1},
		{"no hours", "UTC", DefaultWorkdays, nil, nil, "office_hours", -1},
		{"bad clock", "UTC", DefaultWorkdays, []string{"8:00-12:00"}, nil, "office_hours", 0},
		{"not an interval", "UTC", DefaultWorkdays, []string{"08:00"}, nil, "office_hours", 0},
		{"minute 60", "UTC", DefaultWorkdays, []string{"08:60-12:00"}, nil, "office_hours", 0},
		{"ends before start", "UTC", DefaultWorkdays, []string{"12:00-08:00"}, nil, "office_hours", 0},
		{"overlap", "UTC", DefaultWorkdays, []string{"08:00-12:00", "11:00-17:00"}, nil, "office_hours", 1},
		{"unsorted", "UTC", DefaultWorkdays, []string{"13:30-17:00", "08:00-12:00"}, nil, "office_hours", 1},
		{"bad date", "UTC", DefaultWorkdays, DefaultOfficeHours, []string{"2026-01-01", "2026-02-30"}, "holidays", 1},
		{"date format", "UTC", DefaultWorkdays, DefaultOfficeHours, []string{"30/04/2026"}, "holidays", 0},
		{"swapped not a date", "UTC", DefaultWorkdays, DefaultOfficeHours, []string{"swap:2026-01-1O"}, "swapped_workdays", 0},
		{"swapped day already a workday", "UTC", DefaultWorkdays, DefaultOfficeHours, []string{"swap:2026-01-10", "swap:2026-01-12"}, "swapped_workdays", 1},
		{"swapped Saturday also a holiday", "UTC", DefaultWorkdays, DefaultOfficeHours, []string{"2026-01-10", "swap:2026-01-10"}, "swapped_workdays", 0},
		{"swapped Monday also a holiday", "UTC", DefaultWorkdays, DefaultOfficeHours, []string{"2026-01-12", "swap:2026-01-12"}, "swapped_workdays", 0},
		{"swapped Saturday of a six-day week", "UTC", []string{"mon", "tue", "wed", "thu", "fri", "sat"}, DefaultOfficeHours, []string{"swap:2026-01-10"}, "swapped_workdays", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			holidays, swapped := splitSwapped(tt.holidays)
			_, err := New(tt.tz, tt.workdays, tt.hours, holidays, SwappedWorkdays(swapped))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *Error", err)
			}
			for _, p := range ce.Problems {
				if p.Field == tt.field && p.Index == tt.index {
					return
				}
			}
			t.Errorf("problems %+v, want one at %s[%d]", ce.Problems, tt.field, tt.index)
		})
	}

	// Every problem at once.
	_, err := New("Nowhere/Else", []string{"xx"}, []string{"bad"}, []string{"never"}, SwappedWorkdays([]string{"nor this"}))
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 5 {
		t.Fatalf("want 5 problems, got %v", err)
	}
	// A Saturday worked and the bridge day off it pays for are fine, and
	// so is a swapped day listed twice.
	if _, err := New("UTC", DefaultWorkdays, DefaultOfficeHours, []string{"2026-01-02"}, SwappedWorkdays([]string{"2026-01-10", "2026-01-10"})); err != nil {
		t.Errorf("swap: %v", err)
	}
	// Adjacent intervals and a 24:00 end are fine.
	if _, err := New("UTC", DefaultWorkdays, []string{"08:00-12:00", "12:00-24:00"}, nil); err != nil {
		t.Errorf("adjacent intervals: %v", err)
	}
}

func TestParseSpan(t *testing.T) {
	tests := []struct {
		in      string
		want    Span
		str     string
		wantErr bool
	}{
		{in: "5d", want: Span{Days: 5}, str: "5d"},
		{in: "4h", want: Span{Work: 4 * time.Hour}, str: "4h"},
		{in: "1d4h", want: Span{Days: 1, Work: 4 * time.Hour}, str: "1d4h"},
		{in: "90m", want: Span{Work: 90 * time.Minute}, str: "1h30m"},
		{in: "2h30m", want: Span{Work: 150 * time.Minute}, str: "2h30m"},
		{in: "1d0h", want: Span{Days: 1}, str: "1d"},
		{in: "30s", want: Span{Work: 30 * time.Second}, str: "30s"},
		{in: "", wantErr: true},
		{in: "0d", wantErr: true},
		{in: "0h0m", wantErr: true},
		{in: "-5d", wantErr: true},
		{in: "5", wantErr: true},
		{in: "5w", wantErr: true},
		{in: "d", wantErr: true},
		{in: "4h1d", wantErr: true},
		{in: "1d1d", wantErr: true},
		{in: "5 d", wantErr: true},
		{in: "99999999999d", wantErr: true},
		{in: "20000d", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseSpan(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseSpan(%q) = %v, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		if got.String() != tt.str {
			t.Errorf("%q.String() = %q, want %q", tt.in, got.String(), tt.str)
		}
		var back Span
		if err := back.UnmarshalText([]byte(got.String())); err != nil || back != got {
			t.Errorf("round trip of %q: %v, %v", tt.in, back, err)
		}
	}
}

func BenchmarkDue(b *testing.B) {
	c, err := New("Asia/Ho_Chi_Minh", DefaultWorkdays, DefaultOfficeHours,
		[]string{"2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-04-30", "2026-05-01", "2026-09-01", "2026-09-02"})
	if err != nil {
		b.Fatal(err)
	}
	start := at(b, c, "2026-04-24 15:00")
	for _, s := range []string{"4h", "5d", "60d"} {
		sp := span(b, s)
		b.Run(s, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_ = c.Due(start, sp)
			}
		})
	}
	b.Run("WorkBetween-60d", func(b *testing.B) {
		end := c.Due(start, span(b, "60d"))
		for i := 0; i < b.N; i++ {
			_ = c.WorkBetween(start, end)
		}
	})
}
