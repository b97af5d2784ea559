// Package usage meters what apps spend under their grants. Before an AI
// call a resource server reserves the worst-case cost, which is held. After
// the call it settles the real cost, which replaces the hold, or it
// releases the hold when nothing was spent. A reservation is accepted only while the
// grant is active, covers the provider, model and capability, and every
// spend cap and rate limit of that provider's detail has room for it on top
// of what is spent and held.
//
// The package has no HTTP or SQL code. Storage implementations satisfy
// Store and must take each decision atomically in the database, because
// several processes may share one store.
//
// # Periods
//
// Spend caps count per calendar day (daily_spend), per calendar month
// (monthly_spend) and over the grant's life (total_spend). Days and months
// begin at midnight in the Calendar's location, UTC by default. Spend and
// holds are counted in every period whether or not a cap is set, so a cap
// added or changed in the middle of a period applies to what the period has
// already spent.
//
// # Rate windows
//
// Rate limits use fixed windows: requests_per_minute and tokens_per_minute
// count per UTC clock minute, and requests_per_day counts per calendar day
// of the Calendar. Fixed windows need one counter row per window, give an
// exact reset time for Retry-After, and reset at the same instants as the
// spend periods. The cost is that a client may use up to twice a limit
// across a window boundary, such as 60 requests at 12:00:59 and 60 more at
// 12:01:00 with a limit of 60 per minute. A sliding log would avoid that
// but would keep one row per request, up to a billion per grant and day.
package usage

import (
	"context"
	"time"

	"github.com/aiconsent/aiconsent/money"
)

// Reason is a stable, machine-readable reason why a request was refused.
// Resource servers compare it byte for byte.
type Reason string

// Refusal reasons. Each maps to one HTTP status in package usageapi.
const (
	// ReasonInvalidRequest: a field is missing or malformed.
	ReasonInvalidRequest Reason = "invalid_request"

	// ReasonGrantNotFound: no grant has the given id.
	ReasonGrantNotFound Reason = "grant_not_found"

	// ReasonNotGranted: the grant does not cover the provider, model or
	// capability.
	ReasonNotGranted Reason = "not_granted"

	// ReasonGrantPaused: the person paused the grant; it may be resumed.
	ReasonGrantPaused Reason = "grant_paused"

	// ReasonGrantRevoked: the grant was revoked, or replaced by a newer
	// consent of the same person and app.
	ReasonGrantRevoked Reason = "grant_revoked"

	// ReasonGrantExpired: the detail of the provider has passed its expiry.
	ReasonGrantExpired Reason = "grant_expired"

	// ReasonRateLimited: a rate window has no room. Refusal.RetryAfter
	// gives the time until it resets.
	ReasonRateLimited Reason = "rate_limited"

	// ReasonBudgetExhausted: a spend cap has no room for the reservation;
	// Refusal.Cap names it.
	ReasonBudgetExhausted Reason = "budget_exhausted"

	// ReasonReservationNotFound: no reservation has the given id.
	ReasonReservationNotFound Reason = "reservation_not_found"

	// ReasonAlreadySettled: the reservation was settled before, with other
	// usage, so it can be neither settled again nor released.
	ReasonAlreadySettled Reason = "already_settled"
)

// Refusal is a request that was declined, with one stable Reason. Stores
// and NewHold return it as an error; other errors are failures of the
// store itself.
type Refusal struct {
	Reason Reason

	// Description is a sentence for the developer of the resource server
	// that names the value concerned. It contains no credential.
	Description string

	// Field is the JSON name of the rejected field, for
	// ReasonInvalidRequest.
	Field string

	// Cap is the exhausted spend cap, for ReasonBudgetExhausted.
	Cap Period

	// Limit is the exhausted rate limit, for ReasonRateLimited.
	Limit RateLimit

	// ResetsAt is when the exhausted period or window ends; it is zero for
	// the total cap, which never resets.
	ResetsAt time.Time

	// RetryAfter is the time from the refusal until ResetsAt, for
	// ReasonRateLimited.
	RetryAfter time.Duration
}

// Error returns the reason and the description.
func (r *Refusal) Error() string {
	return string(r.Reason) + ": " + r.Description
}

func invalid(field, description string) *Refusal {
	return &Refusal{Reason: ReasonInvalidRequest, Field: field, Description: field + " " + description}
}

// Hold is a priced reservation request, ready for Store.Reserve.
type Hold struct {
	GrantID    string
	Provider   string
	Model      string
	Capability string

	// Amount is the worst-case cost, held against every spend cap.
	Amount money.Amount

	// Tokens is the worst-case number of tokens, counted against
	// tokens_per_minute until the settlement gives the real number.
	Tokens int64

	// Prices are the model's catalog prices when the hold was made, used
	// to price a settlement given in tokens. Nil when the catalog has no
	// price for the model.
	Prices *Prices
}

// Reservation is an accepted hold.
type Reservation struct {
	// ID is random and unguessable; it identifies the reservation in
	// Settle and Release.
	ID string

	Hold

	CreatedAt time.Time

	// Remaining lists, for each spend cap of the detail, what is left
	// once this hold is counted.
	Remaining []Remaining
}

// Remaining is the room left under one spend cap.
type Remaining struct {
	Period    Period
	Cap       money.Amount
	Remaining money.Amount

	// ResetsAt is when the period ends; zero for PeriodTotal.
	ResetsAt time.Time
}

// Usage is the real consumption of one AI call, given to Store.Settle.
type Usage struct {
	// Amount, when set, is the real cost. Otherwise the cost is the
	// tokens priced at the hold's Prices.
	Amount *money.Amount

	InputTokens  int64
	OutputTokens int64

	// HasTokens reports whether the token counts are known. A settlement
	// with an Amount but no tokens leaves the hold's worst-case tokens in
	// the tokens_per_minute window.
	HasTokens bool
}

// Settlement is the result of Store.Settle.
type Settlement struct {
	ReservationID string

	// Held is the amount the reservation held.
	Held money.Amount

	// Cost is the real cost, recorded in full in the reservation's
	// periods.
	Cost money.Amount

	// AboveHold is how much Cost exceeds Held, or zero. Spend above the
	// hold can overshoot a cap, which is why callers should reserve upper
	// bounds.
	AboveHold money.Amount

	// Late reports whether the hold had expired or been released before
	// the settlement arrived; the cost is recorded all the same.
	Late bool
}

// Spend is the spend of one user or one client in one period.
type Spend struct {
	// Key is the subject or the client id.
	Key   string
	Spent money.Amount
	Held  money.Amount
}

// DaySpend is the settled spend of one grant on one day.
type DaySpend struct {
	// Day is the first instant of the day in the Calendar's location.
	Day   time.Time
	Spent money.Amount
}

// Stats are counts over every reservation of a store, for monitoring.
type Stats struct {
	// HoldsOpen counts reservations that are held now.
	HoldsOpen int64

	// HoldsExpired counts holds released by ExpireHolds and not settled
	// afterwards.
	HoldsExpired int64

	// SettledAboveHold counts settlements whose cost exceeded their hold.
	SettledAboveHold int64

	// AboveHoldAmount is the total by which those settlements exceeded
	// their holds.
	AboveHoldAmount money.Amount

	// SettledLate counts settlements that arrived after their hold had
	// expired or been released.
	SettledLate int64
}

// Store records reservations and spend. Reserve, Settle and Release each
// run as one transaction in the store, so that concurrent callers in
// several processes never overshoot a cap or a rate limit: Reserve checks
// and counts a hold atomically.
type Store interface {
	// Reserve checks the hold against the grant and its counters (see
	// Check) and, when it fits, records it. A declined hold returns a
	// *Refusal and records nothing.
	Reserve(ctx context.Context, h Hold) (*Reservation, error)

	// Settle replaces the hold of a reservation with its real cost. The
	// cost is recorded in full even above the hold, and even after the
	// hold expired or was released. Settling again with the same usage
	// returns the first settlement; with other usage it returns a
	// *Refusal with ReasonAlreadySettled.
	Settle(ctx context.Context, reservationID string, u Usage) (*Settlement, error)

	// Release frees the hold of a reservation that spent nothing.
	// Releasing a released or expired reservation does nothing; releasing
	// a settled one returns a *Refusal with ReasonAlreadySettled.
	Release(ctx context.Context, reservationID string) error

	// ExpireHolds releases every hold made before the given time and
	// returns how many it released.
	ExpireHolds(ctx context.Context, before time.Time) (int, error)

	// Report returns the grant with its counters in the current periods
	// and windows, or an error wrapping access.ErrGrantNotFound.
	Report(ctx context.Context, grantID string) (*Report, error)

	// SpendByUser returns the spend per subject in the period of kind p
	// that contains at, largest first.
	SpendByUser(ctx context.Context, p Period, at time.Time) ([]Spend, error)

	// SpendByClient returns the spend per client id in the period of kind
	// p that contains at, largest first.
	SpendByClient(ctx context.Context, p Period, at time.Time) ([]Spend, error)

	// DailySpend returns the settled spend of a grant on each of the last
	// days days, today included, oldest first, with zero for days without
	// spend.
	DailySpend(ctx context.Context, grantID string, days int) ([]DaySpend, error)

	// Stats returns counts over every reservation.
	Stats(ctx context.Context) (Stats, error)
}
