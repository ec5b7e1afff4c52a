// Package store is the tracking store: the latest state of every dossier,
// projected from the state topic into SQL (SQLite by default, PostgreSQL in
// production) so that tracking queries do not need every state in memory.
//
// It never holds personal data: the submitted dossier and the steps' outputs
// and documents are dropped on the way in.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Dialects.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Config says where the store lives. Zero values take the defaults.
type Config struct {
	// DSN: "" is the SQLite file <DataDir>/lienthong.db; "postgres://..." or
	// "postgresql://..." is PostgreSQL; "file:..." or a path ending ".db" is
	// SQLite at that path.
	DSN     string
	DataDir string
	// MaxOpenConns bounds the pool: on SQLite the read pool (writes always go
	// through one connection), default 4; on PostgreSQL default 10.
	MaxOpenConns    int
	MaxIdleConns    int           // default MaxOpenConns
	ConnMaxLifetime time.Duration // PostgreSQL default 30m; SQLite default none
}

// ErrNotFound is returned by Get for a dossier the store does not hold.
var ErrNotFound = errors.New("store: dossier not found")

// Store is the tracking store. It is safe for concurrent use.
type Store struct {
	cfg     Config
	dialect string
	w       *sql.DB // writes (on SQLite the single writer connection)
	r       *sql.DB // reads (on PostgreSQL the same pool as w)
	id      string
	secrets []string             // strings that must not appear in errors
	stmts   map[string]*sql.Stmt // SQLite: Apply's statements, see prepareAll
}

// dialectOf returns the dialect of a DSN, or an error that does not quote it
// (it may hold a password).
func (c Config) dialectOf() (string, error) {
	d := c.DSN
	switch {
	case d == "":
		if c.DataDir == "" {
			return "", errors.New("store: neither a DSN nor a data dir is set")
		}
		return DialectSQLite, nil
	case strings.HasPrefix(d, "postgres://") || strings.HasPrefix(d, "postgresql://"):
		return DialectPostgres, nil
	case strings.HasPrefix(d, "file:") || strings.HasSuffix(d, ".db"):
		return DialectSQLite, nil
	}
	return "", errors.New(`store: unrecognised DSN: want "postgres://...", "postgresql://...", "file:..." or a path ending ".db"`)
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	d, err := c.dialectOf()
	if err != nil {
		return err
	}
	switch d {
	case DialectPostgres:
		if _, err := url.Parse(c.DSN); err != nil {
			// url.Error quotes the whole URL, password included.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("store: PostgreSQL DSN is not a valid URL: %v", err)
		}
	case DialectSQLite:
		if strings.Contains(c.DSN, ":memory:") || strings.Contains(c.DSN, "mode=memory") {
			// The reader and writer pools would each see their own empty database.
			return errors.New("store: an in-memory SQLite database is not supported; use a file")
		}
	}
	if c.MaxOpenConns < 0 || c.MaxIdleConns < 0 || c.ConnMaxLifetime < 0 {
		return errors.New("store: MaxOpenConns, MaxIdleConns and ConnMaxLifetime must not be negative")
	}
	return nil
}

// withDefaults fills the zero values for dialect d.
func (c Config) withDefaults(d string) Config {
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = 4
		if d == DialectPostgres {
			c.MaxOpenConns = 10
		}
	}
	if c.MaxIdleConns == 0 {
		c.MaxIdleConns = c.MaxOpenConns
	}
	if c.ConnMaxLifetime == 0 && d == DialectPostgres {
		c.ConnMaxLifetime = 30 * time.Minute
	}
	return c
}

// sqlitePragmas follow the measured recipe: WAL (readers do not block the
// writer), a busy timeout, NORMAL sync (a process crash loses nothing; a
// power cut may lose the last transactions, which the projector replays).
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"

// The writer begins IMMEDIATE (another process's write cannot make a
// read-then-write fail with SQLITE_BUSY), checkpoints less often (the notes
// measured +27%) and keeps a 64 MiB page cache (+15% on BenchmarkApply: a
// batch's dirty pages stay in memory until commit).
const sqliteWriterPragmas = "&_txlock=immediate&_pragma=wal_autocheckpoint(10000)&_pragma=cache_size(-65536)"

// sqliteDSNs returns the writer and reader DSNs.
func (c Config) sqliteDSNs() (w, r string, err error) {
	base := c.DSN
	switch {
	case base == "":
		if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
			return "", "", fmt.Errorf("store: data dir: %w", err)
		}
		base = "file:" + sqlitePath(filepath.Join(c.DataDir, "lienthong.db"))
	case !strings.HasPrefix(base, "file:"):
		base = "file:" + sqlitePath(base)
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	base += sep + sqlitePragmas
	return base + sqliteWriterPragmas, base + "&_pragma=query_only(1)", nil
}

// sqlitePath escapes the characters a SQLite URI filename gives meaning to.
func sqlitePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// pgSecrets returns the password of a PostgreSQL URL, wherever it sits.
func pgSecrets(dsn string) []string {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil
	}
	var out []string
	if p, ok := u.User.Password(); ok && p != "" {
		out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
	}
	if p := u.Query().Get("password"); p != "" {
		out = append(out, p, url.QueryEscape(p))
	}
	return out
}

// redactedError hides secrets in a wrapped error's text; errors.Is and As
// still see the cause.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	hit := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
			hit = true
		}
	}
	if !hit {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// Open connects, pings and migrates the store.
func Open(ctx context.Context, c Config) (*Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	d, _ := c.dialectOf()
	c = c.withDefaults(d)
	s := &Store{cfg: c, dialect: d}
	if err := s.open(ctx); err != nil {
		s.closeDBs()
		return nil, redact(err, s.secrets)
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	c := s.cfg
	where := c.DSN // SQLite's, for errors (a PostgreSQL DSN is never quoted)
	if where == "" {
		where = filepath.Join(c.DataDir, "lienthong.db")
	}
	switch s.dialect {
	case DialectPostgres:
		s.secrets = pgSecrets(c.DSN)
		db, err := sql.Open("pgx", c.DSN)
		if err != nil {
			return fmt.Errorf("store: open PostgreSQL: %w", err)
		}
		db.SetMaxOpenConns(c.MaxOpenConns)
		db.SetMaxIdleConns(c.MaxIdleConns)
		db.SetConnMaxLifetime(c.ConnMaxLifetime)
		s.w, s.r = db, db
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("store: connect to PostgreSQL: %w", err)
		}
	default:
		wdsn, _, err := c.sqliteDSNs()
		if err != nil {
			return err
		}
		// One writer connection: SQLite serialises writers anyway, and the
		// notes measured it fastest with no BUSY failures.
		if s.w, err = sql.Open("sqlite", wdsn); err != nil {
			return fmt.Errorf("store: open SQLite %s: %w", where, err)
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		s.w.SetConnMaxLifetime(c.ConnMaxLifetime)
		if err := pingSQLite(ctx, s.w); err != nil {
			return fmt.Errorf("store: open SQLite %s: %w", where, err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if err := s.prepareAll(ctx); err != nil {
		return err
	}
	if s.dialect == DialectSQLite {
		// The read pool opens after the migration so the file and WAL mode exist.
		_, rdsn, _ := c.sqliteDSNs()
		r, err := sql.Open("sqlite", rdsn)
		if err != nil {
			return fmt.Errorf("store: open SQLite reader %s: %w", where, err)
		}
		s.r = r
		r.SetMaxOpenConns(c.MaxOpenConns)
		r.SetMaxIdleConns(c.MaxIdleConns)
		r.SetConnMaxLifetime(c.ConnMaxLifetime)
		if err := r.PingContext(ctx); err != nil {
			return fmt.Errorf("store: open SQLite reader %s: %w", where, err)
		}
	}
	return nil
}

// pingSQLite opens the writer's connection. Its pragmas switch a new file to
// WAL mode, which SQLite may refuse with SQLITE_BUSY without waiting out the
// busy timeout while another process migrates the same file (seen with six
// processes opening one new file): retried for as long as that timeout.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := db.PingContext(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	if s.r != nil && s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// Close closes the store's connections.
func (s *Store) Close() error {
	if s.dialect == DialectSQLite {
		// SQLite's advice for long-lived connections: refresh the planner's
		// statistics where they are stale. Best effort.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = s.w.ExecContext(ctx, "PRAGMA optimize")
		cancel()
	}
	if err := s.closeDBs(); err != nil {
		return redact(fmt.Errorf("store: close: %w", err), s.secrets)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// ID returns the random id made when the database was first migrated: one
// per SQLite file, shared by every replica on the same PostgreSQL database.
func (s *Store) ID() string { return s.id }

// Config returns the configuration the store was opened with, defaults
// filled in (tests reopen the same database with it). Its DSN may hold a
// password: do not log it.
func (s *Store) Config() Config { return s.cfg }

// DB returns the handle writes go through, for tests and maintenance. Do
// not write tracking data through it.
func (s *Store) DB() *sql.DB { return s.w }

// wrap adds the operation to err and hides any secret in it.
func (s *Store) wrap(op string, err error) error {
	return redact(fmt.Errorf("store: %s: %w", op, err), s.secrets)
}
