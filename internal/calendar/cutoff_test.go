package calendar

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

// vn2026 is the calendar of Vietnamese public offices for 2026 (official:
// a bridge Friday 2 January worked back on Saturday 10 January, Monday 31
// August on Saturday 22 August) and 2027 (computed from the law).
func vn2026(t testing.TB) *Calendar {
	t.Helper()
	c, err := New("Asia/Ho_Chi_Minh", DefaultWorkdays, DefaultOfficeHours, []string{
		"2026-01-01", "2026-01-02", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
		"2026-04-27", "2026-04-30", "2026-05-01", "2026-08-31", "2026-09-01", "2026-09-02",
		"2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11",
		"2027-04-16", "2027-04-30", "2027-05-03", "2027-09-02", "2027-09-03",
	}, SwappedWorkdays([]string{"2026-01-10", "2026-08-22"}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// splitSwapped separates "swap:"-prefixed dates (swapped workdays) from
// holidays in a test table's date list.
func splitSwapped(dates []string) (holidays, swapped []string) {
	for _, d := range dates {
		if s, ok := strings.CutPrefix(d, "swap:"); ok {
			swapped = append(swapped, s)
		} else {
			holidays = append(holidays, d)
		}
	}
	return holidays, swapped
}

func TestSwappedWorkdays(t *testing.T) {
	c := vn2026(t)
	due := []struct{ name, start, span, want string }{
		{"Friday afternoon + 1d lands on the swapped Saturday", "2026-01-09 15:00", "1d", "2026-01-10 15:00"},
		{"the swapped Saturday + 1d is Monday", "2026-01-10 09:00", "1d", "2026-01-12 09:00"},
		{"across New Year 2027: Friday off", "2026-12-31 10:00", "2d", "2027-01-05 10:00"},
		{"Friday + 2d: the swapped Saturday, then Monday", "2026-08-21 10:00", "2d", "2026-08-24 10:00"},
		{"across the bridge Monday and the National Day", "2026-08-28 10:00", "1d", "2026-09-03 10:00"},
		{"hours on the swapped Saturday", "2026-08-21 16:00", "4h", "2026-08-22 11:00"},
		{"an ordinary Saturday is not worked", "2026-01-17 10:00", "1h", "2026-01-19 09:00"},
		{"a long span through every swap", "2026-01-05 09:15", "200d", "2026-10-23 09:15"},
	}
	for _, tt := range due {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Due(at(t, c, tt.start), span(t, tt.span))
			if want := at(t, c, tt.want); !got.Equal(want) {
				t.Errorf("Due(%s, %s) = %s, want %s", tt.start, tt.span, got.Format("Mon 2006-01-02 15:04"), want.Format("Mon 2006-01-02 15:04"))
			}
			d := time.Duration(span(t, tt.span).Days)*c.DayLength() + span(t, tt.span).Work
			if w := c.WorkBetween(at(t, c, tt.start), c.Add(at(t, c, tt.start), d)); w != d {
				t.Errorf("WorkBetween after Add = %v, want %v", w, d)
			}
		})
	}
	for _, tt := range []struct {
		at      string
		day, in bool
	}{
		{"2026-01-10 10:00", true, true},   // swapped Saturday, office hours
		{"2026-01-10 12:30", true, false},  // its lunch break
		{"2026-01-10 17:00", true, false},  // its closing
		{"2026-01-11 10:00", false, false}, // the Sunday after
		{"2026-01-02 10:00", false, false}, // the bridge Friday it pays for
		{"2026-08-22 08:00", true, true},
		{"2026-08-29 08:00", false, false}, // an ordinary Saturday
	} {
		v := at(t, c, tt.at)
		if got := c.IsWorkingDay(v); got != tt.day {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", tt.at, got, tt.day)
		}
		if got := c.IsWorkingTime(v); got != tt.in {
			t.Errorf("IsWorkingTime(%s) = %v, want %v", tt.at, got, tt.in)
		}
	}
	// The week of the swapped Saturday holds one day more of work, the
	// week of the bridge Friday one less.
	if w := c.WorkBetween(at(t, c, "2026-01-05 00:00"), at(t, c, "2026-01-12 00:00")); w != 6*c.DayLength() {
		t.Errorf("week of 10 January = %v, want 6 days", w)
	}
	if w := c.WorkBetween(at(t, c, "2025-12-29 00:00"), at(t, c, "2026-01-05 00:00")); w != 3*c.DayLength() {
		t.Errorf("week of 1 January = %v, want 3 days", w)
	}
	// Long spans from every day of the year agree with the plain walk.
	for d := 0; d < 400; d += 3 {
		start := at(t, c, "2026-01-01 10:00").AddDate(0, 0, d)
		for _, days := range []int{1, 5, 12, 40} {
			dur := time.Duration(days) * c.DayLength()
			if got, want := c.Add(start, dur), refAdd(c, start, dur); !got.Equal(want) {
				t.Fatalf("Add(%s, %dd) = %s, walk = %s", start, days, got, want)
			}
		}
	}
}

func TestCountFrom(t *testing.T) {
	c := vn2026(t)
	const cut = 15 * time.Hour
	tests := []struct {
		name     string
		received string
		cutOff   time.Duration
		from     string // CountFrom
		opening  string // NextOpening(CountFrom): the clock starts
		due1d    string // Due(CountFrom, 1d)
	}{
		{"no cut-off", "2026-04-24 15:30", 0, "2026-04-24 15:30", "2026-04-24 15:30", "2026-04-28 15:30"},
		{"before the cut-off: counts at once", "2026-04-24 14:59", cut, "2026-04-24 14:59", "2026-04-24 14:59", "2026-04-28 14:59"},
		{"at the cut-off: next working day", "2026-04-24 15:00", cut, "2026-04-24 17:00", "2026-04-28 08:00", "2026-04-28 17:00"},
		{"15:30 on Friday before a holiday Monday", "2026-04-24 15:30", cut, "2026-04-24 17:00", "2026-04-28 08:00", "2026-04-28 17:00"},
		{"15:30 on Wednesday before Thursday and Friday holidays", "2026-04-29 15:30", cut, "2026-04-29 17:00", "2026-05-04 08:00", "2026-05-04 17:00"},
		{"15:30 on Friday before Tết", "2026-02-13 15:30", cut, "2026-02-13 17:00", "2026-02-23 08:00", "2026-02-23 17:00"},
		{"15:30 on Thursday before Tết 2027", "2027-02-04 15:30", cut, "2027-02-04 17:00", "2027-02-12 08:00", "2027-02-12 17:00"},
		{"15:30 on a swapped Saturday", "2026-08-22 15:30", cut, "2026-08-22 17:00", "2026-08-24 08:00", "2026-08-24 17:00"},
		{"10:00 on a swapped Saturday counts at once", "2026-08-22 10:00", cut, "2026-08-22 10:00", "2026-08-22 10:00", "2026-08-24 10:00"},
		{"15:30 on Friday before a swapped Saturday", "2026-08-21 15:30", cut, "2026-08-21 17:00", "2026-08-22 08:00", "2026-08-22 17:00"},
		{"15:30 on an ordinary Saturday", "2026-08-29 15:30", cut, "2026-08-29 15:30", "2026-09-03 08:00", "2026-09-03 17:00"},
		{"a holiday afternoon", "2026-09-01 16:00", cut, "2026-09-01 16:00", "2026-09-03 08:00", "2026-09-03 17:00"},
		{"after closing: as Due alone", "2026-04-24 17:30", cut, "2026-04-24 17:30", "2026-04-28 08:00", "2026-04-28 17:00"},
		{"before opening: that day", "2026-04-28 07:00", cut, "2026-04-28 07:00", "2026-04-28 08:00", "2026-04-28 17:00"},
		{"lunch before a 15:00 cut-off: the afternoon counts", "2026-04-28 12:30", cut, "2026-04-28 12:30", "2026-04-28 13:30", "2026-04-29 12:00"},
		{"lunch after a 12:00 cut-off: next working day", "2026-04-28 12:30", 12 * time.Hour, "2026-04-28 17:00", "2026-04-29 08:00", "2026-04-29 17:00"},
		{"morning before a 12:00 cut-off", "2026-04-28 11:59", 12 * time.Hour, "2026-04-28 11:59", "2026-04-28 11:59", "2026-04-29 11:59"},
		{"a 17:00 cut-off changes nothing", "2026-04-28 16:59", 17 * time.Hour, "2026-04-28 16:59", "2026-04-28 16:59", "2026-04-29 16:59"},
		{"a negative cut-off is none", "2026-04-28 16:00", -time.Hour, "2026-04-28 16:00", "2026-04-28 16:00", "2026-04-29 16:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recv := at(t, c, tt.received)
			from := c.CountFrom(recv.UTC(), tt.cutOff) // the zone of the argument does not matter
			if want := at(t, c, tt.from); !from.Equal(want) {
				t.Errorf("CountFrom = %s, want %s", from.Format("Mon 2006-01-02 15:04"), want.Format("Mon 2006-01-02 15:04"))
			}
			if from.Location() != c.Location() {
				t.Errorf("CountFrom in %v, want %v", from.Location(), c.Location())
			}
			if got, want := c.NextOpening(from), at(t, c, tt.opening); !got.Equal(want) {
				t.Errorf("NextOpening = %s, want %s", got.Format("Mon 2006-01-02 15:04"), want.Format("Mon 2006-01-02 15:04"))
			}
			if got, want := c.Due(from, span(t, "1d")), at(t, c, tt.due1d); !got.Equal(want) {
				t.Errorf("Due(CountFrom, 1d) = %s, want %s", got.Format("Mon 2006-01-02 15:04"), want.Format("Mon 2006-01-02 15:04"))
			}
		})
	}
}

// TestCountFromConsistentWithDue checks, for random receipts through two
// years, that a dossier counted from the next working day is due as one
// received after closing that day, that CountFrom leaves receipts on days off
// and before the cut-off alone, and that it never goes back nor moves twice.
func TestCountFromConsistentWithDue(t *testing.T) {
	c := vn2026(t)
	rng := rand.New(rand.NewSource(2))
	base := at(t, c, "2026-01-01 00:00")
	for i := 0; i < 3000; i++ {
		recv := base.Add(time.Duration(rng.Int63n(int64(730 * 24 * time.Hour)))).Truncate(time.Minute)
		cut := time.Duration(8*60+rng.Intn(9*60+1)) * time.Minute // 08:00 to 17:00
		sp := Span{Days: 1 + rng.Intn(15)}
		from := c.CountFrom(recv, cut)
		if from.Before(recv) {
			t.Fatalf("CountFrom(%s, %v) = %s: before the receipt", recv, cut, from)
		}
		if again := c.CountFrom(from, cut); !again.Equal(from) {
			t.Fatalf("CountFrom(%s, %v) = %s, then %s", recv, cut, from, again)
		}
		if !c.IsWorkingDay(recv) && !from.Equal(recv) {
			t.Fatalf("CountFrom(%s, %v) moved a receipt on a day off to %s", recv, cut, from)
		}
		if from.Equal(recv) {
			continue
		}
		// Moved: a working day, at or after the cut-off, before closing.
		h, m, _ := recv.In(c.Location()).Clock()
		if !c.IsWorkingDay(recv) || time.Duration(h)*time.Hour+time.Duration(m)*time.Minute < cut {
			t.Fatalf("CountFrom(%s, %v) = %s: moved a receipt before the cut-off", recv, cut, from)
		}
		afterHours := from.Add(30 * time.Minute) // received after closing the same day
		if got, want := c.Due(from, sp), c.Due(afterHours, sp); !got.Equal(want) {
			t.Fatalf("Due(CountFrom(%s, %v), %s) = %s, after closing %s", recv, cut, sp, got, want)
		}
		if w := c.WorkBetween(from, c.NextOpening(from)); w != 0 {
			t.Fatalf("%v of work between CountFrom %s and the next opening", w, from)
		}
	}
}

func TestParseClock(t *testing.T) {
	good := map[string]time.Duration{
		"15:00": 15 * time.Hour, " 08:30 ": 8*time.Hour + 30*time.Minute, "00:00": 0, "24:00": 24 * time.Hour, "12:05": 12*time.Hour + 5*time.Minute,
	}
	for s, want := range good {
		if got, err := ParseClock(s); err != nil || got != want {
			t.Errorf("ParseClock(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "15", "15h", "3pm", "3:00", "15:0", "1500", "25:00", "24:30", "15:60", "-1:00", "15:00:00", "15.00"} {
		if d, err := ParseClock(s); err == nil {
			t.Errorf("ParseClock(%q) = %v, want an error", s, d)
		} else if !strings.Contains(err.Error(), "like 15:00") {
			t.Errorf("ParseClock(%q): %v", s, err)
		}
	}
	if s := FormatClock(15*time.Hour + 30*time.Minute); s != "15:30" {
		t.Errorf("FormatClock = %s", s)
	}
}

func TestCheckCutOff(t *testing.T) {
	c := vn2026(t)
	for _, tt := range []struct {
		clock string
		ok    bool
	}{
		{"15:00", true}, {"08:00", true}, {"11:30", true}, {"12:00", true}, {"13:30", true}, {"17:00", true},
		{"07:59", false}, {"12:30", false}, {"13:29", false}, {"17:01", false}, {"18:00", false}, {"00:00", false}, {"24:00", false},
	} {
		d, err := ParseClock(tt.clock)
		if err != nil {
			t.Fatal(err)
		}
		err = c.CheckCutOff(d)
		if (err == nil) != tt.ok {
			t.Errorf("CheckCutOff(%s) = %v, want ok %v", tt.clock, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "outside office hours (08:00-12:00, 13:30-17:00)") {
			t.Errorf("CheckCutOff(%s): %v", tt.clock, err)
		}
	}
}

func TestHasHolidays(t *testing.T) {
	c := vn2026(t)
	for year, want := range map[int]bool{2025: false, 2026: true, 2027: true, 2028: false} {
		if got := c.HasHolidays(year); got != want {
			t.Errorf("HasHolidays(%d) = %v, want %v", year, got, want)
		}
	}
	edge, err := New("UTC", DefaultWorkdays, DefaultOfficeHours, []string{"2027-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	if edge.HasHolidays(2026) || !edge.HasHolidays(2027) || edge.HasHolidays(2028) {
		t.Error("a holiday on 31 December belongs to its own year only")
	}
	if Default().HasHolidays(2026) {
		t.Error("the default calendar has no holidays")
	}
}
