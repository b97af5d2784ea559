package access

import (
	"fmt"
	"slices"
	"time"

	"github.com/aiconsent/aiconsent/money"
)

// Ceiling returns the largest limits a person may grant for the requested
// detail d: per field the smaller of the requested value and the policy
// maximum, or nil when both are absent. A field with a ceiling must be
// granted.
func (c *Catalog) Ceiling(d Detail) Limits {
	ceiling := Limits{Currency: c.Currency}
	for _, f := range limitFields {
		f.set(&ceiling, tighter(f.get(d.Limits), f.get(c.Policy.Maxima)))
	}
	return ceiling
}

// Prefill returns the grant the consent form proposes first for the
// requested detail d, with the requested models and capabilities. Each
// limit is the requested value, else the policy default, else the ceiling,
// and at most the ceiling; a daily cap is then at most the monthly one,
// and a monthly cap at most the total. The expiry is the requested one, else now plus
// the default expiry, and at most MaxExpires. The reason is not copied,
// because a grant has none.
func (c *Catalog) Prefill(d Detail, now time.Time) Detail {
	ceiling := c.Ceiling(d)
	limits := Limits{Currency: c.Currency}
	for _, f := range limitFields {
		v := f.get(d.Limits)
		if v == nil {
			v = f.get(c.Policy.Defaults)
		}
		if v == nil {
			v = f.get(ceiling)
		}
		f.set(&limits, tighter(v, f.get(ceiling)))
	}
	nestSpendCaps(&limits)

	expires := d.Expires
	if expires.IsZero() {
		expires = now.Add(c.Policy.DefaultExpiry)
	}
	if limit := c.MaxExpires(d, now); expires.After(limit) {
		expires = limit
	}

	return Detail{
		Type:         d.Type,
		Provider:     d.Provider,
		AnyModel:     d.AnyModel,
		Models:       slices.Clone(d.Models),
		Capabilities: slices.Clone(d.Capabilities),
		Limits:       limits,
		Expires:      expires,
	}
}

// nestSpendCaps lowers a daily cap above the monthly cap, and a monthly
// cap above the total cap, to that cap. Such a cap can never be reached
// first, so proposing it, such as $100 a day beside $5 a month, only
// confuses. Lowering stays within every ceiling.
func nestSpendCaps(l *Limits) {
	if l.MonthlySpend != nil && l.TotalSpend != nil && *l.MonthlySpend > *l.TotalSpend {
		v := *l.TotalSpend
		l.MonthlySpend = &v
	}
	if l.DailySpend != nil && l.MonthlySpend != nil && *l.DailySpend > *l.MonthlySpend {
		v := *l.MonthlySpend
		l.DailySpend = &v
	}
}

// MaxExpires returns the latest expiry a person may grant for the
// requested detail d: the requested expiry, if any, and at most
// now+Policy.MaxExpiry.
func (c *Catalog) MaxExpires(d Detail, now time.Time) time.Time {
	limit := now.Add(c.Policy.MaxExpiry)
	if !d.Expires.IsZero() && d.Expires.Before(limit) {
		return d.Expires
	}
	return limit
}

// CheckGrant checks the details a person granted for request r, as posted
// by the consent form. Each granted detail must be for a requested
// provider, with the requested type, at least one model and capability
// within the request, limits within the ceiling (Ceiling), the catalog
// currency, and an expiry after now and not after MaxExpires. The error is
// an *Error with Code CodeInvalidRequest and a Field such as
// "openai.limits.monthly_spend". A Reason in a granted detail is ignored.
func (c *Catalog) CheckGrant(r *Request, granted []Detail, now time.Time) error {
	seen := make(map[string]bool)
	for _, g := range granted {
		requested, ok := findDetail(r.Details, g.Provider)
		if !ok {
			return grantError(g.Provider, "provider", "%+q was not requested; grant only the providers the app requested", g.Provider)
		}
		if seen[g.Provider] {
			return grantError(g.Provider, "provider", "%+q is granted twice; grant each provider once", g.Provider)
		}
		seen[g.Provider] = true

		if err := c.checkGranted(requested, g, now); err != nil {
			return err
		}
	}
	return nil
}

func (c *Catalog) checkGranted(requested, g Detail, now time.Time) error {
	if g.Type != requested.Type {
		return grantError(g.Provider, "type", "%+q differs from the requested type %+q", g.Type, requested.Type)
	}
	if err := c.checkGrantedModels(requested, g); err != nil {
		return err
	}
	if err := checkGrantedCapabilities(requested, g); err != nil {
		return err
	}
	if err := c.checkGrantedLimits(requested, g); err != nil {
		return err
	}

	switch limit := c.MaxExpires(requested, now); {
	case g.Expires.IsZero():
		return grantError(g.Provider, "expires", "is missing; every grant needs an expiry")
	case !g.Expires.After(now):
		return grantError(g.Provider, "expires", "%s is not in the future", g.Expires.UTC().Format(time.RFC3339))
	case g.Expires.After(limit):
		return grantError(g.Provider, "expires", "%s is after the latest allowed expiry %s", g.Expires.UTC().Format(time.RFC3339), limit.UTC().Format(time.RFC3339))
	}
	return nil
}

func (c *Catalog) checkGrantedModels(requested, g Detail) error {
	if g.AnyModel {
		if !requested.AnyModel {
			return grantError(g.Provider, "models", "grants any model, but the app requested only %s", quoteAll(requested.Models))
		}
		if len(g.Models) > 0 {
			return grantError(g.Provider, "models", "grants any model and also lists models; send one or the other")
		}
		return nil
	}
	if len(g.Models) == 0 {
		return grantError(g.Provider, "models", "is empty; grant at least one model, or leave the provider out")
	}
	if len(g.Models) > MaxModels {
		return grantError(g.Provider, "models", "lists %d models; grant at most %d", len(g.Models), MaxModels)
	}

	provider, _ := c.Provider(g.Provider)
	for i, m := range g.Models {
		if slices.Index(g.Models, m) != i {
			return grantError(g.Provider, "models", "lists %+q twice", m)
		}
		if err := checkModelID(m); err != nil {
			return grantError(g.Provider, "models", "%+q is invalid: %v", m, err)
		}
		if !requested.AnyModel && !slices.Contains(requested.Models, m) {
			return grantError(g.Provider, "models", "%+q was not requested; the app requested %s", m, quoteAll(requested.Models))
		}
		if requested.AnyModel && !c.Policy.AllowUnlistedModels && !hasModel(provider, m) {
			return grantError(g.Provider, "models", "%+q is not a model of %+q in the catalog", m, g.Provider)
		}
	}
	return nil
}

func checkGrantedCapabilities(requested, g Detail) error {
	if len(g.Capabilities) == 0 {
		return grantError(g.Provider, "capabilities", "is empty; grant at least one capability, or leave the provider out")
	}
	for i, capability := range g.Capabilities {
		if slices.Index(g.Capabilities, capability) != i {
			return grantError(g.Provider, "capabilities", "lists %+q twice", capability)
		}
		if !slices.Contains(requested.Capabilities, capability) {
			return grantError(g.Provider, "capabilities", "%+q was not requested; the app requested %s", capability, quoteAll(requested.Capabilities))
		}
	}
	return nil
}

func (c *Catalog) checkGrantedLimits(requested, g Detail) error {
	if g.Limits.Currency != c.Currency {
		return grantError(g.Provider, "limits.currency", "%+q is not the currency of this server, %+q", g.Limits.Currency, c.Currency)
	}

	ceiling := c.Ceiling(requested)
	for _, f := range limitFields {
		v, limit := f.get(g.Limits), f.get(ceiling)
		field := "limits." + f.name
		switch {
		case v == nil && limit != nil:
			return grantError(g.Provider, field, "is missing; set a value of at most %s", f.format(*limit, c.Currency))
		case v == nil:
			continue
		case *v < 0 || *v > f.max:
			return grantError(g.Provider, field, "%s is outside the range from 0 to %s", f.format(*v, c.Currency), f.format(f.max, c.Currency))
		case limit != nil && *v > *limit:
			return grantError(g.Provider, field, "%s exceeds the most that may be granted, %s", f.format(*v, c.Currency), f.format(*limit, c.Currency))
		}
	}
	return nil
}

// GrantedScopes returns the scopes to grant with the details granted for
// request r: every standard scope of r, then each requested ai: scope that
// the grant covers, in request order without duplicates. A scope with
// model "*" needs a grant of any model. A scope with capability "*" needs
// every capability that r requests for its provider, which may be more
// than the scope itself stood for.
func GrantedScopes(r *Request, granted []Detail) []string {
	var scopes []string
	add := func(s string) {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}

	for _, s := range r.OtherScopes {
		add(s)
	}
	for _, s := range r.AIScopes {
		if scopeGranted(r, granted, s) {
			add(s.Raw)
		}
	}
	return scopes
}

func scopeGranted(r *Request, granted []Detail, s Scope) bool {
	g, ok := findDetail(granted, s.Provider)
	if !ok {
		return false
	}

	modelOK := g.AnyModel || (s.Model != AnyModel && slices.Contains(g.Models, s.Model))
	if !modelOK {
		return false
	}
	if s.Capability != "*" {
		return slices.Contains(g.Capabilities, s.Capability)
	}
	requested, ok := findDetail(r.Details, s.Provider)
	return ok && containsAll(g.Capabilities, requested.Capabilities)
}

// Covers reports whether the granted details allow everything in request
// r, so that no new consent is needed. Every requested provider must be
// granted with the same type and the requested models and capabilities.
// Each limit that r states must be granted at least as high, and a nil
// granted limit counts as unlimited. The granted expiry must be after now
// and not before the requested one.
func Covers(granted []Detail, r *Request, now time.Time) bool {
	for _, d := range r.Details {
		g, ok := findDetail(granted, d.Provider)
		if !ok || !covers(g, d, now) {
			return false
		}
	}
	return true
}

func covers(g, d Detail, now time.Time) bool {
	switch {
	case g.Type != d.Type:
		return false
	case !g.Expires.After(now):
		return false
	case !d.Expires.IsZero() && g.Expires.Before(d.Expires):
		return false
	case d.AnyModel && !g.AnyModel:
		return false
	case !g.AnyModel && !containsAll(g.Models, d.Models):
		return false
	case !containsAll(g.Capabilities, d.Capabilities):
		return false
	}

	for _, f := range limitFields {
		want, have := f.get(d.Limits), f.get(g.Limits)
		if want != nil && have != nil && *want > *have {
			return false
		}
	}
	return true
}

// Restrict returns the part of the granted details that request r
// requests. For each requested provider that is granted, it keeps the
// models and capabilities in both, the smaller of the granted and the
// requested value of each limit (nil only when both are nil), and the
// earlier expiry. A requested AnyModel keeps the granted models. Details
// left without a model or a capability are dropped.
func Restrict(granted []Detail, r *Request) []Detail {
	var restricted []Detail
	for _, d := range r.Details {
		g, ok := findDetail(granted, d.Provider)
		if !ok {
			continue
		}
		if out, ok := restrict(g, d); ok {
			restricted = append(restricted, out)
		}
	}
	return restricted
}

func restrict(g, d Detail) (Detail, bool) {
	out := Detail{
		Type:         g.Type,
		Provider:     g.Provider,
		Capabilities: intersect(g.Capabilities, d.Capabilities),
		Limits:       Limits{Currency: g.Limits.Currency},
		Expires:      g.Expires,
	}
	switch {
	case d.AnyModel:
		out.AnyModel, out.Models = g.AnyModel, slices.Clone(g.Models)
	case g.AnyModel:
		out.Models = slices.Clone(d.Models)
	default:
		out.Models = intersect(d.Models, g.Models)
	}
	for _, f := range limitFields {
		f.set(&out.Limits, tighter(f.get(g.Limits), f.get(d.Limits)))
	}
	if !d.Expires.IsZero() && d.Expires.Before(out.Expires) {
		out.Expires = d.Expires
	}

	ok := (out.AnyModel || len(out.Models) > 0) && len(out.Capabilities) > 0
	return out, ok
}

func findDetail(details []Detail, provider string) (Detail, bool) {
	for _, d := range details {
		if d.Provider == provider {
			return d, true
		}
	}
	return Detail{}, false
}

func hasModel(p *Provider, id string) bool {
	if p == nil {
		return false
	}
	_, ok := p.Model(id)
	return ok
}

// containsAll reports whether every entry of sub is in set.
func containsAll(set, sub []string) bool {
	for _, s := range sub {
		if !slices.Contains(set, s) {
			return false
		}
	}
	return true
}

// intersect returns the entries of a that are in b, in the order of a.
func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func grantError(provider, field, format string, args ...any) *Error {
	path := provider + "." + field
	return &Error{
		Code:        CodeInvalidRequest,
		Field:       path,
		Description: path + " " + fmt.Sprintf(format, args...),
	}
}

// limitField gives uniform access to one limit of Limits. Spend limits are
// stored as money.Amount, rate limits as int64; both are handled here as
// int64 values.
type limitField struct {
	// name is the JSON name, as in authorization_details.
	name string

	// spend reports whether the field is an amount of money.
	spend bool

	// max is the largest valid value.
	max int64

	amount func(*Limits) **money.Amount
	count  func(*Limits) **int64
}

// limitFields lists every limit of Limits, in the order of the JSON form.
var limitFields = []limitField{
	{name: "daily_spend", spend: true, max: int64(money.Max), amount: func(l *Limits) **money.Amount { return &l.DailySpend }},
	{name: "monthly_spend", spend: true, max: int64(money.Max), amount: func(l *Limits) **money.Amount { return &l.MonthlySpend }},
	{name: "total_spend", spend: true, max: int64(money.Max), amount: func(l *Limits) **money.Amount { return &l.TotalSpend }},
	{name: "requests_per_minute", max: MaxCount, count: func(l *Limits) **int64 { return &l.RequestsPerMinute }},
	{name: "requests_per_day", max: MaxCount, count: func(l *Limits) **int64 { return &l.RequestsPerDay }},
	{name: "tokens_per_minute", max: MaxCount, count: func(l *Limits) **int64 { return &l.TokensPerMinute }},
}

// get returns a copy of the field's value, or nil.
func (f limitField) get(l Limits) *int64 {
	if f.spend {
		if a := *f.amount(&l); a != nil {
			v := int64(*a)
			return &v
		}
		return nil
	}
	if n := *f.count(&l); n != nil {
		v := *n
		return &v
	}
	return nil
}

// set stores a copy of v, or nil, in the field.
func (f limitField) set(l *Limits, v *int64) {
	if f.spend {
		var a *money.Amount
		if v != nil {
			amount := money.Amount(*v)
			a = &amount
		}
		*f.amount(l) = a
		return
	}
	var n *int64
	if v != nil {
		count := *v
		n = &count
	}
	*f.count(l) = n
}

// format returns v as shown in error descriptions: an amount with its
// currency, or a plain count.
func (f limitField) format(v int64, currency string) string {
	if f.spend {
		return money.Amount(v).Format(currency)
	}
	return fmt.Sprint(v)
}

// tighter returns the smaller of two limits, ignoring a nil one.
func tighter(a, b *int64) *int64 {
	switch {
	case a == nil:
		return b
	case b == nil || *a <= *b:
		return a
	}
	return b
}

// amountField returns the spend limit of l named by its JSON name, or nil.
func amountField(l *Limits, name string) **money.Amount {
	for _, f := range limitFields {
		if f.name == name && f.spend {
			return f.amount(l)
		}
	}
	return nil
}

// countField returns the rate limit of l named by its JSON name, or nil.
func countField(l *Limits, name string) **int64 {
	for _, f := range limitFields {
		if f.name == name && !f.spend {
			return f.count(l)
		}
	}
	return nil
}

func limitNames() []string {
	names := make([]string, len(limitFields))
	for i, f := range limitFields {
		names[i] = f.name
	}
	return names
}

// aboveCeiling returns the name of the first field of l that is above the
// same field of ceiling, and reports whether there is one.
func aboveCeiling(l, ceiling Limits) (string, bool) {
	for _, f := range limitFields {
		v, limit := f.get(l), f.get(ceiling)
		if v != nil && limit != nil && *v > *limit {
			return f.name, true
		}
	}
	return "", false
}
