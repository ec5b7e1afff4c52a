package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SchemaVersion is the newest schema this build knows.
const SchemaVersion = 4

// TooNewError is returned by Open for a database migrated by a newer build.
type TooNewError struct {
	Have int // the database's version
	Know int // the newest this build knows
}

func (e *TooNewError) Error() string {
	return fmt.Sprintf("store schema version %d is newer than this lienthong knows (%d): upgrade lienthong", e.Have, e.Know)
}

// migrateLock is the pg_advisory_xact_lock key that serialises migrations of
// replicas sharing a PostgreSQL database ("lienthong" in ASCII).
const migrateLock = 0x6c69656e74686f6e

// The DDL is the same on both dialects: times are BIGINT unix nanoseconds
// (NULL for the zero time), booleans INTEGER 0/1. dossiers.received_at, the
// list's sort key, is NOT NULL (the zero time is math.MinInt64) because SQLite
// and PostgreSQL order NULLs differently. /*clustered*/ becomes WITHOUT ROWID
// on SQLite: the table is its primary-key B-tree, one fewer tree to write
// per row.
var migrations = []struct {
	version int
	stmts   []string
}{
	{1, []string{
		`CREATE TABLE lienthong_meta (
			name  TEXT PRIMARY KEY,
			value TEXT NOT NULL
		)`,
		`CREATE TABLE dossiers (
			code            TEXT PRIMARY KEY,
			procedure       TEXT NOT NULL,
			receiver        TEXT NOT NULL,
			status          TEXT NOT NULL,
			received_at     BIGINT NOT NULL,
			accepted_at     BIGINT,
			due_at          BIGINT,
			result_at       BIGINT,
			closed_at       BIGINT,
			paused_at       BIGINT,
			supplement_step TEXT NOT NULL,
			supplement_by   TEXT NOT NULL,
			overdue_sent    INTEGER NOT NULL,
			n_steps         INTEGER NOT NULL,
			n_timeline      INTEGER NOT NULL,
			ev_offset       BIGINT NOT NULL,
			st_offset       BIGINT NOT NULL,
			updated_at      BIGINT NOT NULL
		) /*clustered*/`,
		`CREATE INDEX dossiers_received ON dossiers (received_at, code)`,
		`CREATE INDEX dossiers_status ON dossiers (status, received_at, code)`,
		`CREATE INDEX dossiers_procedure ON dossiers (procedure, received_at, code)`,
		`CREATE INDEX dossiers_due ON dossiers (due_at, code)`,
		`CREATE TABLE steps (
			code          TEXT NOT NULL,
			idx           INTEGER NOT NULL,
			id            TEXT NOT NULL,
			name          TEXT NOT NULL,
			agency        TEXT NOT NULL,
			deadline_days INTEGER NOT NULL,
			deadline_work BIGINT NOT NULL,
			after_ids     TEXT,
			status        TEXT NOT NULL,
			assigned_at   BIGINT,
			due_at        BIGINT,
			completed_at  BIGINT,
			on_time       INTEGER NOT NULL,
			overdue_sent  INTEGER NOT NULL,
			PRIMARY KEY (code, id)
		) /*clustered*/`,
		`CREATE TABLE timeline (
			code      TEXT NOT NULL,
			seq       INTEGER NOT NULL,
			id        TEXT NOT NULL,
			type      TEXT NOT NULL,
			source    TEXT NOT NULL,
			at        BIGINT,
			step      TEXT NOT NULL,
			status    TEXT NOT NULL,
			to_agency TEXT NOT NULL,
			PRIMARY KEY (code, seq)
		) /*clustered*/`,
		// The agencies that may see a dossier (receiver and step agencies),
		// in list order: one index drives a viewer's or an agency filter's
		// page instead of an OR over two tables.
		`CREATE TABLE dossier_agencies (
			agency      TEXT NOT NULL,
			received_at BIGINT NOT NULL,
			code        TEXT NOT NULL,
			PRIMARY KEY (agency, received_at, code)
		) /*clustered*/`,
		`CREATE TABLE projector_offsets (
			topic       TEXT NOT NULL,
			part        INTEGER NOT NULL,
			next_offset BIGINT NOT NULL,
			updated_at  BIGINT NOT NULL,
			PRIMARY KEY (topic, part)
		)`,
	}},
	// The form schema versions this bus has used: a version's content never
	// changes (PinForms).
	{2, []string{
		`CREATE TABLE form_schemas (
			urn        TEXT PRIMARY KEY,
			sha256     TEXT NOT NULL,
			path       TEXT NOT NULL,
			first_seen BIGINT NOT NULL
		)`,
	}},
	// The workflow of DESIGN.md section 4: the channel (reception), the
	// first due times an apology moved, the supplement deadline, the
	// obligation and the apologies (JSON: read only with their dossier),
	// and the reasons events gave, for the slip.
	{3, []string{
		`ALTER TABLE dossiers ADD COLUMN channel TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE dossiers ADD COLUMN original_due_at BIGINT`,
		`ALTER TABLE dossiers ADD COLUMN supplement_due_at BIGINT`,
		`ALTER TABLE dossiers ADD COLUMN workflow TEXT`,
		`ALTER TABLE steps ADD COLUMN original_due_at BIGINT`,
		`ALTER TABLE timeline ADD COLUMN note TEXT NOT NULL DEFAULT ''`,
	}},
	// The handling report finds the dossiers carried over into a period,
	// however old, through the time each ended (store.EndedIndex); the slip
	// names the applicant while the dossier is open (NULL once closed).
	{4, []string{
		`CREATE INDEX dossiers_ended ON dossiers ((COALESCE(result_at, closed_at)))`,
		`ALTER TABLE dossiers ADD COLUMN applicant_name TEXT`,
	}},
}

// migrate brings the schema up to SchemaVersion in one transaction and reads
// the store id.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if s.dialect == DialectPostgres {
		// Before anything else, even CREATE TABLE IF NOT EXISTS, which races
		// on PostgreSQL's catalogs.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS lienthong_schema (
		version    INTEGER PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("store: migrate: schema table: %w", err)
	}
	var have sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM lienthong_schema`).Scan(&have); err != nil {
		return fmt.Errorf("store: migrate: read version: %w", err)
	}
	if int(have.Int64) > SchemaVersion {
		return &TooNewError{Have: int(have.Int64), Know: SchemaVersion}
	}
	for _, m := range migrations {
		if m.version <= int(have.Int64) {
			continue
		}
		for _, q := range m.stmts {
			if s.dialect == DialectSQLite {
				q = strings.ReplaceAll(q, "/*clustered*/", "WITHOUT ROWID")
			}
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("store: migrate to version %d: %w", m.version, err)
			}
		}
		if m.version == 1 {
			var b [16]byte
			_, _ = rand.Read(b[:])
			if _, err := tx.ExecContext(ctx, `INSERT INTO lienthong_meta (name, value) VALUES ('id', $1)`, hex.EncodeToString(b[:])); err != nil {
				return fmt.Errorf("store: migrate: store id: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO lienthong_schema (version, applied_at) VALUES ($1, $2)`,
			m.version, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("store: migrate: record version %d: %w", m.version, err)
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT value FROM lienthong_meta WHERE name = 'id'`).Scan(&s.id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("store: migrate: the store id is missing from lienthong_meta")
		}
		return fmt.Errorf("store: migrate: read store id: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: commit: %w", err)
	}
	return nil
}
