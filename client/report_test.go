package client_test

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/client"
	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/internal/tracking"
	"github.com/lienthong/lienthong/router"
)

// reportServer serves the tracking API from a store holding one dossier of
// March 2026 (Hanoi time): received by HCC, its verify step done early by
// VPDK, the dossier still open and late at the end of March. Tokens name
// the caller: "admin", else the agency code.
func reportServer(t *testing.T) string {
	t.Helper()
	hanoi := time.FixedZone("ICT", 7*3600)
	at := func(day, hh int) time.Time { return time.Date(2026, 3, day, hh, 0, 0, 0, hanoi) }
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	d := &router.State{Code: "HCC-20260302-0001", Procedure: "1.004227", Receiver: "HCC", Status: router.StatusProcessing, Offset: 1,
		ReceivedAt: at(2, 9), DueAt: at(16, 17), Steps: []router.StepState{
			{ID: "verify", Agency: "VPDK", Status: router.StepCompleted, AssignedAt: at(2, 9), DueAt: at(9, 17), CompletedAt: at(5, 9), OnTime: true},
			{ID: "tax", Agency: "THUE", Status: router.StepInProgress, AssignedAt: at(5, 9), DueAt: at(10, 17)},
		}}
	if _, err := st.Apply(context.Background(), "state", 0, 1, []store.Record{{State: d}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 4, 20, 9, 0, 0, 0, hanoi)
	h := tracking.Handler(func() (*store.Store, error) { return st, nil }, tracking.Options{Now: func() time.Time { return now }, Location: hanoi})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		p := auth.Principal{Admin: tok == "admin"}
		if !p.Admin {
			p.Agency = tok
		}
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHandlingReport(t *testing.T) {
	base := reportServer(t)
	ctx := context.Background()
	as := func(tok string) *client.Client {
		c, err := client.New(client.Config{BaseURL: base, Token: tok, RetryMax: -1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	march := client.ReportOptions{From: "2026-03-01", To: "2026-03-31"}
	r, err := as("admin").HandlingReport(ctx, march)
	if err != nil {
		t.Fatal(err)
	}
	want := []client.HandlingRow{
		{Procedure: "1.004227", Agency: "HCC", Role: "receiver", Received: 1, ReceivedNew: 1, InProgress: 1, InProgressLate: 1},
		{Procedure: "1.004227", Agency: "THUE", Role: "step", Received: 1, ReceivedNew: 1, InProgress: 1, InProgressLate: 1},
		{Procedure: "1.004227", Agency: "VPDK", Role: "step", Received: 1, ReceivedNew: 1, Done: 1, DoneEarly: 1},
	}
	if r.From != "2026-03-01" || r.To != "2026-03-31" || r.Timezone != "ICT" || len(r.Rows) != 3 {
		t.Fatalf("report %+v", r)
	}
	for i := range want {
		if r.Rows[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, r.Rows[i], want[i])
		}
	}
	// An agency sees its own row; another's filter, none.
	if r, err := as("VPDK").HandlingReport(ctx, march); err != nil || len(r.Rows) != 1 || r.Rows[0] != want[2] {
		t.Errorf("VPDK: %+v %v", r.Rows, err)
	}
	o := march
	o.Agency = "THUE"
	if r, err := as("VPDK").HandlingReport(ctx, o); err != nil || len(r.Rows) != 0 {
		t.Errorf("VPDK asking for THUE: %+v %v", r.Rows, err)
	}
	b, err := as("admin").HandlingReportCSV(ctx, march)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil || len(recs) != 4 || recs[0][0] != "procedure" || strings.Join(recs[3][:4], ",") != "1.004227,VPDK,step,1" {
		t.Fatalf("csv %q %v", recs, err)
	}
	// A bad period is a problem naming the parameter.
	_, err = as("admin").HandlingReport(ctx, client.ReportOptions{From: "2026-03-31", To: "2026-03-01"})
	var p *client.Problem
	if !errors.As(err, &p) || p.Status != 400 || p.Type != "urn:lienthong:problem:bad-request" || len(p.Errors) != 1 || p.Errors[0].Location != "to" {
		t.Errorf("to before from: %v", err)
	}
	if _, err := as("admin").HandlingReportCSV(ctx, client.ReportOptions{From: "2026-3-1", To: "2026-03-31"}); !errors.As(err, &p) || p.Errors[0].Location != "from" {
		t.Errorf("a bad from, as CSV: %v", err)
	}
}
