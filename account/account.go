// Package account holds local user accounts: who may sign in, how their
// passwords are hashed, and how repeated failed sign-ins are slowed down.
package account

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"
)

// User is a local account. Subject is the stable, random identifier sent
// to Hydra as the OAuth 2.0 subject; Username is what the person types.
type User struct {
	Subject      string
	Username     string
	PasswordHash string
	Admin        bool
	Disabled     bool
	CreatedAt    time.Time
}

// Errors returned by Store implementations.
var (
	ErrUserNotFound = errors.New("user not found")
	ErrUserExists   = errors.New("username already taken")
)

// Store stores user accounts.
type Store interface {
	// CreateUser stores u, or returns ErrUserExists when the username is
	// taken. Usernames compare case-insensitively.
	CreateUser(ctx context.Context, u *User) error

	// FindUserByUsername returns the user, or ErrUserNotFound.
	FindUserByUsername(ctx context.Context, username string) (*User, error)

	// FindUserBySubject returns the user, or ErrUserNotFound.
	FindUserBySubject(ctx context.Context, subject string) (*User, error)
}

// NewSubject returns a random subject for a new user. Subjects are public
// (they appear in tokens), so they reveal nothing about the username.
func NewSubject() string {
	return "usr_" + strings.ToLower(rand.Text())
}
