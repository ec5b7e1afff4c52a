package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/router"
)

var hanoi = time.FixedZone("ICT", 7*3600)

func mar(day, hh, mm, ss, ns int) time.Time {
	return time.Date(2026, 3, day, hh, mm, ss, ns, hanoi).UTC() // as the API gives them
}

// slipDossiers are two views as GET /v1/dossiers/{code} answers them: a
// land dossier whose result is ready (verify early, tax on its due day,
// the certificate late after an apology) and one refused by VPDK.
func slipDossiers() map[string]router.DossierView {
	ok := &router.State{Code: "HCC-20260303-0001", Procedure: "1.004227", Receiver: "HCC", Status: router.StatusResultReady,
		ReceivedAt: mar(3, 8, 15, 0, 0), DueAt: mar(17, 17, 0, 0, 0), ResultAt: mar(16, 10, 0, 0, 0),
		Obligation: &router.Obligation{Step: "tax", NoticeNumber: "TB-2026-77", AmountVND: 12500000, TaxKinds: []string{"registration_fee"},
			DueDate: "2026-04-01", SetAt: mar(10, 16, 0, 0, 0), PaidAt: mar(11, 9, 0, 0, 0)},
		Steps: []router.StepState{
			{ID: "verify", Name: "Thẩm định hồ sơ", Agency: "VPDK", Status: router.StepCompleted, AssignedAt: mar(3, 8, 15, 0, 0),
				DueAt: mar(10, 8, 15, 0, 0), CompletedAt: mar(5, 14, 30, 15, 123456789), OnTime: true},
			{ID: "tax", Name: "Xác định nghĩa vụ tài chính", Agency: "THUE", Status: router.StepCompleted, AssignedAt: mar(5, 14, 30, 15, 0),
				DueAt: mar(10, 17, 0, 0, 0), CompletedAt: mar(10, 16, 0, 0, 0), OnTime: true},
			{ID: "certificate", Name: "Cấp giấy chứng nhận", Agency: "VPDK", Status: router.StepCompleted, AssignedAt: mar(10, 16, 0, 0, 0),
				DueAt: mar(12, 16, 0, 0, 0), OriginalDueAt: mar(11, 16, 0, 0, 0), CompletedAt: mar(12, 10, 0, 0, 0)},
		},
		Timeline: []router.Entry{
			{ID: "a", Type: "dossier.submitted", Source: "urn:lienthong:agency:HCC", Time: mar(3, 8, 15, 0, 0)},
			{ID: "b", Type: "dossier.assigned", Source: "urn:lienthong:router", Time: mar(3, 8, 15, 1, 0), Step: "verify", To: "VPDK"},
			{ID: "c", Type: "dossier.supplement.requested", Source: "urn:lienthong:agency:VPDK", Time: mar(4, 9, 0, 0, 0), Step: "verify", Note: "thiếu bản sao sổ đỏ"},
			{ID: "d", Type: "dossier.supplemented", Source: "urn:lienthong:agency:HCC", Time: mar(4, 15, 0, 0, 0), Step: "verify"},
			{ID: "e", Type: "dossier.apology", Source: "urn:lienthong:agency:VPDK", Time: mar(11, 17, 0, 0, 0), Step: "certificate", Note: "quá tải"},
		}}
	refused := &router.State{Code: "HCC-20260304-0002", Procedure: "1.004227", Receiver: "HCC", Status: router.StatusRejected,
		ReceivedAt: mar(4, 8, 0, 0, 0), DueAt: mar(18, 17, 0, 0, 0), ClosedAt: mar(6, 9, 0, 0, 0),
		Steps: []router.StepState{
			{ID: "verify", Name: "Thẩm định hồ sơ", Agency: "VPDK", Status: router.StepRejected, AssignedAt: mar(4, 8, 0, 0, 0),
				DueAt: mar(11, 8, 0, 0, 0), CompletedAt: mar(6, 9, 0, 0, 0)},
			{ID: "tax", Name: "Xác định nghĩa vụ tài chính", Agency: "THUE", Status: router.StepCancelled},
		},
		Timeline: []router.Entry{
			{ID: "r", Type: "dossier.rejected", Source: "urn:lienthong:agency:VPDK", Time: mar(6, 9, 0, 0, 0), Step: "verify", Note: "=giấy tờ không hợp lệ"},
		}}
	now := mar(20, 9, 0, 0, 0)
	return map[string]router.DossierView{ok.Code: router.Describe(ok, now), refused.Code: router.Describe(refused, now)}
}

func slipServer(t *testing.T) string {
	t.Helper()
	views := slipDossiers()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		v, ok := views[strings.TrimPrefix(r.URL.Path, "/v1/dossiers/")]
		if !ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"type":"urn:lienthong:problem:not-found","title":"Not found","status":404}`))
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("LIENTHONG_TOKEN", "tok")
	t.Setenv("LIENTHONG_TZ", "")
	return srv.URL
}

// The slip: aligned columns, times in the calendar's zone to the second,
// one row per handover with its result and notes.
func TestTrackSlip(t *testing.T) {
	base := slipServer(t)
	code, out, errs := runCLI("track", "--url", base, "HCC-20260303-0001")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		`Dossier +HCC-20260303-0001`,
		`Procedure +1\.004227`,
		`Received +2026-03-03 08:15:00`,
		`Due +2026-03-17 17:00:00`,
		`Result ready +2026-03-16 10:00:00`,
		`Financial obligation +notice TB-2026-77, 12500000 VND \(step tax\), paid 2026-03-11 09:00:00`,
		`Times in +Asia/Ho_Chi_Minh \(UTC\+07:00\)`,
	} {
		if !regexpLine(out, "^"+want+"$") {
			t.Errorf("no line %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "Z ") || strings.Contains(out, ".123") || strings.Contains(out, "T07:") {
		t.Errorf("a time in UTC or with a fraction:\n%s", out)
	}
	lines := strings.Split(out, "\n")
	var table []string
	for i, l := range lines {
		if strings.HasPrefix(l, "AGENCY") {
			table = lines[i : i+5]
			break
		}
	}
	if len(table) != 5 {
		t.Fatalf("no handover table:\n%s", out)
	}
	// Aligned: every column starts where its heading does; no trailing
	// blanks.
	for _, col := range []string{"STEP", "HANDED OVER", "RECEIVED", "DUE", "DONE", "RESULT", "NOTES"} {
		at := strings.Index(table[0], col)
		for _, row := range table[1:] {
			if len(row) > at && (row[at-1] != ' ' || row[at] == ' ') {
				t.Errorf("column %s (at %d) misaligned in %q", col, at, row)
			}
			if strings.HasSuffix(row, " ") {
				t.Errorf("trailing blanks in %q", row)
			}
		}
	}
	wantRows := []string{
		"HCC reception 2026-03-03 08:15:00 2026-03-03 08:15:00 2026-03-17 17:00:00 2026-03-16 10:00:00 early",
		"VPDK verify 2026-03-03 08:15:00 2026-03-03 08:15:01 2026-03-10 08:15:00 2026-03-05 14:30:15 early " +
			"supplement requested by VPDK 2026-03-04 09:00:00: thiếu bản sao sổ đỏ; supplemented 2026-03-04 15:00:00",
		"THUE tax 2026-03-05 14:30:15 2026-03-05 14:30:15 2026-03-10 17:00:00 2026-03-10 16:00:00 on time",
		"VPDK certificate 2026-03-10 16:00:00 2026-03-10 16:00:00 2026-03-12 16:00:00 2026-03-12 10:00:00 late " +
			"apology from VPDK 2026-03-11 17:00:00: quá tải; original due 2026-03-11 16:00:00",
	}
	for i, w := range wantRows {
		if got := strings.Join(strings.Fields(table[i+1]), " "); got != w {
			t.Errorf("row %d:\n got %q\nwant %q", i, got, w)
		}
	}

	code, out, _ = runCLI("track", "--url", base, "HCC-20260304-0002")
	if code != 0 || !strings.Contains(out, "refused by VPDK 2026-03-06 09:00:00: =giấy tờ không hợp lệ") ||
		!regexpLine(out, `^VPDK +verify .* refused +refused by`) || !regexpLine(out, `^THUE +tax +cancelled$`) || !regexpLine(out, `^HCC +reception .* refused$`) {
		t.Errorf("the refused dossier: exit %d\n%s", code, out)
	}
	if code, _, errs := runCLI("track", "--url", base, "HCC-20260305-0404"); code != 1 || !strings.Contains(errs, "404") {
		t.Errorf("an unknown dossier: exit %d %s", code, errs)
	}
	if code, _, _ := runCLI("track", "--url", base, "--tz", "Mars/Olympus", "HCC-20260303-0001"); code != 2 {
		t.Errorf("an unknown zone: exit %d", code)
	}
	// Another zone, when the calendar's is another.
	if _, out, _ := runCLI("track", "--url", base, "--tz", "UTC", "HCC-20260303-0001"); !regexpLine(out, `^Received +2026-03-03 01:15:00$`) {
		t.Errorf("--tz UTC:\n%s", out)
	}
}

func regexpLine(out, re string) bool {
	for _, l := range strings.Split(out, "\n") {
		if regexp.MustCompile(re).MatchString(l) {
			return true
		}
	}
	return false
}

func TestTrackSlipCSV(t *testing.T) {
	base := slipServer(t)
	code, out, errs := runCLI("track", "--url", base, "--csv", "HCC-20260303-0001")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	recs, err := csv.NewReader(bytes.NewReader([]byte(out))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recs[0], slipColumns) || len(recs) != 5 {
		t.Fatalf("csv %q", recs)
	}
	want := []string{"HCC-20260303-0001", "1.004227", "VPDK", "verify", "Thẩm định hồ sơ", "2026-03-03T08:15:00+07:00",
		"2026-03-03T08:15:01+07:00", "2026-03-10T08:15:00+07:00", "2026-03-05T14:30:15+07:00", "early",
		"supplement requested by VPDK 2026-03-04 09:00:00: thiếu bản sao sổ đỏ; supplemented 2026-03-04 15:00:00"}
	if !reflect.DeepEqual(recs[2], want) {
		t.Errorf("verify row\n got %q\nwant %q", recs[2], want)
	}
	_, out, _ = runCLI("track", "--url", base, "--csv", "HCC-20260304-0002")
	recs, _ = csv.NewReader(strings.NewReader(out)).ReadAll()
	if len(recs) != 4 || !strings.HasPrefix(recs[2][10], "refused by VPDK") || recs[2][9] != "refused" {
		t.Errorf("refused csv %q", recs)
	}
	// A cell starting with "=" is not a formula to a spreadsheet.
	if got := cell("=1+1"); got != "'=1+1" {
		t.Errorf("cell(=1+1) = %q", got)
	}
	if code, _, _ := runCLI("track", "--csv"); code != 2 {
		t.Errorf("no code: exit %d", code)
	}
}
