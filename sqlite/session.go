package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aiconsent/aiconsent/account"
)

var _ account.SessionStore = (*DB)(nil)

// CreateSession stores a browser session under the hash of its token and
// deletes expired sessions, so the table does not grow without bound.
func (db *DB) CreateSession(ctx context.Context, tokenHash string, s account.Session) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	defer tx.Rollback()

	now := db.Now().UTC()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, formatTime(now)); err != nil {
		return fmt.Errorf("create session: delete expired: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, subject, hydra_sid, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		tokenHash, s.Subject, s.HydraSessionID, formatTime(now), formatTime(s.ExpiresAt.UTC()))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return tx.Commit()
}

// FindSession returns the session with the token hash, or
// account.ErrSessionNotFound when it is unknown or expired.
func (db *DB) FindSession(ctx context.Context, tokenHash string) (*account.Session, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	var s account.Session
	var created, expires string
	err = tx.QueryRowContext(ctx, `SELECT subject, hydra_sid, created_at, expires_at FROM sessions WHERE token_hash = ? AND expires_at > ?`,
		tokenHash, formatTime(db.Now().UTC())).Scan(&s.Subject, &s.HydraSessionID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, account.ErrSessionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	if s.CreatedAt, err = parseTime(created); err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	if s.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	return &s, nil
}

// DeleteSession removes a session.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	return db.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
}

// SetUserDisabled enables or disables an account.
func (db *DB) SetUserDisabled(ctx context.Context, username string, disabled bool) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	res, err := tx.ExecContext(ctx, `UPDATE users SET disabled = ? WHERE username_key = ?`, boolToInt(disabled), usernameKey(username))
	if err != nil {
		return fmt.Errorf("set user disabled: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return account.ErrUserNotFound
	}
	return tx.Commit()
}
