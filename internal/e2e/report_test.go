package e2e

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The handling report through HTTP, Kafka, the router and the tracking
// store: four dossiers received today (one step done, one refused by VPDK,
// one withdrawn, one awaiting a supplement) counted per agency, as JSON and
// CSV, each agency seeing its own rows.
func TestHandlingReportThroughTheBus(t *testing.T) {
	e := startApp(t)
	today := time.Now().Format("20060102")
	code := func(n string) string { return "HCC-" + today + "-" + n }
	accept := func(agency string, ev map[string]any) {
		t.Helper()
		st, _, raw := do(t, http.DefaultClient, http.MethodPost, e.base+"/v1/events", agency, mustJSON(ev))
		if st != http.StatusAccepted {
			t.Fatalf("%s %s: %d %s", agency, ev["type"], st, raw)
		}
	}
	now := time.Now().Format(time.RFC3339)
	for _, n := range []string{"0201", "0202", "0203", "0204"} {
		ev := submitted("rep-"+n, code(n))
		data(ev)["received_at"] = now
		accept("HCC", ev)
	}
	for _, n := range []string{"0201", "0202", "0203", "0204"} {
		secWaitStatus(t, http.DefaultClient, e.base, code(n), "processing")
	}
	accept("VPDK", stepEvent("VPDK", "dossier.step.completed", "rep-c1", code("0201"), map[string]any{"step": "verify", "outputs": map[string]any{}}))
	accept("VPDK", stepEvent("VPDK", "dossier.rejected", "rep-r2", code("0202"), map[string]any{"step": "verify", "reason": "sai thông tin thửa đất"}))
	accept("HCC", stepEvent("HCC", "dossier.withdrawn", "rep-w3", code("0203"), map[string]any{"reason": "công dân rút hồ sơ"}))
	accept("VPDK", stepEvent("VPDK", "dossier.supplement.requested", "rep-s4", code("0204"),
		map[string]any{"step": "verify", "reason": "thiếu trích đo", "missing": []string{"Trích đo địa chính"}}))
	secWaitStatus(t, http.DefaultClient, e.base, code("0202"), "rejected")
	secWaitStatus(t, http.DefaultClient, e.base, code("0203"), "withdrawn")
	secWaitStatus(t, http.DefaultClient, e.base, code("0204"), "awaiting_supplement")
	// The tax step of 0201 assigned: the store has the completion too.
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := getDossier(t, e.base, code("0201"))
		if steps, _ := v["steps"].([]any); len(steps) == 3 && steps[1].(map[string]any)["status"] == "in_progress" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tax of %s never started: %v", code("0201"), v)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A period of three calendar days around today, in the calendar's zone.
	loc := e.app.Config.Cal().Location()
	day := time.Now().In(loc)
	q := "/v1/reports/handling?from=" + day.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + day.AddDate(0, 0, 1).Format(time.DateOnly)
	type row struct {
		Procedure      string `json:"procedure"`
		Agency         string `json:"agency"`
		Role           string `json:"role"`
		Received       int    `json:"received"`
		ReceivedNew    int    `json:"received_new"`
		Done           int    `json:"done"`
		DoneEarly      int    `json:"done_early"`
		InProgress     int    `json:"in_progress"`
		InProgressLate int    `json:"in_progress_late"`
		Supplements    int    `json:"supplements_requested"`
		Refused        int    `json:"refused"`
		Withdrawn      int    `json:"withdrawn"`
		Cancelled      int    `json:"cancelled"`
	}
	get := func(tok, query string) []row {
		t.Helper()
		st, _, raw := do(t, http.DefaultClient, http.MethodGet, e.base+q+query, tok, nil)
		var body struct{ Rows []row }
		if err := json.Unmarshal(raw, &body); err != nil || st != 200 {
			t.Fatalf("%s: %d %s", q+query, st, raw)
		}
		return body.Rows
	}
	rows := get("admin", "")
	want := []row{
		{Procedure: "1.004227", Agency: "HCC", Role: "receiver", Received: 4, ReceivedNew: 4, InProgress: 2, Refused: 1, Withdrawn: 1, Supplements: 1},
		{Procedure: "1.004227", Agency: "THUE", Role: "step", Received: 1, ReceivedNew: 1, InProgress: 1},
		// verify of each: done early (due in five working days), refused,
		// withdrawn, awaiting the supplement.
		{Procedure: "1.004227", Agency: "VPDK", Role: "step", Received: 4, ReceivedNew: 4, Done: 1, DoneEarly: 1, InProgress: 1, Refused: 1, Withdrawn: 1, Supplements: 1},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d\n got %+v\nwant %+v", i, rows[i], want[i])
		}
	}
	if got := get("VPDK", ""); len(got) != 1 || got[0] != want[2] {
		t.Errorf("VPDK sees %+v", got)
	}
	if got := get("VPDK", "&agency=HCC"); len(got) != 0 {
		t.Errorf("VPDK asking for HCC's rows sees %+v", got)
	}
	req, _ := http.NewRequest(http.MethodGet, e.base+q, nil)
	req.Header.Set("Authorization", "Bearer "+tokens["HCC"])
	req.Header.Set("Accept", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	recs, err := csv.NewReader(res.Body).ReadAll()
	if err != nil || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(recs) != 2 ||
		strings.Join(recs[1][:4], ",") != "1.004227,HCC,receiver,4" {
		t.Fatalf("HCC's CSV: %s %q %v", res.Header.Get("Content-Type"), recs, err)
	}
	if st, _, raw := do(t, http.DefaultClient, http.MethodGet, e.base+"/v1/reports/handling?from=2026-02-30&to=2026-03-01", "admin", nil); st != 400 ||
		!strings.Contains(string(raw), `"location":"from"`) {
		t.Errorf("a bad date: %d %s", st, raw)
	}
}
