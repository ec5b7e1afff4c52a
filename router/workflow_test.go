package router

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/problem"
)

// checkRouterEvents validates every event the router made against the
// newest schema of its type: what department systems are promised.
func checkRouterEvents(t *testing.T, outs []Output) {
	t.Helper()
	for _, o := range outs {
		if o.Forward {
			continue
		}
		v, _ := reg.Latest(o.Event.Type)
		var data any
		_ = json.Unmarshal(o.Event.Data, &data)
		if errs := reg.ValidateData(o.Event.Type, v, data); errs != nil {
			t.Fatalf("%s to %s does not match its v%d schema: %v\n%s", o.Event.Type, o.To, v, errs, o.Event.Data)
		}
	}
}

func onlineEv(code, proc, id string) event.Event {
	ev := submitEv("HCC", code, proc, id)
	ev.Data = []byte(strings.Replace(string(ev.Data), `"channel":"direct"`, `"channel":"online"`, 1))
	return ev
}

// apply applies ev at `at`, expecting the outputs want (summary form), or
// the rejection reason refuse.
func apply(t *testing.T, e *Engine, st *State, ev event.Event, at time.Time, want []string, refuse problem.Type) *State {
	t.Helper()
	n, outs, rej := e.Apply(st, ev, at)
	if refuse != "" {
		if rej == nil || rej.Reason != refuse || n != st {
			t.Fatalf("%s: rejection %v, want %s with the state unchanged", ev.Type, rej, refuse)
		}
		return st
	}
	if rej != nil {
		t.Fatalf("%s refused: %v", ev.Type, rej)
	}
	if got := summary(outs); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: outputs\n got %q\nwant %q", ev.Type, got, want)
	}
	checkRouterEvents(t, outs)
	return n
}

func TestReception(t *testing.T) {
	e := NewEngine(workflowRoutes())
	code := "HCC-20260303-0201"
	st := apply(t, e, nil, onlineEv(code, landProc, "s"), t0, []string{"dossier.status.changed>HCC=registered"}, "")
	if st.Status != StatusRegistered || PortalStatus(st.Status) != 1 || !st.DueAt.IsZero() || st.Steps[0].Status != StepPending {
		t.Fatalf("registered dossier: %+v", st)
	}
	// Nothing is late while registered, whatever the time.
	if n, outs := e.Tick(st, t0.AddDate(0, 1, 0)); n != st || outs != nil {
		t.Fatal("a registered dossier raised overdue")
	}
	apply(t, e, st, mkEvent("VPDK", event.Accepted, code, "a-x", map[string]any{}), t0, nil, problem.NotReceiver)
	at := t0.Add(3 * time.Hour)
	acc := apply(t, e, st, mkEvent("HCC", event.Accepted, code, "a", map[string]any{}), at,
		[]string{"dossier.status.changed>HCC=received", "dossier.status.changed>HCC=processing", "dossier.assigned>VPDK:verify"}, "")
	if want := at.Add(10 * 24 * time.Hour); !acc.DueAt.Equal(want) {
		t.Fatalf("due %s, want %s: the clock counts from the acceptance", acc.DueAt, want)
	}
	apply(t, e, acc, mkEvent("HCC", event.Refused, code, "r", map[string]any{"reason": "x"}), at, nil, problem.ReceptionOver)
	apply(t, e, acc, mkEvent("HCC", event.Accepted, code, "a2", map[string]any{}), at, nil, problem.ReceptionOver)

	// Refused at reception: closed, with the reason on the slip.
	code2 := "HCC-20260303-0202"
	st2 := apply(t, e, nil, onlineEv(code2, landProc, "s"), t0, []string{"dossier.status.changed>HCC=registered"}, "")
	ref := apply(t, e, st2, mkEvent("HCC", event.Refused, code2, "r", map[string]any{"reason": "Hồ sơ không thuộc thẩm quyền",
		"reasons": []string{"Thửa đất ở tỉnh khác"}}), at, []string{"dossier.status.changed>HCC=refused"}, "")
	if !Closed(ref.Status) || PortalStatus(ref.Status) != 3 || ref.Dossier != nil ||
		ref.Timeline[len(ref.Timeline)-2].Note != "Hồ sơ không thuộc thẩm quyền; Thửa đất ở tỉnh khác" {
		t.Fatalf("refused dossier: status %s, notes %+v", ref.Status, ref.Timeline)
	}
	// A dossier received at the desk had no reception to decide.
	code3 := "HCC-20260303-0203"
	st3 := apply(t, e, nil, submitEv("HCC", code3, landProc, "s"), t0,
		[]string{"dossier.status.changed>HCC=received", "dossier.status.changed>HCC=processing", "dossier.assigned>VPDK:verify"}, "")
	apply(t, e, st3, mkEvent("HCC", event.Refused, code3, "r", map[string]any{"reason": "x"}), at, nil, problem.NotRegistered)
}

func obligationEv(code, id, notice string) event.Event {
	return mkEvent("THUE", event.StepCompleted, code, id, map[string]any{"step": "tax", "outputs": map[string]any{"n": 1},
		"obligation": map[string]any{"notice_number": notice, "amount_vnd": 12500000, "tax_kinds": []string{"registration_fee", "personal_income_tax"}, "due_date": "2026-03-20"}})
}

func TestFinancialObligation(t *testing.T) {
	e := NewEngine(workflowRoutes())
	code := "HCC-20260303-0211"
	st := apply(t, e, nil, submitEv("HCC", code, landProc, "s"), t0,
		[]string{"dossier.status.changed>HCC=received", "dossier.status.changed>HCC=processing", "dossier.assigned>VPDK:verify"}, "")
	st = apply(t, e, st, completeEv("VPDK", code, "verify", "c1"), t0.Add(time.Hour), []string{"dossier.assigned>THUE:tax"}, "")
	apply(t, e, st, mkEvent("HCC", event.PaymentConfirmed, code, "p0", map[string]any{"notice_number": "TB-1", "paid_at": t0}), t0, nil, problem.NoObligation)

	setAt := t0.Add(2 * time.Hour)
	// The receiver hears of it at once, with the notice (checked against the
	// schema by apply).
	n, outs, _ := e.Apply(st, obligationEv(code, "c2", "TB-1"), setAt)
	if len(outs) != 1 || !strings.Contains(string(outs[0].Event.Data), `"obligation":{"notice_number":"TB-1","amount_vnd":12500000`) {
		t.Fatalf("the receiver is not told the obligation: %q", summary(outs))
	}
	_ = n
	st = apply(t, e, st, obligationEv(code, "c2", "TB-1"), setAt, []string{"dossier.status.changed>HCC:tax=awaiting_payment"}, "")
	if st.Status != StatusAwaitingPayment || PortalStatus(st.Status) != 6 || st.Step("certificate").Status != StepPending || !st.Paused() {
		t.Fatalf("after the obligation: %s, certificate %s", st.Status, st.Step("certificate").Status)
	}
	due := st.DueAt
	// Nothing is late while the citizen pays: the clock is stopped.
	if n, outs := e.Tick(st, st.DueAt.Add(time.Hour)); n != st || outs != nil {
		t.Fatal("overdue raised while awaiting payment")
	}
	apply(t, e, st, mkEvent("VPDK", event.PaymentConfirmed, code, "p1", map[string]any{"notice_number": "TB-1", "paid_at": t0}), setAt, nil, problem.NotPaymentAgency)
	apply(t, e, st, mkEvent("HCC", event.PaymentConfirmed, code, "p2", map[string]any{"notice_number": "TB-9", "paid_at": t0}), setAt, nil, problem.InvalidData)
	apply(t, e, st, completeEv("VPDK", code, "certificate", "c3"), setAt, nil, problem.StepNotOpen)

	paidAt := setAt.Add(24 * time.Hour)
	st = apply(t, e, st, mkEvent("KBNN", event.PaymentConfirmed, code, "p3", map[string]any{"notice_number": "TB-1", "paid_at": paidAt, "reference": "KB-1"}), paidAt,
		[]string{"dossier.payment.confirmed>THUE", "dossier.payment.confirmed>HCC", "dossier.status.changed>HCC:tax=processing", "dossier.assigned>VPDK:certificate"}, "")
	if !st.DueAt.Equal(due.Add(24*time.Hour)) || st.Obligation.PaidAt.IsZero() || st.Obligation.Reference != "KB-1" {
		t.Fatalf("after payment: due %s (was %s), obligation %+v", st.DueAt, due, st.Obligation)
	}
}

func TestSupplementDeadline(t *testing.T) {
	e := NewEngine(workflowRoutes())
	code := "HCC-20260303-0221"
	st := apply(t, e, nil, submitEv("HCC", code, landProc, "s"), t0,
		[]string{"dossier.status.changed>HCC=received", "dossier.status.changed>HCC=processing", "dossier.assigned>VPDK:verify"}, "")
	reqAt := t0.Add(time.Hour)
	st = apply(t, e, st, stepEv("VPDK", event.SupplementRequested, code, "verify", "q"), reqAt,
		[]string{"dossier.supplement.requested>HCC:verify", "dossier.status.changed>HCC:verify=awaiting_supplement"}, "")
	if want := reqAt.Add(3 * 24 * time.Hour); !st.SupplementDueAt.Equal(want) || !st.SupplementRemindAt.Equal(reqAt.Add(2*24*time.Hour)) {
		t.Fatalf("supplement due %s, remind %s", st.SupplementDueAt, st.SupplementRemindAt)
	}
	if n, outs := e.Tick(st, reqAt.Add(24*time.Hour)); n != st || outs != nil {
		t.Fatal("reminded too early")
	}
	r1, outs := e.Tick(st, st.SupplementRemindAt.Add(time.Minute))
	if got := summary(outs); !reflect.DeepEqual(got, []string{"dossier.supplement.reminder>HCC:verify"}) || !r1.SupplementWarned {
		t.Fatalf("reminder: %q", got)
	}
	checkRouterEvents(t, outs)
	if n, outs := e.Tick(r1, st.SupplementRemindAt.Add(2*time.Minute)); n != r1 || outs != nil {
		t.Fatal("reminded twice")
	}
	late := st.SupplementDueAt.Add(time.Minute)
	apply(t, e, r1, mkEvent("HCC", event.Supplemented, code, "sup", map[string]any{"documents": []any{}}), late, nil, problem.SupplementLate)
	closed, outs := e.Tick(r1, late)
	if got := summary(outs); !reflect.DeepEqual(got, []string{"dossier.status.changed>HCC:verify=rejected", "dossier.status.changed>VPDK:verify=rejected"}) {
		t.Fatalf("closure outputs %q", got)
	}
	checkRouterEvents(t, outs)
	if closed.Status != StatusRejected || !closed.ClosedAt.Equal(st.SupplementDueAt) || closed.Step("verify").Status != StepCancelled ||
		!strings.Contains(closed.Timeline[len(closed.Timeline)-2].Note, "no supplement was received") {
		t.Fatalf("closed: %s at %s, verify %s", closed.Status, closed.ClosedAt, closed.Step("verify").Status)
	}
	// Replays are byte-identical.
	again, outs2 := e.Tick(r1, late.Add(time.Hour))
	if string(EncodeState(again)) != string(EncodeState(closed)) || len(outs2) != len(outs) {
		t.Fatal("a later tick closed it differently")
	}
}

func TestApology(t *testing.T) {
	e := NewEngine(workflowRoutes())
	code := "HCC-20260303-0231"
	st := apply(t, e, nil, submitEv("HCC", code, landProc, "s"), t0,
		[]string{"dossier.status.changed>HCC=received", "dossier.status.changed>HCC=processing", "dossier.assigned>VPDK:verify"}, "")
	verifyDue := st.Step("verify").DueAt
	early := verifyDue.Add(-time.Hour)
	sorry := func(by, step, id string, newDue time.Time) event.Event {
		d := map[string]any{"reason": "Phải đo đạc lại thực địa", "new_due_at": newDue}
		if step != "" {
			d["step"] = step
		}
		return mkEvent(by, event.Apology, code, id, d)
	}
	apply(t, e, st, sorry("VPDK", "verify", "a0", verifyDue.Add(48*time.Hour)), early, nil, problem.NotLate)
	lateAt := verifyDue.Add(time.Hour)
	apply(t, e, st, sorry("THUE", "verify", "a1", verifyDue.Add(48*time.Hour)), lateAt, nil, problem.StepNotHeld)
	apply(t, e, st, sorry("THUE", "", "a2", verifyDue.Add(48*time.Hour)), lateAt, nil, problem.NotLate)
	apply(t, e, st, sorry("VPDK", "verify", "a3", verifyDue.Add(-time.Minute)), lateAt, nil, problem.AppointmentEarlier)

	st, first := e.Tick(st, lateAt) // the step's overdue, before the apology
	if len(first) == 0 {
		t.Fatal("no overdue for the late step")
	}
	newDue := st.DueAt.Add(72 * time.Hour) // later than the dossier's too
	st = apply(t, e, st, sorry("VPDK", "verify", "a4", newDue), lateAt, []string{"dossier.apology>HCC:verify"}, "")
	// Late again at the new appointment: a new overdue, with its own id.
	if _, again := e.Tick(st, newDue.Add(time.Hour)); len(again) == 0 || again[0].Event.ID == first[0].Event.ID {
		t.Fatalf("overdue after the new appointment: %q (first %s)", summary(again), first[0].Event.ID)
	}
	v := st.Step("verify")
	if !v.DueAt.Equal(newDue) || !v.OriginalDueAt.Equal(verifyDue) || !st.DueAt.Equal(newDue) || st.OriginalDueAt.IsZero() ||
		len(st.Apologies) != 1 || st.Apologies[0].OldDueAt != verifyDue || st.Timeline[len(st.Timeline)-1].Note != "Phải đo đạc lại thực địa" {
		t.Fatalf("after the apology: step %+v, dossier due %s (first %s), apologies %+v", v, st.DueAt, st.OriginalDueAt, st.Apologies)
	}
	// Done by the new appointment, the step still counts as late.
	st = apply(t, e, st, completeEv("VPDK", code, "verify", "c1"), lateAt.Add(time.Hour), []string{"dossier.assigned>THUE:tax"}, "")
	if st.Step("verify").OnTime {
		t.Fatal("a step finished after its first due time counts as on time")
	}
}
