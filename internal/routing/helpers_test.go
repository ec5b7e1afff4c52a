package routing

import (
	"encoding/json"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/router"
)

// The runner tests' fixtures, as in router's engine tests: a clock where
// every hour is working time, two procedures, and event makers.

type plainClock struct{}

func (plainClock) Due(start time.Time, s router.Span) time.Time {
	return start.Add(time.Duration(s.Days)*24*time.Hour + s.Work)
}
func (plainClock) Add(t time.Time, d time.Duration) time.Time { return t.Add(d) }

// CountFrom: no cut-off in these tests.
func (plainClock) CountFrom(t time.Time, _ time.Duration) time.Time { return t }
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

func testRoutes() *router.Routes {
	return &router.Routes{
		Clock: plainClock{},
		Procedures: map[string]*router.Procedure{
			landProc: {
				Code: landProc, Name: "Land change", Deadline: router.Span{Days: 10}, Receivers: []string{"HCC"},
				Steps: []router.Step{
					{ID: "verify", Name: "Verify", Agency: "VPDK", Deadline: router.Span{Days: 5}},
					{ID: "tax", Name: "Tax", Agency: "THUE", Deadline: router.Span{Days: 3}, After: []string{"verify"}},
					{ID: "certificate", Name: "Certificate", Agency: "VPDK", Deadline: router.Span{Days: 2}, After: []string{"tax"}},
				},
			},
			birthProc: {
				Code: birthProc, Name: "Birth group", Deadline: router.Span{Days: 5}, Receivers: []string{"HCC", "UBND"},
				Steps: []router.Step{
					{ID: "birth", Name: "Birth registration", Agency: "TUPHAP", Deadline: router.Span{Work: 8 * time.Hour}},
					{ID: "residence", Name: "Residence", Agency: "CONGAN", Deadline: router.Span{Days: 2}, After: []string{"birth"}},
					{ID: "insurance", Name: "Insurance card", Agency: "BHXH", Deadline: router.Span{Days: 2}, After: []string{"birth"}},
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
		"documents": []map[string]any{{"name": "don.pdf", "url": "https://x/don.pdf", "sha256": "ab"}},
	})
}

func completeEv(agency, code, step, id string) event.Event {
	return mkEvent(agency, event.StepCompleted, code, id, map[string]any{
		"step": step, "outputs": map[string]any{"by": agency, "n": step}, "documents": []map[string]any{{"name": step + ".pdf"}},
	})
}

func receiverEv(agency, typ, code, id string) event.Event {
	return mkEvent(agency, typ, code, id, map[string]any{"reason": "r", "note": "n", "returned_at": t0, "channel": "direct"})
}
