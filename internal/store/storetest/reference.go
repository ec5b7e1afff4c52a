package storetest

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/router"
)

// The expected answers, computed in Go over the applied states with the
// router's own predicates (OnRoute, AnyOverdueAt, OverdueAt, Open, Paused).

func canSee(v store.Viewer, st *router.State) bool {
	return v.Admin || (v.Agency != "" && st.OnRoute(v.Agency))
}

// inRange treats the zero time as the earliest instant, as Go does.
func inRange(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

func wantList(states map[string]*router.State, q store.Query) []router.Summary {
	var hits []*router.State
	for _, st := range states {
		if !canSee(q.Viewer, st) ||
			(q.Status != "" && st.Status != q.Status) ||
			(q.Agency != "" && !st.OnRoute(q.Agency)) ||
			(q.Procedure != "" && st.Procedure != q.Procedure) ||
			(q.Overdue != nil && st.AnyOverdueAt(q.Now) != *q.Overdue) ||
			!inRange(st.ReceivedAt, q.ReceivedFrom, q.ReceivedTo) ||
			!inRange(st.DueAt, q.DueFrom, q.DueTo) {
			continue
		}
		hits = append(hits, st)
	}
	sortStates(hits)
	out := make([]router.Summary, len(hits))
	for i, st := range hits {
		out[i] = summarize(st, q.Now)
	}
	return out
}

func sortStates(sts []*router.State) {
	slices.SortFunc(sts, func(a, b *router.State) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Code, b.Code)
	})
}

// summarize is router/view.go's, times in UTC.
func summarize(st *router.State, now time.Time) router.Summary {
	st = normalize(st)
	s := router.Summary{Code: st.Code, Procedure: st.Procedure, Receiver: st.Receiver, Status: st.Status,
		PortalStatus: router.PortalStatus(st.Status), Overdue: st.AnyOverdueAt(now), ReceivedAt: st.ReceivedAt, DueAt: st.DueAt,
		OpenSteps: []string{}}
	for _, s2 := range st.Steps {
		if s2.Status == router.StepInProgress {
			s.OpenSteps = append(s.OpenSteps, s2.ID)
		}
	}
	return s
}

// wantStats is router/view.go's (*View).Stats over states.
func wantStats(states map[string]*router.State, v store.Viewer, now time.Time) []router.StatRow {
	type key struct{ proc, agency, role string }
	rows := map[key]*router.StatRow{}
	row := func(proc, agency, role string) *router.StatRow {
		k := key{proc, agency, role}
		r := rows[k]
		if r == nil {
			r = &router.StatRow{Procedure: proc, Agency: agency, Role: role}
			rows[k] = r
		}
		return r
	}
	mine := func(agency string) bool { return v.Admin || (v.Agency != "" && agency == v.Agency) }
	for _, st := range states {
		if mine(st.Receiver) {
			r := row(st.Procedure, st.Receiver, "receiver")
			r.Received++
			switch {
			case !st.ResultAt.IsZero():
				r.Completed++
				// An apology's new appointment does not make it on time.
				if st.ResultAt.After(st.DueAt) || !st.OriginalDueAt.IsZero() {
					r.Late++
				} else {
					r.OnTime++
				}
			case st.Open() && st.OverdueAt(now):
				r.OverdueNow++
			}
		}
		for i := range st.Steps {
			s := &st.Steps[i]
			if s.AssignedAt.IsZero() || !mine(s.Agency) {
				continue
			}
			r := row(st.Procedure, s.Agency, "step")
			r.Received++
			switch {
			case s.Status == router.StepCompleted:
				r.Completed++
				if s.OnTime {
					r.OnTime++
				} else {
					r.Late++
				}
			case s.Status == router.StepInProgress && s.OverdueAt(now, st.Paused()):
				r.OverdueNow++
			}
		}
	}
	out := make([]router.StatRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Procedure != b.Procedure {
			return a.Procedure < b.Procedure
		}
		if a.Agency != b.Agency {
			return a.Agency < b.Agency
		}
		return a.Role < b.Role
	})
	return out
}
