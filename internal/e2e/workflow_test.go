package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// getDossier reads the tracking view of code as admin.
func getDossier(t *testing.T, base, code string) map[string]any {
	t.Helper()
	st, _, raw := do(t, http.DefaultClient, http.MethodGet, base+"/v1/dossiers/"+code, "admin", nil)
	if st != http.StatusOK {
		t.Fatalf("GET dossier %s: %d %s", code, st, raw)
	}
	var v map[string]any
	_ = json.Unmarshal(raw, &v)
	return v
}

func rejectedFor(id string) func(map[string]any) bool {
	return func(d map[string]any) bool { return d["rejected_id"] == id }
}

// The workflow of the one-stop law through HTTP, Kafka and the tracking
// store: the receipt's due time, reception of a dossier filed online
// (accepted, refused), a financial obligation paid, and the rules the
// router enforces, each refused with message.rejected naming it.
func TestWorkflowThroughTheBus(t *testing.T) {
	// The land procedure counts a dossier received after 15:00 from the
	// next working day.
	e := startWith(t, "", func(y string) string {
		return strings.Replace(y, "    receivers: [HCC]\n", "    receivers: [HCC]\n    cut_off: \"15:00\"\n", 1)
	}, nil, nil)
	today := time.Now().Format("20060102")
	code := func(n string) string { return "HCC-" + today + "-" + n }
	accept := func(agency string, ev map[string]any) map[string]any {
		t.Helper()
		st, _, raw := do(t, http.DefaultClient, http.MethodPost, e.base+"/v1/events", agency, mustJSON(ev))
		if st != http.StatusAccepted {
			t.Fatalf("%s %s: %d %s", agency, ev["type"], st, raw)
		}
		var rc map[string]any
		_ = json.Unmarshal(raw, &rc)
		return rc
	}

	// Received at the desk: the receipt carries the due time the router
	// then shows.
	d1 := code("0101")
	ev := submitted("w-1", d1)
	data(ev)["received_at"] = time.Now().Format(time.RFC3339)
	rc := accept("HCC", ev)
	due, _ := rc["due_at"].(string)
	if !strings.HasSuffix(due, "+07:00") || strings.Contains(due, ".") {
		t.Fatalf("receipt due_at %q: want the calendar's zone, to the second", due)
	}
	secWaitStatus(t, http.DefaultClient, e.base, d1, "processing")
	view := getDossier(t, e.base, d1)
	if got, _ := time.Parse(time.RFC3339Nano, view["due_at"].(string)); !got.Equal(mustTime(t, due)) {
		t.Fatalf("router's due %v, receipt's %s", view["due_at"], due)
	}
	// After the cut-off: yesterday at 16:00 counts from the next working day.
	cal := e.app.Config.Cal()
	y := time.Now().In(cal.Location()).AddDate(0, 0, -1)
	late := time.Date(y.Year(), y.Month(), y.Day(), 16, 0, 0, 0, cal.Location())
	ev = submitted("w-late", code("0109"))
	data(ev)["received_at"] = late.Format(time.RFC3339)
	rc = accept("HCC", ev)
	pr, _ := e.app.Config.Procedure("1.004227")
	want := cal.Due(cal.CountFrom(late, pr.CutOff()), pr.Deadline)
	if got := mustTime(t, rc["due_at"].(string)); !got.Equal(want) {
		t.Fatalf("received %s after the cut-off: due %s, want %s", late, got, want)
	}
	if cal.IsWorkingTime(late.Add(-time.Hour)) && want.Equal(cal.Due(late, pr.Deadline)) {
		t.Fatalf("the cut-off changed nothing for %s", late)
	}
	// Reception rules for a dossier received at once.
	accept("HCC", stepEvent("HCC", "dossier.refused", "w-ref-1", d1, map[string]any{"reason": "x"}))
	inboxEvent(t, e.base, "HCC", "message.rejected", d1, rejectedFor("w-ref-1"))

	// Filed online: registered, no receipt due time, then accepted.
	d2 := code("0102")
	ev = submitted("w-2", d2)
	data(ev)["channel"] = "online"
	if rc := accept("HCC", ev); rc["due_at"] != nil {
		t.Fatalf("a dossier filed online got a due time before reception: %v", rc)
	}
	secWaitStatus(t, http.DefaultClient, e.base, d2, "registered")
	if v := getDossier(t, e.base, d2); v["portal_status"] != 1.0 {
		t.Fatalf("registered portal status %v", v["portal_status"])
	}
	// Only receivers may accept: the gateway refuses at once.
	if st, _, raw := do(t, http.DefaultClient, http.MethodPost, e.base+"/v1/events", "VPDK",
		mustJSON(stepEvent("VPDK", "dossier.accepted", "w-acc-x", d2, map[string]any{}))); st != http.StatusForbidden {
		t.Fatalf("VPDK accepting at reception: %d %s", st, raw)
	}
	accept("HCC", stepEvent("HCC", "dossier.accepted", "w-acc", d2, map[string]any{"note": "đủ hồ sơ"}))
	inboxEvent(t, e.base, "VPDK", "dossier.assigned", d2, assignedStep("verify"))
	secWaitStatus(t, http.DefaultClient, e.base, d2, "processing")

	// Filed online and refused at reception: closed, portal status 3.
	d3 := code("0103")
	ev = submitted("w-3", d3)
	data(ev)["channel"] = "online"
	accept("HCC", ev)
	secWaitStatus(t, http.DefaultClient, e.base, d3, "registered")
	accept("HCC", stepEvent("HCC", "dossier.refused", "w-ref-3", d3, map[string]any{"reason": "Không thuộc thẩm quyền", "reasons": []string{"Thửa đất ở tỉnh khác"}}))
	secWaitStatus(t, http.DefaultClient, e.base, d3, "refused")
	view = getDossier(t, e.base, d3)
	notes := ""
	for _, en := range view["timeline"].([]any) {
		if n, ok := en.(map[string]any)["note"].(string); ok {
			notes += n
		}
	}
	if view["portal_status"] != 3.0 || !strings.Contains(notes, "Không thuộc thẩm quyền") {
		t.Fatalf("refused at reception: %v, notes %q", view["portal_status"], notes)
	}

	// The financial obligation: THUE sets it, HCC is told at once, the
	// certificate waits for the payment.
	accept("VPDK", stepEvent("VPDK", "dossier.step.completed", "w-v1", d1, map[string]any{"step": "verify", "outputs": map[string]any{}}))
	inboxEvent(t, e.base, "THUE", "dossier.assigned", d1, assignedStep("tax"))
	accept("HCC", stepEvent("HCC", "dossier.payment.confirmed", "w-pay-early", d1, map[string]any{"notice_number": "TB-1", "paid_at": time.Now().Format(time.RFC3339)}))
	inboxEvent(t, e.base, "HCC", "message.rejected", d1, func(d map[string]any) bool {
		return d["rejected_id"] == "w-pay-early" && d["reason"] == "urn:lienthong:problem:no-obligation"
	})
	accept("THUE", stepEvent("THUE", "dossier.step.completed", "w-t1", d1, map[string]any{"step": "tax", "outputs": map[string]any{},
		"obligation": map[string]any{"notice_number": "TB-2026-77", "amount_vnd": 12_500_000, "tax_kinds": []string{"registration_fee"}, "due_date": time.Now().AddDate(0, 0, 30).Format("2006-01-02")}}))
	told := inboxEvent(t, e.base, "HCC", "dossier.status.changed", d1, func(d map[string]any) bool { return d["status"] == "awaiting_payment" })
	if told["portal_status"] != 6.0 || told["obligation"].(map[string]any)["notice_number"] != "TB-2026-77" {
		t.Fatalf("the desk is not told the obligation: %v", told)
	}
	accept("HCC", stepEvent("HCC", "dossier.payment.confirmed", "w-pay", d1, map[string]any{"notice_number": "TB-2026-77", "paid_at": time.Now().Format(time.RFC3339), "reference": "KBNN-1"}))
	inboxEvent(t, e.base, "VPDK", "dossier.assigned", d1, assignedStep("certificate"))
	// Tracking follows the router through the state topic: wait for it.
	for deadline := time.Now().Add(30 * time.Second); ; {
		ob, _ := getDossier(t, e.base, d1)["obligation"].(map[string]any)
		if ob != nil && ob["paid_at"] != nil && ob["reference"] == "KBNN-1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracking's obligation after payment: %v", ob)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// An apology needs something late: VPDK's certificate step is not.
	accept("VPDK", stepEvent("VPDK", "dossier.apology", "w-sorry", d1, map[string]any{"step": "certificate", "reason": "Chậm do đo đạc",
		"new_due_at": time.Now().AddDate(0, 0, 20).Format(time.RFC3339)}))
	inboxEvent(t, e.base, "VPDK", "message.rejected", d1, func(d map[string]any) bool {
		return d["rejected_id"] == "w-sorry" && d["reason"] == "urn:lienthong:problem:not-late"
	})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
