package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/router"
)

// readTx begins a read-only transaction, so that the statements of one read
// see one snapshot (PostgreSQL needs REPEATABLE READ for that).
func (s *Store) readTx(ctx context.Context) (*sql.Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == DialectPostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return s.r.BeginTx(ctx, opts)
}

// Get returns the stored state of a dossier: everything the router keeps
// but the submitted data and the steps' outputs and documents. Times are in
// UTC; empty steps and timeline are nil.
func (s *Store) Get(ctx context.Context, code string) (*router.State, error) {
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, s.wrap("get: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	st := &router.State{Code: code}
	var receivedAt, overdue, nSteps, nTimeline int64
	var accepted, due, result, closed, paused, origDue, suppDue sql.NullInt64
	var workflow, applicant sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT procedure, receiver, status, received_at, accepted_at, due_at, result_at,
		closed_at, paused_at, supplement_step, supplement_by, overdue_sent, n_steps, n_timeline, ev_offset,
		channel, original_due_at, supplement_due_at, workflow, applicant_name
		FROM dossiers WHERE code = $1`, code).Scan(&st.Procedure, &st.Receiver, &st.Status, &receivedAt,
		&accepted, &due, &result, &closed, &paused, &st.SupplementStep, &st.SupplementBy, &overdue,
		&nSteps, &nTimeline, &st.Offset, &st.Channel, &origDue, &suppDue, &workflow, &applicant)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, s.wrap("get "+code, err)
	}
	st.ReceivedAt, st.AcceptedAt, st.DueAt = keyTimeOf(receivedAt), timeOf(accepted), timeOf(due)
	st.ResultAt, st.ClosedAt, st.PausedAt = timeOf(result), timeOf(closed), timeOf(paused)
	st.OverdueSent = overdue != 0
	st.OriginalDueAt, st.SupplementDueAt = timeOf(origDue), timeOf(suppDue)
	st.ApplicantName = applicant.String
	if workflow.Valid {
		var w workflowDoc
		if err := json.Unmarshal([]byte(workflow.String), &w); err != nil {
			return nil, s.wrap("get "+code+": workflow", err)
		}
		st.Obligation, st.Apologies = w.Obligation, w.Apologies
	}

	if nSteps > 0 {
		if st.Steps, err = getSteps(ctx, tx, code, int(nSteps)); err != nil {
			return nil, s.wrap("get "+code+": steps", err)
		}
	}
	if nTimeline > 0 {
		if st.Timeline, err = getTimeline(ctx, tx, code, int(nTimeline)); err != nil {
			return nil, s.wrap("get "+code+": timeline", err)
		}
	}
	return st, nil
}

func getSteps(ctx context.Context, tx *sql.Tx, code string, n int) ([]router.StepState, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, name, agency, deadline_days, deadline_work, after_ids, status,
		assigned_at, due_at, completed_at, on_time, overdue_sent, original_due_at FROM steps WHERE code = $1 ORDER BY idx`, code)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]router.StepState, 0, n)
	for rows.Next() {
		var st router.StepState
		var days, work, onTime, overdue int64
		var after sql.NullString
		var assigned, due, completed, origDue sql.NullInt64
		if err := rows.Scan(&st.ID, &st.Name, &st.Agency, &days, &work, &after, &st.Status, &assigned, &due,
			&completed, &onTime, &overdue, &origDue); err != nil {
			return nil, err
		}
		st.Deadline = router.Span{Days: int(days), Work: time.Duration(work)}
		if after.Valid {
			if err := json.Unmarshal([]byte(after.String), &st.After); err != nil {
				return nil, fmt.Errorf("step %s: after: %w", st.ID, err)
			}
		}
		st.AssignedAt, st.DueAt, st.CompletedAt = timeOf(assigned), timeOf(due), timeOf(completed)
		st.OnTime, st.OverdueSent = onTime != 0, overdue != 0
		st.OriginalDueAt = timeOf(origDue)
		out = append(out, st)
	}
	return out, rows.Err()
}

func getTimeline(ctx context.Context, tx *sql.Tx, code string, n int) ([]router.Entry, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, type, source, at, step, status, to_agency, note FROM timeline
		WHERE code = $1 AND seq < $2 ORDER BY seq`, code, int64(n))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]router.Entry, 0, n)
	for rows.Next() {
		var e router.Entry
		var at sql.NullInt64
		if err := rows.Scan(&e.ID, &e.Type, &e.Source, &at, &e.Step, &e.Status, &e.To, &e.Note); err != nil {
			return nil, err
		}
		e.Time = timeOf(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Brief is the little the gateway needs to know about a dossier.
type Brief struct {
	Status    string
	Offset    int64  // State.Offset: the events offset of the last applied event
	Procedure string // the gateway finds a step's output schema with it
}

// Lookup returns the status and version of each of codes the store holds.
func (s *Store) Lookup(ctx context.Context, codes []string) (map[string]Brief, error) {
	out := make(map[string]Brief, len(codes))
	uniq := slices.Clone(codes)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	err := s.runIn(ctx, s.r, qLookup, uniq, func(rows *sql.Rows) error {
		var code string
		var b Brief
		if err := rows.Scan(&code, &b.Status, &b.Offset, &b.Procedure); err != nil {
			return err
		}
		out[code] = b
		return nil
	})
	if err != nil {
		return nil, s.wrap("lookup", err)
	}
	return out, nil
}

var qOpenSteps = inStmt{`SELECT code, id, due_at, overdue_sent FROM steps WHERE status = ` + quote(router.StepInProgress) +
	` AND code`, ` ORDER BY code, idx`}

var qLookup = inStmt{`SELECT code, status, ev_offset, procedure FROM dossiers WHERE code`, ``}

// Viewer is who asks: the admin sees every dossier, an agency those it
// receives or holds a step of.
type Viewer struct {
	Admin  bool
	Agency string
}

// Query selects a page of dossiers. Zero fields match everything.
type Query struct {
	Viewer                    Viewer
	Status, Agency, Procedure string // Agency: the receiver or an agency on the route
	Overdue                   *bool  // late now (State.AnyOverdueAt)
	// Ranges: zero is unbounded; From is inclusive, To exclusive.
	ReceivedFrom, ReceivedTo, DueFrom, DueTo time.Time
	Limit                                    int    // 1..500, default 50
	Cursor                                   string // from the previous page
	Now                                      time.Time
}

// Limits of List.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// The cursor is base64url of 'k', the big-endian received_at, the code and a
// CRC-32C of those, so a cursor List did not make is refused rather than
// misread.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func encodeCursor(at int64, code string) string {
	b := make([]byte, 0, 1+8+len(code)+4)
	b = append(b, 'k')
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	b = append(b, code...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 1+8+4 || b[0] != 'k' {
		return 0, "", problem.ErrBadCursor
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum || !utf8.Valid(body[9:]) {
		return 0, "", problem.ErrBadCursor
	}
	return int64(binary.BigEndian.Uint64(body[1:9])), string(body[9:]), nil
}

// overdueSQL is State.AnyOverdueAt in SQL over dossier d, with now as $n: the
// dossier was flagged, or is open, unpaused and past due, or an in-progress
// step was flagged or is past due while the dossier is not paused. A NULL
// due time is the zero time, which every now is after.
func overdueSQL(n string) string {
	return `(d.overdue_sent = 1 OR (d.status IN (` + quote(router.StatusReceived) + `, ` + quote(router.StatusProcessing) + `)
		AND (d.due_at IS NULL OR d.due_at < ` + n + `)) OR EXISTS (SELECT 1 FROM steps s WHERE s.code = d.code
		AND s.status = ` + quote(router.StepInProgress) + ` AND (s.overdue_sent = 1 OR (d.status NOT IN (` +
		quote(router.StatusAwaitingSupplement) + `, ` + quote(router.StatusAwaitingPayment) + `) AND (s.due_at IS NULL OR s.due_at < ` + n + `)))))`
}

// List returns a page of the dossiers q selects that its viewer may see, in
// (received_at, code) order, and the cursor of the next page ("" at the end).
func (s *Store) List(ctx context.Context, q Query) ([]router.Summary, string, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	now := q.Now
	if now.IsZero() {
		now = time.Now()
	}
	var afterAt int64
	var afterCode string
	if q.Cursor != "" {
		var err error
		if afterAt, afterCode, err = decodeCursor(q.Cursor); err != nil {
			return nil, "", err
		}
	}
	if !q.Viewer.Admin && q.Viewer.Agency == "" {
		return []router.Summary{}, "", nil
	}

	sqlText, args := listSQL(q, limit, now, afterAt, afterCode)

	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, "", s.wrap("list: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	rows, err := tx.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, "", s.wrap("list", err)
	}
	type hit struct {
		st         router.State
		receivedAt int64
	}
	var hits []hit
	for rows.Next() {
		var h hit
		var due sql.NullInt64
		var overdue int64
		if err := rows.Scan(&h.st.Code, &h.st.Procedure, &h.st.Receiver, &h.st.Status, &h.receivedAt, &due, &overdue); err != nil {
			rows.Close()
			return nil, "", s.wrap("list", err)
		}
		h.st.ReceivedAt, h.st.DueAt, h.st.OverdueSent = keyTimeOf(h.receivedAt), timeOf(due), overdue != 0
		hits = append(hits, h)
	}
	if err := closeRows(rows); err != nil {
		return nil, "", s.wrap("list", err)
	}
	next := ""
	if len(hits) > limit {
		hits = hits[:limit]
		last := hits[limit-1]
		next = encodeCursor(last.receivedAt, last.st.Code)
	}
	if len(hits) == 0 {
		return []router.Summary{}, "", nil
	}

	// The open steps of the page, for OpenSteps and the step part of Overdue.
	idx := make(map[string]int, len(hits))
	codes := make([]string, len(hits))
	for i, h := range hits {
		idx[h.st.Code] = i
		codes[i] = h.st.Code
	}
	err = s.runIn(ctx, tx, qOpenSteps, codes, func(rows *sql.Rows) error {
		var code string
		var st router.StepState
		var due sql.NullInt64
		var overdue int64
		if err := rows.Scan(&code, &st.ID, &due, &overdue); err != nil {
			return err
		}
		st.Status, st.DueAt, st.OverdueSent = router.StepInProgress, timeOf(due), overdue != 0
		if i, ok := idx[code]; ok {
			hits[i].st.Steps = append(hits[i].st.Steps, st)
		}
		return nil
	})
	if err != nil {
		return nil, "", s.wrap("list: open steps", err)
	}

	out := make([]router.Summary, len(hits))
	for i := range hits {
		st := &hits[i].st
		sum := router.Summary{Code: st.Code, Procedure: st.Procedure, Receiver: st.Receiver, Status: st.Status,
			PortalStatus: router.PortalStatus(st.Status), Overdue: st.AnyOverdueAt(now), ReceivedAt: st.ReceivedAt,
			DueAt: st.DueAt, OpenSteps: make([]string, 0, len(st.Steps))}
		for _, s2 := range st.Steps {
			sum.OpenSteps = append(sum.OpenSteps, s2.ID)
		}
		out[i] = sum
	}
	return out, next, nil
}

// listSQL builds List's page query: limit+1 rows after the cursor key.
func listSQL(q Query, limit int, now time.Time, afterAt int64, afterCode string) (string, []any) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var where []string
	// The page is driven by an index in list order: dossier_agencies when an
	// agency is given (as the viewer or the filter), else the dossiers.
	from, key := "dossiers d", "d"
	agency := q.Agency
	if !q.Viewer.Admin {
		if agency != "" && agency != q.Viewer.Agency {
			where = append(where, `EXISTS (SELECT 1 FROM dossier_agencies a2 WHERE a2.agency = `+arg(agency)+
				` AND a2.received_at = k.received_at AND a2.code = k.code)`)
		}
		agency = q.Viewer.Agency
	}
	if agency != "" {
		from, key = "dossier_agencies k JOIN dossiers d ON d.code = k.code", "k"
		where = append(where, "k.agency = "+arg(agency))
	}
	if q.Status != "" {
		where = append(where, "d.status = "+arg(q.Status))
	}
	if q.Procedure != "" {
		where = append(where, "d.procedure = "+arg(q.Procedure))
	}
	if !q.ReceivedFrom.IsZero() {
		where = append(where, key+".received_at >= "+arg(keyTime(q.ReceivedFrom)))
	}
	if !q.ReceivedTo.IsZero() {
		where = append(where, key+".received_at < "+arg(keyTime(q.ReceivedTo)))
	}
	if !q.DueFrom.IsZero() {
		where = append(where, "d.due_at >= "+arg(unixNano(q.DueFrom)))
	}
	if !q.DueTo.IsZero() {
		// No due time is the zero time: before every bound.
		where = append(where, "(d.due_at IS NULL OR d.due_at < "+arg(unixNano(q.DueTo))+")")
	}
	if q.Overdue != nil {
		cond := overdueSQL(arg(unixNano(now)))
		if !*q.Overdue {
			cond = "NOT " + cond
		}
		where = append(where, cond)
	}
	if q.Cursor != "" {
		// Both dialects seek the index with the row value (EXPLAIN).
		where = append(where, "("+key+".received_at, "+key+".code) > ("+arg(afterAt)+", "+arg(afterCode)+")")
	}
	sqlText := `SELECT d.code, d.procedure, d.receiver, d.status, d.received_at, d.due_at, d.overdue_sent FROM ` + from
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	sqlText += " ORDER BY " + key + ".received_at, " + key + ".code LIMIT " + arg(int64(limit+1))
	return sqlText, args
}

// StatsQuery asks for the work counts a viewer may see, "overdue now" at Now
// (zero: the current time).
type StatsQuery struct {
	Viewer Viewer
	Now    time.Time
	// ReceivedFrom (inclusive) and ReceivedTo (exclusive) limit the counts
	// to the dossiers received in a period; zero is unbounded. Over years
	// of history a period is what keeps the aggregate cheap.
	ReceivedFrom, ReceivedTo time.Time
}

// Stats counts each agency's work per procedure as router's View.Stats does:
// role "receiver" from the dossiers it received, role "step" from the steps
// it was assigned. The admin sees every row, an agency its own. Rows are
// sorted by procedure, agency, role.
func (s *Store) Stats(ctx context.Context, q StatsQuery) ([]router.StatRow, error) {
	out := []router.StatRow{}
	if !q.Viewer.Admin && q.Viewer.Agency == "" {
		return out, nil
	}
	now := q.Now
	if now.IsZero() {
		now = time.Now()
	}
	open := quote(router.StatusReceived) + ", " + quote(router.StatusProcessing)
	paused := quote(router.StatusAwaitingSupplement) + ", " + quote(router.StatusAwaitingPayment) // the clock stands still
	// Late: result after the due time; a NULL due time is the zero time. A
	// dossier whose appointment an apology moved is late whatever the new
	// one (DESIGN.md section 4).
	late := `(d.due_at IS NULL OR d.original_due_at IS NOT NULL OR d.result_at > d.due_at)`
	recv := `SELECT d.procedure, d.receiver, COUNT(*),
		SUM(CASE WHEN d.result_at IS NOT NULL THEN 1 ELSE 0 END),
		SUM(CASE WHEN d.result_at IS NOT NULL AND NOT ` + late + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN d.result_at IS NOT NULL AND ` + late + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN d.result_at IS NULL AND d.status IN (` + open + `, ` + paused + `)
			AND (d.overdue_sent = 1 OR (d.status IN (` + open + `) AND (d.due_at IS NULL OR d.due_at < $1))) THEN 1 ELSE 0 END)
`
	recvFrom := ` FROM dossiers d WHERE 1 = 1`
	recvOwn := ` FROM dossier_agencies k JOIN dossiers d ON d.code = k.code WHERE k.agency = $2 AND d.receiver = $2`
	step := `SELECT d.procedure, s.agency, COUNT(*),
		SUM(CASE WHEN s.status = ` + quote(router.StepCompleted) + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN s.status = ` + quote(router.StepCompleted) + ` AND s.on_time = 1 THEN 1 ELSE 0 END),
		SUM(CASE WHEN s.status = ` + quote(router.StepCompleted) + ` AND s.on_time = 0 THEN 1 ELSE 0 END),
		SUM(CASE WHEN s.status = ` + quote(router.StepInProgress) + ` AND (s.overdue_sent = 1
			OR (d.status NOT IN (` + paused + `) AND (s.due_at IS NULL OR s.due_at < $1))) THEN 1 ELSE 0 END)
`
	stepFrom := ` FROM steps s JOIN dossiers d ON d.code = s.code WHERE s.assigned_at IS NOT NULL`
	// An agency's rows: its dossiers through dossier_agencies' index rather
	// than a scan of every dossier and step.
	stepOwn := ` FROM dossier_agencies k JOIN dossiers d ON d.code = k.code JOIN steps s ON s.code = k.code
		WHERE k.agency = $2 AND s.agency = $2 AND s.assigned_at IS NOT NULL`
	args := []any{unixNano(now)}
	if !q.Viewer.Admin {
		recvFrom, stepFrom = recvOwn, stepOwn
		args = append(args, q.Viewer.Agency)
	}
	period := ""
	if !q.ReceivedFrom.IsZero() {
		args = append(args, keyTime(q.ReceivedFrom))
		period += ` AND d.received_at >= $` + strconv.Itoa(len(args))
	}
	if !q.ReceivedTo.IsZero() {
		args = append(args, keyTime(q.ReceivedTo))
		period += ` AND d.received_at < $` + strconv.Itoa(len(args))
	}
	recvFrom += period
	stepFrom += period
	recv += recvFrom + ` GROUP BY d.procedure, d.receiver`
	step += stepFrom + ` GROUP BY d.procedure, s.agency`

	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, s.wrap("stats: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	for _, part := range []struct{ role, sql string }{{"receiver", recv}, {"step", step}} {
		rows, err := tx.QueryContext(ctx, part.sql, args...)
		if err != nil {
			return nil, s.wrap("stats: "+part.role, err)
		}
		for rows.Next() {
			r := router.StatRow{Role: part.role}
			var n [5]int64
			if err := rows.Scan(&r.Procedure, &r.Agency, &n[0], &n[1], &n[2], &n[3], &n[4]); err != nil {
				rows.Close()
				return nil, s.wrap("stats: "+part.role, err)
			}
			r.Received, r.Completed, r.OnTime, r.Late, r.OverdueNow = int(n[0]), int(n[1]), int(n[2]), int(n[3]), int(n[4])
			out = append(out, r)
		}
		if err := closeRows(rows); err != nil {
			return nil, s.wrap("stats: "+part.role, err)
		}
	}
	// Sorted here, byte-wise as the router does: the database's collation
	// may differ.
	slices.SortFunc(out, func(a, b router.StatRow) int {
		return rowOrder(a.Procedure, a.Agency, a.Role, b.Procedure, b.Agency, b.Role)
	})
	return out, nil
}

// rowOrder orders report rows byte-wise by procedure, agency and role.
func rowOrder(ap, aa, ar, bp, ba, br string) int {
	return cmp.Or(strings.Compare(ap, bp), strings.Compare(aa, ba), strings.Compare(ar, br))
}
