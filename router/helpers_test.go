package router

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lienthong/lienthong/event"
)

// plainClock counts every hour as working time: a day is 24 h. Enough to
// test the engine's arithmetic; the real calendar is tested in its package.
type plainClock struct{}

func (plainClock) Due(start time.Time, s Span) time.Time {
	return start.Add(time.Duration(s.Days)*24*time.Hour + s.Work)
}
func (plainClock) Add(t time.Time, d time.Duration) time.Time { return t.Add(d) }

// CountFrom: with a cut-off, a dossier after it counts from the next midnight.
func (plainClock) CountFrom(t time.Time, cutOff time.Duration) time.Time {
	if cutOff > 0 {
		day := t.Truncate(24 * time.Hour)
		if t.Sub(day) > cutOff {
			return day.Add(24 * time.Hour)
		}
	}
	return t
}
func (plainClock) WorkBetween(a, b time.Time) time.Duration {
	if b.Before(a) {
		return 0
	}
	return b.Sub(a)
}

const (
	landProc  = "1.004227"
	birthProc = "2.000001"
)

func testRoutes() *Routes {
	return &Routes{
		Clock: plainClock{},
		Procedures: map[string]*Procedure{
			landProc: {
				Code: landProc, Name: "Land change", Deadline: Span{Days: 10}, Receivers: []string{"HCC"},
				Steps: []Step{
					{ID: "verify", Name: "Verify", Agency: "VPDK", Deadline: Span{Days: 5}},
					{ID: "tax", Name: "Tax", Agency: "THUE", Deadline: Span{Days: 3}, After: []string{"verify"}},
					{ID: "certificate", Name: "Certificate", Agency: "VPDK", Deadline: Span{Days: 2}, After: []string{"tax"}},
				},
			},
			birthProc: {
				Code: birthProc, Name: "Birth group", Deadline: Span{Days: 5}, Receivers: []string{"HCC", "UBND"},
				Steps: []Step{
					{ID: "birth", Name: "Birth registration", Agency: "TUPHAP", Deadline: Span{Work: 8 * time.Hour}},
					{ID: "residence", Name: "Residence", Agency: "CONGAN", Deadline: Span{Days: 2}, After: []string{"birth"}},
					{ID: "insurance", Name: "Insurance card", Agency: "BHXH", Deadline: Span{Days: 2}, After: []string{"birth"}},
				},
			},
		},
	}
}

var testAgencies = []string{"HCC", "UBND", "VPDK", "THUE", "TUPHAP", "CONGAN", "BHXH", "OTHER"}

var t0 = time.Date(2026, 3, 3, 1, 15, 0, 0, time.UTC)

func mkEvent(agency, typ, code, id string, data any) event.Event {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	return event.Event{SpecVersion: "1.0", ID: id, Source: event.AgencySource(agency), Type: typ,
		Subject: code, Time: t0.Format(time.RFC3339), DataContentType: "application/json", Data: raw}
}

func submitEv(receiver, code, proc, id string) event.Event {
	return mkEvent(receiver, event.Submitted, code, id, map[string]any{
		"code": code, "procedure": proc, "channel": "direct", "received_at": t0,
		"applicant": map[string]any{"kind": "citizen", "full_name": "Nguyen Van A", "id_number": "001234567890"},
		"documents": []map[string]any{{"name": "don.pdf", "url": "https://x/don.pdf", "sha256": strings.Repeat("ab", 32)}},
	})
}

func completeEv(agency, code, step, id string) event.Event {
	return mkEvent(agency, event.StepCompleted, code, id, map[string]any{
		"step": step, "outputs": map[string]any{"by": agency, "n": step}, "documents": []map[string]any{{"name": step + ".pdf", "url": "https://x/" + step + ".pdf", "sha256": strings.Repeat("cd", 32)}},
	})
}

func stepEv(agency, typ, code, step, id string) event.Event {
	return mkEvent(agency, typ, code, id, map[string]any{"step": step, "reason": "r", "missing": []string{"x"}})
}

func receiverEv(agency, typ, code, id string) event.Event {
	return mkEvent(agency, typ, code, id, map[string]any{"reason": "r", "note": "n", "returned_at": t0, "channel": "direct"})
}

var idSeq int

func nextID() string { idSeq++; return fmt.Sprintf("ev-%d", idSeq) }
