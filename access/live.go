package access

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/aiconsent/aiconsent/money"
)

// Grant actions recorded in the audit log.
const (
	ActionEdit   = "edit"
	ActionPause  = "pause"
	ActionResume = "resume"
	ActionRevoke = "revoke"
)

// ErrGrantNotLive is returned when a change needs a live (active or
// paused) grant and the grant is revoked or replaced.
var ErrGrantNotLive = errors.New("grant is revoked or replaced")

// GrantFilter selects grants to list. Empty fields match every grant.
type GrantFilter struct {
	Subject  string
	ClientID string

	// Live, when set, selects only active and paused grants.
	Live bool
}

// GrantChange is one change to a live grant, made by Actor: a person's
// subject, or "admin:<name>" for an admin.
type GrantChange struct {
	GrantID string
	Actor   string

	// Action is one of the Action constants.
	Action string

	// Details, for ActionEdit, replace the grant's details. The caller must
	// have checked with Narrows that they lie within the current ones.
	Details []Detail
}

// AuditEntry records one change of a grant: who, what, when, and the grant
// before and after, as JSON.
type AuditEntry struct {
	ID      int64
	At      time.Time
	Actor   string
	GrantID string
	Action  string
	Before  string
	After   string
}

// Revocation is a pending call to Hydra's admin API that deletes the
// consent sessions, and so the tokens, of a subject and client. It stays
// pending until Hydra confirms, so a revocation made while Hydra is
// unreachable still reaches it.
type Revocation struct {
	ID          int64
	Subject     string
	ClientID    string
	Attempts    int
	NextAttempt time.Time
	LastError   string
}

// LiveGrantStore changes grants after consent. Implementations apply each
// change, its audit entry and, for a revocation, its pending Revocation in
// one transaction.
type LiveGrantStore interface {
	GrantStore

	// ListGrants returns the grants matching f, newest first.
	ListGrants(ctx context.Context, f GrantFilter) ([]*Grant, error)

	// ChangeGrant applies c and returns the grant after it. It returns
	// ErrGrantNotFound for an unknown id and ErrGrantNotLive when the
	// grant is revoked or replaced.
	ChangeGrant(ctx context.Context, c GrantChange) (*Grant, error)

	// ListAudit returns the audit entries of a grant, oldest first.
	ListAudit(ctx context.Context, grantID string) ([]AuditEntry, error)

	// DueRevocations returns up to limit pending revocations whose next
	// attempt is at or before now.
	DueRevocations(ctx context.Context, now time.Time, limit int) ([]Revocation, error)

	// CompleteRevocation removes a pending revocation after Hydra
	// confirmed it.
	CompleteRevocation(ctx context.Context, id int64) error

	// PostponeRevocation records a failed attempt and when to try again.
	PostponeRevocation(ctx context.Context, id int64, next time.Time, lastError string) error
}

// Narrows reports whether next lies within current: the same providers or
// fewer, and for each the same models, capabilities and limits or fewer
// and lower, and no later expiry. It returns a description of the first
// difference that widens access.
func Narrows(current, next []Detail) (bool, string) {
	for _, n := range next {
		i := slices.IndexFunc(current, func(c Detail) bool { return c.Provider == n.Provider })
		if i < 0 {
			return false, n.Provider + " is not in the grant"
		}
		if ok, why := narrowsDetail(current[i], n); !ok {
			return false, n.Provider + ": " + why
		}
	}
	return true, ""
}

func narrowsDetail(c, n Detail) (bool, string) {
	if n.AnyModel && !c.AnyModel {
		return false, "any model was not granted"
	}
	if !c.AnyModel {
		for _, m := range n.Models {
			if !slices.Contains(c.Models, m) {
				return false, "model " + m + " was not granted"
			}
		}
	}
	for _, cap := range n.Capabilities {
		if !slices.Contains(c.Capabilities, cap) {
			return false, "capability " + cap + " was not granted"
		}
	}
	if !n.Expires.IsZero() && !c.Expires.IsZero() && n.Expires.After(c.Expires) {
		return false, "the expiry is later than granted"
	}
	if field, ok := limitsWithin(n.Limits, c.Limits); !ok {
		return false, field + " is above what was granted"
	}
	return true, ""
}

// limitsWithin reports whether every limit of n is at or below the same
// limit of c, where c has one. It returns the name of the first that is not.
func limitsWithin(n, c Limits) (string, bool) {
	amounts := []struct {
		name string
		n, c *int64
	}{
		{"daily_spend", amountPtr(n.DailySpend), amountPtr(c.DailySpend)},
		{"monthly_spend", amountPtr(n.MonthlySpend), amountPtr(c.MonthlySpend)},
		{"total_spend", amountPtr(n.TotalSpend), amountPtr(c.TotalSpend)},
		{"requests_per_minute", n.RequestsPerMinute, c.RequestsPerMinute},
		{"requests_per_day", n.RequestsPerDay, c.RequestsPerDay},
		{"tokens_per_minute", n.TokensPerMinute, c.TokensPerMinute},
	}
	for _, a := range amounts {
		if a.c != nil && (a.n == nil || *a.n > *a.c) {
			return a.name, false
		}
	}
	return "", true
}

// Intersect returns the part of a token's details that the grant still
// allows now: providers in both, models and capabilities in both, the
// lower of each limit and the earlier expiry. Details that expired or
// lost every model or capability are left out. The result is never wider
// than token.
func Intersect(token, current []Detail, now time.Time) []Detail {
	var out []Detail
	for _, t := range token {
		i := slices.IndexFunc(current, func(c Detail) bool { return c.Provider == t.Provider })
		if i < 0 {
			continue
		}
		d, ok := intersectDetail(t, current[i])
		if ok && d.Expires.After(now) {
			out = append(out, d)
		}
	}
	return out
}

func intersectDetail(t, c Detail) (Detail, bool) {
	d := Detail{Type: t.Type, Provider: t.Provider, Limits: minLimits(t.Limits, c.Limits)}

	switch {
	case t.AnyModel && c.AnyModel:
		d.AnyModel = true
	case t.AnyModel:
		d.Models = slices.Clone(c.Models)
	case c.AnyModel:
		d.Models = slices.Clone(t.Models)
	default:
		d.Models = intersect(t.Models, c.Models)
	}
	d.Capabilities = intersect(t.Capabilities, c.Capabilities)

	d.Expires = t.Expires
	if d.Expires.IsZero() || (!c.Expires.IsZero() && c.Expires.Before(d.Expires)) {
		d.Expires = c.Expires
	}
	return d, (d.AnyModel || len(d.Models) > 0) && len(d.Capabilities) > 0
}

// minLimits returns the lower of each limit of a and b, where nil is no
// limit.
func minLimits(a, b Limits) Limits {
	out := Limits{Currency: a.Currency}
	if out.Currency == "" {
		out.Currency = b.Currency
	}
	out.DailySpend = minAmount(a.DailySpend, b.DailySpend)
	out.MonthlySpend = minAmount(a.MonthlySpend, b.MonthlySpend)
	out.TotalSpend = minAmount(a.TotalSpend, b.TotalSpend)
	out.RequestsPerMinute = tighter(a.RequestsPerMinute, b.RequestsPerMinute)
	out.RequestsPerDay = tighter(a.RequestsPerDay, b.RequestsPerDay)
	out.TokensPerMinute = tighter(a.TokensPerMinute, b.TokensPerMinute)
	return out
}

func minAmount(a, b *money.Amount) *money.Amount {
	switch {
	case a == nil:
		return b
	case b == nil || *a <= *b:
		return a
	}
	return b
}

func amountPtr(a *money.Amount) *int64 {
	if a == nil {
		return nil
	}
	v := int64(*a)
	return &v
}
