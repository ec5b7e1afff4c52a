package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// FormPin is one form schema version as a process loaded it.
type FormPin struct {
	URN    string
	SHA256 string // of the schema file
	Path   string // where it was read, for the error
}

// FormChangedError says that form schema versions changed content since the
// bus first used them: a published version is immutable (publish v<N+1>).
type FormChangedError struct {
	Changed []FormChange
}

// FormChange is one changed version.
type FormChange struct {
	URN, Path string
	Was, Now  string // SHA-256 of the first content and of today's
	FirstPath string
	FirstSeen time.Time
}

func (e *FormChangedError) Error() string {
	parts := make([]string, len(e.Changed))
	for i, c := range e.Changed {
		parts[i] = fmt.Sprintf("%s (%s) has changed since %s, when %s was first used with sha256 %s; now sha256 %s",
			c.URN, c.Path, c.FirstSeen.UTC().Format(time.RFC3339), c.FirstPath, c.Was[:12], c.Now[:12])
	}
	return "form schema versions are immutable: " + strings.Join(parts, "; ") + ": restore the old file and publish the change as a new version"
}

// PinForms records the form schema versions not seen before and refuses,
// with a *FormChangedError, versions whose content differs from the first
// recorded. Replicas starting together agree: the first insert wins.
func (s *Store) PinForms(ctx context.Context, pins []FormPin) error {
	if len(pins) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("pin forms: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	now := time.Now().UnixNano()
	for _, p := range pins {
		if _, err := tx.ExecContext(ctx, `INSERT INTO form_schemas (urn, sha256, path, first_seen) VALUES ($1, $2, $3, $4)
			ON CONFLICT (urn) DO NOTHING`, p.URN, p.SHA256, p.Path, now); err != nil {
			return s.wrap("pin forms: insert", err)
		}
	}
	var changed []FormChange
	for _, p := range pins {
		var c FormChange
		var first int64
		if err := tx.QueryRowContext(ctx, `SELECT sha256, path, first_seen FROM form_schemas WHERE urn = $1`, p.URN).
			Scan(&c.Was, &c.FirstPath, &first); err != nil {
			return s.wrap("pin forms: read", err)
		}
		if c.Was != p.SHA256 {
			c.URN, c.Path, c.Now, c.FirstSeen = p.URN, p.Path, p.SHA256, time.Unix(0, first)
			changed = append(changed, c)
		}
	}
	if len(changed) > 0 {
		sort.Slice(changed, func(i, j int) bool { return changed[i].URN < changed[j].URN })
		return &FormChangedError{Changed: changed}
	}
	if err := tx.Commit(); err != nil {
		return s.wrap("pin forms: commit", err)
	}
	return nil
}
