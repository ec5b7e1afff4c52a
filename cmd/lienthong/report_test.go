package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/internal/tracking"
	"github.com/lienthong/lienthong/router"
)

// `lienthong report` prints the handling report aligned, or its CSV.
func TestReportCommand(t *testing.T) {
	at := func(day, hh int) time.Time { return time.Date(2026, 3, day, hh, 0, 0, 0, hanoi) }
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := &router.State{Code: "HCC-20260302-0001", Procedure: "1.004227", Receiver: "HCC", Status: router.StatusReturned, Offset: 1,
		ReceivedAt: at(2, 9), DueAt: at(16, 17), ResultAt: at(16, 9), ClosedAt: at(17, 9)}
	if _, err := st.Apply(context.Background(), "state", 0, 1, []store.Record{{State: d}}); err != nil {
		t.Fatal(err)
	}
	h := tracking.Handler(func() (*store.Store, error) { return st, nil }, tracking.Options{Location: hanoi})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{Agency: "HCC"})))
	}))
	defer srv.Close()
	t.Setenv("LIENTHONG_TOKEN", "tok")

	code, out, errs := runCLI("report", "--url", srv.URL, "--from", "2026-03-01", "--to", "2026-03-31")
	if code != 0 || !strings.Contains(out, "Handling report 2026-03-01 to 2026-03-31 (ICT)") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	head, row := lines[len(lines)-2], lines[len(lines)-1]
	if f := strings.Fields(row); len(f) != 17 || strings.Join(f[:10], " ") != "1.004227 HCC receiver 1 1 0 1 0 1 0" {
		t.Errorf("row %q", row)
	}
	// Right-aligned numbers: each ends under its heading's end.
	if i := strings.Index(head, "ON TIME") + len("ON TIME"); len(row) < i || row[i-1] != '1' {
		t.Errorf("columns misaligned:\n%s\n%s", head, row)
	}
	code, out, _ = runCLI("report", "--url", srv.URL, "--from", "2026-03-01", "--to", "2026-03-31", "--csv")
	if code != 0 || !strings.HasPrefix(out, "procedure,agency,role,received,") || !strings.Contains(out, "\n1.004227,HCC,receiver,1,1,0,1,0,1,0,") {
		t.Errorf("csv: exit %d\n%s", code, out)
	}
	if code, _, errs := runCLI("report", "--url", srv.URL, "--from", "2026-03-31", "--to", "2026-03-01"); code != 1 || !strings.Contains(errs, "before from") {
		t.Errorf("a bad period: exit %d %s", code, errs)
	}
	if code, _, _ := runCLI("report", "--url", srv.URL, "--from", "2026-03-01"); code != 2 {
		t.Errorf("no --to: exit %d", code)
	}
}
