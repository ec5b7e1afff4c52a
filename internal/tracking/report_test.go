package tracking

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/router"
)

// reportHandler serves a store with three dossiers of March 2026 (Hanoi
// time): HCC's land dossier, done early by VPDK and THUE; HCC's second, open
// and late at VPDK; UBND's birth dossier, refused by TUPHAP.
func reportHandler(t *testing.T) http.Handler {
	t.Helper()
	hanoi, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hh int) time.Time { return time.Date(2026, 3, day, hh, 0, 0, 0, hanoi) }
	step := func(id, agency, status string, assigned, due, done time.Time) router.StepState {
		return router.StepState{ID: id, Name: id, Agency: agency, Status: status, AssignedAt: assigned, DueAt: due,
			CompletedAt: done, OnTime: status == router.StepCompleted && !done.After(due)}
	}
	states := []*router.State{
		{Code: "HCC-20260302-0001", Procedure: landProc, Receiver: "HCC", Status: router.StatusReturned, Offset: 1,
			ReceivedAt: at(2, 9), DueAt: at(16, 17), ResultAt: at(10, 9), ClosedAt: at(11, 9),
			Steps: []router.StepState{
				step("verify", "VPDK", router.StepCompleted, at(2, 9), at(9, 17), at(5, 9)),
				step("tax", "THUE", router.StepCompleted, at(5, 9), at(10, 17), at(10, 9)),
			}},
		{Code: "HCC-20260303-0002", Procedure: landProc, Receiver: "HCC", Status: router.StatusProcessing, Offset: 2,
			ReceivedAt: at(3, 9), DueAt: at(17, 17),
			Steps: []router.StepState{
				step("verify", "VPDK", router.StepInProgress, at(3, 9), at(10, 17), time.Time{}),
				step("tax", "THUE", router.StepPending, time.Time{}, time.Time{}, time.Time{}),
			}},
		{Code: "UBND-20260304-0003", Procedure: birthProc, Receiver: "UBND", Status: router.StatusRejected, Offset: 3,
			ReceivedAt: at(4, 9), DueAt: at(11, 17), ClosedAt: at(4, 15),
			Steps: []router.StepState{
				step("birth", "TUPHAP", router.StepRejected, at(4, 9), at(4, 17), at(4, 15)),
				step("insurance", "BHXH", router.StepCancelled, time.Time{}, time.Time{}, time.Time{}),
			}},
	}
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	recs := make([]store.Record, len(states))
	for i, s := range states {
		recs[i] = store.Record{State: s, StateOffset: int64(i)}
	}
	if _, err := st.Apply(context.Background(), "state", 0, 3, recs); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 4, 2, 10, 0, 0, 0, hanoi)
	return Handler(func() (*store.Store, error) { return st, nil }, Options{Now: func() time.Time { return now }, Location: hanoi})
}

func getReport(t *testing.T, h http.Handler, p *auth.Principal, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if p != nil {
		req = req.WithContext(auth.WithPrincipal(req.Context(), *p))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

type reportJSON struct {
	From, To, Timezone string
	Start, End         time.Time
	AsOf               time.Time `json:"as_of"`
	Rows               []store.ReportRow
}

func decodeReport(t *testing.T, rec *httptest.ResponseRecorder) reportJSON {
	t.Helper()
	var r reportJSON
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

const march = "/v1/reports/handling?from=2026-03-01&to=2026-03-31"

var wantMarch = []store.ReportRow{
	{Procedure: landProc, Agency: "HCC", Role: "receiver", Received: 2, ReceivedNew: 2, Done: 1, DoneEarly: 1, InProgress: 1, InProgressLate: 1},
	{Procedure: landProc, Agency: "THUE", Role: "step", Received: 1, ReceivedNew: 1, Done: 1, DoneOnTime: 1},
	{Procedure: landProc, Agency: "VPDK", Role: "step", Received: 2, ReceivedNew: 2, Done: 1, DoneEarly: 1, InProgress: 1, InProgressLate: 1},
	{Procedure: birthProc, Agency: "TUPHAP", Role: "step", Received: 1, ReceivedNew: 1, Refused: 1},
	{Procedure: birthProc, Agency: "UBND", Role: "receiver", Received: 1, ReceivedNew: 1, Refused: 1},
}

func TestReportJSON(t *testing.T) {
	h := reportHandler(t)
	r := decodeReport(t, getReport(t, h, admin, march))
	if r.From != "2026-03-01" || r.To != "2026-03-31" || r.Timezone != "Asia/Ho_Chi_Minh" {
		t.Errorf("period %q %q %q", r.From, r.To, r.Timezone)
	}
	if want := time.Date(2026, 2, 28, 17, 0, 0, 0, time.UTC); !r.Start.Equal(want) {
		t.Errorf("start %v, want %v (midnight in Hanoi)", r.Start, want)
	}
	if want := time.Date(2026, 3, 31, 17, 0, 0, 0, time.UTC); !r.End.Equal(want) || !r.AsOf.Equal(want) {
		t.Errorf("end %v, as of %v, want %v: the day after to, at midnight", r.End, r.AsOf, want)
	}
	if !reflect.DeepEqual(r.Rows, wantMarch) {
		t.Fatalf("rows\n got %+v\nwant %+v", r.Rows, wantMarch)
	}
	// A period not over: in progress is judged now (April 2, 10:00).
	r = decodeReport(t, getReport(t, h, admin, "/v1/reports/handling?from=2026-04-01&to=2026-04-30"))
	if want := time.Date(2026, 4, 2, 3, 0, 0, 0, time.UTC); !r.AsOf.Equal(want) {
		t.Errorf("as of %v, want now %v", r.AsOf, want)
	}
	if len(r.Rows) != 2 || r.Rows[0].CarriedOver != 1 || r.Rows[0].InProgressLate != 1 {
		t.Errorf("April: %+v", r.Rows)
	}
	// One day, by the calendar's midnight: the dossier received on March 2
	// at 09:00 (02:00 UTC) is in March 2, not March 1.
	r = decodeReport(t, getReport(t, h, admin, "/v1/reports/handling?from=2026-03-01&to=2026-03-01"))
	if len(r.Rows) != 0 {
		t.Errorf("March 1: %+v", r.Rows)
	}
}

// Agencies see their own rows; another agency's filter answers no rows, as
// /v1/stats shows an agency its own rows only. The admin sees all, and
// filters.
func TestReportAuthorization(t *testing.T) {
	h := reportHandler(t)
	if rec := getReport(t, h, nil, march); rec.Code != 401 || !strings.Contains(rec.Body.String(), problem.Unauthorized.URN()) {
		t.Fatalf("no caller: %d %s", rec.Code, rec.Body)
	}
	rows := func(p *auth.Principal, q string) []store.ReportRow {
		return decodeReport(t, getReport(t, h, p, march+q)).Rows
	}
	pick := func(agency string) []store.ReportRow {
		out := []store.ReportRow{}
		for _, r := range wantMarch {
			if r.Agency == agency {
				out = append(out, r)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		p     *auth.Principal
		query string
		want  []store.ReportRow
	}{
		{"receiver", agency("HCC"), "", pick("HCC")},
		{"step agency", agency("VPDK"), "", pick("VPDK")},
		{"its own filter", agency("VPDK"), "&agency=VPDK", pick("VPDK")},
		{"another's filter", agency("VPDK"), "&agency=THUE", []store.ReportRow{}},
		{"an agency with nothing", agency("CA"), "", []store.ReportRow{}},
		{"admin filters an agency", admin, "&agency=THUE", pick("THUE")},
		{"admin filters a procedure", admin, "&procedure=" + birthProc, wantMarch[3:]},
		{"unknown procedure", admin, "&procedure=9.999", []store.ReportRow{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rows(tc.p, tc.query); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestReportCSV(t *testing.T) {
	h := reportHandler(t)
	for _, tc := range []struct {
		name, query string
		header      []string
		csv         bool
	}{
		{"format=csv", "&format=csv", nil, true},
		{"Accept: text/csv", "", []string{"Accept", "text/csv"}, true},
		{"Accept ranks csv first", "", []string{"Accept", "application/json;q=0.5, text/csv"}, true},
		{"Accept ranks json first", "", []string{"Accept", "text/csv;q=0.4, application/json"}, false},
		{"Accept: */*", "", []string{"Accept", "*/*"}, false},
		{"format=json wins over Accept", "&format=json", []string{"Accept", "text/csv"}, false},
		{"no Accept", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := getReport(t, h, admin, march+tc.query, tc.header...)
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if rec.Header().Get("Vary") != "Accept" {
				t.Errorf("Vary %q", rec.Header().Get("Vary"))
			}
			if !tc.csv {
				decodeReport(t, rec)
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
				t.Fatalf("Content-Type %q", ct)
			}
			if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="handling-2026-03-01-2026-03-31.csv"` {
				t.Errorf("Content-Disposition %q", cd)
			}
			recs, err := csv.NewReader(rec.Body).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(recs[0], ReportColumns) || len(recs) != 1+len(wantMarch) {
				t.Fatalf("csv %q", recs)
			}
			first := []string{landProc, "HCC", "receiver", "2", "2", "0", "1", "1", "0", "0", "1", "0", "1", "0", "0", "0", "0"}
			if !reflect.DeepEqual(recs[1], first) {
				t.Errorf("first row %q, want %q", recs[1], first)
			}
			// The JSON rows carry the same names.
			var row map[string]any
			b, _ := json.Marshal(wantMarch[0])
			_ = json.Unmarshal(b, &row)
			for _, c := range ReportColumns {
				if _, ok := row[c]; !ok {
					t.Errorf("column %s is not a JSON field", c)
				}
			}
		})
	}
	// An agency's CSV holds its rows only.
	rec := getReport(t, h, agency("THUE"), march+"&format=csv")
	if recs, err := csv.NewReader(rec.Body).ReadAll(); err != nil || len(recs) != 2 || recs[1][1] != "THUE" {
		t.Fatalf("THUE's csv: %q %v", recs, err)
	}
}

func TestReportBadParameters(t *testing.T) {
	h := reportHandler(t)
	for _, tc := range []struct {
		query, location, says string
	}{
		{"", "from", "from is required"},
		{"?to=2026-03-31", "from", "from is required"},
		{"?from=2026-03-01", "to", "to is required"},
		{"?from=2026-13-01&to=2026-03-31", "from", "from must be a date"},
		{"?from=2026-03-01T00:00:00Z&to=2026-03-31", "from", "from must be a date"},
		{"?from=2026-03-01&to=31/03/2026", "to", "to must be a date"},
		{"?from=2026-03-31&to=2026-03-01", "to", "is before from"},
		{"?from=2025-01-01&to=2026-01-02", "to", "longer than 366 days"},
		{"?from=2026-03-01&to=2026-03-31&agency=hcc", "agency", "agency must be an agency code"},
		{"?from=2026-03-01&to=2026-03-31&procedure=" + strings.Repeat("1", 65), "procedure", "longer than 64"},
		{"?from=2026-03-01&to=2026-03-31&format=xml", "format", "format must be json or csv"},
	} {
		rec := getReport(t, h, admin, "/v1/reports/handling"+tc.query)
		var p problem.Details
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 400 {
			t.Errorf("%s: %d %s", tc.query, rec.Code, rec.Body)
			continue
		}
		if p.Type != problem.BadRequest.URN() || len(p.Errors) != 1 || p.Errors[0].Location != tc.location || !strings.Contains(p.Detail, tc.says) {
			t.Errorf("%s: %+v, want %s at %s saying %q", tc.query, p, problem.BadRequest, tc.location, tc.says)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", tc.query, ct)
		}
	}
	// A leap year's 366 days are allowed.
	if rec := getReport(t, h, admin, "/v1/reports/handling?from=2028-01-01&to=2028-12-31"); rec.Code != 200 {
		t.Errorf("a leap year: %d %s", rec.Code, rec.Body)
	}
}

func TestReportStoreUnavailable(t *testing.T) {
	h := Handler(func() (*store.Store, error) { return nil, errors.New("opening") }, Options{})
	rec := getReport(t, h, admin, march)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), problem.Unavailable.URN()) {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}
