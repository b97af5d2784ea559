package sqlite

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/account"
)

// testPasswordHash is a well-formed argon2id hash. The store does not check
// it, so tests need not pay for hashing.
const testPasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"

func newUser(subject, username string) *account.User {
	return &account.User{
		Subject:      subject,
		Username:     username,
		PasswordHash: testPasswordHash,
		CreatedAt:    time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
	}
}

func createUser(t *testing.T, db *DB, u *account.User) {
	t.Helper()
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%+v) error = %v", u, err)
	}
}

func TestUserRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		change func(u *account.User)
	}{
		{"plain", func(u *account.User) {}},
		{"admin", func(u *account.User) { u.Admin = true }},
		{"disabled", func(u *account.User) { u.Disabled = true }},
		{"mixed case username", func(u *account.User) { u.Username = "Alice.Smith@Example.com" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTestDB(t)
			ctx := context.Background()
			u := newUser("subject-1", "alice")
			tt.change(u)
			createUser(t, db, u)

			want := newUser("subject-1", "alice")
			tt.change(want)

			bySubject, err := db.FindUserBySubject(ctx, "subject-1")
			if err != nil || !reflect.DeepEqual(bySubject, want) {
				t.Errorf("FindUserBySubject(%q) = %+v, %v; want %+v", "subject-1", bySubject, err, want)
			}

			for _, username := range []string{want.Username, strings.ToUpper(want.Username), strings.ToLower(want.Username)} {
				byName, err := db.FindUserByUsername(ctx, username)
				if err != nil || !reflect.DeepEqual(byName, want) {
					t.Errorf("FindUserByUsername(%q) = %+v, %v; want %+v", username, byName, err, want)
				}
			}
		})
	}
}

func TestCreateUserSetsZeroCreatedAt(t *testing.T) {
	db, clock := openTestDB(t)
	u := newUser("subject-1", "alice")
	u.CreatedAt = time.Time{}
	createUser(t, db, u)

	if !u.CreatedAt.Equal(clock.Now()) {
		t.Errorf("after CreateUser u.CreatedAt = %v; want %v", u.CreatedAt, clock.Now())
	}
	got, err := db.FindUserBySubject(context.Background(), "subject-1")
	if err != nil || !got.CreatedAt.Equal(clock.Now()) {
		t.Errorf("FindUserBySubject() CreatedAt = %v, %v; want %v", got.CreatedAt, err, clock.Now())
	}
}

func TestCreateUserDuplicateUsername(t *testing.T) {
	tests := []string{"alice", "ALICE", "Alice", "aLiCe"}
	for _, username := range tests {
		t.Run(username, func(t *testing.T) {
			db, _ := openTestDB(t)
			createUser(t, db, newUser("subject-1", "alice"))

			err := db.CreateUser(context.Background(), newUser("subject-2", username))
			if !errors.Is(err, account.ErrUserExists) {
				t.Errorf("CreateUser(%q) after %q error = %v; want %v", username, "alice", err, account.ErrUserExists)
			}
			if n := countRows(t, db, "users", "1 = 1"); n != 1 {
				t.Errorf("users after duplicate %q = %d rows; want 1", username, n)
			}
		})
	}
}

func TestCreateUserDuplicateSubject(t *testing.T) {
	db, _ := openTestDB(t)
	createUser(t, db, newUser("subject-1", "alice"))

	err := db.CreateUser(context.Background(), newUser("subject-1", "bob"))
	if err == nil || errors.Is(err, account.ErrUserExists) || !strings.Contains(err.Error(), "subject") {
		t.Errorf("CreateUser(same subject) error = %v; want an error about the subject", err)
	}
	if n := countRows(t, db, "users", "1 = 1"); n != 1 {
		t.Errorf("users after duplicate subject = %d rows; want 1", n)
	}
}

func TestCreateUserRejectsInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(u *account.User)
		want   string
	}{
		{"empty username", func(u *account.User) { u.Username = "" }, "username must be"},
		{"username with space", func(u *account.User) { u.Username = "alice smith" }, "username must be"},
		{"empty subject", func(u *account.User) { u.Subject = "" }, "subject is empty"},
		{"empty password hash", func(u *account.User) { u.PasswordHash = "" }, "password hash is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTestDB(t)
			u := newUser("subject-1", "alice")
			tt.change(u)

			err := db.CreateUser(context.Background(), u)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CreateUser(%+v) error = %v; want an error containing %q", u, err, tt.want)
			}
			if n := countRows(t, db, "users", "1 = 1"); n != 0 {
				t.Errorf("users after rejected CreateUser = %d rows; want 0", n)
			}
		})
	}
}

func TestFindUserNotFound(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()
	createUser(t, db, newUser("subject-1", "alice"))

	tests := []struct {
		name string
		find func() (*account.User, error)
	}{
		{"FindUserByUsername unknown", func() (*account.User, error) { return db.FindUserByUsername(ctx, "bob") }},
		{"FindUserByUsername prefix", func() (*account.User, error) { return db.FindUserByUsername(ctx, "ali") }},
		{"FindUserByUsername empty", func() (*account.User, error) { return db.FindUserByUsername(ctx, "") }},
		{"FindUserByUsername subject", func() (*account.User, error) { return db.FindUserByUsername(ctx, "subject-1") }},
		{"FindUserBySubject unknown", func() (*account.User, error) { return db.FindUserBySubject(ctx, "subject-9") }},
		{"FindUserBySubject username", func() (*account.User, error) { return db.FindUserBySubject(ctx, "alice") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := tt.find()
			if !errors.Is(err, account.ErrUserNotFound) || u != nil {
				t.Errorf("%s = %+v, %v; want nil, %v", tt.name, u, err, account.ErrUserNotFound)
			}
		})
	}
}
