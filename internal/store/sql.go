package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"
)

// Times are int64 unix nanoseconds, which cover 1677-09-21 to 2262-04-11;
// times outside saturate rather than fail, so one odd record cannot stall
// the projector.
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64 + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// timeArg encodes a time column: NULL for the zero time.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return unixNano(t)
}

func timeOf(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// keyTime encodes received_at, the NOT NULL sort key: the zero time sorts
// first.
func keyTime(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return unixNano(t)
}

func keyTimeOf(n int64) time.Time {
	if n == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func boolArg(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// quote returns a SQL string literal (for the router's constant statuses).
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Bulk statements. On SQLite a batch is cut greedily into pieces of
// chunkSizes rows, so that a few statement texts serve every batch and each
// is prepared once (preparing a 1,000-row insert cost a sixth of a batch);
// 1024 rows of the widest table (18 columns) stay under SQLite's 32766
// variables. Its variables are anonymous "?": SQLite treats "$1" as a name
// and looks names up in a list, which made a 9,000-variable insert
// quadratic (2.7 s for 500 dossiers). On PostgreSQL a whole batch is one
// statement with one array per column (unnest, = ANY), which pgx prepares
// once.
var chunkSizes = [...]int{1024, 256, 64, 16, 4, 1}

func chunkLen(n int) int {
	for _, c := range chunkSizes {
		if c <= n {
			return c
		}
	}
	return n
}

// bulk is a multi-row write: head names the table and columns, types are
// the columns' PostgreSQL types, tail follows the rows (ON CONFLICT ...).
type bulk struct {
	head  string
	types []string
	tail  string
}

// bulkSQL returns b's statement for n rows on SQLite, or for any number of
// rows (as arrays) on PostgreSQL.
func (s *Store) bulkSQL(b bulk, n int) string {
	var w strings.Builder
	w.WriteString(b.head)
	if s.dialect == DialectPostgres {
		w.WriteString(" SELECT * FROM unnest(")
		for i, t := range b.types {
			if i > 0 {
				w.WriteString(", ")
			}
			fmt.Fprintf(&w, "$%d::%s[]", i+1, t)
		}
		w.WriteString(")")
	} else {
		w.Grow(n * len(b.types) * 2)
		w.WriteString(" VALUES ")
		for r := 0; r < n; r++ {
			if r > 0 {
				w.WriteByte(',')
			}
			w.WriteByte('(')
			w.WriteString(strings.Repeat("?,", len(b.types)-1))
			w.WriteString("?)")
		}
	}
	w.WriteString(b.tail)
	return w.String()
}

// run runs b over rows given row after row in args (string, int64 or nil
// each); for a RETURNING statement, each gets every returned row.
func (s *Store) run(ctx context.Context, tx *sql.Tx, b bulk, args []any, each func(*sql.Rows) error) error {
	cols := len(b.types)
	n := len(args) / cols
	if n == 0 {
		return nil
	}
	if s.dialect == DialectPostgres {
		return s.txDo(ctx, tx, s.bulkSQL(b, n), columns(args, b.types), each)
	}
	for len(args) > 0 {
		c := chunkLen(len(args) / cols)
		if err := s.txDo(ctx, tx, s.bulkSQL(b, c), args[:c*cols], each); err != nil {
			return err
		}
		args = args[c*cols:]
	}
	return nil
}

// columns turns rows of values into one PostgreSQL array per column.
func columns(args []any, types []string) []any {
	cols := len(types)
	n := len(args) / cols
	out := make([]any, cols)
	for c, t := range types {
		if t == "text" {
			a := make([]*string, n)
			for r := range a {
				if v, ok := args[r*cols+c].(string); ok {
					a[r] = &v
				}
			}
			out[c] = a
		} else {
			a := make([]*int64, n)
			for r := range a {
				if v, ok := args[r*cols+c].(int64); ok {
					a[r] = &v
				}
			}
			out[c] = a
		}
	}
	return out
}

// inStmt is a statement over a set of dossier codes: head + " IN (...)" or
// " = ANY($1)" + tail.
type inStmt struct{ head, tail string }

func (s *Store) inSQL(q inStmt, n int) string {
	if s.dialect == DialectPostgres {
		return q.head + " = ANY($1::text[])" + q.tail
	}
	return q.head + " IN (" + strings.Repeat("?,", n-1) + "?)" + q.tail
}

// runIn runs q over codes.
func (s *Store) runIn(ctx context.Context, db queryer, q inStmt, codes []string, each func(*sql.Rows) error) error {
	if len(codes) == 0 {
		return nil
	}
	run := func(q string, args []any) error {
		if tx, ok := db.(*sql.Tx); ok {
			return s.txDo(ctx, tx, q, args, each)
		}
		return s.do(ctx, db, nil, q, args, each)
	}
	if s.dialect == DialectPostgres {
		return run(s.inSQL(q, len(codes)), []any{codes})
	}
	// Apply's statements come in the prepared sizes; others take up to the
	// largest in one statement.
	prepared := s.stmts[s.inSQL(q, 1)] != nil
	for len(codes) > 0 {
		c := min(len(codes), chunkSizes[0])
		if prepared {
			c = chunkLen(len(codes))
		}
		args := make([]any, c)
		for i, code := range codes[:c] {
			args[i] = code
		}
		if err := run(s.inSQL(q, c), args); err != nil {
			return err
		}
		codes = codes[c:]
	}
	return nil
}

// queryer is a *sql.DB or *sql.Tx.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// prepareAll prepares Apply's statements on the SQLite writer connection.
// It runs at Open: later, the one connection may be inside Apply's
// transaction. PostgreSQL needs none of this: pgx caches prepared
// statements by text.
func (s *Store) prepareAll(ctx context.Context) error {
	if s.dialect != DialectSQLite {
		return nil
	}
	s.stmts = map[string]*sql.Stmt{}
	for _, q := range s.applyStatements() {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare: %w", err)
		}
		s.stmts[q] = st
	}
	return nil
}

// txDo runs q in tx, prepared if it is one of Apply's statements.
func (s *Store) txDo(ctx context.Context, tx *sql.Tx, q string, args []any, each func(*sql.Rows) error) error {
	var st *sql.Stmt
	if p := s.stmts[q]; p != nil {
		st = tx.StmtContext(ctx, p)
	}
	return s.do(ctx, tx, st, q, args, each)
}

// do runs q (or its prepared st) on db; with each, as a query whose every
// row each reads.
func (s *Store) do(ctx context.Context, db queryer, st *sql.Stmt, q string, args []any, each func(*sql.Rows) error) error {
	if each == nil {
		var err error
		if st != nil {
			_, err = st.ExecContext(ctx, args...)
		} else {
			_, err = db.ExecContext(ctx, q, args...)
		}
		return err
	}
	var rows *sql.Rows
	var err error
	if st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = db.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	return rows.Err()
}

// closeRows closes rows and returns the error of the iteration, if any.
func closeRows(rows *sql.Rows) error {
	if err := rows.Close(); err != nil {
		return err
	}
	return rows.Err()
}
