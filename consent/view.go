package consent

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/money"
	"github.com/aiconsent/aiconsent/templates"
	"github.com/aiconsent/aiconsent/web"
)

// scopeDescriptions explain the standard scopes in plain words.
var scopeDescriptions = map[string]string{
	"openid":         "confirm who you are with your account ID",
	"offline_access": "keep access while you are not using the app",
	"profile":        "see your username",
	"email":          "see your email address",
}

// consentView builds the consent screen. With a rejected form, the
// person's own entries are shown again with what to correct.
func (h *Handler) consentView(c echo.Context, f *consentFlow, form url.Values, problems []formProblem) templates.ConsentView {
	now := h.Now()
	client := ClientView(f.cr.Client)

	v := templates.ConsentView{
		CSRF:      web.CSRFToken(c),
		Challenge: f.challenge,
		Client:    client,
		Username:  f.user.Username,
		Currency:  h.Catalog.Currency,
		Remember:  form != nil && form.Get("remember") == "1",
		Errors:    formErrors(problems),
	}

	for i, d := range f.request.Details {
		prefill := h.Catalog.Prefill(d, now)
		v.Summary = append(v.Summary, h.summarize(client.Name, h.headline(d, prefill)))
		v.Providers = append(v.Providers, h.providerChoice(i, d, prefill, form, now, problems))
	}

	for _, s := range f.request.OtherScopes {
		desc, ok := scopeDescriptions[s]
		if !ok {
			desc = "a permission the app defines"
		}
		v.OtherScopes = append(v.OtherScopes, templates.ScopeView{Name: s, Description: desc})
	}
	return v
}

func (h *Handler) providerChoice(i int, d, prefill access.Detail, form url.Values, now time.Time, problems []formProblem) templates.ProviderChoice {
	prefix := "p" + strconv.Itoa(i) + "."
	fieldError := func(name string) string {
		for _, p := range problems {
			if p.Field == prefix+name {
				return p.Text
			}
		}
		return ""
	}
	p := templates.ProviderChoice{
		Index:           i,
		ID:              d.Provider,
		Name:            h.Catalog.ProviderName(d.Provider),
		AnyModel:        d.AnyModel,
		AnyModelChecked: prefill.AnyModel,
		Expires:         prefill.Expires.UTC().Format(dateLayout),
		ExpiresMax:      h.Catalog.MaxExpires(d, now).UTC().Format(dateLayout),
		ExpiresMaxText:  h.Catalog.MaxExpires(d, now).UTC().Format("2 January 2006"),
		ExpiresMin:      now.UTC().AddDate(0, 0, 1).Format(dateLayout),
	}
	for _, r := range strings.Split(d.Reason, "\n") {
		if r = strings.TrimSpace(r); r != "" {
			p.Reasons = append(p.Reasons, r)
		}
	}
	if form != nil {
		p.AnyModelChecked = form.Get(prefix+"any") == "1"
		p.Expires = form.Get(prefix + "expires")
	}

	for _, id := range h.offeredModels(d) {
		m := templates.ModelChoice{ID: id, Name: id, Checked: !d.AnyModel}
		if form != nil {
			m.Checked = slices.Contains(form[prefix+"model"], id)
		}
		if prov, ok := h.Catalog.Provider(d.Provider); ok {
			if cm, ok := prov.Model(id); ok {
				m.Name = cm.Name
				m.InputPrice = cm.InputPerMillion().Format(h.Catalog.Currency)
				m.OutputPrice = cm.OutputPerMillion().Format(h.Catalog.Currency)
			}
		}
		p.Models = append(p.Models, m)
	}

	for _, cap := range d.Capabilities {
		ch := templates.CapabilityChoice{ID: cap, Label: templates.CapabilityLabel(cap), Checked: true}
		if form != nil {
			ch.Checked = slices.Contains(form[prefix+"capability"], cap)
		}
		p.Capabilities = append(p.Capabilities, ch)
	}

	ceiling := h.Catalog.Ceiling(d)
	for _, spec := range templates.LimitLabels {
		lf := h.limitField(spec, prefill.Limits, ceiling, d.Limits, form, prefix)
		lf.Error = fieldError(spec.Name)
		p.Limits = append(p.Limits, lf)
	}
	p.ExpiresError = fieldError("expires")
	for _, l := range p.Limits {
		if l.Error != "" && !l.Money {
			p.DetailsOpen = true
		}
	}
	if fieldError("capability") != "" {
		p.DetailsOpen = true
	}
	return p
}

// formErrors turns problems into the error list at the top of the form,
// each linked to its field's input.
func formErrors(problems []formProblem) []templates.FormError {
	var out []templates.FormError
	for _, p := range problems {
		e := templates.FormError{Text: p.Text}
		if index, name, ok := strings.Cut(p.Field, "."); ok {
			e.Anchor = index + "-" + name + "-0"
		}
		out = append(out, e)
	}
	return out
}

// offeredModels lists the models shown as choices: the requested ones, or
// for an any-model request every model the catalog lists for the provider.
func (h *Handler) offeredModels(d access.Detail) []string {
	if !d.AnyModel {
		return d.Models
	}
	prov, ok := h.Catalog.Provider(d.Provider)
	if !ok {
		return nil
	}
	ids := make([]string, 0, len(prov.Models))
	for _, m := range prov.Models {
		ids = append(ids, m.ID)
	}
	return ids
}

func (h *Handler) limitField(spec templates.LimitLabel, prefill, ceiling, requested access.Limits, form url.Values, prefix string) templates.LimitField {
	cur := h.Catalog.Currency
	f := templates.LimitField{Name: spec.Name, Label: spec.Label, Money: access.IsSpendLimit(spec.Name), Unit: spec.Unit}
	if f.Money {
		f.Unit = cur + " " + spec.Unit
	}

	f.Value = access.FormatLimit(prefill, spec.Name, cur, false)
	if form != nil {
		f.Value = form.Get(prefix + spec.Name)
	}

	max := access.FormatLimit(ceiling, spec.Name, cur, true)
	asked := access.FormatLimit(requested, spec.Name, cur, true)
	switch {
	case max != "" && asked != "":
		f.Required = true
		f.MaxHint = "At most " + max + ". The app asked for " + asked + "."
	case max != "":
		f.Required = true
		f.MaxHint = "At most " + max + "."
	default:
		f.MaxHint = "Leave empty for no limit."
	}
	return f
}

// headline returns prefill with only the spending caps that the app
// requested or the catalog proposes by default. Caps that exist only
// because the catalog's maxima must be set in every grant, such as a
// $10,000 total next to a $5 monthly cap, would bury the one that
// matters; they stay in the form below. With no such cap, the prefilled
// caps are kept, so the sentence never hides a limit altogether.
func (h *Handler) headline(d, prefill access.Detail) access.Detail {
	defaults := h.Catalog.Policy.Defaults
	out := prefill
	caps := []struct {
		dst             **money.Amount
		asked, proposed *money.Amount
	}{
		{&out.Limits.DailySpend, d.Limits.DailySpend, defaults.DailySpend},
		{&out.Limits.MonthlySpend, d.Limits.MonthlySpend, defaults.MonthlySpend},
		{&out.Limits.TotalSpend, d.Limits.TotalSpend, defaults.TotalSpend},
	}

	kept := 0
	for _, c := range caps {
		if c.asked == nil && c.proposed == nil {
			*c.dst = nil
		} else if *c.dst != nil {
			kept++
		}
	}
	if kept == 0 {
		return prefill
	}
	return out
}

// summarize states in one sentence what the prefilled choice allows, for
// example "Example App can spend up to $5.00 a month on OpenAI models
// (GPT-4o) until 1 March 2027."
func (h *Handler) summarize(app string, d access.Detail) string {
	name := h.Catalog.ProviderName(d.Provider)

	var caps []string
	for _, c := range []struct {
		amount *money.Amount
		period string
	}{{d.Limits.DailySpend, "a day"}, {d.Limits.MonthlySpend, "a month"}, {d.Limits.TotalSpend, "in total"}} {
		if c.amount != nil {
			caps = append(caps, c.amount.Format(h.Catalog.Currency)+" "+c.period)
		}
	}

	models := name + " models (" + strings.Join(h.modelNames(d), ", ") + ")"
	if d.AnyModel {
		models = "any " + name + " model, including models added later,"
	}

	until := d.Expires.UTC().Format("2 January 2006")
	if len(caps) == 0 {
		return fmt.Sprintf("%s can use %s with no spending limit until %s.", app, models, until)
	}
	return fmt.Sprintf("%s can spend up to %s on %s until %s.", app, joinAnd(caps), models, until)
}

func joinAnd(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func (h *Handler) modelNames(d access.Detail) []string {
	names := make([]string, 0, len(d.Models))
	for _, id := range d.Models {
		names = append(names, h.Catalog.ModelName(d.Provider, id))
	}
	return names
}
