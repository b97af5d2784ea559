package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// LastUsed returns when the grant's most recent reservation was made, or
// the zero time when it has none.
func (s *UsageStore) LastUsed(ctx context.Context, grantID string) (time.Time, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer tx.Rollback()

	var last sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT max(created_at) FROM usage_reservations WHERE grant_id = ?`, grantID).Scan(&last)
	if err != nil {
		return time.Time{}, fmt.Errorf("last use of grant %q: %w", grantID, err)
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	return parseTime(last.String)
}
