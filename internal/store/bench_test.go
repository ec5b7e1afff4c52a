package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/router"
)

var benchBase = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// benchState is the benchmark's dossier i: 3 steps, 8 timeline entries. It
// is received in arrival order (i seconds after benchBase, give or take a
// minute), or with shuffled, at a random time in 30 days: then every batch
// writes all over the time indexes, the worst case.
func benchState(r *rand.Rand, i int, ev int64, shuffled bool) *router.State {
	at := benchBase.Add(time.Duration(i)*time.Second + time.Duration(r.IntN(120)-60)*time.Second)
	if shuffled {
		at = benchBase.Add(time.Duration(r.IntN(30*24*3600)) * time.Second)
	}
	st := &router.State{Code: fmt.Sprintf("HS-%09d", i), Procedure: "business-licence", Receiver: "ward-1",
		Status: router.StatusProcessing, ReceivedAt: at, AcceptedAt: at, DueAt: at.Add(10 * 24 * time.Hour), Offset: ev}
	for j, a := range []string{"ward-1", "tax-office", "district-justice"} {
		s := router.StepState{ID: fmt.Sprintf("s%d", j+1), Name: "Step", Agency: a, Status: router.StepInProgress,
			Deadline: router.Span{Days: 3}, AssignedAt: at, DueAt: at.Add(3 * 24 * time.Hour)}
		if j > 0 {
			s.After = []string{fmt.Sprintf("s%d", j)}
		}
		st.Steps = append(st.Steps, s)
	}
	for j := 0; j < 8; j++ {
		st.Timeline = append(st.Timeline, router.Entry{ID: fmt.Sprintf("ev-%d-%d", i, j), Type: "dossier.step_assigned",
			Source: "lienthong.router", Time: at.Add(time.Duration(j) * time.Minute), Step: "s1", Status: "in_progress", To: "tax-office"})
	}
	return st
}

func benchStores(b *testing.B) map[string]func(b *testing.B) *store.Store {
	return map[string]func(b *testing.B) *store.Store{
		"sqlite": func(b *testing.B) *store.Store { return openSQLite(b) },
		"postgres": func(b *testing.B) *store.Store {
			admin, u := pgAdmin(b)
			return openPostgres(b, admin, u)
		},
	}
}

// BenchmarkApply: batches of 500 new dossiers (insert: in arrival order;
// insert-shuffled: received at random times), and of 500 next versions of
// existing dossiers with one more timeline entry (update). dossiers/s counts
// the time spent in Apply only.
func BenchmarkApply(b *testing.B) {
	const batch = 500
	for _, db := range []string{"sqlite", "postgres"} {
		for _, mode := range []string{"insert", "insert-shuffled", "update"} {
			b.Run(db+"/"+mode, func(b *testing.B) {
				s := benchStores(b)[db](b)
				r := rand.New(rand.NewPCG(1, 2))
				ctx := context.Background()
				var prev []*router.State
				if mode == "update" {
					for i := 0; i < 20*batch; i += batch {
						recs := make([]store.Record, batch)
						for j := range recs {
							st := benchState(r, i+j, 1, false)
							recs[j] = store.Record{State: st}
							prev = append(prev, st)
						}
						if _, err := s.Apply(ctx, "t", 0, 0, recs); err != nil {
							b.Fatal(err)
						}
					}
				}
				written := 0
				var spent time.Duration // in Apply alone
				for n := 0; b.Loop(); n++ {
					recs := make([]store.Record, batch)
					for j := range recs {
						var st *router.State
						if mode != "update" {
							st = benchState(r, n*batch+j, 1, mode == "insert-shuffled")
						} else {
							k := (n*batch + j) % len(prev)
							st = prev[k].Clone()
							st.Offset++
							st.Steps[0].Status = router.StepCompleted
							st.Timeline = append(st.Timeline, router.Entry{ID: fmt.Sprint("u", st.Offset), Type: "x", Source: "y", Time: benchBase})
							prev[k] = st
						}
						recs[j] = store.Record{State: st, StateOffset: int64(n*batch + j)}
					}
					t0 := time.Now()
					w, err := s.Apply(ctx, "t", 0, int64(n*batch+batch), recs)
					spent += time.Since(t0)
					if err != nil {
						b.Fatal(err)
					}
					written += w
				}
				b.ReportMetric(float64(written)/spent.Seconds(), "dossiers/s")
			})
		}
	}
}

// BenchmarkRead: Get by code and a 50-item List page (admin, and an agency
// with a status filter) over 20,000 dossiers.
func BenchmarkRead(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			s := benchStores(b)[db](b)
			r := rand.New(rand.NewPCG(3, 4))
			ctx := context.Background()
			const n = 20000
			for i := 0; i < n; i += 500 {
				recs := make([]store.Record, 500)
				for j := range recs {
					st := benchState(r, i+j, 1, true)
					st.Status = []string{router.StatusReceived, router.StatusProcessing, router.StatusResultReady}[r.IntN(3)]
					st.Receiver = []string{"ward-1", "ward-2", "ward-3"}[r.IntN(3)]
					st.Steps[1].Agency = []string{"tax-office", "police", "land-office", "customs"}[r.IntN(4)]
					recs[j] = store.Record{State: st}
				}
				if _, err := s.Apply(ctx, "t", 0, 0, recs); err != nil {
					b.Fatal(err)
				}
			}
			// Steady state: the planner has statistics (autovacuum would
			// gather them within a minute of such a load).
			if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
				b.Fatal(err)
			}
			b.Run("Get", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Get(ctx, fmt.Sprintf("HS-%09d", r.IntN(n))); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("List/admin", func(b *testing.B) {
				for b.Loop() {
					if _, _, err := s.List(ctx, store.Query{Viewer: store.Viewer{Admin: true}, Now: benchBase}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("List/agency-status-page3", func(b *testing.B) {
				q := store.Query{Viewer: store.Viewer{Agency: "police"}, Status: router.StatusProcessing, Now: benchBase}
				for b.Loop() {
					q.Cursor = ""
					for p := 0; p < 3; p++ {
						_, next, err := s.List(ctx, q)
						if err != nil {
							b.Fatal(err)
						}
						q.Cursor = next
					}
				}
			})
			b.Run("List/overdue", func(b *testing.B) {
				over := true
				for b.Loop() {
					if _, _, err := s.List(ctx, store.Query{Viewer: store.Viewer{Admin: true}, Overdue: &over, Now: benchBase.Add(20 * 24 * time.Hour)}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Stats", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Stats(ctx, store.StatsQuery{Viewer: store.Viewer{Admin: true}, Now: benchBase}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
