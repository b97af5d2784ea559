package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/money"
	"github.com/aiconsent/aiconsent/usage"
)

var _ usage.Store = (*UsageStore)(nil)

// Reservation states in usage_reservations.status.
const (
	holdHeld     = "held"
	holdSettled  = "settled"
	holdReleased = "released"
	holdExpired  = "expired"
)

// expireBatch is the most holds ExpireHolds releases in one transaction,
// so that a backlog does not hold the write lock for long.
const expireBatch = 100

// UsageStore meters usage in the database of a DB. Reserve, Settle and
// Release each run in one immediate transaction, which takes the
// database's write lock when it begins, so a reservation's check and its
// counting cannot interleave with another's, in this process or in any
// other that opens the file. ExpireHolds uses one such transaction per
// batch of 100 holds.
type UsageStore struct {
	db       *DB
	calendar usage.Calendar
}

// UsageStore returns the usage store of db, whose daily and monthly
// periods follow cal. Every UsageStore of one database must use the same
// Calendar, or they count the same spend in different periods.
func (db *DB) UsageStore(cal usage.Calendar) *UsageStore {
	return &UsageStore{db: db, calendar: cal}
}

// periodKey identifies one row of usage_periods.
type periodKey struct {
	grantID  string
	provider string
	period   usage.Period
	start    string
}

// Reserve checks h with usage.Check against the grant and the counters of
// its provider, and records it, all in one transaction.
func (s *UsageStore) Reserve(ctx context.Context, h usage.Hold) (*usage.Reservation, error) {
	now := s.db.Now().UTC()
	tx, err := s.db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("reserve on grant %q: %w", h.GrantID, err)
	}
	defer tx.Rollback()

	status, details, ownerEnabled, err := readGrantLimits(ctx, tx, h.GrantID)
	if errors.Is(err, access.ErrGrantNotFound) {
		return nil, &usage.Refusal{Reason: usage.ReasonGrantNotFound, Description: fmt.Sprintf("grant %q does not exist", h.GrantID)}
	}
	if err != nil {
		return nil, fmt.Errorf("reserve on grant %q: %w", h.GrantID, err)
	}
	if !ownerEnabled {
		return nil, &usage.Refusal{Reason: usage.ReasonGrantRevoked,
			Description: fmt.Sprintf("the account that gave grant %q is disabled or deleted", h.GrantID)}
	}
	counters, err := s.readCounters(ctx, tx, h.GrantID, h.Provider, now)
	if err != nil {
		return nil, fmt.Errorf("reserve on grant %q: %w", h.GrantID, err)
	}

	remaining, err := usage.Check(status, details, h, counters, now)
	if err != nil {
		return nil, err
	}

	r := &usage.Reservation{ID: newReservationID(), Hold: h, CreatedAt: now, Remaining: remaining}
	if err := s.recordHold(ctx, tx, r, counters); err != nil {
		return nil, fmt.Errorf("reserve on grant %q: %w", h.GrantID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("reserve on grant %q: %w", h.GrantID, err)
	}
	return r, nil
}

// readGrantLimits returns the status and details of a grant, and reports
// whether the account that gave it exists and is enabled, or returns
// access.ErrGrantNotFound.
func readGrantLimits(ctx context.Context, tx *sql.Tx, grantID string) (access.Status, []access.Detail, bool, error) {
	var status access.Status
	var details string
	var disabled sql.NullInt64
	err := tx.QueryRowContext(ctx, `
		SELECT g.status, g.details, u.disabled
		FROM grants g LEFT JOIN users u ON u.subject = g.subject
		WHERE g.id = ?`, grantID).Scan(&status, &details, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, false, access.ErrGrantNotFound
	}
	if err != nil {
		return "", nil, false, fmt.Errorf("read grant: %w", err)
	}

	decoded, err := decodeDetails(details)
	if err != nil {
		return "", nil, false, err
	}
	return status, decoded, disabled.Valid && disabled.Int64 == 0, nil
}

// readCounters returns the counters of a grant's provider in the periods
// and windows that contain now.
func (s *UsageStore) readCounters(ctx context.Context, tx *sql.Tx, grantID, provider string, now time.Time) (usage.Counters, error) {
	c := usage.NewCounters(s.calendar, provider, now)

	rows, err := tx.QueryContext(ctx, `
		SELECT period, spent, held FROM usage_periods
		WHERE grant_id = ? AND provider = ? AND (period, start) IN (VALUES ('daily', ?), ('monthly', ?), ('total', ''))`,
		grantID, provider, periodStart(c.Period(usage.PeriodDaily)), periodStart(c.Period(usage.PeriodMonthly)))
	if err != nil {
		return c, fmt.Errorf("read spend: %w", err)
	}
	for rows.Next() {
		var period usage.Period
		var spent, held int64
		if err := rows.Scan(&period, &spent, &held); err != nil {
			rows.Close()
			return c, fmt.Errorf("read spend: %w", err)
		}
		p := c.Period(period)
		p.Spent, p.Held = money.Amount(spent), money.Amount(held)
	}
	if err := closeRows(rows); err != nil {
		return c, fmt.Errorf("read spend: %w", err)
	}

	return c, readWindows(ctx, tx, grantID, &c)
}

func readWindows(ctx context.Context, tx *sql.Tx, grantID string, c *usage.Counters) error {
	rows, err := tx.QueryContext(ctx, `
		SELECT kind, requests, tokens FROM usage_windows
		WHERE grant_id = ? AND provider = ? AND (kind, start) IN (VALUES ('minute', ?), ('day', ?))`,
		grantID, c.Provider, formatTime(c.Window(usage.WindowMinute).Start), formatTime(c.Window(usage.WindowDay).Start))
	if err != nil {
		return fmt.Errorf("read rate windows: %w", err)
	}
	for rows.Next() {
		var kind usage.Window
		var requests, tokens int64
		if err := rows.Scan(&kind, &requests, &tokens); err != nil {
			rows.Close()
			return fmt.Errorf("read rate windows: %w", err)
		}
		w := c.Window(kind)
		w.Requests, w.Tokens = requests, tokens
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("read rate windows: %w", err)
	}
	return nil
}

// closeRows closes rows and returns the error that ended the iteration.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if closeErr := rows.Close(); err == nil {
		err = closeErr
	}
	return err
}

// periodStart returns the stored form of a period's start: its first
// instant, or "" for the total.
func periodStart(p *usage.PeriodCount) string {
	if p.Period == usage.PeriodTotal {
		return ""
	}
	return formatTime(p.Start)
}

// recordHold inserts the reservation and adds its hold to the counters c,
// which must be the counters read in the same transaction.
func (s *UsageStore) recordHold(ctx context.Context, tx *sql.Tx, r *usage.Reservation, c usage.Counters) error {
	if err := insertReservation(ctx, tx, r, c); err != nil {
		return err
	}

	for _, p := range c.Periods {
		held, ok := usage.AddAmounts(p.Held, r.Amount)
		if !ok {
			return fmt.Errorf("the %s amount held for provider %q would overflow", p.Period, r.Provider)
		}
		key := periodKey{grantID: r.GrantID, provider: r.Provider, period: p.Period, start: periodStart(&p)}
		if err := writePeriod(ctx, tx, key, p.Spent, held); err != nil {
			return err
		}
	}
	return countRequest(ctx, tx, r, c)
}

func insertReservation(ctx context.Context, tx *sql.Tx, r *usage.Reservation, c usage.Counters) error {
	var inputPrice, outputPrice *int64
	if r.Prices != nil {
		in, out := int64(r.Prices.Input), int64(r.Prices.Output)
		inputPrice, outputPrice = &in, &out
	}

	_, err := tx.ExecContext(ctx, `
		INSERT INTO usage_reservations (id, grant_id, provider, model, capability, status, amount, tokens,
			input_price, output_price, day_start, month_start, minute_start, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.GrantID, r.Provider, r.Model, r.Capability, holdHeld, int64(r.Amount), r.Tokens,
		inputPrice, outputPrice, periodStart(c.Period(usage.PeriodDaily)), periodStart(c.Period(usage.PeriodMonthly)),
		formatTime(c.Window(usage.WindowMinute).Start), formatTime(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert reservation: %w", err)
	}
	return nil
}

// countRequest adds one request and the hold's tokens to the current
// windows, and deletes the provider's windows that have ended.
func countRequest(ctx context.Context, tx *sql.Tx, r *usage.Reservation, c usage.Counters) error {
	for _, w := range c.Windows {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO usage_windows (grant_id, provider, kind, start, requests, tokens) VALUES (?, ?, ?, ?, 1, ?)
			ON CONFLICT (grant_id, provider, kind, start) DO UPDATE SET
				requests = requests + 1, tokens = tokens + excluded.tokens`,
			r.GrantID, r.Provider, w.Window, formatTime(w.Start), r.Tokens)
		if err != nil {
			return fmt.Errorf("count request in %s window: %w", w.Window, err)
		}
	}

	_, err := tx.ExecContext(ctx, `
		DELETE FROM usage_windows
		WHERE grant_id = ? AND provider = ? AND start < CASE kind WHEN 'minute' THEN ? ELSE ? END`,
		r.GrantID, r.Provider, formatTime(c.Window(usage.WindowMinute).Start), formatTime(c.Window(usage.WindowDay).Start))
	if err != nil {
		return fmt.Errorf("delete ended rate windows: %w", err)
	}
	return nil
}

func readPeriod(ctx context.Context, tx *sql.Tx, k periodKey) (spent, held money.Amount, err error) {
	var s, h int64
	err = tx.QueryRowContext(ctx, `
		SELECT spent, held FROM usage_periods WHERE grant_id = ? AND provider = ? AND period = ? AND start = ?`,
		k.grantID, k.provider, k.period, k.start).Scan(&s, &h)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read %s spend: %w", k.period, err)
	}
	return money.Amount(s), money.Amount(h), nil
}

// writePeriod stores the spent and held amounts of a period. Amounts are
// computed in Go with overflow checks and written whole, because SQLite
// turns an overflowing integer sum into a floating-point number.
func writePeriod(ctx context.Context, tx *sql.Tx, k periodKey, spent, held money.Amount) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO usage_periods (grant_id, provider, period, start, spent, held) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (grant_id, provider, period, start) DO UPDATE SET spent = excluded.spent, held = excluded.held`,
		k.grantID, k.provider, k.period, k.start, int64(spent), int64(held))
	if err != nil {
		return fmt.Errorf("write %s spend: %w", k.period, err)
	}
	return nil
}

// storedReservation is a row of usage_reservations.
type storedReservation struct {
	id          string
	grantID     string
	provider    string
	status      string
	amount      money.Amount
	tokens      int64
	prices      *usage.Prices
	dayStart    string
	monthStart  string
	minuteStart string

	cost         sql.NullInt64
	inputTokens  sql.NullInt64
	outputTokens sql.NullInt64
	aboveHold    money.Amount
	late         bool
}

func readReservation(ctx context.Context, tx *sql.Tx, id string) (*storedReservation, error) {
	var (
		r                       storedReservation
		amount, aboveHold       int64
		inputPrice, outputPrice sql.NullInt64
		late                    int
	)
	err := tx.QueryRowContext(ctx, `
		SELECT id, grant_id, provider, status, amount, tokens, input_price, output_price,
			day_start, month_start, minute_start, cost, input_tokens, output_tokens, above_hold, late
		FROM usage_reservations WHERE id = ?`, id).Scan(
		&r.id, &r.grantID, &r.provider, &r.status, &amount, &r.tokens, &inputPrice, &outputPrice,
		&r.dayStart, &r.monthStart, &r.minuteStart, &r.cost, &r.inputTokens, &r.outputTokens, &aboveHold, &late)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &usage.Refusal{Reason: usage.ReasonReservationNotFound, Description: fmt.Sprintf("reservation %q does not exist", id)}
	}
	if err != nil {
		return nil, fmt.Errorf("read reservation: %w", err)
	}

	r.amount, r.aboveHold, r.late = money.Amount(amount), money.Amount(aboveHold), late != 0
	if inputPrice.Valid && outputPrice.Valid {
		r.prices = &usage.Prices{Input: money.Amount(inputPrice.Int64), Output: money.Amount(outputPrice.Int64)}
	}
	return &r, nil
}

// periodKeys returns the keys of the periods the reservation counts in.
func (r *storedReservation) periodKeys() []periodKey {
	return []periodKey{
		{grantID: r.grantID, provider: r.provider, period: usage.PeriodTotal, start: ""},
		{grantID: r.grantID, provider: r.provider, period: usage.PeriodMonthly, start: r.monthStart},
		{grantID: r.grantID, provider: r.provider, period: usage.PeriodDaily, start: r.dayStart},
	}
}

// settlement returns the stored settlement of a settled reservation.
func (r *storedReservation) settlement() *usage.Settlement {
	return &usage.Settlement{
		ReservationID: r.id,
		Held:          r.amount,
		Cost:          money.Amount(r.cost.Int64),
		AboveHold:     r.aboveHold,
		Late:          r.late,
	}
}

// sameUsage reports whether a settled reservation was settled with cost
// and the token counts of u.
func (r *storedReservation) sameUsage(cost money.Amount, u usage.Usage) bool {
	if money.Amount(r.cost.Int64) != cost || r.inputTokens.Valid != u.HasTokens {
		return false
	}
	return !u.HasTokens || (r.inputTokens.Int64 == u.InputTokens && r.outputTokens.Int64 == u.OutputTokens)
}

// Settle records the real cost of a reservation in the periods in which it
// was reserved, replacing its hold, in one transaction. A cost given in
// tokens is priced at the prices stored with the hold.
func (s *UsageStore) Settle(ctx context.Context, reservationID string, u usage.Usage) (*usage.Settlement, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	now := s.db.Now().UTC()
	tx, err := s.db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("settle reservation %q: %w", reservationID, err)
	}
	defer tx.Rollback()

	r, err := readReservation(ctx, tx, reservationID)
	if err != nil {
		return nil, err
	}
	cost, err := u.Cost(r.prices)
	if err != nil {
		return nil, err
	}
	if r.status == holdSettled {
		return settledAgain(r, cost, u)
	}

	settlement, err := settle(ctx, tx, r, cost, u, now)
	if err != nil {
		return nil, fmt.Errorf("settle reservation %q: %w", reservationID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("settle reservation %q: %w", reservationID, err)
	}
	return settlement, nil
}

func settledAgain(r *storedReservation, cost money.Amount, u usage.Usage) (*usage.Settlement, error) {
	if r.sameUsage(cost, u) {
		return r.settlement(), nil
	}
	return nil, &usage.Refusal{
		Reason:      usage.ReasonAlreadySettled,
		Description: fmt.Sprintf("reservation %q was already settled at %s with other usage", r.id, money.Amount(r.cost.Int64)),
	}
}

func settle(ctx context.Context, tx *sql.Tx, r *storedReservation, cost money.Amount, u usage.Usage, now time.Time) (*usage.Settlement, error) {
	wasHeld := r.status == holdHeld
	for _, k := range r.periodKeys() {
		spent, held, err := readPeriod(ctx, tx, k)
		if err != nil {
			return nil, err
		}
		if wasHeld {
			held -= r.amount
		}
		spent, ok := usage.AddAmounts(spent, cost)
		if !ok || held < 0 {
			return nil, fmt.Errorf("the %s spend of provider %q would overflow or its held amount would go below zero", k.period, r.provider)
		}
		if err := writePeriod(ctx, tx, k, spent, held); err != nil {
			return nil, err
		}
	}

	tokens := r.tokens
	if u.HasTokens {
		tokens = u.Tokens()
	}
	if wasHeld {
		tokens -= r.tokens
	}
	if err := addWindowTokens(ctx, tx, r, tokens); err != nil {
		return nil, err
	}

	st := &usage.Settlement{ReservationID: r.id, Held: r.amount, Cost: cost, AboveHold: max(cost-r.amount, 0), Late: !wasHeld}
	return st, markSettled(ctx, tx, r.id, st, u, now)
}

// addWindowTokens adds delta tokens, which may be negative, to the minute
// window the reservation counted in, if that window has not been deleted.
func addWindowTokens(ctx context.Context, tx *sql.Tx, r *storedReservation, delta int64) error {
	if delta == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		UPDATE usage_windows SET tokens = MAX(tokens + ?, 0)
		WHERE grant_id = ? AND provider = ? AND kind = 'minute' AND start = ?`,
		delta, r.grantID, r.provider, r.minuteStart)
	if err != nil {
		return fmt.Errorf("correct tokens of minute window: %w", err)
	}
	return nil
}

func markSettled(ctx context.Context, tx *sql.Tx, id string, st *usage.Settlement, u usage.Usage, now time.Time) error {
	var input, output *int64
	if u.HasTokens {
		input, output = &u.InputTokens, &u.OutputTokens
	}
	_, err := tx.ExecContext(ctx, `
		UPDATE usage_reservations
		SET status = ?, cost = ?, input_tokens = ?, output_tokens = ?, above_hold = ?, late = ?, ended_at = ?
		WHERE id = ?`,
		holdSettled, int64(st.Cost), input, output, int64(st.AboveHold), boolToInt(st.Late), formatTime(now), id)
	if err != nil {
		return fmt.Errorf("mark reservation settled: %w", err)
	}
	return nil
}

// Release frees the hold of a reservation in one transaction. Its request
// stays counted in the rate windows; its tokens do not.
func (s *UsageStore) Release(ctx context.Context, reservationID string) error {
	now := s.db.Now().UTC()
	tx, err := s.db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("release reservation %q: %w", reservationID, err)
	}
	defer tx.Rollback()

	r, err := readReservation(ctx, tx, reservationID)
	if err != nil {
		return err
	}
	switch r.status {
	case holdSettled:
		return &usage.Refusal{
			Reason:      usage.ReasonAlreadySettled,
			Description: fmt.Sprintf("reservation %q was already settled at %s, so its hold cannot be released", r.id, money.Amount(r.cost.Int64)),
		}
	case holdReleased, holdExpired:
		return nil
	}

	if err := endHold(ctx, tx, r, holdReleased, now); err != nil {
		return fmt.Errorf("release reservation %q: %w", reservationID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("release reservation %q: %w", reservationID, err)
	}
	return nil
}

// endHold removes the hold of a held reservation from its periods and its
// tokens from its minute window, and sets its status to status.
func endHold(ctx context.Context, tx *sql.Tx, r *storedReservation, status string, now time.Time) error {
	for _, k := range r.periodKeys() {
		spent, held, err := readPeriod(ctx, tx, k)
		if err != nil {
			return err
		}
		if held < r.amount {
			return fmt.Errorf("the %s held amount of provider %q is below the hold of reservation %q", k.period, r.provider, r.id)
		}
		if err := writePeriod(ctx, tx, k, spent, held-r.amount); err != nil {
			return err
		}
	}
	if err := addWindowTokens(ctx, tx, r, -r.tokens); err != nil {
		return err
	}

	_, err := tx.ExecContext(ctx, `UPDATE usage_reservations SET status = ?, ended_at = ? WHERE id = ?`,
		status, formatTime(now), r.id)
	if err != nil {
		return fmt.Errorf("mark reservation %s: %w", status, err)
	}
	return nil
}

// ExpireHolds releases the holds made before the given time, in
// transactions of at most 100 holds, and marks them expired.
func (s *UsageStore) ExpireHolds(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		n, err := s.expireBatch(ctx, before)
		total += n
		if err != nil {
			return total, fmt.Errorf("expire holds made before %s: %w", before.UTC().Format(time.RFC3339), err)
		}
		if n < expireBatch {
			return total, nil
		}
	}
}

func (s *UsageStore) expireBatch(ctx context.Context, before time.Time) (int, error) {
	now := s.db.Now().UTC()
	tx, err := s.db.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()

	ids, err := heldBefore(ctx, tx, before)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		r, err := readReservation(ctx, tx, id)
		if err != nil {
			return 0, err
		}
		if err := endHold(ctx, tx, r, holdExpired, now); err != nil {
			return 0, err
		}
	}
	return len(ids), tx.Commit()
}

func heldBefore(ctx context.Context, tx *sql.Tx, before time.Time) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT id FROM usage_reservations WHERE status = ? AND created_at < ? ORDER BY created_at LIMIT ?`,
		holdHeld, formatTime(before), expireBatch)
	if err != nil {
		return nil, fmt.Errorf("find expired holds: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("find expired holds: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, closeRows(rows)
}

// Report returns the grant and the counters of each of its details now.
func (s *UsageStore) Report(ctx context.Context, grantID string) (*usage.Report, error) {
	now := s.db.Now().UTC()
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("report usage of grant %q: %w", grantID, err)
	}
	defer tx.Rollback()

	r := &usage.Report{GrantID: grantID, At: now, Counters: map[string]usage.Counters{}}
	var details string
	var disabled sql.NullInt64
	err = tx.QueryRowContext(ctx, `
		SELECT g.subject, g.client_id, g.status, g.details, u.disabled
		FROM grants g LEFT JOIN users u ON u.subject = g.subject
		WHERE g.id = ?`, grantID).
		Scan(&r.Subject, &r.ClientID, &r.Status, &details, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("report usage of grant %q: %w", grantID, access.ErrGrantNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("report usage of grant %q: %w", grantID, err)
	}
	if r.Details, err = decodeDetails(details); err != nil {
		return nil, fmt.Errorf("report usage of grant %q: %w", grantID, err)
	}
	r.OwnerDisabled = !disabled.Valid || disabled.Int64 != 0

	for _, d := range r.Details {
		c, err := s.readCounters(ctx, tx, grantID, d.Provider, now)
		if err != nil {
			return nil, fmt.Errorf("report usage of grant %q: %w", grantID, err)
		}
		r.Counters[d.Provider] = c
	}
	return r, nil
}

// SpendByUser returns the spend per subject in the period of kind p that
// contains at, largest first.
func (s *UsageStore) SpendByUser(ctx context.Context, p usage.Period, at time.Time) ([]usage.Spend, error) {
	return s.spendBy(ctx, "subject", p, at)
}

// SpendByClient returns the spend per client id in the period of kind p
// that contains at, largest first.
func (s *UsageStore) SpendByClient(ctx context.Context, p usage.Period, at time.Time) ([]usage.Spend, error) {
	return s.spendBy(ctx, "client_id", p, at)
}

// spendBy sums the spend of the period per value of column, which must be
// a trusted column name of grants.
func (s *UsageStore) spendBy(ctx context.Context, column string, p usage.Period, at time.Time) ([]usage.Spend, error) {
	start := ""
	if p != usage.PeriodTotal {
		start = formatTime(s.calendar.Start(p, at))
	}
	rows, err := s.db.db.QueryContext(ctx, `
		SELECT g.`+column+`, SUM(p.spent), SUM(p.held)
		FROM usage_periods p JOIN grants g ON g.id = p.grant_id
		WHERE p.period = ? AND p.start = ?
		GROUP BY g.`+column+`
		ORDER BY SUM(p.spent) DESC, g.`+column, p, start)
	if err != nil {
		return nil, fmt.Errorf("sum %s spend by %s: %w", p, column, err)
	}

	var spends []usage.Spend
	for rows.Next() {
		var sp usage.Spend
		var spent, held int64
		if err := rows.Scan(&sp.Key, &spent, &held); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sum %s spend by %s: %w", p, column, err)
		}
		sp.Spent, sp.Held = money.Amount(spent), money.Amount(held)
		spends = append(spends, sp)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("sum %s spend by %s: %w", p, column, err)
	}
	return spends, nil
}

// DailySpend returns the spend of a grant, over all its providers, on
// each of the last days days.
func (s *UsageStore) DailySpend(ctx context.Context, grantID string, days int) ([]usage.DaySpend, error) {
	if days <= 0 {
		return nil, fmt.Errorf("daily spend of grant %q: days is %d; ask for at least one day", grantID, days)
	}
	now := s.db.Now()
	first := s.calendar.DayStart(now, days-1)

	spentByDay, err := s.spentPerDay(ctx, grantID, first)
	if err != nil {
		return nil, fmt.Errorf("daily spend of grant %q: %w", grantID, err)
	}

	series := make([]usage.DaySpend, days)
	for i := range series {
		day := s.calendar.DayStart(now, days-1-i)
		series[i] = usage.DaySpend{Day: day, Spent: spentByDay[formatTime(day)]}
	}
	return series, nil
}

func (s *UsageStore) spentPerDay(ctx context.Context, grantID string, first time.Time) (map[string]money.Amount, error) {
	rows, err := s.db.db.QueryContext(ctx, `
		SELECT start, SUM(spent) FROM usage_periods
		WHERE grant_id = ? AND period = 'daily' AND start >= ?
		GROUP BY start`, grantID, formatTime(first))
	if err != nil {
		return nil, err
	}

	spent := map[string]money.Amount{}
	for rows.Next() {
		var start string
		var sum int64
		if err := rows.Scan(&start, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		spent[start] = money.Amount(sum)
	}
	return spent, closeRows(rows)
}

// Stats returns counts over every reservation.
func (s *UsageStore) Stats(ctx context.Context) (usage.Stats, error) {
	var st usage.Stats
	var aboveHold int64
	err := s.db.db.QueryRowContext(ctx, `
		SELECT
			COALESCE(SUM(status = 'held'), 0),
			COALESCE(SUM(status = 'expired'), 0),
			COALESCE(SUM(above_hold > 0), 0),
			COALESCE(SUM(above_hold), 0),
			COALESCE(SUM(late), 0)
		FROM usage_reservations`).Scan(&st.HoldsOpen, &st.HoldsExpired, &st.SettledAboveHold, &aboveHold, &st.SettledLate)
	if err != nil {
		return usage.Stats{}, fmt.Errorf("usage stats: %w", err)
	}
	st.AboveHoldAmount = money.Amount(aboveHold)
	return st, nil
}

// newReservationID returns a random reservation id with 130 bits of
// entropy.
func newReservationID() string {
	return "rs_" + strings.ToLower(rand.Text())
}
