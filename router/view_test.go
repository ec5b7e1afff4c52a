package router

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/problem"
)

// testView holds two dossiers: a land dossier at HCC whose verify step is
// late, and a birth dossier at UBND finished on time.
func testView(t *testing.T) *View {
	e := NewEngine(testRoutes())
	now := t0.Add(6 * 24 * time.Hour)
	v := &View{now: func() time.Time { return now }, dossiers: map[string]*State{}}
	land, _ := mustApply(t, e, nil, submitEv("HCC", "HCC-20260303-0001", landProc, "a"), t0)
	land, _ = e.Tick(land, now)
	land.Offset = 5
	birth := (*State)(nil)
	for i, ev := range []event.Event{
		submitEv("UBND", "UBND-20260303-0002", birthProc, "b1"),
		completeEv("TUPHAP", "UBND-20260303-0002", "birth", "b2"),
		completeEv("CONGAN", "UBND-20260303-0002", "residence", "b3"),
		completeEv("BHXH", "UBND-20260303-0002", "insurance", "b4"),
	} {
		birth, _ = mustApply(t, e, birth, ev, t0.Add(time.Duration(i)*time.Hour))
	}
	birth.Offset = 9
	for _, st := range []*State{land, birth} {
		b, _ := json.Marshal(st)
		v.put(b)
	}
	// An older state arriving late does not win.
	old, _ := json.Marshal(&State{Code: land.Code, Status: StatusReceived, Offset: 1})
	v.put(old)
	return v
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

func TestDossierHandler(t *testing.T) {
	h := testView(t).Handler()
	agency := func(a string) *auth.Principal { return &auth.Principal{Agency: a} }
	cases := []struct {
		name   string
		p      *auth.Principal
		code   string
		status int
		ptype  problem.Type
	}{
		{"receiver", agency("HCC"), "HCC-20260303-0001", 200, ""},
		{"agency on the route", agency("THUE"), "HCC-20260303-0001", 200, ""},
		{"admin", &auth.Principal{Admin: true}, "HCC-20260303-0001", 200, ""},
		{"agency off the route gets 404", agency("BHXH"), "HCC-20260303-0001", 404, problem.NotFound},
		{"unknown dossier", agency("HCC"), "HCC-20260303-9999", 404, problem.NotFound},
		{"no caller", nil, "HCC-20260303-0001", 401, problem.Unauthorized},
	}
	for _, tc := range cases {
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
			if body["status"] != StatusProcessing || body["portal_status"] != 4.0 || body["overdue"] != true {
				t.Fatalf("dossier %s", raw)
			}
			steps := body["steps"].([]any)
			verify := steps[0].(map[string]any)
			if verify["id"] != "verify" || verify["agency"] != "VPDK" || verify["status"] != StepInProgress || verify["overdue"] != true || verify["assigned_at"] == nil {
				t.Fatalf("verify step %v", verify)
			}
			if tl := body["timeline"].([]any); len(tl) != 6 { // submitted, 2 status, assigned, 2 overdue
				t.Fatalf("timeline %v", tl)
			}
			if strings.Contains(raw, "001234567890") || strings.Contains(raw, "Nguyen") {
				t.Fatal("tracking leaks personal data")
			}
		})
	}
	// The finished birth dossier marks its steps on time.
	_, body, _ := call(t, h, agency("BHXH"), "/v1/dossiers/UBND-20260303-0002")
	for _, s := range body["steps"].([]any) {
		if s.(map[string]any)["on_time"] != true {
			t.Fatalf("step %v not on time", s)
		}
	}
}

func TestListHandler(t *testing.T) {
	h := testView(t).Handler()
	admin := &auth.Principal{Admin: true}
	codes := func(body map[string]any) []string {
		var out []string
		for _, it := range body["items"].([]any) {
			out = append(out, it.(map[string]any)["code"].(string))
		}
		return out
	}
	cases := []struct {
		name  string
		p     *auth.Principal
		query string
		want  []string
	}{
		{"admin sees all", admin, "", []string{"HCC-20260303-0001", "UBND-20260303-0002"}},
		{"receiver sees its own", &auth.Principal{Agency: "HCC"}, "", []string{"HCC-20260303-0001"}},
		{"route agency", &auth.Principal{Agency: "CONGAN"}, "", []string{"UBND-20260303-0002"}},
		{"no match", &auth.Principal{Agency: "OTHER"}, "", nil},
		{"by status", admin, "?status=result_ready", []string{"UBND-20260303-0002"}},
		{"by agency", admin, "?agency=THUE", []string{"HCC-20260303-0001"}},
		{"overdue", admin, "?overdue=true", []string{"HCC-20260303-0001"}},
		{"not overdue", admin, "?overdue=false", []string{"UBND-20260303-0002"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, raw := call(t, h, tc.p, "/v1/dossiers"+tc.query)
			if code != 200 || !reflect.DeepEqual(codes(body), tc.want) {
				t.Fatalf("%d %s, want %v", code, raw, tc.want)
			}
		})
	}
	// Paging with the cursor.
	_, p1, _ := call(t, h, admin, "/v1/dossiers?limit=1")
	next, _ := p1["next"].(string)
	if got := codes(p1); len(got) != 1 || got[0] != "HCC-20260303-0001" || next == "" {
		t.Fatalf("page 1: %v next %q", got, next)
	}
	_, p2, _ := call(t, h, admin, "/v1/dossiers?limit=1&cursor="+next)
	if got := codes(p2); len(got) != 1 || got[0] != "UBND-20260303-0002" || p2["next"] != "" {
		t.Fatalf("page 2: %v next %v", got, p2["next"])
	}
	for q, want := range map[string]problem.Type{
		"?status=bogus": problem.BadRequest, "?overdue=maybe": problem.BadRequest,
		"?limit=0": problem.BadRequest, "?cursor=%21%21": problem.BadCursor,
	} {
		code, body, _ := call(t, h, admin, "/v1/dossiers"+q)
		if code != 400 || body["type"] != want.URN() {
			t.Errorf("%s: %d %v, want 400 %s", q, code, body["type"], want)
		}
	}
}

func TestStatsHandler(t *testing.T) {
	h := testView(t).Handler()
	rows := func(p *auth.Principal) []StatRow {
		req := httptest.NewRequest(http.MethodGet, "/v1/stats", nil)
		req = req.WithContext(auth.WithPrincipal(req.Context(), *p))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body struct{ Rows []StatRow }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		return body.Rows
	}
	all := rows(&auth.Principal{Admin: true})
	want := []StatRow{
		{Procedure: landProc, Agency: "HCC", Role: "receiver", Received: 1, OverdueNow: 0},
		{Procedure: landProc, Agency: "VPDK", Role: "step", Received: 1, OverdueNow: 1},
		{Procedure: birthProc, Agency: "BHXH", Role: "step", Received: 1, Completed: 1, OnTime: 1},
		{Procedure: birthProc, Agency: "CONGAN", Role: "step", Received: 1, Completed: 1, OnTime: 1},
		{Procedure: birthProc, Agency: "TUPHAP", Role: "step", Received: 1, Completed: 1, OnTime: 1},
		{Procedure: birthProc, Agency: "UBND", Role: "receiver", Received: 1, Completed: 1, OnTime: 1},
	}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("admin stats\n got %+v\nwant %+v", all, want)
	}
	if got := rows(&auth.Principal{Agency: "VPDK"}); !reflect.DeepEqual(got, want[1:2]) {
		t.Fatalf("VPDK sees %+v", got)
	}
}

func authAdmin() auth.Principal { return auth.Principal{Admin: true} }
