package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// ErrSessionNotFound is returned for an unknown or expired session.
var ErrSessionNotFound = errors.New("session not found")

// Session is a signed-in browser session of this app's own pages, such as
// "My grants". Stores keep only a hash of the session token, so a copy of
// the database cannot be used to sign in.
type Session struct {
	Subject string

	// HydraSessionID is the sid of Hydra's login session that signed the
	// person in, so signing out can end that session too.
	HydraSessionID string

	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionCookie is the name of the cookie that holds a session token.
const SessionCookie = "aiconsent_session"

// HashSessionToken returns the form in which stores keep a session token:
// the lowercase hex SHA-256 of it.
func HashSessionToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// SessionStore stores browser sessions and changes accounts.
type SessionStore interface {
	// CreateSession stores s under the SHA-256 hash of its token.
	CreateSession(ctx context.Context, tokenHash string, s Session) error

	// FindSession returns the session, or ErrSessionNotFound when it is
	// unknown or expired.
	FindSession(ctx context.Context, tokenHash string) (*Session, error)

	// DeleteSession removes a session; an unknown one is not an error.
	DeleteSession(ctx context.Context, tokenHash string) error

	// SetUserDisabled enables or disables an account, or returns
	// ErrUserNotFound.
	SetUserDisabled(ctx context.Context, username string, disabled bool) error
}
