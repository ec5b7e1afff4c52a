package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/router"
)

// reportState is dossier i of a history received evenly over the months
// before May 2026 (LIENTHONG_BENCH_REPORT_MONTHS, default 15): three steps,
// most returned within 5 to 25 days, some still open, some refused.
func reportState(r *rand.Rand, i, n int) *router.State {
	months := 15
	if v, err := strconv.Atoi(os.Getenv("LIENTHONG_BENCH_REPORT_MONTHS")); err == nil && v > 2 {
		months = v
	}
	start := time.Date(2026, 5-time.Month(months), 1, 0, 0, 0, 0, time.UTC)
	span := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).Sub(start)
	at := start.Add(time.Duration(int64(span) / int64(n) * int64(i)))
	st := &router.State{Code: fmt.Sprintf("HCC-%09d", i), Procedure: []string{"1.004227", "2.000001", "1.000002"}[r.IntN(3)],
		Receiver: []string{"HCC", "UBND"}[r.IntN(2)], ReceivedAt: at, AcceptedAt: at, DueAt: at.Add(14 * 24 * time.Hour), Offset: 1}
	took := time.Duration(5+r.IntN(20)) * 24 * time.Hour
	end := at.Add(took)
	fate := r.IntN(100)
	if end.After(time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC)) || fate < 2 {
		st.Status = router.StatusProcessing
	} else if fate < 5 {
		st.Status, st.ClosedAt = router.StatusRejected, end
	} else {
		st.Status, st.ResultAt, st.ClosedAt = router.StatusReturned, end, end.Add(48*time.Hour)
	}
	t := at
	for j, a := range []string{"VPDK", "THUE", "VPDK"} {
		s := router.StepState{ID: fmt.Sprintf("s%d", j+1), Name: "Step", Agency: a, Status: router.StepPending, Deadline: router.Span{Days: 3}}
		switch {
		case st.Status == router.StatusReturned:
			s.Status, s.AssignedAt, s.DueAt, s.CompletedAt = router.StepCompleted, t, t.Add(72*time.Hour), t.Add(took/3)
			s.OnTime = !s.CompletedAt.After(s.DueAt)
		case j == 0:
			s.Status, s.AssignedAt, s.DueAt = router.StepInProgress, t, t.Add(72*time.Hour)
			if st.Status == router.StatusRejected {
				s.Status = router.StepCancelled
			}
		}
		t = t.Add(took / 3)
		st.Steps = append(st.Steps, s)
	}
	for j := 0; j < 6; j++ {
		typ := "dossier.status.changed"
		if j == 3 && r.IntN(10) == 0 {
			typ = "dossier.supplement.requested"
		}
		st.Timeline = append(st.Timeline, router.Entry{ID: fmt.Sprintf("e%d-%d", i, j), Type: typ, Source: "urn:lienthong:router",
			Time: at.Add(time.Duration(j) * took / 6), Step: "s1"})
	}
	return st
}

// BenchmarkReport: the handling report of March 2026 over a history of
// LIENTHONG_BENCH_REPORT_N dossiers (default 150,000) received over
// LIENTHONG_BENCH_REPORT_MONTHS months (default 15): admin, one agency, one
// procedure; without store.EndedIndex (lookback, dropped for the purpose),
// then with it (ended, as migration 4 makes every store).
func BenchmarkReport(b *testing.B) {
	n := 150000
	if v, err := strconv.Atoi(os.Getenv("LIENTHONG_BENCH_REPORT_N")); err == nil && v > 0 {
		n = v
	}
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			s := benchStores(b)[db](b)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(5, 6))
			for i := 0; i < n; i += 1000 {
				recs := make([]store.Record, 0, 1000)
				for j := i; j < min(i+1000, n); j++ {
					recs = append(recs, store.Record{State: reportState(r, j, n), StateOffset: int64(j)})
				}
				if _, err := s.Apply(ctx, "t", 0, int64(i), recs); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
				b.Fatal(err)
			}
			q := store.ReportQuery{Viewer: store.Viewer{Admin: true}, From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
				To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
			// Migration 4 created store.EndedIndex: the lookback mode runs
			// without it (as a store that lost it would), then it comes back.
			if _, err := s.DB().ExecContext(ctx, `DROP INDEX `+store.EndedIndex); err != nil {
				b.Fatal(err)
			}
			for _, mode := range []string{"lookback", "ended"} {
				if mode == "ended" {
					if _, err := s.DB().ExecContext(ctx, `CREATE INDEX `+store.EndedIndex+` ON dossiers ((COALESCE(result_at, closed_at)))`); err != nil {
						b.Fatal(err)
					}
					if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
						b.Fatal(err)
					}
				}
				for _, c := range []struct {
					name string
					q    func(store.ReportQuery) store.ReportQuery
				}{
					{"admin", func(q store.ReportQuery) store.ReportQuery { return q }},
					{"agency", func(q store.ReportQuery) store.ReportQuery { q.Viewer = store.Viewer{Agency: "THUE"}; return q }},
					{"procedure", func(q store.ReportQuery) store.ReportQuery { q.Procedure = "1.004227"; return q }},
				} {
					b.Run(mode+"/"+c.name, func(b *testing.B) {
						for b.Loop() {
							if _, err := s.Report(ctx, c.q(q)); err != nil {
								b.Fatal(err)
							}
						}
					})
				}
			}
		})
	}
}
