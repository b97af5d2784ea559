package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/aiconsent/aiconsent/account"
)

var _ account.Store = (*DB)(nil)

// userColumns are the columns findUser scans, in its order.
const userColumns = `subject, username, password_hash, admin, disabled, created_at`

// CreateUser stores u, or returns account.ErrUserExists when another user
// has the same username compared case-insensitively. Subject and
// PasswordHash must be set and Username must pass account.ValidateUsername.
// A zero CreatedAt is set to the current time, in u too once the user is
// stored.
func (db *DB) CreateUser(ctx context.Context, u *account.User) error {
	if err := validateNewUser(u); err != nil {
		return err
	}

	stored := *u
	if stored.CreatedAt.IsZero() {
		stored.CreatedAt = db.Now().UTC()
	}

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	defer tx.Rollback()

	if err := insertUser(ctx, tx, &stored); err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}

	u.CreatedAt = stored.CreatedAt
	return nil
}

func validateNewUser(u *account.User) error {
	if err := account.ValidateUsername(u.Username); err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	if u.Subject == "" {
		return fmt.Errorf("create user %q: subject is empty; the caller must set a random subject", u.Username)
	}
	if u.PasswordHash == "" {
		return fmt.Errorf("create user %q: password hash is empty; set it with account.HashPassword", u.Username)
	}
	return nil
}

func insertUser(ctx context.Context, tx *sql.Tx, u *account.User) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO users (subject, username, username_key, password_hash, admin, disabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.Subject, u.Username, usernameKey(u.Username), u.PasswordHash,
		boolToInt(u.Admin), boolToInt(u.Disabled), formatTime(u.CreatedAt))
	switch {
	case isUniqueViolation(err, "users.username_key"):
		return account.ErrUserExists
	case isUniqueViolation(err, "users.subject"):
		return fmt.Errorf("subject %q belongs to another user; subjects must be random and unique", u.Subject)
	case err != nil:
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

// usernameKey returns the form of a username that is unique in the users
// table, so that usernames compare case-insensitively.
func usernameKey(username string) string {
	return strings.ToLower(username)
}

// FindUserByUsername returns the user whose username equals username
// case-insensitively, or account.ErrUserNotFound.
func (db *DB) FindUserByUsername(ctx context.Context, username string) (*account.User, error) {
	u, err := db.findUser(ctx, `username_key = ?`, usernameKey(username))
	if err != nil {
		// The error leaves out the username: at sign-in it is typed input,
		// sometimes a password typed into the wrong field.
		return nil, fmt.Errorf("find user by username: %w", err)
	}
	return u, nil
}

// FindUserBySubject returns the user with the given subject, or
// account.ErrUserNotFound.
func (db *DB) FindUserBySubject(ctx context.Context, subject string) (*account.User, error) {
	u, err := db.findUser(ctx, `subject = ?`, subject)
	if err != nil {
		return nil, fmt.Errorf("find user with subject %q: %w", subject, err)
	}
	return u, nil
}

// findUser returns the one user matching the SQL condition where, or
// account.ErrUserNotFound.
func (db *DB) findUser(ctx context.Context, where string, args ...any) (*account.User, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	var (
		u               account.User
		admin, disabled int
		createdAt       string
	)
	row := tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, args...)
	err = row.Scan(&u.Subject, &u.Username, &u.PasswordHash, &admin, &disabled, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, account.ErrUserNotFound
	}
	if err != nil {
		return nil, err
	}

	u.Admin = admin != 0
	u.Disabled = disabled != 0
	if u.CreatedAt, err = parseTime(createdAt); err != nil {
		return nil, fmt.Errorf("user %q: created_at: %w", u.Subject, err)
	}
	return &u, nil
}
