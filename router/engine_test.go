package router

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/problem"
)

// summary renders outputs as "type>to:step" for compact assertions.
func summary(outs []Output) []string {
	var s []string
	for _, o := range outs {
		var d struct {
			Step   any    `json:"step"`
			Status string `json:"status"`
		}
		_ = json.Unmarshal(o.Event.Data, &d)
		step := ""
		switch v := d.Step.(type) {
		case string:
			step = v
		case map[string]any:
			step, _ = v["id"].(string)
		}
		line := o.Event.Type + ">" + o.To
		if step != "" {
			line += ":" + step
		}
		if o.Event.Type == event.StatusChanged {
			line += "=" + d.Status
		}
		s = append(s, line)
	}
	return s
}

func mustApply(t *testing.T, e *Engine, st *State, ev event.Event, at time.Time) (*State, []Output) {
	t.Helper()
	n, outs, rej := e.Apply(st, ev, at)
	if rej != nil {
		t.Fatalf("apply %s from %s: refused: %v", ev.Type, ev.Source, rej)
	}
	return n, outs
}

func stateJSON(t *testing.T, st *State) []byte {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoutingRules(t *testing.T) {
	const code = "HCC-20260303-0001"
	sub := submitEv("HCC", code, landProc, "s1")
	cases := []struct {
		name   string
		setup  []event.Event
		bad    event.Event
		reason problem.Type
	}{
		{"unknown dossier", nil, completeEv("VPDK", code, "verify", "x"), problem.UnknownDossier},
		{"closed dossier", []event.Event{sub, receiverEv("HCC", event.Withdrawn, code, "w")}, completeEv("VPDK", code, "verify", "x"), problem.DossierClosed},
		{"dossier code submitted twice", []event.Event{sub}, submitEv("HCC", code, landProc, "s2"), problem.DossierExists},
		{"unknown step", []event.Event{sub}, completeEv("VPDK", code, "nope", "x"), problem.UnknownStep},
		{"step not held", []event.Event{sub}, completeEv("THUE", code, "verify", "x"), problem.StepNotHeld},
		{"step pending", []event.Event{sub}, completeEv("VPDK", code, "certificate", "x"), problem.StepNotOpen},
		{"step already completed", []event.Event{sub, completeEv("VPDK", code, "verify", "c1")}, completeEv("VPDK", code, "verify", "c2"), problem.StepNotOpen},
		{"supplemented by non-receiver", []event.Event{sub, stepEv("VPDK", event.SupplementRequested, code, "verify", "q")}, receiverEv("VPDK", event.Supplemented, code, "x"), problem.NotReceiver},
		{"withdrawn by non-receiver", []event.Event{sub}, receiverEv("OTHER", event.Withdrawn, code, "x"), problem.NotReceiver},
		{"returned by non-receiver", []event.Event{sub}, receiverEv("VPDK", event.ResultReturned, code, "x"), problem.NotReceiver},
		{"supplemented without request", []event.Event{sub}, receiverEv("HCC", event.Supplemented, code, "x"), problem.NotAwaiting},
		{"returned before result ready", []event.Event{sub}, receiverEv("HCC", event.ResultReturned, code, "x"), problem.ResultNotReady},
		{"step completed while paused", []event.Event{sub, stepEv("VPDK", event.SupplementRequested, code, "verify", "q")}, completeEv("VPDK", code, "verify", "x"), problem.DossierPaused},
		{"rejection of a pending step", []event.Event{sub}, stepEv("VPDK", event.Rejected, code, "certificate", "x"), problem.StepNotOpen},
		{"procedure not receivable", nil, submitEv("VPDK", code, landProc, "x"), problem.ForbiddenProcedure},
		{"unknown procedure", nil, submitEv("HCC", code, "9.999", "x"), problem.UnknownProcedure},
		{"router-only type", []event.Event{sub}, mkEvent("VPDK", event.Assigned, code, "x", map[string]any{}), problem.RouterOnlyType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEngine(testRoutes())
			var st *State
			at := t0
			for _, ev := range tc.setup {
				at = at.Add(time.Hour)
				st, _ = mustApply(t, e, st, ev, at)
			}
			var before []byte
			if st != nil {
				before = stateJSON(t, st)
			}
			n, outs, rej := e.Apply(st, tc.bad, at.Add(time.Hour))
			if rej == nil || rej.Reason != tc.reason {
				t.Fatalf("rejection = %v, want %s", rej, tc.reason)
			}
			if n != st {
				t.Fatal("a refused event returned a new state")
			}
			if st != nil && !bytes.Equal(before, stateJSON(t, st)) {
				t.Fatal("a refused event changed the state")
			}
			sender, _ := event.AgencyOf(tc.bad.Source)
			if len(outs) != 1 || outs[0].To != sender || outs[0].Event.Type != event.MessageRejected {
				t.Fatalf("outputs = %v, want one message.rejected to %s", summary(outs), sender)
			}
			var d map[string]any
			_ = json.Unmarshal(outs[0].Event.Data, &d)
			if d["rejected_id"] != tc.bad.ID || d["reason"] != tc.reason.URN() {
				t.Fatalf("message.rejected data = %v", d)
			}
		})
	}
}

// step runs one event of a scenario and checks its outputs and the status.
type scenarioStep struct {
	ev     event.Event
	want   []string
	status string
}

func runScenario(t *testing.T, e *Engine, steps []scenarioStep) (*State, [][]Output) {
	t.Helper()
	var st *State
	var all [][]Output
	at := t0
	for i, s := range steps {
		at = at.Add(time.Hour)
		var outs []Output
		st, outs = mustApply(t, e, st, s.ev, at)
		if got := summary(outs); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d (%s): outputs\n got %q\nwant %q", i, s.ev.Type, got, s.want)
		}
		if st.Status != s.status {
			t.Fatalf("step %d (%s): status %s, want %s", i, s.ev.Type, st.Status, s.status)
		}
		all = append(all, outs)
	}
	return st, all
}

func TestLandHappyPath(t *testing.T) {
	const code = "HCC-20260303-0002"
	e := NewEngine(testRoutes())
	st, outs := runScenario(t, e, []scenarioStep{
		{submitEv("HCC", code, landProc, "s"), []string{
			"dossier.status.changed>HCC=received", "dossier.status.changed>HCC=processing", "dossier.assigned>VPDK:verify"}, StatusProcessing},
		{completeEv("VPDK", code, "verify", "c1"), []string{"dossier.assigned>THUE:tax"}, StatusProcessing},
		{completeEv("THUE", code, "tax", "c2"), []string{"dossier.assigned>VPDK:certificate"}, StatusProcessing},
		{completeEv("VPDK", code, "certificate", "c3"), []string{
			"dossier.status.changed>HCC:certificate=result_ready", "dossier.completed>HCC"}, StatusResultReady},
		{receiverEv("HCC", event.ResultReturned, code, "r"), []string{"dossier.status.changed>HCC=returned"}, StatusReturned},
	})
	// The certificate step sees the outputs of verify and tax.
	var assigned struct {
		Step    struct{ ID string }        `json:"step"`
		Dossier map[string]any             `json:"dossier"`
		Outputs map[string]json.RawMessage `json:"outputs"`
	}
	if err := json.Unmarshal(outs[2][0].Event.Data, &assigned); err != nil {
		t.Fatal(err)
	}
	if assigned.Step.ID != "certificate" || len(assigned.Outputs) != 2 || assigned.Dossier["code"] != code {
		t.Fatalf("assigned data = %+v", assigned)
	}
	var completed struct {
		Outputs   map[string]json.RawMessage `json:"outputs"`
		Documents map[string]json.RawMessage `json:"documents"`
	}
	if err := json.Unmarshal(outs[3][1].Event.Data, &completed); err != nil {
		t.Fatal(err)
	}
	if len(completed.Outputs) != 3 || len(completed.Documents) != 3 {
		t.Fatalf("completed data = %s", outs[3][1].Event.Data)
	}
	for _, s := range st.Steps {
		if s.Status != StepCompleted || !s.OnTime {
			t.Fatalf("step %s: %s on time %v", s.ID, s.Status, s.OnTime)
		}
	}
	if st.Dossier != nil {
		t.Fatal("closed dossier still holds the submitted (personal) data")
	}
	// Timeline: 5 agency events and 8 router events, in order.
	if len(st.Timeline) != 13 || st.Timeline[0].Type != event.Submitted || st.Timeline[12].Status != StatusReturned {
		t.Fatalf("timeline = %+v", st.Timeline)
	}
}

func TestBirthGroupParallel(t *testing.T) {
	const code = "UBND-20260303-0003"
	e := NewEngine(testRoutes())
	st, outs := runScenario(t, e, []scenarioStep{
		{submitEv("UBND", code, birthProc, "s"), []string{
			"dossier.status.changed>UBND=received", "dossier.status.changed>UBND=processing", "dossier.assigned>TUPHAP:birth"}, StatusProcessing},
		// residence and insurance start together.
		{completeEv("TUPHAP", code, "birth", "c1"), []string{"dossier.assigned>CONGAN:residence", "dossier.assigned>BHXH:insurance"}, StatusProcessing},
		{completeEv("BHXH", code, "insurance", "c2"), nil, StatusProcessing},
		{completeEv("CONGAN", code, "residence", "c3"), []string{
			"dossier.status.changed>UBND:residence=result_ready", "dossier.completed>UBND"}, StatusResultReady},
	})
	if a, b := outs[1][0].Event.Time, outs[1][1].Event.Time; a != b {
		t.Fatalf("parallel steps assigned at %s and %s", a, b)
	}
	if r, i := st.Step("residence"), st.Step("insurance"); !r.AssignedAt.Equal(i.AssignedAt) {
		t.Fatal("parallel steps not started together")
	}
}

func TestRejectionCancelsOpenSteps(t *testing.T) {
	const code = "HCC-20260303-0004"
	e := NewEngine(testRoutes())
	st, _ := runScenario(t, e, []scenarioStep{
		{submitEv("HCC", code, birthProc, "s"), []string{
			"dossier.status.changed>HCC=received", "dossier.status.changed>HCC=processing", "dossier.assigned>TUPHAP:birth"}, StatusProcessing},
		{completeEv("TUPHAP", code, "birth", "c1"), []string{"dossier.assigned>CONGAN:residence", "dossier.assigned>BHXH:insurance"}, StatusProcessing},
		// The rejection goes, unchanged, to the receiver and to BHXH, which
		// holds the other open step; not back to CONGAN.
		{stepEv("CONGAN", event.Rejected, code, "residence", "rej"), []string{
			"dossier.rejected>HCC:residence", "dossier.rejected>BHXH:residence", "dossier.status.changed>HCC:residence=rejected"}, StatusRejected},
	})
	// The step whose agency refused shows it; the other open one is cancelled.
	for id, want := range map[string]string{"birth": StepCompleted, "residence": StepRejected, "insurance": StepCancelled} {
		if got := st.Step(id).Status; got != want {
			t.Errorf("step %s = %s, want %s", id, got, want)
		}
	}
}

func TestWithdrawal(t *testing.T) {
	const code = "HCC-20260303-0005"
	e := NewEngine(testRoutes())
	st, outs := runScenario(t, e, []scenarioStep{
		{submitEv("HCC", code, landProc, "s"), []string{
			"dossier.status.changed>HCC=received", "dossier.status.changed>HCC=processing", "dossier.assigned>VPDK:verify"}, StatusProcessing},
		{receiverEv("HCC", event.Withdrawn, code, "w"), []string{"dossier.withdrawn>VPDK", "dossier.status.changed>HCC=withdrawn"}, StatusWithdrawn},
	})
	if !outs[1][0].Forward || outs[1][0].Event.ID != "w" {
		t.Fatal("withdrawal not forwarded unchanged")
	}
	for _, s := range st.Steps {
		if s.Status != StepCancelled {
			t.Fatalf("step %s = %s after withdrawal", s.ID, s.Status)
		}
	}
}

func TestSupplementPausesClock(t *testing.T) {
	const code = "HCC-20260303-0006"
	e := NewEngine(testRoutes())
	st, _ := mustApply(t, e, nil, submitEv("HCC", code, landProc, "s"), t0)
	if want := t0.Add(5 * 24 * time.Hour); !st.Step("verify").DueAt.Equal(want) {
		t.Fatalf("verify due %s, want %s", st.Step("verify").DueAt, want)
	}
	st, outs := mustApply(t, e, st, stepEv("VPDK", event.SupplementRequested, code, "verify", "q"), t0.Add(24*time.Hour))
	if got := summary(outs); !reflect.DeepEqual(got, []string{"dossier.supplement.requested>HCC:verify", "dossier.status.changed>HCC:verify=awaiting_supplement"}) {
		t.Fatalf("outputs %q", got)
	}
	// No overdue while paused, however late.
	if n, outs := e.Tick(st, t0.Add(100*24*time.Hour)); n != st || outs != nil {
		t.Fatalf("tick while paused raised %q", summary(outs))
	}
	st, outs = mustApply(t, e, st, receiverEv("HCC", event.Supplemented, code, "sup"), t0.Add(3*24*time.Hour))
	if got := summary(outs); !reflect.DeepEqual(got, []string{"dossier.supplemented>VPDK", "dossier.status.changed>HCC:verify=processing"}) {
		t.Fatalf("outputs %q", got)
	}
	// Two days paused: every open due time moves two days.
	if want := t0.Add(7 * 24 * time.Hour); !st.Step("verify").DueAt.Equal(want) {
		t.Fatalf("verify due %s after resume, want %s", st.Step("verify").DueAt, want)
	}
	if want := t0.Add(12 * 24 * time.Hour); !st.DueAt.Equal(want) {
		t.Fatalf("dossier due %s after resume, want %s", st.DueAt, want)
	}
	if !st.PausedAt.IsZero() {
		t.Fatal("still paused")
	}
}

func TestOverdueOnce(t *testing.T) {
	const code = "HCC-20260303-0007"
	e := NewEngine(testRoutes())
	st, _ := mustApply(t, e, nil, submitEv("HCC", code, landProc, "s"), t0)
	day := 24 * time.Hour
	if n, outs := e.Tick(st, t0.Add(4*day)); n != st || len(outs) != 0 {
		t.Fatal("overdue before due time")
	}
	st, outs := e.Tick(st, t0.Add(6*day))
	if got := summary(outs); !reflect.DeepEqual(got, []string{"dossier.overdue>VPDK:verify", "dossier.overdue>HCC:verify"}) {
		t.Fatalf("first tick: %q", got)
	}
	if outs[0].Event.Time != st.Step("verify").DueAt.Format(time.RFC3339Nano) {
		t.Fatalf("overdue dated %s, want the due time", outs[0].Event.Time)
	}
	if _, again := e.Tick(st, t0.Add(7*day)); len(again) != 0 {
		t.Fatalf("step overdue raised twice: %q", summary(again))
	}
	st, outs = e.Tick(st, t0.Add(11*day))
	if got := summary(outs); !reflect.DeepEqual(got, []string{"dossier.overdue>HCC"}) {
		t.Fatalf("dossier overdue: %q", got)
	}
	if _, again := e.Tick(st, t0.Add(12*day)); len(again) != 0 {
		t.Fatalf("dossier overdue raised twice: %q", summary(again))
	}
	st, _ = mustApply(t, e, st, completeEv("VPDK", code, "verify", "c"), t0.Add(12*day))
	if v := st.Step("verify"); v.OnTime || !v.OverdueAt(t0.Add(12*day), false) {
		t.Fatal("late step reported on time")
	}
	if !st.OverdueAt(t0.Add(12 * day)) {
		t.Fatal("late dossier not reported overdue")
	}
}

func TestDuplicatesIgnored(t *testing.T) {
	const code = "HCC-20260303-0008"
	e := NewEngine(testRoutes())
	sub := submitEv("HCC", code, landProc, "s")
	st, _ := mustApply(t, e, nil, sub, t0)
	for _, ev := range []event.Event{sub, completeEv("VPDK", code, "verify", "c")} {
		st, _ = mustApply(t, e, st, ev, t0.Add(time.Hour))
		n, outs, rej := e.Apply(st, ev, t0.Add(2*time.Hour))
		if n != st || outs != nil || rej != nil {
			t.Fatalf("duplicate %s: state changed %v, outputs %q, rejection %v", ev.Type, n != st, summary(outs), rej)
		}
	}
}

func TestDeterministicOutputs(t *testing.T) {
	const code = "HCC-20260303-0009"
	run := func() []byte {
		e := NewEngine(testRoutes())
		var buf bytes.Buffer
		var st *State
		evs := []event.Event{
			submitEv("HCC", code, landProc, "s"),
			completeEv("VPDK", code, "verify", "c1"),
			stepEv("THUE", event.SupplementRequested, code, "tax", "q"),
			receiverEv("HCC", event.Supplemented, code, "sup"),
			completeEv("THUE", code, "nope", "bad"), // refused
			completeEv("THUE", code, "tax", "c2"),
		}
		for i, ev := range evs {
			var outs []Output
			st, outs, _ = e.Apply(st, ev, t0.Add(time.Duration(i)*time.Hour))
			var tick []Output
			st, tick = e.Tick(st, t0.Add(40*24*time.Hour))
			for _, o := range append(outs, tick...) {
				b, _ := json.Marshal(o)
				buf.Write(b)
			}
		}
		buf.Write(stateJSON(t, st))
		return buf.Bytes()
	}
	a, b := run(), run()
	if !bytes.Equal(a, b) {
		t.Fatal("the same input gave different bytes")
	}
	if !strings.Contains(string(a), event.Overdue) || !strings.Contains(string(a), event.MessageRejected) {
		t.Fatal("scenario did not exercise overdue and rejection")
	}
}
