package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/config"
)

// replaced returns s with old replaced by new once; old must be there.
func replaced(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q is not in the document", old)
	}
	return strings.Replace(s, old, new, 1)
}

// cut returns s without the part from the line starting at from up to the
// line starting at to.
func cut(t *testing.T, s, from, to string) string {
	t.Helper()
	i, j := strings.Index(s, from), strings.Index(s, to)
	if i < 0 || j < i {
		t.Fatalf("no %q before %q", from, to)
	}
	return s[:i] + s[j:]
}

func TestConfigCheckCalendar(t *testing.T) {
	hcm, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	t.Cleanup(func() { checkNow = time.Now })
	example := string(exampleWithoutSecrets(t))
	only2026 := cut(t, example, "    # 2027, PROVISIONAL", "  # Days worked although")
	none := replaced(t, cut(t, example, "  holidays:\n", "  # Days worked although"), "  # Days worked although", "  holidays: []\n  # Days worked although")
	june2026 := time.Date(2026, 6, 1, 9, 0, 0, 0, hcm)
	tests := []struct {
		name string
		doc  string
		now  time.Time
		code int
		want []string // in the output after "FILE: "
		not  []string // not in the output
	}{
		{name: "the example in December 2026: no warning", doc: example, now: time.Date(2026, 12, 4, 9, 0, 0, 0, hcm),
			want: []string{"ok"}, not: []string{"warning"}},
		{name: "the example in 2027 lacks 2028", doc: example, now: time.Date(2027, 6, 1, 9, 0, 0, 0, hcm),
			want: []string{"calendar.holidays: warning: no holidays for 2028 (next year)", "ok"}},
		{name: "2026 only, checked in 2026", doc: only2026, now: june2026,
			want: []string{"calendar.holidays: warning: no holidays for 2027 (next year)", "ok"}, not: []string{"2026 (the current year)"}},
		{name: "2026 only, checked in 2027", doc: only2026, now: time.Date(2027, 1, 4, 9, 0, 0, 0, hcm),
			want: []string{"calendar.holidays: warning: no holidays for 2027 (the current year)", "calendar.holidays: warning: no holidays for 2028 (next year)", "ok"}},
		{name: "no holidays at all", doc: none, now: june2026,
			want: []string{"calendar.holidays: warning: no holidays for 2026 (the current year)", "calendar.holidays: warning: no holidays for 2027 (next year)", "ok"}},
		{name: "a cut-off at lunch", now: june2026, doc: replaced(t, example, `# cut_off: "15:00"`, `cut_off: "12:30"`),
			code: 1, want: []string{"procedures[0].cut_off: 12:30 is outside office hours (08:00-12:00, 13:30-17:00)"}, not: []string{"warning", "ok"}},
		{name: "a cut-off after closing", now: june2026, doc: replaced(t, example, `# cut_off: "15:00"`, `cut_off: "17:30"`),
			code: 1, want: []string{"procedures[0].cut_off: 17:30 is outside office hours"}},
		{name: "a malformed cut-off", now: june2026, doc: replaced(t, example, `# cut_off: "15:00"`, `cut_off: "3pm"`),
			code: 1, want: []string{`procedures[0].cut_off: "3pm" is not a time of day like 15:00`}},
		{name: "a swapped Monday", now: june2026, doc: replaced(t, example, `- "2026-08-22"`, `- "2026-08-24"`),
			code: 1, want: []string{"calendar.swapped_workdays[1]: 2026-08-24 is a Monday, already a working day"}, not: []string{"warning", "ok"}},
		{name: "a swapped day also a holiday", now: june2026, doc: replaced(t, example, `- "2026-08-22"`, `- "2026-08-31"`),
			code: 1, want: []string{"calendar.swapped_workdays[1]: 2026-08-31 is also listed in holidays"}},
		{name: "the cut-off valid", now: june2026, doc: replaced(t, example, `# cut_off: "15:00"`, `cut_off: "15:00"`),
			want: []string{"ok"}, not: []string{"warning"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "lienthong.yaml")
			if err := os.WriteFile(f, []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			checkNow = func() time.Time { return tt.now }
			code, out, errs := runCLI("config", "check", f)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, f+": "+w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			out = strings.ReplaceAll(out, f, "FILE")
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
		})
	}
}

func TestServeLogsConfigWarnings(t *testing.T) {
	hcm, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	cfg, err := config.ParseWith(exampleWithoutSecrets(t), "example.yaml", os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		now   time.Time
		lines int
	}{{time.Date(2026, 12, 4, 9, 0, 0, 0, hcm), 0}, {time.Date(2028, 1, 3, 9, 0, 0, 0, hcm), 2}} {
		var buf bytes.Buffer
		logConfigWarnings(slog.New(slog.NewJSONHandler(&buf, nil)), cfg, tt.now)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if buf.Len() == 0 {
			lines = nil
		}
		if len(lines) != tt.lines {
			t.Fatalf("%s: %d log lines, want %d:\n%s", tt.now, len(lines), tt.lines, buf.String())
		}
		for _, l := range lines {
			var rec struct{ Level, Msg, Path string }
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Level != "WARN" || rec.Path != "calendar.holidays" || !strings.Contains(rec.Msg, "no holidays for 202") {
				t.Errorf("log line %s", l)
			}
		}
	}
}
