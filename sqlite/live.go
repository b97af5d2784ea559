package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aiconsent/aiconsent/access"
)

var _ access.LiveGrantStore = (*DB)(nil)

// ListGrants returns the grants matching f, newest first.
func (db *DB) ListGrants(ctx context.Context, f access.GrantFilter) ([]*access.Grant, error) {
	var where []string
	var args []any
	if f.Subject != "" {
		where, args = append(where, "subject = ?"), append(args, f.Subject)
	}
	if f.ClientID != "" {
		where, args = append(where, "client_id = ?"), append(args, f.ClientID)
	}
	if f.Live {
		where, args = append(where, "status IN (?, ?)"), append(args, access.StatusActive, access.StatusPaused)
	}
	query := `SELECT ` + grantColumns + ` FROM grants`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY created_at DESC, id`

	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defer rows.Close()

	var grants []*access.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("list grants: %w", err)
		}
		grants = append(grants, g)
	}
	return grants, rows.Err()
}

// ChangeGrant applies c to a live grant, records it in the audit log and,
// for a revocation, queues the call to Hydra, all in one transaction.
func (db *DB) ChangeGrant(ctx context.Context, c access.GrantChange) (*access.Grant, error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("change grant %q: %w", c.GrantID, err)
	}
	defer tx.Rollback()

	row := tx.QueryRowContext(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = ?`, c.GrantID)
	before, err := scanGrant(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, access.ErrGrantNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("change grant %q: %w", c.GrantID, err)
	}
	if before.Status != access.StatusActive && before.Status != access.StatusPaused {
		return nil, access.ErrGrantNotLive
	}

	now := db.Now().UTC()
	after, err := applyChange(*before, c)
	if err != nil {
		return nil, err
	}
	after.UpdatedAt = now

	if err := updateGrant(ctx, tx, &after); err != nil {
		return nil, fmt.Errorf("change grant %q: %w", c.GrantID, err)
	}
	if err := insertAudit(ctx, tx, now, c, before, &after); err != nil {
		return nil, fmt.Errorf("change grant %q: %w", c.GrantID, err)
	}
	if c.Action == access.ActionRevoke {
		_, err := tx.ExecContext(ctx, `INSERT INTO pending_revocations (subject, client_id, next_attempt) VALUES (?, ?, ?)`,
			after.Subject, after.ClientID, formatTime(now))
		if err != nil {
			return nil, fmt.Errorf("change grant %q: queue revocation: %w", c.GrantID, err)
		}
	}

	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("change grant %q: %w", c.GrantID, err)
	}
	return &after, nil
}

// applyChange returns g with c applied, or an error for an action that
// does not fit the grant's state.
func applyChange(g access.Grant, c access.GrantChange) (access.Grant, error) {
	switch c.Action {
	case access.ActionEdit:
		if len(c.Details) == 0 {
			return g, errors.New("an edit must keep at least one detail; revoke the grant instead")
		}
		g.Details = c.Details
	case access.ActionPause:
		g.Status = access.StatusPaused
	case access.ActionResume:
		g.Status = access.StatusActive
	case access.ActionRevoke:
		g.Status = access.StatusRevoked
	default:
		return g, fmt.Errorf("unknown grant action %q", c.Action)
	}
	return g, nil
}

func updateGrant(ctx context.Context, tx *sql.Tx, g *access.Grant) error {
	details, err := encodeDetails(g.Details)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE grants SET status = ?, details = ?, updated_at = ? WHERE id = ?`,
		g.Status, details, formatTime(g.UpdatedAt), g.ID)
	return err
}

func insertAudit(ctx context.Context, tx *sql.Tx, at time.Time, c access.GrantChange, before, after *access.Grant) error {
	b, err := auditJSON(before)
	if err != nil {
		return err
	}
	a, err := auditJSON(after)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO grant_audit (at, actor, grant_id, action, before, after) VALUES (?, ?, ?, ?, ?, ?)`,
		formatTime(at), c.Actor, c.GrantID, c.Action, b, a)
	return err
}

// auditJSON is the audit form of a grant: its status and its details as
// the token claim shows them, so amounts read as decimal strings.
func auditJSON(g *access.Grant) (string, error) {
	data, err := json.Marshal(struct {
		Status  access.Status        `json:"status"`
		Details []access.ClaimDetail `json:"details"`
	}{g.Status, access.Claim(g.ID, g.Details)})
	return string(data), err
}

// ListAudit returns the audit entries of a grant, oldest first.
func (db *DB) ListAudit(ctx context.Context, grantID string) ([]access.AuditEntry, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	rows, err := tx.QueryContext(ctx, `SELECT id, at, actor, grant_id, action, before, after FROM grant_audit WHERE grant_id = ? ORDER BY id`, grantID)
	if err != nil {
		return nil, fmt.Errorf("list audit of grant %q: %w", grantID, err)
	}
	defer rows.Close()

	var entries []access.AuditEntry
	for rows.Next() {
		var e access.AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.GrantID, &e.Action, &e.Before, &e.After); err != nil {
			return nil, fmt.Errorf("list audit of grant %q: %w", grantID, err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("list audit of grant %q: %w", grantID, err)
		}
		entries = append(entries, e)
	}
	return entries, rows.Err()
}

// DueRevocations returns up to limit pending revocations due at now.
func (db *DB) DueRevocations(ctx context.Context, now time.Time, limit int) ([]access.Revocation, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	rows, err := tx.QueryContext(ctx, `
		SELECT id, subject, client_id, attempts, next_attempt, last_error FROM pending_revocations
		WHERE next_attempt <= ? ORDER BY next_attempt LIMIT ?`, formatTime(now.UTC()), limit)
	if err != nil {
		return nil, fmt.Errorf("list due revocations: %w", err)
	}
	defer rows.Close()

	var due []access.Revocation
	for rows.Next() {
		var r access.Revocation
		var next string
		if err := rows.Scan(&r.ID, &r.Subject, &r.ClientID, &r.Attempts, &next, &r.LastError); err != nil {
			return nil, fmt.Errorf("list due revocations: %w", err)
		}
		if r.NextAttempt, err = parseTime(next); err != nil {
			return nil, fmt.Errorf("list due revocations: %w", err)
		}
		due = append(due, r)
	}
	return due, rows.Err()
}

// CompleteRevocation removes a pending revocation.
func (db *DB) CompleteRevocation(ctx context.Context, id int64) error {
	return db.exec(ctx, `DELETE FROM pending_revocations WHERE id = ?`, id)
}

// PostponeRevocation records a failed attempt and the time of the next.
func (db *DB) PostponeRevocation(ctx context.Context, id int64, next time.Time, lastError string) error {
	return db.exec(ctx, `UPDATE pending_revocations SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?`,
		formatTime(next.UTC()), lastError, id)
}

// exec runs one statement in its own write transaction.
func (db *DB) exec(ctx context.Context, query string, args ...any) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return err
	}
	return tx.Commit()
}
