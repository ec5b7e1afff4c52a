package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/router"
)

// The handling report over dossiers of known histories. Times are in
// Hanoi time (+07:00), the calendar's zone: the period March 2026 is
// [2026-03-01 00:00+07, 2026-04-01 00:00+07). Each dossier's comment says
// what it must count for; the expected rows below add them up.

const (
	repLand  = "1.004227" // HCC receives; verify (VPDK) -> tax (THUE) -> certificate (VPDK)
	repBirth = "2.000001" // UBND receives; birth (TUPHAP) -> residence (CA) and insurance (BHXH)
)

func repAt(y int, m time.Month, day, hh, mm int) time.Time {
	return time.Date(y, m, day, hh, mm, 0, 0, hanoi)
}

func mar(day, hh, mm int) time.Time { return repAt(2026, time.March, day, hh, mm) }

// repStep is a step; a completed one is on time when done by its due time
// (the router's rule).
func repStep(id, agency, status string, assigned, due, completed time.Time) router.StepState {
	return router.StepState{ID: id, Name: id, Agency: agency, Status: status, Deadline: router.Span{Days: 1},
		AssignedAt: assigned, DueAt: due, CompletedAt: completed,
		OnTime: status == router.StepCompleted && !completed.After(due)}
}

// apologised is a step whose due time an apology moved from first: the
// router counts it late (OnTime by the first due time).
func apologised(s router.StepState, first time.Time) router.StepState {
	s.OriginalDueAt = first
	s.OnTime = s.Status == router.StepCompleted && !s.CompletedAt.After(first)
	return s
}

func repEntry(typ, agency, step string, at time.Time) router.Entry {
	return router.Entry{ID: fmt.Sprintf("%s-%s-%d", typ, step, at.Unix()), Type: typ,
		Source: "urn:lienthong:agency:" + agency, Time: at, Step: step}
}

type repDossier struct {
	code, proc, receiver, status          string
	received, due, result, closed, paused time.Time
	originalDue                           time.Time // an apology moved due from it
	steps                                 []router.StepState
	timeline                              []router.Entry
}

func (d repDossier) state(off int64) *router.State {
	st := &router.State{Code: d.code, Procedure: d.proc, Receiver: d.receiver, Status: d.status,
		ReceivedAt: d.received, AcceptedAt: d.received, DueAt: d.due, ResultAt: d.result, ClosedAt: d.closed,
		PausedAt: d.paused, OriginalDueAt: d.originalDue, Steps: d.steps, Offset: off}
	st.Timeline = append([]router.Entry{repEntry("dossier.submitted", d.receiver, "", d.received)}, d.timeline...)
	return st
}

var z time.Time // no such time

func repDossiers() []repDossier {
	const (
		done      = router.StepCompleted
		open      = router.StepInProgress
		pending   = router.StepPending
		cancelled = router.StepCancelled
		rejected  = "rejected" // the step whose agency refused the dossier
	)
	return []repDossier{
		// D1: new; result before its due day: early. VPDK: verify early,
		// certificate late. THUE: tax on its due day: on time.
		{code: "HCC-20260302-0001", proc: repLand, receiver: "HCC", status: router.StatusResultReady,
			received: mar(2, 9, 0), due: mar(16, 17, 0), result: mar(13, 8, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, mar(2, 9, 0), mar(9, 17, 0), mar(5, 10, 0)),
				repStep("tax", "THUE", done, mar(5, 10, 0), mar(10, 10, 0), mar(10, 9, 0)),
				repStep("certificate", "VPDK", done, mar(10, 9, 0), mar(12, 9, 0), mar(13, 8, 0)),
			}},
		// D2: new; result on the due day before the due time: on time.
		// VPDK: early, on time. THUE: done exactly at its due time: on time.
		{code: "HCC-20260303-0002", proc: repLand, receiver: "HCC", status: router.StatusReturned,
			received: mar(3, 8, 0), due: mar(17, 17, 0), result: mar(17, 16, 0), closed: mar(18, 9, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, mar(3, 8, 0), mar(10, 17, 0), mar(6, 8, 0)),
				repStep("tax", "THUE", done, mar(6, 8, 0), mar(12, 17, 0), mar(12, 17, 0)),
				repStep("certificate", "VPDK", done, mar(12, 17, 0), mar(17, 17, 0), mar(17, 16, 0)),
			}},
		// D3: new; result after its due time: late. VPDK: late, on time.
		// THUE: late.
		{code: "HCC-20260304-0003", proc: repLand, receiver: "HCC", status: router.StatusReturned,
			received: mar(4, 8, 0), due: mar(18, 17, 0), result: mar(20, 10, 0), closed: mar(25, 9, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, mar(4, 8, 0), mar(11, 17, 0), mar(12, 10, 0)),
				repStep("tax", "THUE", done, mar(12, 10, 0), mar(17, 10, 0), mar(18, 8, 0)),
				repStep("certificate", "VPDK", done, mar(18, 8, 0), mar(20, 17, 0), mar(20, 10, 0)),
			}},
		// D4: carried over (received in February), early. THUE: tax
		// carried over, on time. VPDK: verify ended before the period (not
		// counted), certificate new, on time.
		{code: "HCC-20260220-0004", proc: repLand, receiver: "HCC", status: router.StatusReturned,
			received: repAt(2026, 2, 20, 8, 0), due: mar(5, 17, 0), result: mar(4, 10, 0), closed: mar(6, 9, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, repAt(2026, 2, 20, 8, 0), repAt(2026, 2, 27, 17, 0), repAt(2026, 2, 25, 10, 0)),
				repStep("tax", "THUE", done, repAt(2026, 2, 25, 10, 0), mar(2, 17, 0), mar(2, 9, 0)),
				repStep("certificate", "VPDK", done, mar(2, 9, 0), mar(4, 17, 0), mar(4, 10, 0)),
			}},
		// D5: carried over from January, in progress and late at the end.
		// THUE: tax carried over, in progress, late.
		{code: "HCC-20260110-0005", proc: repLand, receiver: "HCC", status: router.StatusProcessing,
			received: repAt(2026, 1, 10, 8, 0), due: repAt(2026, 1, 24, 17, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, repAt(2026, 1, 10, 8, 0), repAt(2026, 1, 15, 17, 0), repAt(2026, 1, 15, 10, 0)),
				repStep("tax", "THUE", open, repAt(2026, 1, 15, 10, 0), repAt(2026, 1, 20, 17, 0), z),
				repStep("certificate", "VPDK", pending, z, z, z),
			}},
		// D6: received and finished before the period: not counted.
		{code: "HCC-20260105-0006", proc: repLand, receiver: "HCC", status: router.StatusReturned,
			received: repAt(2026, 1, 5, 8, 0), due: repAt(2026, 1, 19, 17, 0), result: repAt(2026, 2, 10, 8, 0), closed: repAt(2026, 2, 12, 8, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, repAt(2026, 1, 5, 8, 0), repAt(2026, 1, 9, 17, 0), repAt(2026, 1, 9, 8, 0)),
				repStep("tax", "THUE", done, repAt(2026, 1, 9, 8, 0), repAt(2026, 1, 14, 17, 0), repAt(2026, 2, 5, 8, 0)),
				repStep("certificate", "VPDK", done, repAt(2026, 2, 5, 8, 0), repAt(2026, 2, 9, 17, 0), repAt(2026, 2, 10, 8, 0)),
			}},
		// D7: new, refused by VPDK (its step marked rejected). VPDK: refused.
		{code: "HCC-20260310-0007", proc: repLand, receiver: "HCC", status: router.StatusRejected,
			received: mar(10, 8, 0), due: mar(24, 17, 0), closed: mar(12, 10, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", rejected, mar(10, 8, 0), mar(17, 17, 0), z),
				repStep("tax", "THUE", cancelled, z, z, z),
				repStep("certificate", "VPDK", cancelled, z, z, z),
			},
			timeline: []router.Entry{repEntry("dossier.rejected", "VPDK", "verify", mar(12, 10, 0))}},
		// D8: new, refused by THUE, whose step the router (before steps
		// were marked rejected) cancelled: the timeline names it. VPDK:
		// verify early. THUE: refused.
		{code: "HCC-20260311-0008", proc: repLand, receiver: "HCC", status: router.StatusRejected,
			received: mar(11, 8, 0), due: mar(25, 17, 0), closed: mar(20, 10, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, mar(11, 8, 0), mar(18, 17, 0), mar(13, 8, 0)),
				repStep("tax", "THUE", cancelled, mar(13, 8, 0), mar(18, 17, 0), z),
				repStep("certificate", "VPDK", cancelled, z, z, z),
			},
			timeline: []router.Entry{repEntry("dossier.rejected", "THUE", "tax", mar(20, 10, 0))}},
		// D9: new, withdrawn. VPDK: verify withdrawn.
		{code: "HCC-20260315-0009", proc: repLand, receiver: "HCC", status: router.StatusWithdrawn,
			received: mar(15, 8, 0), due: mar(29, 17, 0), closed: mar(18, 10, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", cancelled, mar(15, 8, 0), mar(22, 17, 0), z),
				repStep("tax", "THUE", cancelled, z, z, z),
				repStep("certificate", "VPDK", cancelled, z, z, z),
			},
			timeline: []router.Entry{repEntry("dossier.withdrawn", "HCC", "", mar(18, 10, 0))}},
		// D10: new, a supplement requested and still awaited at the end: due
		// (Mar 31 17:00) before the end, but the clock stopped on Mar 25,
		// before it: in progress, on time. VPDK: the same for verify.
		{code: "HCC-20260320-0010", proc: repLand, receiver: "HCC", status: router.StatusAwaitingSupplement,
			received: mar(20, 8, 0), due: mar(31, 17, 0), paused: mar(25, 10, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", open, mar(20, 8, 0), mar(27, 17, 0), z),
				repStep("tax", "THUE", pending, z, z, z),
				repStep("certificate", "VPDK", pending, z, z, z),
			},
			timeline: []router.Entry{
				repEntry("dossier.supplement.requested", "VPDK", "verify", mar(25, 10, 0)),
				{ID: "sc-10", Type: "dossier.status.changed", Source: "urn:lienthong:router", Time: mar(25, 10, 0), Step: "verify", Status: router.StatusAwaitingSupplement, To: "HCC"},
			}},
		// D11: new, refused by CA while BHXH's step was open. UBND: refused.
		// TUPHAP: birth on its due day: on time. CA: refused. BHXH: cancelled.
		{code: "UBND-20260305-0011", proc: repBirth, receiver: "UBND", status: router.StatusRejected,
			received: mar(5, 8, 0), due: mar(12, 17, 0), closed: mar(9, 10, 0),
			steps: []router.StepState{
				repStep("birth", "TUPHAP", done, mar(5, 8, 0), mar(5, 17, 0), mar(5, 15, 0)),
				repStep("residence", "CA", rejected, mar(5, 15, 0), mar(10, 17, 0), z),
				repStep("insurance", "BHXH", cancelled, mar(5, 15, 0), mar(9, 17, 0), z),
			},
			timeline: []router.Entry{repEntry("dossier.rejected", "CA", "residence", mar(9, 10, 0))}},
		// D12: new, result ready after the period (due after it): in
		// progress, on time. VPDK: verify done after the period, due before
		// its end: in progress, late; the certificate was assigned after the
		// period: not counted.
		{code: "HCC-20260325-0012", proc: repLand, receiver: "HCC", status: router.StatusResultReady,
			received: mar(25, 8, 0), due: repAt(2026, 4, 8, 17, 0), result: repAt(2026, 4, 5, 10, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, mar(25, 8, 0), mar(31, 17, 0), repAt(2026, 4, 2, 10, 0)),
				repStep("tax", "THUE", done, repAt(2026, 4, 2, 10, 0), repAt(2026, 4, 3, 17, 0), repAt(2026, 4, 3, 10, 0)),
				repStep("certificate", "VPDK", done, repAt(2026, 4, 3, 10, 0), repAt(2026, 4, 7, 17, 0), repAt(2026, 4, 5, 10, 0)),
			}},
		// D13: received after the period: not counted (nor in May: it ended
		// in April).
		{code: "HCC-20260402-0013", proc: repLand, receiver: "HCC", status: router.StatusReturned,
			received: repAt(2026, 4, 2, 8, 0), due: repAt(2026, 4, 16, 17, 0), result: repAt(2026, 4, 20, 8, 0), closed: repAt(2026, 4, 21, 8, 0)},
		// D14: received in 2024 (before the lookback), awaiting a payment
		// since before its due time: carried over, in progress, on time. Its
		// steps ended in 2024.
		{code: "HCC-20241201-0014", proc: repLand, receiver: "HCC", status: "awaiting_payment",
			received: repAt(2024, 12, 1, 8, 0), due: repAt(2025, 1, 20, 17, 0), paused: repAt(2025, 1, 10, 10, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, repAt(2024, 12, 1, 8, 0), repAt(2024, 12, 10, 17, 0), repAt(2024, 12, 10, 8, 0)),
				repStep("tax", "THUE", done, repAt(2024, 12, 10, 8, 0), repAt(2024, 12, 20, 17, 0), repAt(2025, 1, 10, 10, 0)),
				repStep("certificate", "VPDK", pending, z, z, z),
			}},
		// D15: filed online, refused at reception: new, refused.
		{code: "HCC-20260328-0015", proc: repLand, receiver: "HCC", status: "refused",
			received: mar(28, 8, 0), closed: mar(29, 9, 0),
			steps: []router.StepState{repStep("verify", "VPDK", pending, z, z, z)}},
		// D16: filed online, not yet accepted, no due time yet: new, in
		// progress, on time.
		{code: "HCC-20260330-0016", proc: repLand, receiver: "HCC", status: "registered",
			received: mar(30, 8, 0),
			steps:    []router.StepState{repStep("verify", "VPDK", pending, z, z, z)}},
		// D17: received in November 2025 (within the lookback), its result
		// in March, late: carried over, done late. VPDK: the certificate
		// carried over, late.
		{code: "HCC-20251101-0017", proc: repLand, receiver: "HCC", status: router.StatusReturned,
			received: repAt(2025, 11, 1, 8, 0), due: repAt(2025, 11, 15, 17, 0), result: mar(3, 10, 0), closed: mar(5, 10, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, repAt(2025, 11, 1, 8, 0), repAt(2025, 11, 5, 17, 0), repAt(2025, 11, 5, 8, 0)),
				repStep("tax", "THUE", done, repAt(2025, 11, 5, 8, 0), repAt(2025, 11, 10, 17, 0), repAt(2025, 11, 10, 8, 0)),
				repStep("certificate", "VPDK", done, repAt(2025, 11, 10, 8, 0), repAt(2025, 11, 12, 17, 0), mar(3, 10, 0)),
			}},
		// D18: new, result early, then withdrawn: done (early), not
		// withdrawn. VPDK: 2 early. THUE: early.
		{code: "HCC-20260306-0018", proc: repLand, receiver: "HCC", status: router.StatusWithdrawn,
			received: mar(6, 8, 0), due: mar(20, 17, 0), result: mar(9, 10, 0), closed: mar(10, 10, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, mar(6, 8, 0), mar(13, 17, 0), mar(7, 8, 0)),
				repStep("tax", "THUE", done, mar(7, 8, 0), mar(12, 17, 0), mar(8, 8, 0)),
				repStep("certificate", "VPDK", done, mar(8, 8, 0), mar(10, 17, 0), mar(9, 10, 0)),
			}},
		// D19: carried over; supplements requested in February and twice in
		// March (counted once); early. VPDK: verify carried over, early, a
		// supplement; certificate on time. THUE: early.
		{code: "HCC-20260225-0019", proc: repLand, receiver: "HCC", status: router.StatusReturned,
			received: repAt(2026, 2, 25, 8, 0), due: mar(12, 17, 0), result: mar(10, 10, 0), closed: mar(11, 8, 0),
			steps: []router.StepState{
				repStep("verify", "VPDK", done, repAt(2026, 2, 25, 8, 0), mar(10, 17, 0), mar(9, 10, 0)),
				repStep("tax", "THUE", done, mar(9, 10, 0), mar(10, 12, 0), mar(9, 16, 0)),
				repStep("certificate", "VPDK", done, mar(9, 16, 0), mar(10, 16, 0), mar(10, 10, 0)),
			},
			timeline: []router.Entry{
				repEntry("dossier.supplement.requested", "VPDK", "verify", repAt(2026, 2, 27, 10, 0)),
				repEntry("dossier.supplemented", "HCC", "verify", repAt(2026, 2, 28, 10, 0)),
				repEntry("dossier.supplement.requested", "VPDK", "verify", mar(2, 10, 0)),
				repEntry("dossier.supplemented", "HCC", "verify", mar(4, 10, 0)),
				repEntry("dossier.supplement.requested", "VPDK", "verify", mar(6, 10, 0)),
				repEntry("dossier.supplemented", "HCC", "verify", mar(7, 10, 0)),
			}},
		// D20: new; result on the due day but after the due time: late.
		{code: "HCC-20260302-0020", proc: repLand, receiver: "HCC", status: router.StatusReturned,
			received: mar(2, 8, 0), due: mar(16, 10, 0), result: mar(16, 11, 0), closed: mar(17, 8, 0)},
		// D23: received in 2024, more than ReportLookback before March, its
		// result in March, late: carried over, done late, found only with
		// the store's EndedIndex.
		{code: "HCC-20240601-0023", proc: repLand, receiver: "HCC", status: router.StatusReturned,
			received: repAt(2024, 6, 1, 8, 0), due: repAt(2024, 6, 14, 17, 0), result: mar(20, 8, 0), closed: mar(21, 8, 0)},
		// D24: new; an apology moved its appointment (Mar 20 -> Mar 27) and
		// its verify step's (Mar 16 -> Mar 23): the result on Mar 26 and the
		// step on Mar 20 count late, by their first due times.
		{code: "HCC-20260309-0024", proc: repLand, receiver: "HCC", status: router.StatusResultReady,
			received: mar(9, 8, 0), due: mar(27, 17, 0), originalDue: mar(20, 17, 0), result: mar(26, 10, 0),
			steps:    []router.StepState{apologised(repStep("verify", "VPDK", done, mar(9, 8, 0), mar(23, 17, 0), mar(20, 10, 0)), mar(16, 17, 0))},
			timeline: []router.Entry{repEntry("dossier.apology", "VPDK", "verify", mar(17, 9, 0))}},
		// D25: new, apologised, still open: its first due times passed
		// before the end: in progress, late (and in May).
		{code: "HCC-20260316-0025", proc: repLand, receiver: "HCC", status: router.StatusProcessing,
			received: mar(16, 8, 0), due: repAt(2026, 4, 10, 17, 0), originalDue: mar(27, 17, 0),
			steps: []router.StepState{apologised(repStep("verify", "VPDK", open, mar(16, 8, 0), repAt(2026, 4, 6, 17, 0), z), mar(23, 17, 0))}},
		// D21, D22: May. At May 10 12:00: D21 and its verify past due
		// (late), D22 not.
		{code: "HCC-20260504-0021", proc: repLand, receiver: "HCC", status: router.StatusProcessing,
			received: repAt(2026, 5, 4, 8, 0), due: repAt(2026, 5, 8, 17, 0),
			steps: []router.StepState{repStep("verify", "VPDK", open, repAt(2026, 5, 4, 8, 0), repAt(2026, 5, 7, 17, 0), z)}},
		{code: "HCC-20260505-0022", proc: repLand, receiver: "HCC", status: router.StatusProcessing,
			received: repAt(2026, 5, 5, 8, 0), due: repAt(2026, 5, 19, 17, 0),
			steps: []router.StepState{repStep("verify", "VPDK", open, repAt(2026, 5, 5, 8, 0), repAt(2026, 5, 12, 17, 0), z)}},
	}
}

// repRow builds an expected row from its counts; the derived totals follow.
func repRow(proc, agency, role string, newN, carried, early, onTime, late, openOnTime, openLate, supplements, refused, withdrawn, cancelled int) store.ReportRow {
	return store.ReportRow{Procedure: proc, Agency: agency, Role: role,
		Received: newN + carried, ReceivedNew: newN, CarriedOver: carried,
		Done: early + onTime + late, DoneEarly: early, DoneOnTime: onTime, DoneLate: late,
		InProgress: openOnTime + openLate, InProgressOnTime: openOnTime, InProgressLate: openLate,
		Supplements: supplements, Refused: refused, Withdrawn: withdrawn, Cancelled: cancelled}
}

func report(t *testing.T, s *store.Store, q store.ReportQuery) []store.ReportRow {
	t.Helper()
	rows, err := s.Report(context.Background(), q)
	if err != nil {
		t.Fatalf("Report %+v: %v", q, err)
	}
	if rows == nil {
		t.Fatalf("Report %+v: nil rows", q)
	}
	return rows
}

func only(rows []store.ReportRow, keep func(store.ReportRow) bool) []store.ReportRow {
	out := []store.ReportRow{}
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func rowsText(rows []store.ReportRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "\n  %+v", r)
	}
	return b.String()
}

func testReport(t *testing.T, s *store.Store) {
	var states []*router.State
	for i, d := range repDossiers() {
		states = append(states, d.state(int64(i+1)))
	}
	applyStates(t, s, states)
	// Migration 4 creates store.EndedIndex; without it (dropped by hand) the
	// report searches ReportLookback back: the same answers but D23.
	if _, err := s.DB().ExecContext(context.Background(), `DROP INDEX `+store.EndedIndex); err != nil {
		t.Fatal(err)
	}
	t.Run("lookback", func(t *testing.T) { checkReport(t, s, false) })
	// With the index: the same answers, and D23 too.
	if _, err := s.DB().ExecContext(context.Background(),
		`CREATE INDEX `+store.EndedIndex+` ON dossiers ((COALESCE(result_at, closed_at)))`); err != nil {
		t.Fatal(err)
	}
	t.Run("ended", func(t *testing.T) { checkReport(t, s, true) })
}

func checkReport(t *testing.T, s *store.Store, ended bool) {
	// D23 counts with the index only.
	d23 := 0
	if ended {
		d23 = 1
	}
	admin := store.Viewer{Admin: true}
	march := store.ReportQuery{Viewer: admin, From: mar(1, 0, 0), To: repAt(2026, 4, 1, 0, 0),
		Now: repAt(2026, 4, 10, 12, 0), Location: hanoi}
	//                                       new car early ontime late openOK openLate suppl refused withdrawn cancelled
	want := []store.ReportRow{
		repRow(repLand, "HCC", "receiver", 14, 5+d23, 4, 1, 4+d23, 4, 2, 2, 3, 1, 0),
		repRow(repLand, "THUE", "step", 6, 2, 2, 3, 1, 0, 1, 0, 1, 0, 0),
		repRow(repLand, "VPDK", "step", 17, 2, 6, 4, 4, 1, 2, 2, 1, 1, 0),
		repRow(repBirth, "BHXH", "step", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
		repRow(repBirth, "CA", "step", 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0),
		repRow(repBirth, "TUPHAP", "step", 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
		repRow(repBirth, "UBND", "receiver", 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0),
	}
	got := report(t, s, march)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("March, admin:\n got %s\nwant %s", rowsText(got), rowsText(want))
	}
	for _, r := range got {
		if r.Received != r.Done+r.InProgress+r.Refused+r.Withdrawn+r.Cancelled {
			t.Errorf("row %+v does not balance", r)
		}
	}

	// Every index path gives the same rows: an agency (as the filter or the
	// viewer) and a procedure.
	for _, a := range []string{"HCC", "VPDK", "THUE", "UBND", "TUPHAP", "CA", "BHXH"} {
		wantA := only(want, func(r store.ReportRow) bool { return r.Agency == a })
		q := march
		q.Agency = a
		if got := report(t, s, q); !reflect.DeepEqual(got, wantA) {
			t.Errorf("admin, agency %s:\n got %s\nwant %s", a, rowsText(got), rowsText(wantA))
		}
		q = march
		q.Viewer = store.Viewer{Agency: a}
		if got := report(t, s, q); !reflect.DeepEqual(got, wantA) {
			t.Errorf("viewer %s:\n got %s\nwant %s", a, rowsText(got), rowsText(wantA))
		}
		q.Agency = a
		if got := report(t, s, q); !reflect.DeepEqual(got, wantA) {
			t.Errorf("viewer %s, its own filter:\n got %s\nwant %s", a, rowsText(got), rowsText(wantA))
		}
		for _, p := range []string{repLand, repBirth} {
			q := march
			q.Agency, q.Procedure = a, p
			wantAP := only(wantA, func(r store.ReportRow) bool { return r.Procedure == p })
			if got := report(t, s, q); !reflect.DeepEqual(got, wantAP) {
				t.Errorf("admin, agency %s, procedure %s:\n got %s\nwant %s", a, p, rowsText(got), rowsText(wantAP))
			}
		}
	}
	for _, p := range []string{repLand, repBirth, "9.999999"} {
		q := march
		q.Procedure = p
		wantP := only(want, func(r store.ReportRow) bool { return r.Procedure == p })
		if got := report(t, s, q); !reflect.DeepEqual(got, wantP) {
			t.Errorf("procedure %s:\n got %s\nwant %s", p, rowsText(got), rowsText(wantP))
		}
	}
	// An agency sees its own rows only: another's filter yields none.
	for _, v := range []store.Viewer{{Agency: "VPDK"}, {Agency: "NOBODY"}, {}} {
		q := march
		q.Viewer, q.Agency = v, "THUE"
		if got := report(t, s, q); len(got) != 0 {
			t.Errorf("viewer %+v asking for THUE: %s", v, rowsText(got))
		}
	}
	q := march
	q.Viewer = store.Viewer{}
	if got := report(t, s, q); len(got) != 0 {
		t.Errorf("no viewer: %s", rowsText(got))
	}

	// A period that has not ended: in progress is judged now (May 10
	// 12:00). D5, D10, D14, D16, D25 are carried over, still open.
	may := store.ReportQuery{Viewer: admin, From: repAt(2026, 5, 1, 0, 0), To: repAt(2026, 6, 1, 0, 0),
		Now: repAt(2026, 5, 10, 12, 0), Location: hanoi}
	wantMay := []store.ReportRow{
		repRow(repLand, "HCC", "receiver", 2, 5, 0, 0, 0, 4, 3, 0, 0, 0, 0),
		repRow(repLand, "THUE", "step", 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0),
		repRow(repLand, "VPDK", "step", 2, 2, 0, 0, 0, 2, 2, 0, 0, 0, 0),
	}
	if got := report(t, s, may); !reflect.DeepEqual(got, wantMay) {
		t.Fatalf("May at May 10:\n got %s\nwant %s", rowsText(got), rowsText(wantMay))
	}

	// One day: March 2.
	day := store.ReportQuery{Viewer: admin, From: mar(2, 0, 0), To: mar(3, 0, 0), Now: repAt(2026, 4, 10, 12, 0), Location: hanoi}
	wantDay := []store.ReportRow{
		// D1, D20 new (open at the end: due later); D4 (due Mar 5), D17
		// (due 2025: late), D19 (due Mar 12), D5 (late), D14 (paused:
		// on time) carried over, all still open at the end of Mar 2.
		repRow(repLand, "HCC", "receiver", 2, 5+d23, 0, 0, 0, 5, 2+d23, 1, 0, 0, 0),
		// D4 tax done on time; D5 tax open, late.
		repRow(repLand, "THUE", "step", 0, 2, 0, 1, 0, 0, 1, 0, 0, 0, 0),
		// D1 verify new; D4 certificate new (assigned Mar 2 09:00); D17
		// certificate (late) and D19 verify (due Mar 10, a supplement)
		// carried over: all open at the end.
		repRow(repLand, "VPDK", "step", 2, 2, 0, 0, 0, 3, 1, 1, 0, 0, 0),
	}
	if got := report(t, s, day); !reflect.DeepEqual(got, wantDay) {
		t.Fatalf("March 2:\n got %s\nwant %s", rowsText(got), rowsText(wantDay))
	}

	if _, err := s.Report(context.Background(), store.ReportQuery{Viewer: admin, From: mar(2, 0, 0), To: mar(2, 0, 0)}); !errors.Is(err, store.ErrBadPeriod) {
		t.Errorf("an empty period: %v, want ErrBadPeriod", err)
	}
	if _, err := s.Report(context.Background(), store.ReportQuery{Viewer: admin, To: mar(2, 0, 0)}); !errors.Is(err, store.ErrBadPeriod) {
		t.Errorf("no start: %v, want ErrBadPeriod", err)
	}
}
