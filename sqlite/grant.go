package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/money"
)

var _ access.GrantStore = (*DB)(nil)

// grantColumns are the columns scanGrant reads, in its order.
const grantColumns = `id, subject, client_id, status, details, scopes, remember, created_at, updated_at`

// CreateGrant stores g and marks the live grant of g.Subject and g.ClientID,
// if any, replaced, in one transaction. It returns access.ErrChallengeUsed,
// storing nothing, when a grant with g.ConsentChallenge exists. A new grant
// must be active or paused, and its ID, Subject, ClientID and
// ConsentChallenge must be set. A zero CreatedAt or UpdatedAt is set to the
// current time, in g too once the grant is stored.
//
// Only a SHA-256 hash of the consent challenge is stored, so grants read
// back by FindGrant and FindLiveGrant have an empty ConsentChallenge. Grants
// read back have their times in UTC and empty lists as nil, and every other
// field as stored.
func (db *DB) CreateGrant(ctx context.Context, g *access.Grant) error {
	if err := validateNewGrant(g); err != nil {
		return err
	}

	now := db.Now().UTC()
	stored := *g
	if stored.CreatedAt.IsZero() {
		stored.CreatedAt = now
	}
	if stored.UpdatedAt.IsZero() {
		stored.UpdatedAt = now
	}

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create grant %q: %w", g.ID, err)
	}
	defer tx.Rollback()

	if err := replaceLiveGrant(ctx, tx, g.Subject, g.ClientID, now); err != nil {
		return fmt.Errorf("create grant %q: %w", g.ID, err)
	}
	if err := insertGrant(ctx, tx, &stored); err != nil {
		return fmt.Errorf("create grant %q: %w", g.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create grant %q: %w", g.ID, err)
	}

	g.CreatedAt = stored.CreatedAt
	g.UpdatedAt = stored.UpdatedAt
	return nil
}

// validateNewGrant returns an error naming the first field of g that cannot
// be stored as a new grant.
func validateNewGrant(g *access.Grant) error {
	switch {
	case g.ID == "":
		return errors.New("create grant: id is empty; the caller must set a random grant id")
	case g.Subject == "":
		return fmt.Errorf("create grant %q: subject is empty; set the subject of the consent request", g.ID)
	case g.ClientID == "":
		return fmt.Errorf("create grant %q: client id is empty; set the client of the consent request", g.ID)
	case g.ConsentChallenge == "":
		return fmt.Errorf("create grant %q: consent challenge is empty; set the challenge of the consent request", g.ID)
	case g.Status != access.StatusActive && g.Status != access.StatusPaused:
		return fmt.Errorf("create grant %q: status %q is invalid for a new grant; use %q or %q",
			g.ID, g.Status, access.StatusActive, access.StatusPaused)
	}
	return nil
}

func replaceLiveGrant(ctx context.Context, tx *sql.Tx, subject, clientID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE grants SET status = ?, updated_at = ?
		WHERE subject = ? AND client_id = ? AND status IN (?, ?)`,
		access.StatusReplaced, formatTime(now),
		subject, clientID, access.StatusActive, access.StatusPaused)
	if err != nil {
		return fmt.Errorf("replace live grant: %w", err)
	}
	return nil
}

func insertGrant(ctx context.Context, tx *sql.Tx, g *access.Grant) error {
	details, err := encodeDetails(g.Details)
	if err != nil {
		return err
	}
	scopes, err := encodeStrings(g.Scopes)
	if err != nil {
		return fmt.Errorf("encode scopes: %w", err)
	}

	_, err = tx.ExecContext(ctx, `
		INSERT INTO grants (id, subject, client_id, challenge_hash, status, details, scopes, remember, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.Subject, g.ClientID, hashChallenge(g.ConsentChallenge), g.Status,
		details, scopes, boolToInt(g.Remember), formatTime(g.CreatedAt), formatTime(g.UpdatedAt))
	switch {
	case isUniqueViolation(err, "grants.challenge_hash"):
		return access.ErrChallengeUsed
	case isUniqueViolation(err, "grants.id"):
		return errors.New("a grant with this id exists; grant ids must be random and unique")
	case err != nil:
		return fmt.Errorf("insert grant: %w", err)
	}
	return nil
}

// FindGrant returns the grant with the given id, or access.ErrGrantNotFound.
// Its ConsentChallenge is empty because only a hash of it is stored.
func (db *DB) FindGrant(ctx context.Context, id string) (*access.Grant, error) {
	g, err := db.findGrant(ctx, `id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("find grant %q: %w", id, err)
	}
	return g, nil
}

// FindGrantByChallenge returns the grant made by a consent challenge, or
// access.ErrGrantNotFound. Its ConsentChallenge is set to challenge.
func (db *DB) FindGrantByChallenge(ctx context.Context, challenge string) (*access.Grant, error) {
	g, err := db.findGrant(ctx, `challenge_hash = ?`, hashChallenge(challenge))
	if err != nil {
		return nil, fmt.Errorf("find grant by consent challenge: %w", err)
	}

	g.ConsentChallenge = challenge
	return g, nil
}

// FindLiveGrant returns the active or paused grant of subject and clientID,
// or access.ErrGrantNotFound. Its ConsentChallenge is empty because only a
// hash of it is stored.
func (db *DB) FindLiveGrant(ctx context.Context, subject, clientID string) (*access.Grant, error) {
	g, err := db.findGrant(ctx, `subject = ? AND client_id = ? AND status IN (?, ?)`,
		subject, clientID, access.StatusActive, access.StatusPaused)
	if err != nil {
		return nil, fmt.Errorf("find live grant of subject %q and client %q: %w", subject, clientID, err)
	}
	return g, nil
}

// findGrant returns the one grant matching the SQL condition where, or
// access.ErrGrantNotFound.
func (db *DB) findGrant(ctx context.Context, where string, args ...any) (*access.Grant, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	row := tx.QueryRowContext(ctx, `SELECT `+grantColumns+` FROM grants WHERE `+where, args...)
	g, err := scanGrant(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, access.ErrGrantNotFound
	}
	if err != nil {
		return nil, err
	}
	return g, nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

func scanGrant(row rowScanner) (*access.Grant, error) {
	var (
		g                    access.Grant
		details, scopes      string
		remember             int
		createdAt, updatedAt string
	)
	err := row.Scan(&g.ID, &g.Subject, &g.ClientID, &g.Status, &details, &scopes, &remember, &createdAt, &updatedAt)
	if err != nil {
		return nil, err
	}

	g.Remember = remember != 0
	if g.Details, err = decodeDetails(details); err != nil {
		return nil, fmt.Errorf("grant %q: %w", g.ID, err)
	}
	if g.Scopes, err = decodeStrings(scopes); err != nil {
		return nil, fmt.Errorf("grant %q: decode scopes: %w", g.ID, err)
	}
	if g.CreatedAt, err = parseTime(createdAt); err != nil {
		return nil, fmt.Errorf("grant %q: created_at: %w", g.ID, err)
	}
	if g.UpdatedAt, err = parseTime(updatedAt); err != nil {
		return nil, fmt.Errorf("grant %q: updated_at: %w", g.ID, err)
	}
	return &g, nil
}

// storedDetail is the JSON form of an access.Detail in grants.details. It
// is declared here, apart from access.Detail, so that the stored form
// changes only with a migration.
type storedDetail struct {
	Type         string       `json:"type"`
	Provider     string       `json:"provider"`
	AnyModel     bool         `json:"any_model,omitempty"`
	Models       []string     `json:"models,omitempty"`
	Capabilities []string     `json:"capabilities,omitempty"`
	Limits       storedLimits `json:"limits"`

	// Expires is in timeLayout, or empty for the zero time.
	Expires string `json:"expires,omitempty"`

	Reason string `json:"reason,omitempty"`
}

// storedLimits is the JSON form of access.Limits. Amounts are integer
// picounits: encoding/json decodes an integer JSON number into an int64
// field exactly, never through float64. A nil limit is omitted.
type storedLimits struct {
	Currency string `json:"currency,omitempty"`

	DailySpend   *int64 `json:"daily_spend,omitempty"`
	MonthlySpend *int64 `json:"monthly_spend,omitempty"`
	TotalSpend   *int64 `json:"total_spend,omitempty"`

	RequestsPerMinute *int64 `json:"requests_per_minute,omitempty"`
	RequestsPerDay    *int64 `json:"requests_per_day,omitempty"`
	TokensPerMinute   *int64 `json:"tokens_per_minute,omitempty"`
}

func encodeDetails(details []access.Detail) (string, error) {
	stored := make([]storedDetail, len(details))
	for i, d := range details {
		stored[i] = storedDetail{
			Type:         d.Type,
			Provider:     d.Provider,
			AnyModel:     d.AnyModel,
			Models:       d.Models,
			Capabilities: d.Capabilities,
			Limits: storedLimits{
				Currency:          d.Limits.Currency,
				DailySpend:        amountToInt(d.Limits.DailySpend),
				MonthlySpend:      amountToInt(d.Limits.MonthlySpend),
				TotalSpend:        amountToInt(d.Limits.TotalSpend),
				RequestsPerMinute: d.Limits.RequestsPerMinute,
				RequestsPerDay:    d.Limits.RequestsPerDay,
				TokensPerMinute:   d.Limits.TokensPerMinute,
			},
		}
		if !d.Expires.IsZero() {
			stored[i].Expires = formatTime(d.Expires)
		}
		stored[i].Reason = d.Reason
	}

	buf, err := json.Marshal(stored)
	if err != nil {
		return "", fmt.Errorf("encode details: %w", err)
	}
	return string(buf), nil
}

// decodeDetails decodes grants.details. Empty lists, including the list of
// details itself, come back nil.
func decodeDetails(text string) ([]access.Detail, error) {
	var stored []storedDetail
	if err := json.Unmarshal([]byte(text), &stored); err != nil {
		return nil, fmt.Errorf("decode details: %w", err)
	}
	if len(stored) == 0 {
		return nil, nil
	}

	details := make([]access.Detail, len(stored))
	for i, s := range stored {
		details[i] = access.Detail{
			Type:         s.Type,
			Provider:     s.Provider,
			AnyModel:     s.AnyModel,
			Models:       s.Models,
			Capabilities: s.Capabilities,
			Limits: access.Limits{
				Currency:          s.Limits.Currency,
				DailySpend:        intToAmount(s.Limits.DailySpend),
				MonthlySpend:      intToAmount(s.Limits.MonthlySpend),
				TotalSpend:        intToAmount(s.Limits.TotalSpend),
				RequestsPerMinute: s.Limits.RequestsPerMinute,
				RequestsPerDay:    s.Limits.RequestsPerDay,
				TokensPerMinute:   s.Limits.TokensPerMinute,
			},
			Reason: s.Reason,
		}
		if s.Expires != "" {
			expires, err := parseTime(s.Expires)
			if err != nil {
				return nil, fmt.Errorf("decode details: detail %d expires: %w", i, err)
			}
			details[i].Expires = expires
		}
	}
	return details, nil
}

func amountToInt(a *money.Amount) *int64 {
	if a == nil {
		return nil
	}
	v := int64(*a)
	return &v
}

func intToAmount(v *int64) *money.Amount {
	if v == nil {
		return nil
	}
	a := money.Amount(*v)
	return &a
}

// encodeStrings encodes list as a JSON array, and nil as [].
func encodeStrings(list []string) (string, error) {
	if list == nil {
		list = []string{}
	}
	buf, err := json.Marshal(list)
	return string(buf), err
}

// decodeStrings decodes a JSON array of strings, and an empty array as nil.
func decodeStrings(text string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(text), &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}
