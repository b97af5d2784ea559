package usage

import (
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/money"
)

// Report is a grant as currently stored, with the counters of each of its
// details at one instant.
type Report struct {
	GrantID  string
	Subject  string
	ClientID string
	Status   access.Status

	// OwnerDisabled reports whether the account that gave the grant is
	// disabled or deleted: its grants may not be used, whatever their
	// Status.
	OwnerDisabled bool

	// Details are the details as currently granted.
	Details []access.Detail

	// At is the instant the counters belong to.
	At time.Time

	// Counters holds the counters of each detail, by provider.
	Counters map[string]Counters
}

// CountersOf returns the counters of provider, or zero counters when the
// report has none.
func (r *Report) CountersOf(provider string) Counters {
	if c, ok := r.Counters[provider]; ok {
		return c
	}
	return Counters{Provider: provider}
}

// DetailUsage is the usage of one detail measured against its limits.
type DetailUsage struct {
	Provider string
	Currency string
	Periods  []PeriodUsage
	Rates    []RateUsage
}

// PeriodUsage is the spend of one period against its cap.
type PeriodUsage struct {
	PeriodCount

	// Cap is the spend cap of the period, or nil when there is none.
	Cap *money.Amount

	// Remaining is the cap minus the spent and held amounts, at least
	// zero. It is nil when there is no cap.
	Remaining *money.Amount
}

// RateUsage is the use of one rate window against its limit.
type RateUsage struct {
	Limit      RateLimit
	Start, End time.Time
	Used       int64

	// Max is the rate limit, or nil when there is none.
	Max *int64
}

// Measure returns the usage in c measured against the limits of d. The
// detail may be narrower than the one the counters were kept for, such as
// the part of a grant that one token carries. Its limits are used as
// given.
func Measure(d access.Detail, c Counters) DetailUsage {
	u := DetailUsage{Provider: d.Provider, Currency: d.Limits.Currency}
	for _, p := range Periods {
		pu := PeriodUsage{PeriodCount: *c.Period(p), Cap: CapOf(d.Limits, p)}
		if pu.Cap != nil {
			left := room(*pu.Cap, pu.Spent, pu.Held)
			pu.Remaining = &left
		}
		u.Periods = append(u.Periods, pu)
	}

	for _, r := range RateLimits {
		w := c.Window(r.Window())
		u.Rates = append(u.Rates, RateUsage{Limit: r, Start: w.Start, End: w.End, Used: w.used(r), Max: LimitOf(d.Limits, r)})
	}
	return u
}
