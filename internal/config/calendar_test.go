package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/calendar"
)

// edited applies old, new pairs to base (an empty old appends new).
func edited(t *testing.T, edits ...string) string {
	t.Helper()
	doc := base
	for i := 0; i < len(edits); i += 2 {
		if edits[i] == "" {
			doc += edits[i+1]
			continue
		}
		if !strings.Contains(doc, edits[i]) {
			t.Fatalf("edit %q does not apply", edits[i])
		}
		doc = strings.Replace(doc, edits[i], edits[i+1], 1)
	}
	return doc
}

const (
	holidaysLine = `holidays: ["2026-04-30", "2026-05-01"]`
	receiversKey = "receivers: [HCC]\n"
)

func TestCalendarAndCutOffProblems(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
		paths []string // exactly the problem paths expected
		msg   string   // in the first problem's message
	}{
		{name: "swapped day already a working day",
			edits: []string{holidaysLine, holidaysLine + "\n  swapped_workdays: [\"2026-01-10\", \"2026-01-12\"]"},
			paths: []string{"calendar.swapped_workdays[1]"}, msg: "2026-01-12 is a Monday, already a working day"},
		{name: "swapped day also a holiday",
			edits: []string{holidaysLine, `holidays: ["2026-04-30", "2026-05-01", "2026-01-10"]` + "\n  swapped_workdays: [\"2026-01-10\"]"},
			paths: []string{"calendar.swapped_workdays[0]"}, msg: "also listed in holidays"},
		{name: "swapped workday holiday",
			edits: []string{holidaysLine, holidaysLine + "\n  swapped_workdays: [\"2026-05-01\"]"},
			paths: []string{"calendar.swapped_workdays[0]"}, msg: "also listed in holidays"},
		{name: "swapped day not a date",
			edits: []string{holidaysLine, holidaysLine + "\n  swapped_workdays: [\"10/01/2026\"]"},
			paths: []string{"calendar.swapped_workdays[0]"}, msg: "not a date like 2026-01-10"},
		{name: "swapped days not a list",
			edits: []string{holidaysLine, holidaysLine + "\n  swapped_workdays: \"2026-01-10\""},
			paths: []string{"calendar.swapped_workdays"}, msg: "want a list"},
		{name: "swapped Saturday of a six-day week",
			edits: []string{holidaysLine, holidaysLine + "\n  workdays: [mon, tue, wed, thu, fri, sat]\n  swapped_workdays: [\"2026-01-10\"]"},
			paths: []string{"calendar.swapped_workdays[0]"}, msg: "is a Saturday, already a working day"},
		{name: "cut-off at lunch",
			edits: []string{receiversKey, receiversKey + "    cut_off: \"12:30\"\n"},
			paths: []string{"procedures[0].cut_off"}, msg: "12:30 is outside office hours (08:00-12:00, 13:30-17:00)"},
		{name: "cut-off after closing",
			edits: []string{receiversKey, receiversKey + "    cut_off: \"18:00\"\n"},
			paths: []string{"procedures[0].cut_off"}, msg: "18:00 is outside office hours"},
		{name: "cut-off before opening",
			edits: []string{receiversKey, receiversKey + "    cut_off: \"07:00\"\n"},
			paths: []string{"procedures[0].cut_off"}, msg: "outside office hours"},
		{name: "cut-off outside the configured hours",
			edits: []string{holidaysLine, holidaysLine + "\n  office_hours: [\"07:30-11:30\", \"13:00-16:30\"]", receiversKey, receiversKey + "    cut_off: \"16:45\"\n"},
			paths: []string{"procedures[0].cut_off"}, msg: "16:45 is outside office hours (07:30-11:30, 13:00-16:30)"},
		{name: "cut-off malformed",
			edits: []string{receiversKey, receiversKey + "    cut_off: \"3pm\"\n"},
			paths: []string{"procedures[0].cut_off"}, msg: `"3pm" is not a time of day like 15:00`},
		{name: "cut-off out of range",
			edits: []string{receiversKey, receiversKey + "    cut_off: \"25:00\"\n"},
			paths: []string{"procedures[0].cut_off"}, msg: "not a time of day"},
		{name: "cut-off with seconds",
			edits: []string{receiversKey, receiversKey + "    cut_off: \"15:00:00\"\n"},
			paths: []string{"procedures[0].cut_off"}, msg: "not a time of day"},
		{name: "cut-off a number",
			edits: []string{receiversKey, receiversKey + "    cut_off: 15\n"},
			paths: []string{"procedures[0].cut_off"}, msg: "not a time of day"},
		{name: "cut-off not a scalar",
			edits: []string{receiversKey, receiversKey + "    cut_off: [15, 0]\n"},
			paths: []string{"procedures[0].cut_off"}, msg: "want a string"},
		{name: "a bad calendar hides the cut-off's hours check",
			edits: []string{`Asia/Ho_Chi_Minh`, `Asia/Nowhere`, receiversKey, receiversKey + "    cut_off: \"12:30\"\n"},
			paths: []string{"calendar.timezone"}, msg: "unknown time zone"},
		{name: "a bad calendar and a malformed cut-off",
			edits: []string{`Asia/Ho_Chi_Minh`, `Asia/Nowhere`, receiversKey, receiversKey + "    cut_off: \"noon\"\n"},
			paths: []string{"calendar.timezone", "procedures[0].cut_off"}, msg: "unknown time zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWith([]byte(edited(t, tt.edits...)), "bad.yaml", envOf(baseEnv))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			var paths []string
			for _, p := range ve.Problems {
				paths = append(paths, p.Path)
				if p.Line == 0 {
					t.Errorf("problem without a line: %v", p)
				}
			}
			if !reflect.DeepEqual(paths, tt.paths) {
				t.Fatalf("problems at %q, want %q\n%v", paths, tt.paths, err)
			}
			if !strings.Contains(ve.Problems[0].Message, tt.msg) {
				t.Errorf("message %q does not say %q", ve.Problems[0].Message, tt.msg)
			}
		})
	}
}

func TestCutOffAndSwappedWorkdays(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
		want  time.Duration
	}{
		{"unset", nil, 0},
		{"15:00", []string{receiversKey, receiversKey + "    cut_off: \"15:00\"\n"}, 15 * time.Hour},
		{"unquoted 15:00 is a string too", []string{receiversKey, receiversKey + "    cut_off: 15:00\n"}, 15 * time.Hour},
		{"at the noon closing", []string{receiversKey, receiversKey + "    cut_off: \"12:00\"\n"}, 12 * time.Hour},
		{"at the afternoon opening", []string{receiversKey, receiversKey + "    cut_off: \"13:30\"\n"}, 13*time.Hour + 30*time.Minute},
		{"at the evening closing", []string{receiversKey, receiversKey + "    cut_off: \"17:00\"\n"}, 17 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseWith([]byte(edited(t, tt.edits...)), "ok.yaml", envOf(baseEnv))
			if err != nil {
				t.Fatal(err)
			}
			p, _ := c.Procedure("1.004227")
			if got := p.CutOff(); got != tt.want {
				t.Errorf("CutOff() = %v, want %v", got, tt.want)
			}
		})
	}

	// A swapped Saturday is a working day of the compiled calendar, and a
	// dossier received after the cut-off there counts from Monday.
	c, err := ParseWith([]byte(edited(t,
		holidaysLine, `holidays: ["2026-01-01", "2026-01-02", "2026-04-30", "2026-05-01"]`+"\n  swapped_workdays: [\"2026-01-10\"]",
		receiversKey, receiversKey+"    cut_off: \"15:00\"\n")), "ok.yaml", envOf(baseEnv))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Calendar.SwappedWorkdays; !reflect.DeepEqual(got, []string{"2026-01-10"}) {
		t.Errorf("swapped_workdays = %v", got)
	}
	cal, loc := c.Cal(), c.Cal().Location()
	sat := time.Date(2026, 1, 10, 15, 30, 0, 0, loc)
	if !cal.IsWorkingDay(sat) || cal.IsWorkingDay(sat.AddDate(0, 0, -8)) {
		t.Error("Saturday 10 January should be worked, Friday 2 January not")
	}
	p, _ := c.Procedure("1.004227")
	due := cal.Due(cal.CountFrom(sat, p.CutOff()), calendar.Span{Days: 1})
	if want := time.Date(2026, 1, 12, 17, 0, 0, 0, loc); !due.Equal(want) {
		t.Errorf("1d from Saturday 15:30 after the cut-off = %s, want %s", due, want)
	}
}

func TestWarnings(t *testing.T) {
	hcm, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	c, err := ParseWith([]byte(base), "base.yaml", envOf(baseEnv)) // holidays of 2026 only
	if err != nil {
		t.Fatal(err)
	}
	noHolidays, err := ParseWith([]byte(edited(t, holidaysLine, "holidays: []")), "none.yaml", envOf(baseEnv))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VPDK_WEBHOOK_SECRET", "")
	example, err := ExampleConfig() // 2026 and 2027
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cfg   *Config
		now   time.Time
		years []string // in the warnings, in order
	}{
		{"2026 listed, 2027 missing", c, time.Date(2026, 6, 1, 10, 0, 0, 0, hcm), []string{"2027 (next year)"}},
		{"new year's eve in UTC is already 2026 in Hanoi", c, time.Date(2025, 12, 31, 17, 30, 0, 0, time.UTC), []string{"2027 (next year)"}},
		{"a year with neither", c, time.Date(2027, 3, 1, 10, 0, 0, 0, hcm), []string{"2027 (the current year)", "2028 (next year)"}},
		{"the year before: the current one missing", c, time.Date(2025, 12, 31, 10, 0, 0, 0, hcm), []string{"2025 (the current year)"}},
		{"no holidays at all", noHolidays, time.Date(2026, 6, 1, 10, 0, 0, 0, hcm), []string{"2026 (the current year)", "2027 (next year)"}},
		{"the example in December 2026", example, time.Date(2026, 12, 4, 10, 0, 0, 0, hcm), nil},
		{"the example in 2027", example, time.Date(2027, 6, 1, 10, 0, 0, 0, hcm), []string{"2028 (next year)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := tt.cfg.Warnings(tt.now)
			if len(ws) != len(tt.years) {
				t.Fatalf("warnings %v, want %d", ws, len(tt.years))
			}
			for i, w := range ws {
				if w.Path != "calendar.holidays" || !strings.Contains(w.Message, "no holidays for "+tt.years[i]) {
					t.Errorf("warning %d = %v, want calendar.holidays for %s", i, w, tt.years[i])
				}
			}
		})
	}
}

func TestExampleCalendar(t *testing.T) {
	t.Setenv("VPDK_WEBHOOK_SECRET", "")
	c, err := ExampleConfig()
	if err != nil {
		t.Fatal(err)
	}
	cal := c.Cal()
	loc := cal.Location()
	for _, y := range []int{2026, 2027} {
		if !cal.HasHolidays(y) {
			t.Errorf("the example has no holidays for %d", y)
		}
	}
	// Eleven legal holidays a year: every listed date is a weekday, and
	// 2026 also has its two bridge days (worked back on two Saturdays).
	count := map[int]int{}
	for _, h := range c.Calendar.Holidays {
		d, err := time.ParseInLocation("2006-01-02", h, loc)
		if err != nil {
			t.Fatal(err)
		}
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			t.Errorf("holiday %s is a %s: list the working day it is taken on", h, wd)
		}
		count[d.Year()]++
	}
	if count[2026] != 13 || count[2027] != 11 {
		t.Errorf("holidays per year %v, want 2026: 11 + 2 bridge days, 2027: 11", count)
	}
	if got := c.Calendar.SwappedWorkdays; !reflect.DeepEqual(got, []string{"2026-01-10", "2026-08-22"}) {
		t.Errorf("swapped workdays %v", got)
	}
	tests := []struct {
		name       string
		start      time.Time
		span       calendar.Span
		want       time.Time
		workingDay bool // of start
	}{
		{"New Year 2026: Thursday and Friday off", time.Date(2025, 12, 31, 10, 0, 0, 0, loc), calendar.Span{Days: 1}, time.Date(2026, 1, 5, 10, 0, 0, 0, loc), true},
		{"the swapped Saturday 10 January is worked", time.Date(2026, 1, 9, 10, 0, 0, 0, loc), calendar.Span{Days: 1}, time.Date(2026, 1, 10, 10, 0, 0, 0, loc), true},
		{"Tết 2026", time.Date(2026, 2, 13, 10, 0, 0, 0, loc), calendar.Span{Days: 1}, time.Date(2026, 2, 23, 10, 0, 0, 0, loc), true},
		{"Hùng Kings 2026 taken on Monday", time.Date(2026, 4, 24, 10, 0, 0, 0, loc), calendar.Span{Days: 1}, time.Date(2026, 4, 28, 10, 0, 0, 0, loc), true},
		{"National Day 2026 after the swapped Saturday", time.Date(2026, 8, 21, 10, 0, 0, 0, loc), calendar.Span{Days: 2}, time.Date(2026, 8, 24, 10, 0, 0, 0, loc), true},
		{"National Day 2026: Monday bridge, Tuesday, Wednesday", time.Date(2026, 8, 28, 10, 0, 0, 0, loc), calendar.Span{Days: 1}, time.Date(2026, 9, 3, 10, 0, 0, 0, loc), true},
		{"Tết 2027 (provisional)", time.Date(2027, 2, 4, 10, 0, 0, 0, loc), calendar.Span{Days: 1}, time.Date(2027, 2, 12, 10, 0, 0, 0, loc), true},
		{"Hùng Kings 2027 (provisional)", time.Date(2027, 4, 15, 10, 0, 0, 0, loc), calendar.Span{Days: 1}, time.Date(2027, 4, 19, 10, 0, 0, 0, loc), true},
		{"30 April 2027 and 1 May taken on Monday (provisional)", time.Date(2027, 4, 29, 10, 0, 0, 0, loc), calendar.Span{Days: 1}, time.Date(2027, 5, 4, 10, 0, 0, 0, loc), true},
		{"National Day 2027 (provisional)", time.Date(2027, 9, 1, 10, 0, 0, 0, loc), calendar.Span{Days: 1}, time.Date(2027, 9, 6, 10, 0, 0, 0, loc), true},
	}
	for _, tt := range tests {
		if got := cal.Due(tt.start, tt.span); !got.Equal(tt.want) {
			t.Errorf("%s: Due(%s, %s) = %s, want %s", tt.name, tt.start.Format("Mon 2006-01-02 15:04"), tt.span,
				got.Format("Mon 2006-01-02 15:04"), tt.want.Format("Mon 2006-01-02 15:04"))
		}
		if cal.IsWorkingDay(tt.start) != tt.workingDay {
			t.Errorf("%s: IsWorkingDay(%s) = %v", tt.name, tt.start, !tt.workingDay)
		}
	}
}
