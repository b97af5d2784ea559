package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/aiconsent/aiconsent/access"
)

// FindGrantForToken returns the grant with the given id and reports
// whether its user exists and is enabled, in one query by primary key,
// because the token hook runs on Hydra's token path. It returns
// access.ErrGrantNotFound for an unknown id.
func (db *DB) FindGrantForToken(ctx context.Context, id string) (*access.Grant, bool, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()

	row := tx.QueryRowContext(ctx, `
		SELECT `+prefixColumns("g.", grantColumns)+`, u.disabled
		FROM grants g LEFT JOIN users u ON u.subject = g.subject
		WHERE g.id = ?`, id)

	var disabled sql.NullInt64
	g, err := scanGrant(extraColumn{row, &disabled})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, access.ErrGrantNotFound
	}
	if err != nil {
		return nil, false, fmt.Errorf("find grant %q for a token: %w", id, err)
	}
	return g, disabled.Valid && disabled.Int64 == 0, nil
}

// extraColumn scans one more column after those scanGrant reads.
type extraColumn struct {
	row   rowScanner
	extra any
}

func (e extraColumn) Scan(dest ...any) error {
	return e.row.Scan(append(dest, e.extra)...)
}

// prefixColumns qualifies every column of a comma-separated list.
func prefixColumns(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, col := range cols {
		cols[i] = prefix + strings.TrimSpace(col)
	}
	return strings.Join(cols, ", ")
}
