package usage

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/money"
)

// Counters are the spend, holds and rate-window use of one detail of a
// grant in the periods and windows that contain one instant.
type Counters struct {
	Provider string
	Periods  []PeriodCount
	Windows  []WindowCount
}

// PeriodCount is the spend of one period.
type PeriodCount struct {
	Period Period

	// Start is the first instant of the period and End the first instant
	// after it; both are zero for PeriodTotal.
	Start, End time.Time

	Spent money.Amount
	Held  money.Amount
}

// WindowCount is the use of one rate window.
type WindowCount struct {
	Window     Window
	Start, End time.Time

	// Requests counts reservations, settled or not; a released hold still
	// counts as a request.
	Requests int64

	// Tokens counts the worst-case tokens of open holds and the real
	// tokens of settled ones.
	Tokens int64
}

// NewCounters returns zero counters of provider in the periods and windows
// that contain now. Stores fill in the values they have.
func NewCounters(cal Calendar, provider string, now time.Time) Counters {
	c := Counters{Provider: provider}
	for _, p := range Periods {
		c.Periods = append(c.Periods, PeriodCount{Period: p, Start: cal.Start(p, now), End: cal.End(p, now)})
	}
	for _, w := range Windows {
		c.Windows = append(c.Windows, WindowCount{Window: w, Start: cal.WindowStart(w, now), End: cal.WindowEnd(w, now)})
	}
	return c
}

// Period returns the count of the period of kind p.
func (c Counters) Period(p Period) *PeriodCount {
	for i := range c.Periods {
		if c.Periods[i].Period == p {
			return &c.Periods[i]
		}
	}
	return &PeriodCount{Period: p}
}

// Window returns the count of the window of kind w.
func (c Counters) Window(w Window) *WindowCount {
	for i := range c.Windows {
		if c.Windows[i].Window == w {
			return &c.Windows[i]
		}
	}
	return &WindowCount{Window: w}
}

// used returns what the window has counted for l.
func (w WindowCount) used(l RateLimit) int64 {
	if l.countsTokens() {
		return w.Tokens
	}
	return w.Requests
}

// Check decides whether the hold h fits the grant with the given status
// and details and the counters c of h.Provider at now. It returns what each
// spend cap has left once h is counted, or a *Refusal, checking in this
// order: the grant's status, the provider, the detail's expiry, the model
// and the capability, the spend caps from the longest period to the
// shortest, and the rate limits.
func Check(status access.Status, details []access.Detail, h Hold, c Counters, now time.Time) ([]Remaining, error) {
	if err := checkStatus(status, h.GrantID); err != nil {
		return nil, err
	}
	d, err := CheckDetail(details, h, now)
	if err != nil {
		return nil, err
	}
	remaining, err := checkCaps(d.Limits, h, c)
	if err != nil {
		return nil, err
	}
	if err := checkRates(d.Limits, h, c, now); err != nil {
		return nil, err
	}
	return remaining, nil
}

func checkStatus(status access.Status, grantID string) error {
	switch status {
	case access.StatusActive:
		return nil
	case access.StatusPaused:
		return &Refusal{Reason: ReasonGrantPaused, Description: fmt.Sprintf("grant %q is paused; it may be resumed later", grantID)}
	case access.StatusReplaced:
		return &Refusal{Reason: ReasonGrantRevoked, Description: fmt.Sprintf("grant %q was replaced by a newer consent; the app must use its new token", grantID)}
	}
	return &Refusal{Reason: ReasonGrantRevoked, Description: fmt.Sprintf("grant %q is revoked", grantID)}
}

// CheckDetail returns the detail of h.Provider among details when it is
// unexpired and covers h.Model and h.Capability, and a *Refusal otherwise.
// Resource servers that present an access token are held to the details
// it carries with it.
func CheckDetail(details []access.Detail, h Hold, now time.Time) (access.Detail, error) {
	i := slices.IndexFunc(details, func(d access.Detail) bool { return d.Provider == h.Provider })
	if i < 0 {
		return access.Detail{}, &Refusal{Reason: ReasonNotGranted, Description: fmt.Sprintf("provider %q is not granted by grant %q", h.Provider, h.GrantID)}
	}
	d := details[i]

	switch {
	case !d.Expires.After(now):
		return access.Detail{}, &Refusal{Reason: ReasonGrantExpired, Description: fmt.Sprintf("access to provider %q under grant %q expired at %s", h.Provider, h.GrantID, d.Expires.UTC().Format(time.RFC3339))}
	case !d.AnyModel && !slices.Contains(d.Models, h.Model):
		return access.Detail{}, &Refusal{Reason: ReasonNotGranted, Description: fmt.Sprintf("model %q of provider %q is not granted; the granted models are %s", h.Model, h.Provider, quoteAll(d.Models))}
	case !slices.Contains(d.Capabilities, h.Capability):
		return access.Detail{}, &Refusal{Reason: ReasonNotGranted, Description: fmt.Sprintf("capability %q of provider %q is not granted; the granted capabilities are %s", h.Capability, h.Provider, quoteAll(d.Capabilities))}
	}
	return d, nil
}

// checkCaps checks that every spend cap has room for h on top of what its
// period has spent and held.
func checkCaps(l access.Limits, h Hold, c Counters) ([]Remaining, error) {
	var remaining []Remaining
	for _, p := range Periods {
		limit := CapOf(l, p)
		if limit == nil {
			continue
		}

		count := c.Period(p)
		after, ok := AddAmounts(count.Spent, count.Held, h.Amount)
		if !ok || after > *limit {
			left := room(*limit, count.Spent, count.Held)
			return nil, &Refusal{
				Reason:   ReasonBudgetExhausted,
				Cap:      p,
				ResetsAt: count.End,
				Description: fmt.Sprintf("the %s spend cap of %s has %s left (spent %s, held %s); this reservation needs %s",
					p, limit.Format(l.Currency), left.Format(l.Currency), count.Spent.Format(l.Currency),
					count.Held.Format(l.Currency), h.Amount.Format(l.Currency)),
			}
		}
		remaining = append(remaining, Remaining{Period: p, Cap: *limit, Remaining: *limit - after, ResetsAt: count.End})
	}
	return remaining, nil
}

// room returns what is left of limit after spent and held, or zero.
func room(limit, spent, held money.Amount) money.Amount {
	used, ok := AddAmounts(spent, held)
	if !ok || used >= limit {
		return 0
	}
	return limit - used
}

// checkRates checks that every rate window has room for one more request
// and for h.Tokens.
func checkRates(l access.Limits, h Hold, c Counters, now time.Time) error {
	for _, r := range RateLimits {
		limit := LimitOf(l, r)
		if limit == nil {
			continue
		}

		w := c.Window(r.Window())
		add := int64(1)
		if r.countsTokens() {
			add = h.Tokens
		}
		if w.used(r)+add <= *limit {
			continue
		}

		description := fmt.Sprintf("the %s limit of %d is used up (%d used) until %s", r, *limit, w.used(r), w.End.UTC().Format(time.RFC3339))
		if add > *limit {
			description = fmt.Sprintf("this reservation of %d tokens is more than the %s limit of %d, so it can never fit; reserve fewer tokens", add, r, *limit)
		}
		return &Refusal{Reason: ReasonRateLimited, Limit: r, ResetsAt: w.End, RetryAfter: RetryAfter(now, w.End), Description: description}
	}
	return nil
}

// CapOf returns the spend cap of l for the period of kind p, or nil.
func CapOf(l access.Limits, p Period) *money.Amount {
	switch p {
	case PeriodDaily:
		return l.DailySpend
	case PeriodMonthly:
		return l.MonthlySpend
	case PeriodTotal:
		return l.TotalSpend
	}
	return nil
}

// LimitOf returns the rate limit r of l, or nil.
func LimitOf(l access.Limits, r RateLimit) *int64 {
	switch r {
	case RequestsPerMinute:
		return l.RequestsPerMinute
	case RequestsPerDay:
		return l.RequestsPerDay
	case TokensPerMinute:
		return l.TokensPerMinute
	}
	return nil
}

func quoteAll(list []string) string {
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(quoted, ", ")
}
