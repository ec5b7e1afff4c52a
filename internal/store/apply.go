package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lienthong/lienthong/router"
)

// Record is one state-topic record: State.Offset is the events-topic offset
// of the last event applied to the dossier, StateOffset the record's own
// offset on the state topic.
type Record struct {
	State       *router.State
	StateOffset int64
}

// newer orders versions (events offset, state offset) lexicographically: a
// tick rewrites a state without a new event, so the state offset breaks ties.
func newer(ev, st, oldEv, oldSt int64) bool {
	return ev > oldEv || (ev == oldEv && st > oldSt)
}

// prior is what the store held for a dossier before the batch.
type prior struct {
	ev, st     int64
	nTimeline  int
	receiver   string
	receivedAt int64
}

// Apply writes a batch of records and the projector's position (topic,
// partition -> next offset) in one transaction. A dossier is written only
// when the record's version is above the stored one, so a replay or a
// rebalance never moves it backwards. It returns how many dossiers were
// written.
func (s *Store) Apply(ctx context.Context, topic string, partition int, next int64, recs []Record) (int, error) {
	best := make(map[string]Record, len(recs))
	for i, r := range recs {
		if r.State == nil || r.State.Code == "" {
			return 0, fmt.Errorf("store: apply: record %d (state offset %d) has no dossier code", i, r.StateOffset)
		}
		if b, ok := best[r.State.Code]; !ok || newer(r.State.Offset, r.StateOffset, b.State.Offset, b.StateOffset) {
			best[r.State.Code] = r
		}
	}
	list := make([]Record, 0, len(best))
	for _, r := range best {
		list = append(list, r)
	}
	// Code order: ascending keys insert faster, and concurrent PostgreSQL
	// writers lock rows in the same order, so they cannot deadlock.
	slices.SortFunc(list, func(a, b Record) int { return strings.Compare(a.State.Code, b.State.Code) })

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.wrap("apply: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit

	n, err := s.apply(ctx, tx, list)
	if err != nil {
		return 0, s.wrap("apply", err)
	}
	if err := s.txDo(ctx, tx, sqlPosition, []any{topic, int64(partition), next, time.Now().UnixNano()}, nil); err != nil {
		return 0, s.wrap("apply: position", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, s.wrap("apply: commit", err)
	}
	return n, nil
}

func (s *Store) apply(ctx context.Context, tx *sql.Tx, list []Record) (int, error) {
	if len(list) == 0 {
		return 0, nil
	}
	codes := make([]string, len(list))
	for i, r := range list {
		codes[i] = r.State.Code
	}
	old, err := s.priors(ctx, tx, codes)
	if err != nil {
		return 0, err
	}
	// The version guard in the upsert is what counts (another PostgreSQL
	// replica may write in between); filtering here saves sending rows that
	// would be skipped.
	keep := list[:0:0]
	for _, r := range list {
		if p, ok := old[r.State.Code]; !ok || newer(r.State.Offset, r.StateOffset, p.ev, p.st) {
			keep = append(keep, r)
		}
	}
	written, err := s.upsertDossiers(ctx, tx, keep)
	if err != nil {
		return 0, err
	}
	if len(written) == 0 {
		return 0, nil
	}
	recs := keep[:0:0]
	var existing []string
	for _, r := range keep {
		if written[r.State.Code] {
			recs = append(recs, r)
			if _, ok := old[r.State.Code]; ok {
				existing = append(existing, r.State.Code)
			}
		}
	}
	oldAgencies, err := s.deleteSteps(ctx, tx, existing)
	if err != nil {
		return 0, err
	}
	if err := s.insertSteps(ctx, tx, recs); err != nil {
		return 0, err
	}
	if err := s.writeAgencies(ctx, tx, recs, old, oldAgencies); err != nil {
		return 0, err
	}
	if err := s.insertTimeline(ctx, tx, recs, old); err != nil {
		return 0, err
	}
	return len(recs), nil
}

// Apply's statements.
var (
	qPriors      = inStmt{`SELECT code, ev_offset, st_offset, n_timeline, receiver, received_at FROM dossiers WHERE code`, ``}
	qDeleteSteps = inStmt{`DELETE FROM steps WHERE code`, ` RETURNING code, agency`}

	bDossiers = bulk{`INSERT INTO dossiers AS d (code, procedure, receiver, status, received_at, accepted_at, due_at,
	result_at, closed_at, paused_at, supplement_step, supplement_by, overdue_sent, n_steps, n_timeline,
	ev_offset, st_offset, updated_at, channel, original_due_at, supplement_due_at, workflow, applicant_name)`,
		[]string{"text", "text", "text", "text", "bigint", "bigint", "bigint", "bigint", "bigint", "bigint",
			"text", "text", "integer", "integer", "integer", "bigint", "bigint", "bigint", "text", "bigint", "bigint", "text", "text"},
		` ON CONFLICT (code) DO UPDATE SET procedure = excluded.procedure, receiver = excluded.receiver,
	status = excluded.status, received_at = excluded.received_at, accepted_at = excluded.accepted_at,
	due_at = excluded.due_at, result_at = excluded.result_at, closed_at = excluded.closed_at,
	paused_at = excluded.paused_at, supplement_step = excluded.supplement_step,
	supplement_by = excluded.supplement_by, overdue_sent = excluded.overdue_sent, n_steps = excluded.n_steps,
	n_timeline = excluded.n_timeline, ev_offset = excluded.ev_offset, st_offset = excluded.st_offset,
	updated_at = excluded.updated_at, channel = excluded.channel, original_due_at = excluded.original_due_at,
	supplement_due_at = excluded.supplement_due_at, workflow = excluded.workflow, applicant_name = excluded.applicant_name
	WHERE (excluded.ev_offset, excluded.st_offset) > (d.ev_offset, d.st_offset)
	RETURNING code`}

	// The update only matters when another PostgreSQL writer inserted the
	// dossier after this batch read the versions.
	bSteps = bulk{`INSERT INTO steps (code, idx, id, name, agency, deadline_days, deadline_work, after_ids, status,
	assigned_at, due_at, completed_at, on_time, overdue_sent, original_due_at)`,
		[]string{"text", "integer", "text", "text", "text", "integer", "bigint", "text", "text",
			"bigint", "bigint", "bigint", "integer", "integer", "bigint"},
		` ON CONFLICT (code, id) DO UPDATE SET idx = excluded.idx, name = excluded.name,
	agency = excluded.agency, deadline_days = excluded.deadline_days, deadline_work = excluded.deadline_work,
	after_ids = excluded.after_ids, status = excluded.status, assigned_at = excluded.assigned_at,
	due_at = excluded.due_at, completed_at = excluded.completed_at, on_time = excluded.on_time,
	overdue_sent = excluded.overdue_sent, original_due_at = excluded.original_due_at`}

	bAgencies = bulk{`INSERT INTO dossier_agencies (agency, received_at, code)`,
		[]string{"text", "bigint", "text"}, ` ON CONFLICT DO NOTHING`}

	// A timeline only grows: entries already stored are the same entries.
	bTimeline = bulk{`INSERT INTO timeline (code, seq, id, type, source, at, step, status, to_agency, note)`,
		[]string{"text", "integer", "text", "text", "text", "bigint", "text", "text", "text", "text"},
		` ON CONFLICT (code, seq) DO NOTHING`}

	sqlPosition = `INSERT INTO projector_offsets (topic, part, next_offset, updated_at) VALUES ($1, $2, $3, $4)
	ON CONFLICT (topic, part) DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at`

	sqlDeleteAgency = `DELETE FROM dossier_agencies WHERE agency = $1 AND received_at = $2 AND code = $3`
)

// applyStatements lists every statement text Apply runs on SQLite.
func (s *Store) applyStatements() []string {
	out := []string{sqlPosition, sqlDeleteAgency}
	for _, n := range chunkSizes {
		out = append(out, s.inSQL(qPriors, n), s.inSQL(qDeleteSteps, n))
		for _, b := range []bulk{bDossiers, bSteps, bAgencies, bTimeline} {
			out = append(out, s.bulkSQL(b, n))
		}
	}
	return out
}

func (s *Store) priors(ctx context.Context, tx *sql.Tx, codes []string) (map[string]prior, error) {
	old := make(map[string]prior, len(codes))
	err := s.runIn(ctx, tx, qPriors, codes, func(rows *sql.Rows) error {
		var code string
		var p prior
		if err := rows.Scan(&code, &p.ev, &p.st, &p.nTimeline, &p.receiver, &p.receivedAt); err != nil {
			return err
		}
		old[code] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read versions: %w", err)
	}
	return old, nil
}

// upsertDossiers writes the dossier rows the version guard lets through and
// returns their codes.
func (s *Store) upsertDossiers(ctx context.Context, tx *sql.Tx, recs []Record) (map[string]bool, error) {
	written := make(map[string]bool, len(recs))
	now := time.Now().UnixNano()
	args := make([]any, 0, len(recs)*len(bDossiers.types))
	for _, r := range recs {
		st := r.State
		args = append(args, st.Code, st.Procedure, st.Receiver, st.Status, keyTime(st.ReceivedAt),
			timeArg(st.AcceptedAt), timeArg(st.DueAt), timeArg(st.ResultAt), timeArg(st.ClosedAt), timeArg(st.PausedAt),
			st.SupplementStep, st.SupplementBy, boolArg(st.OverdueSent), int64(len(st.Steps)), int64(len(st.Timeline)),
			st.Offset, r.StateOffset, now, st.Channel, timeArg(st.OriginalDueAt), timeArg(st.SupplementDueAt), workflowArg(st),
			nullString(st.Applicant()))
	}
	err := s.run(ctx, tx, bDossiers, args, func(rows *sql.Rows) error {
		var code string
		if err := rows.Scan(&code); err != nil {
			return err
		}
		written[code] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("upsert dossiers: %w", err)
	}
	return written, nil
}

// deleteSteps removes the steps of dossiers about to be rewritten and
// returns the agencies they named.
func (s *Store) deleteSteps(ctx context.Context, tx *sql.Tx, codes []string) (map[string][]string, error) {
	agencies := make(map[string][]string, len(codes))
	err := s.runIn(ctx, tx, qDeleteSteps, codes, func(rows *sql.Rows) error {
		var code, agency string
		if err := rows.Scan(&code, &agency); err != nil {
			return err
		}
		agencies[code] = append(agencies[code], agency)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete steps: %w", err)
	}
	return agencies, nil
}

func (s *Store) insertSteps(ctx context.Context, tx *sql.Tx, recs []Record) error {
	var args []any
	for _, r := range recs {
		for i := range r.State.Steps {
			st := &r.State.Steps[i]
			if slices.ContainsFunc(r.State.Steps[:i], func(o router.StepState) bool { return o.ID == st.ID }) {
				continue // a route's step ids are unique; a duplicate would fail PostgreSQL's upsert
			}
			var after any
			if len(st.After) > 0 {
				b, err := json.Marshal(st.After)
				if err != nil {
					return fmt.Errorf("insert steps: %w", err)
				}
				after = string(b)
			}
			args = append(args, r.State.Code, int64(i), st.ID, st.Name, st.Agency, int64(st.Deadline.Days),
				int64(st.Deadline.Work), after, st.Status, timeArg(st.AssignedAt), timeArg(st.DueAt),
				timeArg(st.CompletedAt), boolArg(st.OnTime), boolArg(st.OverdueSent), timeArg(st.OriginalDueAt))
		}
	}
	if err := s.run(ctx, tx, bSteps, args, nil); err != nil {
		return fmt.Errorf("insert steps: %w", err)
	}
	return nil
}

// agenciesOf returns the distinct non-empty agencies that may see a
// dossier, sorted.
func agenciesOf(receiver string, steps []string) []string {
	out := make([]string, 0, len(steps)+1)
	if receiver != "" {
		out = append(out, receiver)
	}
	for _, a := range steps {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// writeAgencies keeps dossier_agencies in step with the written dossiers. A
// route, receiver and receipt time are fixed at submission, so for an
// existing dossier it usually has nothing to do.
func (s *Store) writeAgencies(ctx context.Context, tx *sql.Tx, recs []Record, old map[string]prior, oldSteps map[string][]string) error {
	var args []any
	for _, r := range recs {
		st := r.State
		steps := make([]string, len(st.Steps))
		for i := range st.Steps {
			steps[i] = st.Steps[i].Agency
		}
		want := agenciesOf(st.Receiver, steps)
		at := keyTime(st.ReceivedAt)
		if p, ok := old[st.Code]; ok {
			had := agenciesOf(p.receiver, oldSteps[st.Code])
			if p.receivedAt == at && slices.Equal(want, had) {
				continue
			}
			// Rare (a route never changes), so one row at a time.
			for _, a := range had {
				if err := s.txDo(ctx, tx, sqlDeleteAgency, []any{a, p.receivedAt, st.Code}, nil); err != nil {
					return fmt.Errorf("delete agencies: %w", err)
				}
			}
		}
		for _, a := range want {
			args = append(args, a, at, st.Code)
		}
	}
	if err := s.run(ctx, tx, bAgencies, args, nil); err != nil {
		return fmt.Errorf("insert agencies: %w", err)
	}
	return nil
}

func (s *Store) insertTimeline(ctx context.Context, tx *sql.Tx, recs []Record, old map[string]prior) error {
	var args []any
	for _, r := range recs {
		from := 0
		if p, ok := old[r.State.Code]; ok {
			from = min(p.nTimeline, len(r.State.Timeline))
		}
		for i := from; i < len(r.State.Timeline); i++ {
			e := &r.State.Timeline[i]
			args = append(args, r.State.Code, int64(i), e.ID, e.Type, e.Source, timeArg(e.Time), e.Step, e.Status, e.To, e.Note)
		}
	}
	if err := s.run(ctx, tx, bTimeline, args, nil); err != nil {
		return fmt.Errorf("insert timeline: %w", err)
	}
	return nil
}

// Position returns the next offset the projector should read from a
// topic's partition, as the last Apply stored it.
func (s *Store) Position(ctx context.Context, topic string, partition int) (next int64, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT next_offset FROM projector_offsets WHERE topic = $1 AND part = $2`,
		topic, int64(partition)).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.wrap("position", err)
	}
	return next, true, nil
}

// workflowDoc is the dossiers.workflow column: what the slip and the
// reports read with one dossier, never filter on.
type workflowDoc struct {
	Obligation *router.Obligation `json:"obligation,omitempty"`
	Apologies  []router.Apology   `json:"apologies,omitempty"`
}

// workflowArg is the workflow column's value: NULL when there is nothing.
func workflowArg(st *router.State) any {
	if st.Obligation == nil && len(st.Apologies) == 0 {
		return nil
	}
	// Times in UTC, as every other column holds them.
	utc := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.UTC()
	}
	var w workflowDoc
	if o := st.Obligation; o != nil {
		c := *o
		c.SetAt, c.PaidAt = utc(c.SetAt), utc(c.PaidAt)
		w.Obligation = &c
	}
	for _, a := range st.Apologies {
		a.OldDueAt, a.NewDueAt, a.At = utc(a.OldDueAt), utc(a.NewDueAt), utc(a.At)
		w.Apologies = append(w.Apologies, a)
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil // plain values: cannot happen
	}
	return string(b)
}

// nullString is NULL for "": personal data that is gone leaves no trace.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
