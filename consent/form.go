package consent

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/templates"
)

// dateLayout is the value format of an HTML date input.
const dateLayout = "2006-01-02"

// formFieldSuffixes are the per-provider field names the form may post.
var formFieldSuffixes = []string{"any", "model", "capability", "expires",
	"daily_spend", "monthly_spend", "total_spend", "requests_per_minute", "requests_per_day", "tokens_per_minute"}

// formProblem is something the person must correct in the consent form.
type formProblem struct {
	// Field is the form field to correct, such as "p0.monthly_spend", or
	// "" when no single field is wrong.
	Field string
	Text  string
}

// parseGrantForm reads the person's choices for each requested provider.
// A provider with no model ticked is left out of the grant. It returns
// what the person must correct; whether the choices lie within the
// request is checked afterwards by the catalog.
func (h *Handler) parseGrantForm(form url.Values, req *access.Request) ([]access.Detail, []formProblem) {
	problems := unknownFields(form, len(req.Details))

	var granted []access.Detail
	for i, d := range req.Details {
		name := h.Catalog.ProviderName(d.Provider)
		prefix := "p" + strconv.Itoa(i) + "."

		g := access.Detail{
			Type:         d.Type,
			Provider:     d.Provider,
			AnyModel:     form.Get(prefix+"any") == "1",
			Capabilities: access.Distinct(form[prefix+"capability"]),
			Limits:       access.Limits{Currency: h.Catalog.Currency},
		}
		if !g.AnyModel {
			g.Models = access.Distinct(form[prefix+"model"])
		}
		if !g.AnyModel && len(g.Models) == 0 {
			continue
		}
		if len(g.Capabilities) == 0 {
			problems = append(problems, formProblem{prefix + "capability", name + ": tick at least one capability, or untick every model to leave " + name + " out."})
		}

		ceiling := h.Catalog.Ceiling(d)
		for _, spec := range templates.LimitLabels {
			label := name + " " + strings.ToLower(spec.Label)
			if err := access.ParseLimit(&g.Limits, spec.Name, form.Get(prefix+spec.Name)); err != nil {
				problems = append(problems, formProblem{prefix + spec.Name, label + ": " + err.Error() + "."})
				continue
			}
			if p := h.limitProblem(g.Limits, ceiling, spec.Name); p != "" {
				problems = append(problems, formProblem{prefix + spec.Name, label + ": " + p})
			}
		}

		expires, p := h.parseExpires(form.Get(prefix + "expires"))
		if latest := h.Catalog.MaxExpires(d, h.Now()); p == "" && expires.After(latest) {
			p = fmt.Sprintf("%s is later than you can allow. Pick %s or earlier.",
				expires.Format("2 January 2006"), latest.UTC().Format("2 January 2006"))
		}
		if p != "" {
			problems = append(problems, formProblem{prefix + "expires", name + " end date: " + p})
		}
		g.Expires = expires
		granted = append(granted, g)
	}

	if len(granted) == 0 && len(req.Details) > 0 && len(problems) == 0 {
		problems = append(problems, formProblem{"p0.model", "Tick at least one model to allow, or choose Deny."})
	}
	return granted, problems
}

// limitProblem explains, in the form's words, why a limit is outside what may
// be granted, or returns "". CheckGrant checks the same afterwards; this
// only phrases the common mistakes for people.
func (h *Handler) limitProblem(granted, ceiling access.Limits, name string) string {
	most := access.FormatLimit(ceiling, name, h.Catalog.Currency, true)
	if most == "" {
		return ""
	}
	value := access.FormatLimit(granted, name, h.Catalog.Currency, true)
	if value == "" {
		return "enter a value; the most you can allow is " + most + "."
	}

	if access.LimitAbove(granted, ceiling, name) {
		return value + " is more than you can allow. Enter at most " + most + "."
	}
	return ""
}

// parseExpires turns the chosen date into the end of access: the start of
// that day in UTC, so "ends on 4 March" shows as 4 March everywhere. A
// date after the request's or the policy's end is kept as it is, for
// CheckGrant to reject.
func (h *Handler) parseExpires(raw string) (time.Time, string) {
	day, err := time.Parse(dateLayout, strings.TrimSpace(raw))
	if err != nil {
		return time.Time{}, fmt.Sprintf("%q is not a date. Enter a date such as 2027-03-01.", raw)
	}
	if !day.After(h.Now()) {
		return time.Time{}, "the date is today or in the past. Choose a later date."
	}
	return day.UTC(), ""
}

// unknownFields reports form fields that no consent form of this request
// has: a form that names another provider index or field was not made by
// this app.
func unknownFields(form url.Values, providers int) []formProblem {
	var problems []formProblem
	for key := range form {
		switch key {
		case "csrf", "consent_challenge", "action", "remember":
			continue
		}

		index, suffix, ok := strings.Cut(strings.TrimPrefix(key, "p"), ".")
		n, err := strconv.Atoi(index)
		if !strings.HasPrefix(key, "p") || !ok || err != nil || n < 0 || n >= providers || !slices.Contains(formFieldSuffixes, suffix) {
			problems = append(problems, formProblem{Text: fmt.Sprintf("The form contains the unknown field %q. Reload the page and try again.", key)})
		}
	}
	slices.SortFunc(problems, func(a, b formProblem) int { return strings.Compare(a.Text, b.Text) })
	return problems
}
