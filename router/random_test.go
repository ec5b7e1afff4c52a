package router

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/event"
)

// TestRandomInterleavings drives many dossiers with a seeded mix of valid,
// duplicate and invalid events and checks the invariants after every step.
func TestRandomInterleavings(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	routes := workflowRoutes()
	e := NewEngine(routes)
	const dossiers = 600
	states := map[string]*State{}
	sent := map[string][]event.Event{} // applied events per dossier, for duplicates
	codes := make([]string, dossiers)
	for i := range codes {
		codes[i] = fmt.Sprintf("HCC-20260303-%04d", i)
	}
	at := t0
	counts := map[string]int{}
	for iter := 0; iter < 8000; iter++ {
		at = at.Add(time.Duration(rng.IntN(90)) * time.Minute)
		code := codes[rng.IntN(dossiers)]
		st := states[code]
		ev, kind := randomEvent(rng, routes, st, code, sent[code])
		counts[kind]++
		before := ""
		if st != nil {
			before = string(stateJSON(t, st))
		}
		n, outs, rej := e.Apply(st, ev, at)
		switch {
		case kind == "duplicate":
			if n != st || len(outs) != 0 || rej != nil {
				t.Fatalf("iter %d: duplicate had effects", iter)
			}
		case rej != nil:
			counts["refused"]++
			if n != st || (st != nil && string(stateJSON(t, st)) != before) {
				t.Fatalf("iter %d: refused event changed state", iter)
			}
			if len(outs) != 1 || outs[0].Event.Type != event.MessageRejected {
				t.Fatalf("iter %d: refusal outputs %q", iter, summary(outs))
			}
		default:
			if kind == "valid" && rej != nil {
				t.Fatalf("iter %d: valid %s refused: %v", iter, ev.Type, rej)
			}
			sent[code] = append(sent[code], ev)
		}
		if rng.IntN(10) == 0 {
			n, _ = e.Tick(n, at)
		}
		if n != nil {
			checkInvariants(t, iter, st, n)
		}
		states[code] = n
	}
	closed := 0
	for _, st := range states {
		if st != nil && (Closed(st.Status) || st.Status == StatusResultReady) {
			closed++
		}
	}
	t.Logf("events %v; dossiers finished or closed: %d/%d", counts, closed, dossiers)
	seen := map[string]bool{}
	for _, st := range states {
		if st == nil {
			continue
		}
		seen[st.Status] = true
		for _, en := range st.Timeline {
			seen[en.Type] = true
			if en.Note != "" && en.Source == event.RouterSource {
				seen["closed for want of a supplement"] = true
			}
		}
	}
	for _, want := range []string{StatusRefused, event.Accepted, event.PaymentConfirmed, event.Apology, "closed for want of a supplement"} {
		if !seen[want] {
			t.Errorf("the mix never produced %s", want)
		}
	}
	if closed < dossiers/3 || counts["refused"] == 0 || counts["duplicate"] == 0 {
		t.Fatalf("the mix did not exercise enough paths: %v, closed %d", counts, closed)
	}
}

// workflowRoutes are testRoutes with the workflow's settings: a supplement
// deadline and a payment agency on the land procedure.
func workflowRoutes() *Routes {
	r := testRoutes()
	land := *r.Procedures[landProc]
	land.SupplementDeadline = Span{Days: 3}
	land.PaymentConfirmers = []string{"KBNN"}
	r.Procedures[landProc] = &land
	return r
}

// randomEvent picks an event for a dossier: mostly one the rules allow, some
// duplicates of earlier events, some that break a rule.
func randomEvent(rng *rand.Rand, routes *Routes, st *State, code string, prev []event.Event) (event.Event, string) {
	id := nextID()
	r := rng.IntN(100)
	switch {
	case r < 10 && len(prev) > 0:
		return prev[rng.IntN(len(prev))], "duplicate"
	case r < 22:
		agency := testAgencies[rng.IntN(len(testAgencies))]
		steps := []string{"verify", "tax", "certificate", "birth", "residence", "insurance", "nope"}
		types := []string{event.StepCompleted, event.SupplementRequested, event.Rejected}
		if rng.IntN(3) == 0 {
			return receiverEv(agency, []string{event.Supplemented, event.Withdrawn, event.ResultReturned}[rng.IntN(3)], code, id), "random"
		}
		return stepEv(agency, types[rng.IntN(3)], code, steps[rng.IntN(len(steps))], id), "random"
	}
	if st == nil {
		proc := landProc
		if rng.IntN(2) == 0 {
			proc = birthProc
		}
		ev := submitEv("HCC", code, proc, id)
		if rng.IntN(4) == 0 {
			ev.Data = []byte(strings.Replace(string(ev.Data), `"channel":"direct"`, `"channel":"online"`, 1))
		}
		return ev, "valid"
	}
	switch x := rng.IntN(30); {
	case x == 0:
		return mkEvent(st.Receiver, event.PaymentConfirmed, code, id, map[string]any{"notice_number": "TB-x", "paid_at": t0}), "random"
	case x == 1:
		return mkEvent(st.Receiver, event.Apology, code, id, map[string]any{"reason": "r", "new_due_at": st.DueAt.Add(time.Hour)}), "random"
	case x == 2:
		return mkEvent(st.Receiver, []string{event.Accepted, event.Refused}[rng.IntN(2)], code, id, map[string]any{"reason": "r"}), "random"
	}
	switch st.Status {
	case StatusRegistered:
		if rng.IntN(5) == 0 {
			return mkEvent(st.Receiver, event.Refused, code, id, map[string]any{"reason": "thiếu giấy tờ"}), "valid"
		}
		return mkEvent(st.Receiver, event.Accepted, code, id, map[string]any{}), "valid"
	case StatusAwaitingPayment:
		payer := st.Receiver
		if rng.IntN(2) == 0 {
			payer = "KBNN"
		}
		return mkEvent(payer, event.PaymentConfirmed, code, id, map[string]any{"notice_number": st.Obligation.NoticeNumber, "paid_at": t0}), "valid"
	case StatusAwaitingSupplement:
		if rng.IntN(8) == 0 {
			return receiverEv(st.Receiver, event.Withdrawn, code, id), "valid"
		}
		return receiverEv(st.Receiver, event.Supplemented, code, id), "valid"
	case StatusResultReady:
		return receiverEv(st.Receiver, event.ResultReturned, code, id), "valid"
	case StatusProcessing:
		var open []*StepState
		for i := range st.Steps {
			if st.Steps[i].Status == StepInProgress {
				open = append(open, &st.Steps[i])
			}
		}
		s := open[rng.IntN(len(open))]
		if s.OverdueSent && rng.IntN(3) == 0 {
			return mkEvent(s.Agency, event.Apology, code, id, map[string]any{"step": s.ID, "reason": "đo đạc lại", "new_due_at": s.DueAt.Add(48 * time.Hour)}), "valid"
		}
		if s.ID == "tax" && rng.IntN(2) == 0 {
			return mkEvent(s.Agency, event.StepCompleted, code, id, map[string]any{"step": s.ID, "outputs": map[string]any{},
				"obligation": map[string]any{"notice_number": "TB-" + id, "amount_vnd": 1000, "tax_kinds": []string{"registration_fee"}, "due_date": "2026-04-01"}}), "valid"
		}
		switch x := rng.IntN(40); {
		case x == 0:
			return stepEv(s.Agency, event.Rejected, code, s.ID, id), "valid"
		case x == 1:
			return receiverEv(st.Receiver, event.Withdrawn, code, id), "valid"
		case x < 6:
			return stepEv(s.Agency, event.SupplementRequested, code, s.ID, id), "valid"
		}
		return completeEv(s.Agency, code, s.ID, id), "valid"
	}
	// Closed: anything now is refused.
	return completeEv("VPDK", code, "verify", id), "random"
}

func checkInvariants(t *testing.T, iter int, old, n *State) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("iter %d, dossier %s: %s", iter, n.Code, fmt.Sprintf(format, args...))
	}
	if old != nil {
		if Closed(old.Status) && n.Status != old.Status {
			fail("closed dossier went from %s to %s", old.Status, n.Status)
		}
		for i := range old.Steps {
			if old.Steps[i].Status == StepCompleted && n.Steps[i].Status != StepCompleted {
				fail("completed step %s became %s", n.Steps[i].ID, n.Steps[i].Status)
			}
		}
	}
	for _, s := range n.Steps {
		if s.Status == StepPending || s.Status == StepCancelled && s.AssignedAt.IsZero() {
			continue
		}
		for _, a := range s.After {
			p := n.Step(a)
			if p.Status != StepCompleted || p.CompletedAt.After(s.AssignedAt) {
				fail("step %s assigned at %s before %s completed (%s at %s)", s.ID, s.AssignedAt, a, p.Status, p.CompletedAt)
			}
		}
	}
	terminal := 0
	var last time.Time
	for _, en := range n.Timeline {
		if en.Type == event.StatusChanged && Closed(en.Status) {
			terminal++
		}
		if en.Type == event.Overdue {
			continue // dated at the due time it marks
		}
		if en.Time.Before(last) {
			fail("timeline out of order at %s %s", en.Type, en.Time)
		}
		last = en.Time
	}
	if terminal > 1 {
		fail("%d terminal statuses", terminal)
	}
}
