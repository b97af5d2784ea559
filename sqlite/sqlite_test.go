package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a clock that moves only when a test advances it.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openTestDB opens a new database in a temporary directory with a test
// clock, and closes it when the test ends.
func openTestDB(t *testing.T) (*DB, *testClock) {
	t.Helper()
	return openTestDBAt(t, filepath.Join(t.TempDir(), "aiconsent.db"))
}

func openTestDBAt(t *testing.T, path string) (*DB, *testClock) {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q) error = %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close() error = %v", err)
		}
	})

	clock := &testClock{now: time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)}
	db.Now = clock.Now
	return db, clock
}

// countRows returns the number of rows of table matching the SQL condition
// where.
func countRows(t *testing.T, db *DB, table, where string, args ...any) int {
	t.Helper()
	var n int
	query := `SELECT COUNT(*) FROM ` + table + ` WHERE ` + where
	if err := db.db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestOpenMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aiconsent.db")
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations = %q, %v; want at least one", files, err)
	}

	for i := range 3 {
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("Open(%q) #%d error = %v", path, i+1, err)
		}
		applied := countRows(t, db, "schema_migrations", "1 = 1")
		if applied != len(files) {
			t.Errorf("after Open #%d schema_migrations has %d rows; want %d", i+1, applied, len(files))
		}
		for _, table := range []string{"users", "grants"} {
			if n := countRows(t, db, "sqlite_master", "type = 'table' AND name = ?", table); n != 1 {
				t.Errorf("after Open #%d table %q exists %d times; want 1", i+1, table, n)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close() #%d error = %v", i+1, err)
		}
	}
}

func TestOpenConcurrentlyOnNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aiconsent.db")

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := Open(context.Background(), path)
			if err == nil {
				err = db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Open(%q) #%d error = %v", path, i+1, err)
		}
	}
}

func TestOpenRejectsBadPath(t *testing.T) {
	tests := []struct {
		name string
		path string
		want string
	}{
		{"empty", "", "path is empty"},
		{"question mark", filepath.Join(t.TempDir(), "a?b.db"), "contains '?'"},
		{"missing directory", filepath.Join(t.TempDir(), "missing", "a.db"), "open database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(context.Background(), tt.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) error = nil; want an error containing %q", tt.path, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) error = %q; want it to contain %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestOpenConnectionSettings(t *testing.T) {
	db, _ := openTestDB(t)

	tests := []struct {
		pragma string
		want   string
	}{
		{"busy_timeout", "10000"},
		{"journal_mode", "wal"},
		{"synchronous", "1"}, // NORMAL
		{"foreign_keys", "1"},
	}
	for _, tt := range tests {
		var got string
		if err := db.db.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s error = %v", tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s = %q; want %q", tt.pragma, got, tt.want)
		}
	}
}

func TestTimeFormatSorts(t *testing.T) {
	times := []time.Time{
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(2025, 1, 1, 0, 0, 0, 100_000_000, time.UTC),
		time.Date(2025, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(2025, 1, 1, 2, 0, 0, 0, time.FixedZone("UTC+1", 3600)),
	}
	for i := 1; i < len(times); i++ {
		before, after := formatTime(times[i-1]), formatTime(times[i])
		if before >= after {
			t.Errorf("formatTime(%v) = %q, not before formatTime(%v) = %q", times[i-1], before, times[i], after)
		}
	}

	for _, want := range times {
		got, err := parseTime(formatTime(want))
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(formatTime(%v)) = %v, %v; want %v in UTC", want, got, err, want)
		}
	}
}

func TestWriteTransactionLocksAtBegin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	first, _ := openTestDBAt(t, path)
	second, _ := openTestDBAt(t, path)
	ctx := context.Background()

	writer, err := first.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("first BeginTx() error = %v", err)
	}
	defer writer.Rollback()

	reader, err := second.beginRead(ctx)
	if err != nil {
		t.Fatalf("beginRead() while another handle writes: error = %v; want nil", err)
	}
	if n := countRowsTx(t, reader, "grants"); n != 0 {
		t.Errorf("grants read while another handle writes = %d; want 0", n)
	}
	reader.Rollback()

	waitCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	other, err := second.db.BeginTx(waitCtx, nil)
	if err == nil {
		other.Rollback()
		t.Fatal("second write BeginTx() while another handle writes: error = nil; want it to wait for the lock until the context ends")
	}
	if elapsed := time.Since(start); elapsed < 150*time.Millisecond {
		t.Errorf("second write BeginTx() failed after %v with %v; want it to wait for the lock", elapsed, err)
	}
}

func countRowsTx(t *testing.T, tx *sql.Tx, table string) int {
	t.Helper()
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestIsUniqueViolation(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()
	createUser(t, db, newUser("subject-1", "alice"))
	createGrant(t, db, newGrant("grant-1", "subject-1", "client-1", "challenge-1"))

	insertGrantRow := func(id, subject, challenge string) error {
		_, err := db.db.ExecContext(ctx, `
			INSERT INTO grants (id, subject, client_id, challenge_hash, status, details, scopes, remember, created_at, updated_at)
			VALUES (?, ?, 'client-1', ?, 'active', '[]', '[]', 0, '', '')`,
			id, subject, hashChallenge(challenge))
		return err
	}
	insertUserRow := func(subject, usernameKey string) error {
		_, err := db.db.ExecContext(ctx, `
			INSERT INTO users (subject, username, username_key, password_hash, admin, disabled, created_at)
			VALUES (?, ?, ?, 'hash', 0, 0, '')`,
			subject, usernameKey, usernameKey)
		return err
	}
	tests := []struct {
		name    string
		err     error
		columns string
	}{
		{"grant id", insertGrantRow("grant-1", "subject-2", "challenge-2"), "grants.id"},
		{"challenge", insertGrantRow("grant-2", "subject-2", "challenge-1"), "grants.challenge_hash"},
		{"second live grant", insertGrantRow("grant-2", "subject-1", "challenge-2"), "grants.subject, grants.client_id"},
		{"username", insertUserRow("subject-2", "alice"), "users.username_key"},
		{"subject", insertUserRow("subject-1", "bob"), "users.subject"},
	}
	candidates := []string{
		"grants.id", "grants.challenge_hash", "grants.challenge", "grants.subject",
		"grants.subject, grants.client_id", "users.username_key", "users.username", "users.subject",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatalf("insert error = nil; want a violation of %q", tt.columns)
			}
			for _, columns := range candidates {
				want := columns == tt.columns
				if got := isUniqueViolation(tt.err, columns); got != want {
					t.Errorf("isUniqueViolation(%q, %q) = %v; want %v", tt.err, columns, got, want)
				}
			}
		})
	}

	for _, err := range []error{nil, errors.New("UNIQUE constraint failed: grants.id")} {
		if isUniqueViolation(err, "grants.id") {
			t.Errorf("isUniqueViolation(%v, %q) = true; want false", err, "grants.id")
		}
	}
}
