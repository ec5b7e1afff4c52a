package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/router"
)

var (
	procedures = []string{"birth-registration", "business-licence", "land-use-certificate"}
	agencies   = []string{"ward-1", "ward-2", "district-justice", "tax-office", "police", "land-office"}
	statuses   = []string{router.StatusReceived, router.StatusProcessing, router.StatusAwaitingSupplement,
		router.StatusRejected, router.StatusWithdrawn, router.StatusResultReady, router.StatusReturned,
		router.StatusRegistered, router.StatusRefused, router.StatusAwaitingPayment}
	stepStatuses = []string{router.StepPending, router.StepInProgress, router.StepCompleted, router.StepCancelled, router.StepRejected}
	hanoi        = time.FixedZone("ICT", 7*3600)
)

// base is the generated states' reference time; Now values in the tests
// are around it.
var base = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// gen makes plausible dossier states: random statuses, routes over a few
// agencies, deadlines around base (so some are late at base, some not),
// times in several zones and some zero, and personal data the store must
// drop.
type gen struct {
	r *rand.Rand
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))} }

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// around returns a time within ±days of base, to the nanosecond, in UTC or
// Hanoi time.
func (g *gen) around(days int) time.Time {
	d := time.Duration(g.r.Int64N(int64(2*days)*int64(24*time.Hour))) - time.Duration(days)*24*time.Hour
	t := base.Add(d)
	if g.chance(0.3) {
		t = t.In(hanoi)
	}
	return t
}

func (g *gen) code(i int) string { return fmt.Sprintf("HS-%06d", i) }

// state returns a random state of dossier code at events offset ev.
func (g *gen) state(code string, ev int64) *router.State {
	st := &router.State{
		Code:      code,
		Procedure: g.pick(procedures),
		Receiver:  g.pick(agencies[:3]),
		Status:    g.pick(statuses),
		Offset:    ev,
		Dossier:   json.RawMessage(`{"applicant":{"full_name":"Nguyễn Văn A","id_number":"001099012345"}}`),
	}
	// Received times repeat, so the list's code tie-break matters.
	st.ReceivedAt = base.Add(time.Duration(g.r.IntN(40)-20) * 12 * time.Hour)
	if g.chance(0.02) {
		st.ReceivedAt = time.Time{}
	}
	if !st.ReceivedAt.IsZero() {
		st.AcceptedAt = st.ReceivedAt.Add(time.Duration(g.r.IntN(1000)) * time.Millisecond)
	}
	st.DueAt = g.around(10)
	if g.chance(0.03) {
		st.DueAt = time.Time{}
	}
	switch st.Status {
	case router.StatusResultReady, router.StatusReturned:
		st.ResultAt = g.around(10)
	case router.StatusAwaitingSupplement:
		st.PausedAt = g.around(3)
		st.SupplementBy = g.pick(agencies)
		st.SupplementStep = "s1"
	}
	if router.Closed(st.Status) {
		st.ClosedAt = g.around(5)
	}
	st.OverdueSent = g.chance(0.15)
	// The workflow's fields (DESIGN.md section 4).
	st.Channel = g.pick([]string{"direct", "online", "postal", ""})
	if g.chance(0.2) {
		st.OriginalDueAt = g.around(8)
		st.Apologies = []router.Apology{{ID: "ap-1", By: g.pick(agencies), Step: "s1", Reason: "Phải đo đạc lại thực địa",
			OldDueAt: st.OriginalDueAt, NewDueAt: st.DueAt, At: g.around(9), LetterURL: "https://x.example/thu.pdf"}}
	}
	if st.Status == router.StatusAwaitingSupplement && g.chance(0.5) {
		st.SupplementDueAt = g.around(12)
	}
	if g.chance(0.15) {
		st.Obligation = &router.Obligation{Step: "s2", NoticeNumber: "TB-1", AmountVND: 12500000,
			TaxKinds: []string{"registration_fee"}, DueDate: "2026-04-01", SetAt: g.around(7)}
		if g.chance(0.5) {
			st.Obligation.PaidAt, st.Obligation.Reference = g.around(8), "KB-1"
		}
	}

	n := g.r.IntN(5) // 0..4 steps
	for i := 0; i < n; i++ {
		s := router.StepState{
			ID:       fmt.Sprintf("s%d", i+1),
			Name:     "Step " + strings.Repeat("x", i),
			Agency:   g.pick(agencies),
			Deadline: router.Span{Days: g.r.IntN(10), Work: time.Duration(g.r.IntN(8)) * time.Hour},
			Status:   g.pick(stepStatuses),
		}
		if i > 0 && g.chance(0.6) {
			s.After = []string{fmt.Sprintf("s%d", i)}
		}
		if s.Status != router.StepPending || g.chance(0.2) {
			s.AssignedAt = g.around(10)
			s.DueAt = g.around(10)
			if g.chance(0.05) {
				s.DueAt = time.Time{}
			}
		}
		if s.Status == router.StepCompleted {
			s.CompletedAt = g.around(10)
			s.OnTime = g.chance(0.6)
			s.Outputs = json.RawMessage(`{"certificate_no":"123/2026"}`)
			s.Documents = json.RawMessage(`[{"name":"scan.pdf"}]`)
		}
		s.OverdueSent = g.chance(0.1)
		if g.chance(0.1) {
			s.OriginalDueAt = g.around(9)
		}
		st.Steps = append(st.Steps, s)
	}
	for i, n := 0, g.r.IntN(11); i < n; i++ {
		e := router.Entry{ID: fmt.Sprintf("ev-%d", i), Type: "dossier.step_completed", Source: g.pick(agencies), Time: g.around(10)}
		if g.chance(0.5) {
			e.Step, e.Status, e.To = "s1", router.StepCompleted, g.pick(agencies)
		}
		if g.chance(0.2) {
			e.Note = "Thiếu trích đo địa chính"
		}
		st.Timeline = append(st.Timeline, e)
	}
	return st
}

// next returns a later version of prev at events offset ev: anything may
// change but the timeline, which only grows.
func (g *gen) next(prev *router.State, ev int64) *router.State {
	st := g.state(prev.Code, ev)
	st.Timeline = append(slices.Clone(prev.Timeline), st.Timeline[:min(2, len(st.Timeline))]...)
	return st
}

// prev returns an earlier version of cur at events offset ev: its timeline
// is a prefix of cur's.
func (g *gen) prev(cur *router.State, ev int64) *router.State {
	st := g.state(cur.Code, ev)
	st.Timeline = slices.Clone(cur.Timeline[:len(cur.Timeline)/2])
	return st
}

// states returns n random states with codes from first and events offsets
// 1..1000.
func (g *gen) states(first, n int) []*router.State {
	out := make([]*router.State, n)
	for i := range out {
		out[i] = g.state(g.code(first+i), int64(1+g.r.IntN(1000)))
	}
	return out
}

// records wraps states as records at state offsets from off.
func records(off int64, states ...*router.State) []store.Record {
	out := make([]store.Record, len(states))
	for i, st := range states {
		out[i] = store.Record{State: st, StateOffset: off + int64(i)}
	}
	return out
}

// normalize returns what the store should give back for st: no personal
// data, times in UTC, empty slices nil.
func normalize(st *router.State) *router.State {
	n := *st
	// The store keeps the applicant's name while the dossier is open, no
	// more of the submitted data.
	n.ApplicantName = st.Applicant()
	n.Dossier = nil
	utc := func(t *time.Time) {
		if !t.IsZero() {
			*t = t.UTC()
		}
	}
	for _, t := range []*time.Time{&n.ReceivedAt, &n.AcceptedAt, &n.DueAt, &n.ResultAt, &n.ClosedAt, &n.PausedAt,
		&n.OriginalDueAt, &n.SupplementDueAt} {
		utc(t)
	}
	// Kept for the open dossier's routing only, not in the store.
	n.Deadline, n.CutOff, n.SupplementDeadline, n.Payers = router.Span{}, 0, router.Span{}, nil
	n.SupplementRemindAt, n.SupplementWarned = time.Time{}, false
	n.FormSchema, n.Form, n.Supplied = "", nil, nil
	if st.Obligation != nil {
		o := *st.Obligation
		utc(&o.SetAt)
		utc(&o.PaidAt)
		n.Obligation = &o
	}
	n.Apologies = nil
	for _, a := range st.Apologies {
		for _, t := range []*time.Time{&a.OldDueAt, &a.NewDueAt, &a.At} {
			utc(t)
		}
		n.Apologies = append(n.Apologies, a)
	}
	n.Steps = nil
	for _, s := range st.Steps {
		s.Outputs, s.Documents = nil, nil
		if len(s.After) == 0 {
			s.After = nil
		} else {
			s.After = slices.Clone(s.After)
		}
		for _, t := range []*time.Time{&s.AssignedAt, &s.DueAt, &s.CompletedAt, &s.OriginalDueAt} {
			utc(t)
		}
		s.OutputSchema = ""
		n.Steps = append(n.Steps, s)
	}
	n.Timeline = nil
	for _, e := range st.Timeline {
		utc(&e.Time)
		n.Timeline = append(n.Timeline, e)
	}
	return &n
}
