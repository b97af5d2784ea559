package usageapi

import (
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/money"
	"github.com/aiconsent/aiconsent/usage"
)

// The JSON shapes of responses. Amounts are decimal strings, as in the
// authorization_details claim, so that no client reads them as floats.
// Times are RFC 3339 in UTC.

// reservationJSON is the response to a reservation.
type reservationJSON struct {
	ReservationID string `json:"reservation_id"`
	GrantID       string `json:"grant_id"`
	Provider      string `json:"provider"`
	Model         string `json:"model"`
	Capability    string `json:"capability"`
	Currency      string `json:"currency"`

	// Amount is the held worst-case cost; Tokens the held worst-case
	// tokens.
	Amount string `json:"amount"`
	Tokens int64  `json:"tokens"`

	CreatedAt string `json:"created_at"`

	// Remaining holds, per spend cap of the detail, what is left with this
	// hold counted.
	Remaining map[usage.Period]remainingJSON `json:"remaining"`
}

type remainingJSON struct {
	Cap       string `json:"cap"`
	Remaining string `json:"remaining"`
	ResetsAt  string `json:"resets_at,omitempty"`
}

// settlementJSON is the response to a settlement.
type settlementJSON struct {
	ReservationID string `json:"reservation_id"`
	Held          string `json:"held"`
	Cost          string `json:"cost"`
	AboveHold     string `json:"above_hold"`
	Late          bool   `json:"late"`
}

// grantUsageJSON is a grant's usage: the body of the usage report and
// the ai_usage member of an introspection.
type grantUsageJSON struct {
	GrantID     string        `json:"grant_id"`
	GrantStatus access.Status `json:"grant_status"`

	// AccountDisabled is set when the account that gave the grant is
	// disabled or deleted: the grant may not be used whatever its status.
	AccountDisabled bool         `json:"account_disabled,omitempty"`
	At              string       `json:"at"`
	Details         []detailJSON `json:"details"`
}

type detailJSON struct {
	Provider string `json:"provider"`
	Currency string `json:"currency"`

	// Periods holds daily, monthly and total.
	Periods map[usage.Period]periodJSON `json:"periods"`

	// RateLimits holds requests_per_minute, requests_per_day and
	// tokens_per_minute.
	RateLimits map[usage.RateLimit]rateJSON `json:"rate_limits"`
}

type periodJSON struct {
	// Start and ResetsAt are absent for the total, which never resets.
	Start    string `json:"start,omitempty"`
	ResetsAt string `json:"resets_at,omitempty"`

	Spent string `json:"spent"`
	Held  string `json:"held"`

	// Cap and Remaining are absent when the detail has no cap for the
	// period.
	Cap       string `json:"cap,omitempty"`
	Remaining string `json:"remaining,omitempty"`
}

type rateJSON struct {
	WindowStart string `json:"window_start"`
	ResetsAt    string `json:"resets_at"`
	Used        int64  `json:"used"`

	// Limit is absent when the detail has no such limit.
	Limit *int64 `json:"limit,omitempty"`
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func formatAmount(a *money.Amount) string {
	if a == nil {
		return ""
	}
	return a.String()
}

func newReservationJSON(r *usage.Reservation, currency string) reservationJSON {
	out := reservationJSON{
		ReservationID: r.ID,
		GrantID:       r.GrantID,
		Provider:      r.Provider,
		Model:         r.Model,
		Capability:    r.Capability,
		Currency:      currency,
		Amount:        r.Amount.String(),
		Tokens:        r.Tokens,
		CreatedAt:     formatTime(r.CreatedAt),
		Remaining:     map[usage.Period]remainingJSON{},
	}
	for _, rem := range r.Remaining {
		out.Remaining[rem.Period] = remainingJSON{Cap: rem.Cap.String(), Remaining: rem.Remaining.String(), ResetsAt: formatTime(rem.ResetsAt)}
	}
	return out
}

func newSettlementJSON(s *usage.Settlement) settlementJSON {
	return settlementJSON{
		ReservationID: s.ReservationID,
		Held:          s.Held.String(),
		Cost:          s.Cost.String(),
		AboveHold:     s.AboveHold.String(),
		Late:          s.Late,
	}
}

// newGrantUsageJSON measures each of details, which may be narrower than
// the report's own, against the report's counters.
func newGrantUsageJSON(r *usage.Report, details []access.Detail) grantUsageJSON {
	out := grantUsageJSON{GrantID: r.GrantID, GrantStatus: r.Status, AccountDisabled: r.OwnerDisabled, At: formatTime(r.At), Details: []detailJSON{}}
	for _, d := range details {
		out.Details = append(out.Details, newDetailJSON(usage.Measure(d, r.CountersOf(d.Provider))))
	}
	return out
}

func newDetailJSON(u usage.DetailUsage) detailJSON {
	out := detailJSON{
		Provider:   u.Provider,
		Currency:   u.Currency,
		Periods:    map[usage.Period]periodJSON{},
		RateLimits: map[usage.RateLimit]rateJSON{},
	}
	for _, p := range u.Periods {
		out.Periods[p.Period] = periodJSON{
			Start:     formatTime(p.Start),
			ResetsAt:  formatTime(p.End),
			Spent:     p.Spent.String(),
			Held:      p.Held.String(),
			Cap:       formatAmount(p.Cap),
			Remaining: formatAmount(p.Remaining),
		}
	}
	for _, r := range u.Rates {
		out.RateLimits[r.Limit] = rateJSON{WindowStart: formatTime(r.Start), ResetsAt: formatTime(r.End), Used: r.Used, Limit: r.Max}
	}
	return out
}
