package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/router"
)

// ReportQuery asks for the handling report of one period (GET
// /v1/reports/handling; docs/DESIGN.md section 6 states the counting rules).
type ReportQuery struct {
	Viewer Viewer
	// Agency and Procedure filter the rows; "" matches every one. An agency
	// that is not the admin sees its own rows only: another agency's filter
	// yields no rows, as /v1/stats shows an agency its own rows only.
	Agency, Procedure string
	// From (inclusive) and To (exclusive) are the period: midnights in the
	// calendar's time zone. Both are required, From before To.
	From, To time.Time
	// Now is when the report is made (zero: time.Now()): a period that has
	// not ended judges "in progress at the end" at Now.
	Now time.Time
	// Location is the calendar's time zone, where a due day begins (nil: UTC).
	Location *time.Location
}

// ReportRow is one agency's handling of one procedure in the period
// (router.HandlingRow, the public type of the answer).
type ReportRow = router.HandlingRow

// ReportLookback bounds the search for dossiers carried over into a period
// that are closed now, while the store lacks EndedIndex: those received
// within ReportLookback before the period starts. A dossier still open (or
// with its result waiting at the desk) is found however old it is. A closed
// dossier received more than ReportLookback before the period, yet open at
// its start, is missed.
const ReportLookback = 366 * 24 * time.Hour

// EndedIndex names the index on the time a dossier ended, with which the
// report finds every dossier carried over, however old, reading only those
// that ended since the period began. The same DDL serves both dialects:
//
//	CREATE INDEX dossiers_ended ON dossiers ((COALESCE(result_at, closed_at)))
//
// Migration 4 creates it; should it be missing (dropped by hand), Report
// searches ReportLookback back.
const EndedIndex = "dossiers_ended"

// hasIndex reports whether the database has the named index.
func (s *Store) hasIndex(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = $1`
	if s.dialect == DialectPostgres {
		q = `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1`
	}
	var n int64
	if err := tx.QueryRowContext(ctx, q, name).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// reportSkew widens the candidate dossiers past the period's end: a step
// assigned before the end may belong to a dossier whose desk receipt time
// lies a little later (the gateway allows max_clock_skew, at most 24h).
const reportSkew = 24 * time.Hour

// ErrBadPeriod is returned by Report for a period without both bounds or
// with From not before To.
var ErrBadPeriod = errors.New("store: report: the period needs From before To")

// notClosed are the statuses of a dossier that is not closed now: still
// being worked on, or its result waiting at the desk. The dossiers_status
// index finds them, however old.
var notClosed = []string{router.StatusReceived, router.StatusProcessing, router.StatusAwaitingSupplement,
	router.StatusAwaitingPayment, router.StatusRegistered, router.StatusResultReady}

const nsPerDay = int64(24 * time.Hour)

// Report counts the handling of the period per procedure, agency and role.
// Rows are sorted by procedure, agency, role; a row whose counts would all
// be zero is absent.
func (s *Store) Report(ctx context.Context, q ReportQuery) ([]ReportRow, error) {
	if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) {
		return nil, ErrBadPeriod
	}
	out := []ReportRow{}
	if !q.Viewer.Admin && q.Viewer.Agency == "" {
		return out, nil
	}
	agency := q.Agency
	if !q.Viewer.Admin {
		if agency != "" && agency != q.Viewer.Agency {
			return out, nil
		}
		agency = q.Viewer.Agency
	}
	now := q.Now
	if now.IsZero() {
		now = time.Now()
	}
	cut := q.To
	if now.Before(cut) {
		cut = now
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, s.wrap("report: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	ended, err := s.hasIndex(ctx, tx, EndedIndex)
	if err != nil {
		return nil, s.wrap("report: catalog", err)
	}
	recv, step, args := reportSQL(agency, q.Procedure, loc, q.From, q.To, cut, ended)
	if s.dialect == DialectPostgres {
		// The planner's estimate of the correlated EXISTS makes PostgreSQL
		// JIT-compile the aggregate: measured, 0.7 s of compiling for a
		// 0.2 s query over 150,000 dossiers. A setting of this transaction
		// only; the statements stay the same on both dialects.
		if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
			return nil, s.wrap("report: jit", err)
		}
	}
	type key struct{ proc, agency, role string }
	rows := map[key]*ReportRow{}
	for _, part := range []struct{ role, sql string }{{"receiver", recv}, {"step", step}} {
		rs, err := tx.QueryContext(ctx, part.sql, args...)
		if err != nil {
			return nil, s.wrap("report: "+part.role, err)
		}
		for rs.Next() {
			var k key
			var n [11]int64
			if err := rs.Scan(&k.proc, &k.agency, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7], &n[8], &n[9], &n[10]); err != nil {
				rs.Close()
				return nil, s.wrap("report: "+part.role, err)
			}
			k.role = part.role
			r := rows[k]
			if r == nil {
				r = &ReportRow{Procedure: k.proc, Agency: k.agency, Role: k.role}
				rows[k] = r
			}
			// The parts of a statement (see reportSQL) add up.
			r.Received += int(n[0])
			r.ReceivedNew += int(n[1])
			r.Done += int(n[2])
			r.DoneEarly += int(n[3])
			r.DoneLate += int(n[4])
			r.InProgress += int(n[5])
			r.InProgressLate += int(n[6])
			r.Supplements += int(n[7])
			r.Refused += int(n[8])
			r.Withdrawn += int(n[9])
			r.Cancelled += int(n[10]) // ended without completion, until split below
		}
		if err := closeRows(rs); err != nil {
			return nil, s.wrap("report: "+part.role, err)
		}
	}
	for _, r := range rows {
		r.CarriedOver = r.Received - r.ReceivedNew
		r.DoneOnTime = r.Done - r.DoneEarly - r.DoneLate
		r.InProgressOnTime = r.InProgress - r.InProgressLate
		if r.Role == "step" {
			r.Cancelled -= r.Refused + r.Withdrawn
		} else {
			r.Cancelled = 0
		}
		out = append(out, *r)
	}
	// Byte-wise, as Stats: the database's collation may differ.
	slices.SortFunc(out, func(a, b ReportRow) int {
		return rowOrder(a.Procedure, a.Agency, a.Role, b.Procedure, b.Agency, b.Role)
	})
	return out, nil
}

// reportSQL builds Report's two statements (receiver rows, step rows) and
// their arguments: $1 the period's start, $2 its end, $3 the instant "in
// progress at the end" is judged at, $4 the lookback bound, $5 the end
// widened by reportSkew, then the agency and procedure filters.
//
// Each statement is the same aggregate over disjoint sets of candidate
// dossiers, each served by an index, added up in Go:
//   - received in [$4, $5): dossiers_received (received_at, code), or
//     dossiers_procedure (procedure, received_at, code) with a procedure, or
//     dossier_agencies (agency, received_at, code) with an agency;
//   - received before $4 and not closed now: dossiers_status (status,
//     received_at, code), one range per status of notClosed;
//   - with ended (the store has the index EndedIndex): $4 is the period's
//     start, and the closed dossiers received before it that ended in or
//     after the period come from EndedIndex. Without it, $4 is
//     ReportLookback before the start.
//
// The steps and the timeline of a candidate are read by their primary keys
// (code, ...). The SQL is the same on SQLite and PostgreSQL: $n
// placeholders, integer arithmetic on BIGINT nanoseconds, CASE, EXISTS.
func reportSQL(agency, procedure string, loc *time.Location, from, to, cut time.Time, ended bool) (recv, step string, args []any) {
	lookback := from.Add(-ReportLookback)
	if ended {
		lookback = from
	}
	args = []any{unixNano(from), unixNano(to), unixNano(cut), keyTime(lookback), keyTime(to.Add(reportSkew))}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var agencyArg, procArg string
	if agency != "" {
		agencyArg = arg(agency)
	}
	if procedure != "" {
		procArg = arg(procedure)
	}
	inPeriod := func(col string) string { return "(" + col + " >= $1 AND " + col + " < $2)" }
	list := func(xs ...string) string {
		q := make([]string, len(xs))
		for i, x := range xs {
			q[i] = quote(x)
		}
		return strings.Join(q, ", ")
	}
	refusedStatuses := list(router.StatusRejected, router.StatusRefused)
	// The clock of an open dossier stops while it is paused (a supplement
	// or a payment awaited): one paused before the cut is judged when it
	// paused. A dossier or step without a due time (NULL: not accepted at
	// reception yet) is never late: NULL compares as unknown.
	effCut := `(CASE WHEN d.paused_at IS NOT NULL AND d.paused_at < $3 THEN d.paused_at ELSE $3 END)`
	supplements := func(extra string) string {
		return `EXISTS (SELECT 1 FROM timeline t WHERE t.code = d.code AND t.type = ` + quote(event.SupplementRequested) +
			extra + ` AND t.at >= $1 AND t.at < $2)`
	}

	// Receiver rows: the dossiers. A dossier ends when its result is ready,
	// else when it closes (refused, withdrawn). It is due by its first due
	// time: an apology's new appointment does not make it on time
	// (DESIGN.md section 4).
	end := `COALESCE(d.result_at, d.closed_at)`
	dueD := `COALESCE(d.original_due_at, d.due_at)`
	recvCols := `d.procedure || '', d.receiver, COUNT(*),
		SUM(CASE WHEN d.received_at >= $1 THEN 1 ELSE 0 END),
		SUM(CASE WHEN ` + inPeriod("d.result_at") + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN ` + inPeriod("d.result_at") + ` AND ` + dueD + ` IS NOT NULL AND d.result_at <= ` + dueD + `
			THEN (CASE WHEN ` + nextMidnightSQL("d.result_at", loc, from, to) + ` <= ` + dueD + ` THEN 1 ELSE 0 END) ELSE 0 END),
		SUM(CASE WHEN ` + inPeriod("d.result_at") + ` AND d.result_at > ` + dueD + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN ` + end + ` IS NULL OR ` + end + ` >= $2 THEN 1 ELSE 0 END),
		SUM(CASE WHEN (` + end + ` IS NULL OR ` + end + ` >= $2) AND ` + dueD + ` < ` + effCut + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN ` + supplements("") + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN d.result_at IS NULL AND ` + inPeriod("d.closed_at") + ` AND d.status IN (` + refusedStatuses + `) THEN 1 ELSE 0 END),
		SUM(CASE WHEN d.result_at IS NULL AND ` + inPeriod("d.closed_at") + ` AND d.status = ` + quote(router.StatusWithdrawn) + ` THEN 1 ELSE 0 END),
		0`
	end0 := `(` + end + ` + 0)` // the scope is no way into EndedIndex
	recvScope := `d.received_at + 0 < $2 AND (` + end0 + ` IS NULL OR ` + end0 + ` >= $1)`

	// Step rows: the steps. A step ends when it is completed, or when its
	// dossier closes while it is open (cancelled, or rejected: the step
	// whose agency refused the dossier).
	stopped := list(router.StepCancelled, router.StepRejected)
	dueS := `COALESCE(s.original_due_at, s.due_at)` // on_time already reads it so
	send := `(CASE WHEN s.status = ` + quote(router.StepCompleted) + ` THEN s.completed_at WHEN s.status IN (` + stopped + `) THEN d.closed_at END)`
	done := `s.status = ` + quote(router.StepCompleted) + ` AND ` + inPeriod("s.completed_at")
	stepCols := `d.procedure || '', s.agency, COUNT(*),
		SUM(CASE WHEN s.assigned_at >= $1 THEN 1 ELSE 0 END),
		SUM(CASE WHEN ` + done + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN ` + done + ` AND s.on_time = 1 AND ` + dueS + ` IS NOT NULL
			THEN (CASE WHEN ` + nextMidnightSQL("s.completed_at", loc, from, to) + ` <= ` + dueS + ` THEN 1 ELSE 0 END) ELSE 0 END),
		SUM(CASE WHEN ` + done + ` AND s.on_time = 0 THEN 1 ELSE 0 END),
		SUM(CASE WHEN ` + send + ` IS NULL OR ` + send + ` >= $2 THEN 1 ELSE 0 END),
		SUM(CASE WHEN (` + send + ` IS NULL OR ` + send + ` >= $2) AND ` + dueS + ` < ` + effCut + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN ` + supplements(" AND t.step = s.id") + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN s.status IN (` + stopped + `) AND ` + inPeriod("d.closed_at") + `
			THEN (CASE WHEN s.status = ` + quote(router.StepRejected) + ` OR (d.status IN (` + refusedStatuses + `)
				AND EXISTS (SELECT 1 FROM timeline t WHERE t.code = d.code AND t.type = ` + quote(event.Rejected) + ` AND t.step = s.id))
				THEN 1 ELSE 0 END) ELSE 0 END),
		SUM(CASE WHEN s.status = ` + quote(router.StepCancelled) + ` AND ` + inPeriod("d.closed_at") + ` AND d.status = ` + quote(router.StatusWithdrawn) + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN s.status IN (` + stopped + `) AND ` + inPeriod("d.closed_at") + ` THEN 1 ELSE 0 END)`
	stepScope := `s.assigned_at IS NOT NULL AND s.assigned_at < $2 AND (` + send + ` IS NULL OR ` + send + ` >= $1)`

	// The two candidate sets. "x + 0" and "x || ''" keep a condition from
	// choosing the index (both dialects): a scope or filter condition on
	// received_at or procedure alone would read a whole history.
	recent, old := `d.received_at >= $4 AND d.received_at < $5`, `d.status IN (`+list(notClosed...)+`) AND d.received_at < $4`
	fromRecent, fromOld := `dossiers d`, `dossiers d`
	var recvFilter, stepFilter string
	if agency != "" {
		fromRecent = `dossier_agencies k JOIN dossiers d ON d.code = k.code`
		recent = `k.agency = ` + agencyArg + ` AND k.received_at >= $4 AND k.received_at < $5`
		recvFilter = ` AND d.receiver = ` + agencyArg
		stepFilter = ` AND s.agency = ` + agencyArg
	}
	closedSince := `d.status NOT IN (` + list(notClosed...) + `) AND ` + end + ` >= $1 AND d.received_at + 0 < $4`
	if procedure != "" {
		if agency == "" {
			fromRecent = `dossiers d`
			recent = `d.procedure = ` + procArg + ` AND d.received_at >= $4 AND d.received_at < $5`
			// The other halves read their own index, not a procedure's
			// history.
			old += ` AND d.procedure || '' = ` + procArg
			closedSince += ` AND d.procedure || '' = ` + procArg
		} else {
			recvFilter += ` AND d.procedure || '' = ` + procArg
			stepFilter += ` AND d.procedure || '' = ` + procArg
		}
	}
	half := func(cols, from, cand, scope, filter, group string) string {
		return `SELECT ` + cols + ` FROM ` + from + ` WHERE ` + cand + filter + ` AND ` + scope + ` GROUP BY ` + group
	}
	recv = half(recvCols, fromRecent, recent, recvScope, recvFilter, "d.procedure || '', d.receiver") +
		"\nUNION ALL\n" + half(recvCols, fromOld, old, recvScope, recvFilter, "d.procedure || '', d.receiver")
	stepJoin := ` JOIN steps s ON s.code = d.code`
	step = half(stepCols, fromRecent+stepJoin, recent, stepScope, stepFilter, "d.procedure || '', s.agency") +
		"\nUNION ALL\n" + half(stepCols, fromOld+stepJoin, old, stepScope, stepFilter, "d.procedure || '', s.agency")
	if ended {
		recv += "\nUNION ALL\n" + half(recvCols, `dossiers d`, closedSince, recvScope, recvFilter, "d.procedure || '', d.receiver")
		step += "\nUNION ALL\n" + half(stepCols, `dossiers d`+stepJoin, closedSince, stepScope, stepFilter, "d.procedure || '', s.agency")
	}
	return recv, step, args
}

// nextMidnightSQL is SQL for the first midnight, in loc, after col: a time
// column whose value lies in [from, to) where it is used. A time is before
// its due day when that midnight is not after the due time.
func nextMidnightSQL(col string, loc *time.Location, from, to time.Time) string {
	day := strconv.FormatInt(nsPerDay, 10)
	off := offsetSQL(col, loc, from, to)
	// The next midnight on the wall clock, less the offset at col: exact
	// unless the offset changes between col and that midnight. ((x % day)
	// + day) % day is x modulo day for a negative x too.
	mid := "(" + col + " - ((((" + col + " + " + off + ") % " + day + ") + " + day + ") % " + day + ") + " + day + ")"
	if _, err := strconv.ParseInt(off, 10, 64); err == nil {
		return mid // one offset over the period (Asia/Ho_Chi_Minh)
	}
	// Else the offset at that midnight replaces the one at col.
	return "(" + mid + " + " + off + " - " + offsetSQL(mid, loc, from, to.Add(time.Duration(nsPerDay))) + ")"
}

// offsetSQL is SQL for loc's UTC offset in nanoseconds at col, for col in
// [from, to]: a constant, or a CASE over the zone's transitions in the
// period.
func offsetSQL(col string, loc *time.Location, from, to time.Time) string {
	t := from.In(loc)
	_, off := t.Zone()
	var b strings.Builder
	for n := 0; n < 1000; n++ {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		if b.Len() == 0 {
			b.WriteString("(CASE")
		}
		b.WriteString(" WHEN " + col + " < " + strconv.FormatInt(end.UnixNano(), 10) + " THEN " + strconv.FormatInt(int64(off)*int64(time.Second), 10))
		t = end.In(loc)
		_, off = t.Zone()
	}
	last := strconv.FormatInt(int64(off)*int64(time.Second), 10)
	if b.Len() == 0 {
		return last
	}
	b.WriteString(" ELSE " + last + " END)")
	return b.String()
}
