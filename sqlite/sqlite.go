// Package sqlite stores grants and user accounts in a SQLite database through
// the pure Go driver modernc.org/sqlite. Several processes may share one
// database file: every write transaction takes the write lock when it begins
// and waits for it under a busy timeout.
package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	sqlitedriver "modernc.org/sqlite"
	sqlitelib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// timeLayout is the stored form of times, always in UTC: RFC 3339 with a
// fixed nine-digit fraction, so that text order is time order and
// nanoseconds survive.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// DB is a SQLite database holding grants and user accounts. It is safe for
// concurrent use, and several DB values, in one process or several, may open
// the same file.
type DB struct {
	db *sql.DB

	// Now returns the current time. Tests replace it to get fixed times.
	Now func() time.Time
}

// Open opens the SQLite database at path, creating the file if needed, and
// applies the migrations it has not applied yet. Call Close when done.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("open database: path is empty; give a file path such as /var/lib/aiconsent/aiconsent.db")
	}
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("open database %q: the path contains '?', which the SQLite driver reads as the start of its options; use a path without '?'", path)
	}

	sqlDB, err := sql.Open("sqlite", dataSourceName(path))
	if err != nil {
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	db := &DB{db: sqlDB, Now: time.Now}

	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	return db, nil
}

// dataSourceName returns the modernc.org/sqlite DSN for path. The driver
// applies the settings to every connection it opens.
func dataSourceName(path string) string {
	params := []string{
		// Wait up to 10 s for a lock that another connection or process
		// holds, instead of failing at once with SQLITE_BUSY. It comes first
		// so that the pragmas below wait too.
		"_pragma=busy_timeout(10000)",
		// Readers and the writer do not block each other.
		"_pragma=journal_mode(WAL)",
		// In WAL mode NORMAL cannot corrupt the database, but a power loss
		// may lose the last commits. It saves an fsync per commit.
		"_pragma=synchronous(NORMAL)",
		// SQLite leaves foreign key checks off unless each connection turns
		// them on.
		"_pragma=foreign_keys(ON)",
		// Read-write transactions begin with BEGIN IMMEDIATE and so take the
		// write lock at once, waiting under busy_timeout. A deferred
		// transaction that reads and then writes fails with SQLITE_BUSY,
		// without waiting, when another connection wrote in between.
		// Transactions begun with sql.TxOptions{ReadOnly: true} still begin
		// deferred with this driver, so reads do not queue behind writes.
		"_txlock=immediate",
	}
	return path + "?" + strings.Join(params, "&")
}

// Close closes the database.
func (db *DB) Close() error {
	return db.db.Close()
}

// migrate applies the embedded migrations in name order. Each runs in its
// own transaction together with its row in schema_migrations, so a migration
// is applied completely or not at all, and exactly once even when several
// processes open a new database at the same time.
func (db *DB) migrate(ctx context.Context) error {
	const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`
	if _, err := db.db.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}

	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)

	for _, name := range names {
		if err := db.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("migration %q: %w", path.Base(name), err)
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	base := path.Base(name)
	var applied int
	err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, base).Scan(&applied)
	if err != nil {
		return err
	}
	if applied > 0 {
		return nil
	}

	statements, err := fs.ReadFile(migrationFS, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(statements)); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		base, formatTime(db.Now()))
	if err != nil {
		return err
	}
	return tx.Commit()
}

// beginRead begins a transaction for reads only.
func (db *DB) beginRead(ctx context.Context) (*sql.Tx, error) {
	return db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// hashChallenge returns the lowercase hex SHA-256 of a consent challenge,
// the form in which the challenge is stored.
func hashChallenge(challenge string) string {
	sum := sha256.Sum256([]byte(challenge))
	return hex.EncodeToString(sum[:])
}

// isUniqueViolation reports whether err is a violation of the UNIQUE or
// PRIMARY KEY constraint on exactly columns, written as SQLite names them
// in its message: "grants.challenge_hash", or "grants.subject,
// grants.client_id" for a constraint on two columns. SQLite reports the
// columns only in the message, such as "UNIQUE constraint failed:
// grants.challenge_hash", which modernc.org/sqlite wraps and ends with the
// result code in brackets.
func isUniqueViolation(err error, columns string) bool {
	var sqliteErr *sqlitedriver.Error
	if !errors.As(err, &sqliteErr) {
		return false
	}

	code := sqliteErr.Code()
	if code != sqlitelib.SQLITE_CONSTRAINT_UNIQUE && code != sqlitelib.SQLITE_CONSTRAINT_PRIMARYKEY {
		return false
	}

	const marker = "constraint failed: "
	message := sqliteErr.Error()
	start := strings.LastIndex(message, marker)
	if start < 0 {
		return false
	}
	violated, _, _ := strings.Cut(message[start+len(marker):], " (")
	return violated == columns
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
