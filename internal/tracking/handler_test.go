package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/router"
)

// plainClock counts every hour as working time.
type plainClock struct{}

func (plainClock) Due(start time.Time, s router.Span) time.Time {
	return start.Add(time.Duration(s.Days)*24*time.Hour + s.Work)
}
func (plainClock) Add(t time.Time, d time.Duration) time.Time { return t.Add(d) }

// CountFrom: no cut-off in these tests.
func (plainClock) CountFrom(t time.Time, _ time.Duration) time.Time { return t }
func (plainClock) WorkBetween(a, b time.Time) time.Duration         { return max(0, b.Sub(a)) }

const landProc, birthProc = "1.004227", "2.000001"

var t0 = time.Date(2026, 3, 3, 1, 15, 0, 0, time.UTC)

func routes() *router.Routes {
	return &router.Routes{Clock: plainClock{}, Procedures: map[string]*router.Procedure{
		landProc: {Code: landProc, Name: "Land change", Deadline: router.Span{Days: 10}, Receivers: []string{"HCC"},
			Steps: []router.Step{
				{ID: "verify", Name: "Verify", Agency: "VPDK", Deadline: router.Span{Days: 5}},
				{ID: "tax", Name: "Tax", Agency: "THUE", Deadline: router.Span{Days: 3}, After: []string{"verify"}},
			}},
		birthProc: {Code: birthProc, Name: "Birth group", Deadline: router.Span{Days: 5}, Receivers: []string{"UBND"},
			Steps: []router.Step{
				{ID: "birth", Name: "Birth registration", Agency: "TUPHAP", Deadline: router.Span{Work: 8 * time.Hour}},
				{ID: "insurance", Name: "Insurance card", Agency: "BHXH", Deadline: router.Span{Days: 2}, After: []string{"birth"}},
			}},
	}}
}

func ev(agency, typ, code, id string, data any) event.Event {
	raw, _ := json.Marshal(data)
	return event.Event{SpecVersion: "1.0", ID: id, Source: event.AgencySource(agency), Type: typ,
		Subject: code, Time: t0.Format(time.RFC3339), DataContentType: "application/json", Data: raw}
}

func submit(receiver, code, proc, id string) event.Event {
	return ev(receiver, event.Submitted, code, id, map[string]any{
		"code": code, "procedure": proc, "channel": "direct", "received_at": t0,
		"applicant": map[string]any{"kind": "citizen", "full_name": "Nguyen Van A", "id_number": "001234567890"},
		"documents": []map[string]any{{"name": "don.pdf", "url": "https://x/don.pdf", "sha256": "ab"}},
	})
}

// testHandler serves a SQLite store holding two dossiers, written the way
// the projector writes them: a land dossier at HCC whose verify step is
// late at now, and a birth dossier at UBND finished on time.
func testHandler(t *testing.T) (http.Handler, time.Time) {
	t.Helper()
	e := router.NewEngine(routes())
	now := t0.Add(6 * 24 * time.Hour)
	apply := func(st *router.State, x event.Event, at time.Time) *router.State {
		n, _, rej := e.Apply(st, x, at)
		if rej != nil {
			t.Fatalf("%s refused: %v", x.ID, rej)
		}
		return n
	}
	land := apply(nil, submit("HCC", "HCC-20260303-0001", landProc, "a"), t0)
	land, _ = e.Tick(land, now)
	land.Offset = 5
	birth := apply(nil, submit("UBND", "UBND-20260303-0002", birthProc, "b1"), t0)
	birth = apply(birth, ev("TUPHAP", event.StepCompleted, birth.Code, "b2", map[string]any{"step": "birth", "outputs": map[string]any{}}), t0.Add(time.Hour))
	birth = apply(birth, ev("BHXH", event.StepCompleted, birth.Code, "b3", map[string]any{"step": "insurance", "outputs": map[string]any{}}), t0.Add(2*time.Hour))
	birth.Offset = 9

	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	recs := []store.Record{{State: land, StateOffset: 1}, {State: birth, StateOffset: 2}}
	if _, err := st.Apply(context.Background(), "state", 0, 3, recs); err != nil {
		t.Fatal(err)
	}
	// An older state arriving late does not win.
	old := &router.State{Code: land.Code, Procedure: landProc, Receiver: "HCC", Status: router.StatusReceived, Offset: 1}
	if _, err := st.Apply(context.Background(), "state", 0, 4, []store.Record{{State: old, StateOffset: 3}}); err != nil {
		t.Fatal(err)
	}
	return Handler(func() (*store.Store, error) { return st, nil }, Options{Now: func() time.Time { return now }}), now
}

func call(t *testing.T, h http.Handler, p *auth.Principal, target string) (int, map[string]any, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if p != nil {
		req = req.WithContext(auth.WithPrincipal(req.Context(), *p))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: body %q", target, rec.Body.String())
	}
	return rec.Code, body, rec.Body.String()
}

func agency(a string) *auth.Principal { return &auth.Principal{Agency: a} }

var admin = &auth.Principal{Admin: true}

func TestDossier(t *testing.T) {
	h, _ := testHandler(t)
	for _, tc := range []struct {
		name   string
		p      *auth.Principal
		code   string
		status int
		ptype  problem.Type
	}{
		{"receiver", agency("HCC"), "HCC-20260303-0001", 200, ""},
		{"agency on the route", agency("THUE"), "HCC-20260303-0001", 200, ""},
		{"admin", admin, "HCC-20260303-0001", 200, ""},
		{"agency off the route gets 404", agency("BHXH"), "HCC-20260303-0001", 404, problem.NotFound},
		{"unknown dossier", agency("HCC"), "HCC-20260303-9999", 404, problem.NotFound},
		{"no caller", nil, "HCC-20260303-0001", 401, problem.Unauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, raw := call(t, h, tc.p, "/v1/dossiers/"+tc.code)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, raw)
			}
			if tc.ptype != "" {
				if body["type"] != tc.ptype.URN() {
					t.Fatalf("problem type %v, want %s", body["type"], tc.ptype.URN())
				}
				return
			}
			if body["status"] != router.StatusProcessing || body["portal_status"] != 4.0 || body["overdue"] != true {
				t.Fatalf("dossier %s", raw)
			}
			verify := body["steps"].([]any)[0].(map[string]any)
			if verify["id"] != "verify" || verify["agency"] != "VPDK" || verify["status"] != router.StepInProgress || verify["overdue"] != true || verify["assigned_at"] == nil {
				t.Fatalf("verify step %v", verify)
			}
			if tl := body["timeline"].([]any); len(tl) != 6 { // submitted, 2 status, assigned, 2 overdue
				t.Fatalf("timeline %v", tl)
			}
			// The slip names the applicant while the dossier is open
			// (Circular 01/2018), nothing more of the submitted data.
			if strings.Contains(raw, "001234567890") || strings.Count(raw, "Nguyen") != 1 {
				t.Fatalf("tracking leaks personal data: %s", raw)
			}
			if a, _ := body["applicant"].(map[string]any); a == nil || !strings.HasPrefix(a["full_name"].(string), "Nguyen") {
				t.Fatalf("the open dossier's slip does not name the applicant: %v", body["applicant"])
			}
		})
	}
	_, body, _ := call(t, h, agency("BHXH"), "/v1/dossiers/UBND-20260303-0002")
	for _, s := range body["steps"].([]any) {
		if s.(map[string]any)["on_time"] != true {
			t.Fatalf("step %v not on time", s)
		}
	}
}

func TestList(t *testing.T) {
	h, _ := testHandler(t)
	codes := func(body map[string]any) []string {
		var out []string
		for _, it := range body["items"].([]any) {
			out = append(out, it.(map[string]any)["code"].(string))
		}
		return out
	}
	both := []string{"HCC-20260303-0001", "UBND-20260303-0002"}
	for _, tc := range []struct {
		name  string
		p     *auth.Principal
		query string
		want  []string
	}{
		{"admin sees all", admin, "", both},
		{"receiver sees its own", agency("HCC"), "", both[:1]},
		{"route agency", agency("TUPHAP"), "", both[1:]},
		{"no match", agency("OTHER"), "", nil},
		{"by status", admin, "?status=result_ready", both[1:]},
		{"by agency", admin, "?agency=THUE", both[:1]},
		{"by procedure", admin, "?procedure=" + birthProc, both[1:]},
		{"overdue", admin, "?overdue=true", both[:1]},
		{"not overdue", admin, "?overdue=false", both[1:]},
		{"received in range", admin, "?received_from=2026-03-03&received_to=2026-03-04", both},
		{"received before", admin, "?received_to=2026-03-03T00:00:00Z", nil},
		{"due after", admin, "?due_from=2026-03-10", both[:1]},
		{"due before", admin, "?due_to=2026-03-10T00:00:00%2B07:00", both[1:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, raw := call(t, h, tc.p, "/v1/dossiers"+tc.query)
			if code != 200 || !reflect.DeepEqual(codes(body), tc.want) {
				t.Fatalf("%d %s, want %v", code, raw, tc.want)
			}
		})
	}
	_, p1, _ := call(t, h, admin, "/v1/dossiers?limit=1")
	next, _ := p1["next"].(string)
	if got := codes(p1); len(got) != 1 || next == "" {
		t.Fatalf("page 1: %v next %q", got, next)
	}
	_, p2, _ := call(t, h, admin, "/v1/dossiers?limit=1&cursor="+next)
	if got := append(codes(p1), codes(p2)...); !reflect.DeepEqual(got, both) || p2["next"] != "" {
		t.Fatalf("pages: %v next %v", got, p2["next"])
	}
	for q, want := range map[string]problem.Type{
		"?status=bogus": problem.BadRequest, "?overdue=maybe": problem.BadRequest,
		"?limit=0": problem.BadRequest, "?limit=501": problem.BadRequest, "?cursor=%21%21": problem.BadCursor,
		"?received_from=yesterday": problem.BadRequest, "?due_to=2026-13-01": problem.BadRequest,
	} {
		code, body, _ := call(t, h, admin, "/v1/dossiers"+q)
		if code != 400 || body["type"] != want.URN() {
			t.Errorf("%s: %d %v, want 400 %s", q, code, body["type"], want)
		}
	}
}

func TestStats(t *testing.T) {
	h, _ := testHandler(t)
	rows := func(p *auth.Principal) []router.StatRow {
		req := httptest.NewRequest(http.MethodGet, "/v1/stats", nil)
		req = req.WithContext(auth.WithPrincipal(req.Context(), *p))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body struct{ Rows []router.StatRow }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		return body.Rows
	}
	want := []router.StatRow{
		{Procedure: landProc, Agency: "HCC", Role: "receiver", Received: 1, OverdueNow: 0},
		{Procedure: landProc, Agency: "VPDK", Role: "step", Received: 1, OverdueNow: 1},
		{Procedure: birthProc, Agency: "BHXH", Role: "step", Received: 1, Completed: 1, OnTime: 1},
		{Procedure: birthProc, Agency: "TUPHAP", Role: "step", Received: 1, Completed: 1, OnTime: 1},
		{Procedure: birthProc, Agency: "UBND", Role: "receiver", Received: 1, Completed: 1, OnTime: 1},
	}
	if got := rows(admin); !reflect.DeepEqual(got, want) {
		t.Fatalf("admin stats\n got %+v\nwant %+v", got, want)
	}
	if got := rows(agency("VPDK")); !reflect.DeepEqual(got, want[1:2]) {
		t.Fatalf("VPDK sees %+v", got)
	}
	// A period: both dossiers were received on 2026-03-03 (t0).
	period := func(q string) []router.StatRow {
		req := httptest.NewRequest(http.MethodGet, "/v1/stats"+q, nil)
		req = req.WithContext(auth.WithPrincipal(req.Context(), *admin))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body struct{ Rows []router.StatRow }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
			t.Fatalf("%s: %d %s", q, rec.Code, rec.Body)
		}
		return body.Rows
	}
	if got := period("?received_from=2026-03-01&received_to=2026-03-04"); !reflect.DeepEqual(got, want) {
		t.Errorf("the period holding both: %+v", got)
	}
	if got := period("?received_from=2026-03-04"); len(got) != 0 {
		t.Errorf("a period after both: %+v", got)
	}
	if got := period("?received_to=2026-03-03T01:15:00Z"); len(got) != 0 {
		t.Errorf("received_to is exclusive: %+v", got)
	}
	req := httptest.NewRequest(http.MethodGet, "/v1/stats?received_from=soon", nil)
	req = req.WithContext(auth.WithPrincipal(req.Context(), *admin))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), problem.BadRequest.URN()) {
		t.Errorf("a bad period: %d %s", rec.Code, rec.Body)
	}
}

// A store that is not open (or not answering) is a 503 with Retry-After,
// never a 500 or a hang.
func TestStoreUnavailable(t *testing.T) {
	h := Handler(func() (*store.Store, error) { return nil, errors.New("opening") }, Options{})
	for _, target := range []string{"/v1/dossiers/HCC-20260303-0001", "/v1/dossiers", "/v1/stats"} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req = req.WithContext(auth.WithPrincipal(req.Context(), *admin))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), problem.Unavailable.URN()) {
			t.Errorf("%s: %d %s", target, rec.Code, rec.Body)
		}
	}
}
