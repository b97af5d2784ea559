package access

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Request is an authorization request for AI access, validated against
// the catalog.
type Request struct {
	// Details are the requested details, merged so that each provider
	// appears once, in order of first appearance: authorization_details
	// first, then ai: scopes.
	Details []Detail

	// AIScopes are the requested ai: scopes, in request order.
	AIScopes []Scope

	// OtherScopes are the other requested scopes (openid, offline_access
	// and so on), in request order.
	OtherScopes []string

	Prompt string
}

// NewRequest validates an authorization request against the catalog and
// merges its authorization details and ai: scopes per provider.
// requestedScope is the requested_scope of Hydra's login or consent
// request; ar.Scope is not used.
//
// Each detail must name a catalog provider, catalog models of that
// provider (unless Policy.AllowUnlistedModels), capabilities that the
// requested models offer, the catalog currency, and an expiry after now.
// A detail without capabilities, or a scope with capability "*", gets
// every capability its models offer. Merging takes the union of models and
// capabilities, the smaller of each limit, the earlier expiry, the first
// type, and joins the reasons. The error is an *Error: Code
// CodeInvalidAuthorizationDetails for authorization_details and
// CodeInvalidScope for scopes.
func (c *Catalog) NewRequest(ar AuthorizationRequest, requestedScope []string, now time.Time) (*Request, error) {
	r := &Request{Prompt: ar.Prompt}

	var details []Detail
	if ar.AuthorizationDetails != nil {
		parsed, err := ParseDetails(ar.AuthorizationDetails, c.Policy, c.AcceptsType)
		if err != nil {
			return nil, err
		}
		for i := range parsed {
			at := origin{path: fmt.Sprintf("authorization_details[%d]", i)}
			if err := c.checkDetail(&parsed[i], now, at); err != nil {
				return nil, err
			}
		}
		details = parsed
	}

	scopeDetails, err := c.readScopes(r, requestedScope, now)
	if err != nil {
		return nil, err
	}
	details = append(details, scopeDetails...)

	if r.Details, err = c.merge(details, ar.AuthorizationDetails != nil); err != nil {
		return nil, err
	}
	return r, nil
}

// readScopes sorts requestedScope into r.AIScopes and r.OtherScopes, and
// returns a checked detail for each ai: scope.
func (c *Catalog) readScopes(r *Request, requestedScope []string, now time.Time) ([]Detail, error) {
	var details []Detail
	for _, s := range requestedScope {
		if !IsAIScope(s) {
			if !slices.Contains(r.OtherScopes, s) {
				r.OtherScopes = append(r.OtherScopes, s)
			}
			continue
		}
		if slices.ContainsFunc(r.AIScopes, func(a Scope) bool { return a.Raw == s }) {
			continue
		}

		scope, err := ParseScope(s)
		if err != nil {
			return nil, err
		}
		d := scopeDetail(scope)
		if err := c.checkDetail(&d, now, origin{scope: s}); err != nil {
			return nil, err
		}
		r.AIScopes = append(r.AIScopes, scope)
		details = append(details, d)
	}
	return details, nil
}

// scopeDetail returns the detail an ai: scope stands for. Capability "*"
// leaves the capabilities empty for checkDetail to fill in.
func scopeDetail(s Scope) Detail {
	d := Detail{Type: DetailType, Provider: s.Provider}
	if s.Model == AnyModel {
		d.AnyModel = true
	} else {
		d.Models = []string{s.Model}
	}
	if s.Capability != "*" {
		d.Capabilities = []string{s.Capability}
	}
	return d
}

// checkDetail checks d against the catalog and fills in its capabilities
// when it has none.
func (c *Catalog) checkDetail(d *Detail, now time.Time, at origin) error {
	p, ok := c.Provider(d.Provider)
	if !ok {
		return at.fail("provider", d.Provider, "is not a provider of this server; use one of %s", quoteAll(c.ProviderIDs()))
	}

	if !d.AnyModel && !c.Policy.AllowUnlistedModels {
		for _, m := range d.Models {
			if !hasModel(p, m) {
				return at.fail("models", m, "is not a model of %+q on this server; use one of %s", p.ID, quoteAll(modelIDs(p)))
			}
		}
	}

	if err := checkCapabilities(d, p, at); err != nil {
		return err
	}

	if d.Limits.Currency != "" && d.Limits.Currency != c.Currency {
		return at.fail("limits.currency", d.Limits.Currency, "is not the currency of this server, and there is no exchange rate; state every amount in %+q", c.Currency)
	}
	if !d.Expires.IsZero() && !d.Expires.After(now) {
		return at.fail("expires", d.Expires.Format(time.RFC3339), "is not in the future; request a later expiry, or leave it out for the default")
	}
	return nil
}

// checkCapabilities checks that each requested capability is offered by a
// requested model, and fills in every offered capability when d has none.
func checkCapabilities(d *Detail, p *Provider, at origin) error {
	offered := offeredCapabilities(p, d)
	if len(d.Capabilities) == 0 {
		d.Capabilities = offered
		return nil
	}

	known := p.Capabilities()
	for _, capability := range d.Capabilities {
		if !slices.Contains(known, capability) {
			return at.fail("capabilities", capability, "is not a capability of %+q; use one of %s", p.ID, quoteAll(known))
		}
		if !slices.Contains(offered, capability) {
			return at.fail("capabilities", capability, "is not offered by the requested models %s; request a model that offers it", quoteAll(d.Models))
		}
	}
	return nil
}

// offeredCapabilities returns the capabilities of the models of d, in the
// catalog order of p. A model the catalog does not list may offer any
// capability of p.
func offeredCapabilities(p *Provider, d *Detail) []string {
	if d.AnyModel || slices.ContainsFunc(d.Models, func(m string) bool { return !hasModel(p, m) }) {
		return p.Capabilities()
	}

	var offered []string
	for _, capability := range p.Capabilities() {
		for _, id := range d.Models {
			m, _ := p.Model(id)
			if slices.Contains(m.Capabilities, capability) {
				offered = append(offered, capability)
				break
			}
		}
	}
	return offered
}

// merge merges details per provider, in order of first appearance, and
// sets the catalog currency on each. fromDetails reports whether the
// request had authorization_details, which decides the error code.
func (c *Catalog) merge(details []Detail, fromDetails bool) ([]Detail, error) {
	var merged []Detail
	for _, d := range details {
		i := slices.IndexFunc(merged, func(m Detail) bool { return m.Provider == d.Provider })
		if i < 0 {
			d.Models = slices.Clone(d.Models)
			d.Capabilities = slices.Clone(d.Capabilities)
			d.Limits.Currency = c.Currency
			merged = append(merged, d)
			continue
		}
		mergeDetail(&merged[i], d)
	}

	maxDetails := c.Policy.MaxDetails
	if maxDetails <= 0 {
		maxDetails = DefaultMaxDetails
	}
	if len(merged) > maxDetails {
		e := &Error{Code: CodeInvalidScope, Field: "scope"}
		if fromDetails {
			e = &Error{Code: CodeInvalidAuthorizationDetails, Field: "authorization_details"}
		}
		e.Description = fmt.Sprintf("the request names %d providers in authorization_details and ai: scopes together; request at most %d", len(merged), maxDetails)
		return nil, e
	}
	return merged, nil
}

// mergeDetail merges d into m, which is for the same provider.
func mergeDetail(m *Detail, d Detail) {
	m.AnyModel = m.AnyModel || d.AnyModel
	if m.AnyModel {
		m.Models = nil
	} else {
		m.Models = mergeScopes(m.Models, d.Models)
	}
	m.Capabilities = mergeScopes(m.Capabilities, d.Capabilities)

	for _, f := range limitFields {
		f.set(&m.Limits, tighter(f.get(m.Limits), f.get(d.Limits)))
	}
	if !d.Expires.IsZero() && (m.Expires.IsZero() || d.Expires.Before(m.Expires)) {
		m.Expires = d.Expires
	}
	switch {
	case d.Reason == "" || d.Reason == m.Reason:
	case m.Reason == "":
		m.Reason = d.Reason
	default:
		m.Reason += "\n" + d.Reason
	}
}

// origin is the source of a detail, an entry of authorization_details
// (path) or an ai: scope (scope), and builds the errors of checkDetail.
type origin struct {
	path  string
	scope string
}

// fail returns an error about value, found in field of the detail.
func (at origin) fail(field, value, format string, args ...any) *Error {
	problem := fmt.Sprintf(format, args...)
	if at.scope == "" {
		path := at.path + "." + field
		return detailError(path, "%+q %s", value, problem)
	}

	part := field
	switch field {
	case "models":
		part = "model"
	case "capabilities":
		part = "capability"
	}
	return scopeError(at.scope, "names the %s %+q, which %s", part, value, problem)
}

func modelIDs(p *Provider) []string {
	ids := make([]string, len(p.Models))
	for i, m := range p.Models {
		ids[i] = m.ID
	}
	return ids
}

// quoteAll returns the entries quoted and separated by commas, for error
// descriptions.
func quoteAll(list []string) string {
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = fmt.Sprintf("%+q", s)
	}
	return strings.Join(quoted, ", ")
}
