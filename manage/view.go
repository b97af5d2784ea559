package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/consent"
	"github.com/aiconsent/aiconsent/money"
	"github.com/aiconsent/aiconsent/templates"
	"github.com/aiconsent/aiconsent/usage"
	"github.com/aiconsent/aiconsent/web"
)

const dateFormat = "2 January 2006"

// grantCard builds the "My grants" card of a grant: the app from Hydra's
// client record, what was granted, spend, and the audit history.
func (h *Handler) grantCard(c echo.Context, g *access.Grant) (templates.GrantCard, error) {
	ctx := c.Request().Context()
	card := templates.GrantCard{
		ID:         g.ID,
		Client:     h.clientView(c, g.ClientID),
		Status:     string(g.Status),
		StatusText: statusText(g.Status),
		Created:    g.CreatedAt.UTC().Format(dateFormat),
		Expires:    access.LatestExpiry(g.Details).UTC().Format(dateFormat),
		LastUsed:   "Never",
		Currency:   h.Catalog.Currency,
	}

	report, err := h.usageReport(ctx, g)
	if err != nil {
		return card, web.Internal(err)
	}
	for i, d := range g.Details {
		card.Providers = append(card.Providers, h.grantProvider(i, d, report.CountersOf(d.Provider)))
	}

	if h.Usage != nil {
		last, err := h.Usage.LastUsed(ctx, g.ID)
		if err != nil {
			return card, web.Internal(err)
		}
		if !last.IsZero() {
			card.LastUsed = last.UTC().Format("2 January 2006, 15:04 UTC")
		}
		if card.Chart, err = h.chart(ctx, g.ID); err != nil {
			return card, web.Internal(err)
		}
	}

	entries, err := h.Grants.ListAudit(ctx, g.ID)
	if err != nil {
		return card, web.Internal(err)
	}
	for _, e := range entries {
		card.History = append(card.History, h.historyLine(e))
	}
	return card, nil
}

// usageReport returns the grant's counters, or an empty report when no
// usage is metered.
func (h *Handler) usageReport(ctx context.Context, g *access.Grant) (*usage.Report, error) {
	if h.Usage == nil {
		return &usage.Report{GrantID: g.ID}, nil
	}
	return h.Usage.Report(ctx, g.ID)
}

// chartDays is how many days the spend chart shows.
const chartDays = 30

// chart returns the grant's daily spend as bars scaled to the highest day.
func (h *Handler) chart(ctx context.Context, grantID string) ([]templates.ChartBar, error) {
	days, err := h.Usage.DailySpend(ctx, grantID, chartDays)
	if err != nil {
		return nil, err
	}

	var highest money.Amount
	for _, d := range days {
		highest = max(highest, d.Spent)
	}
	if highest == 0 {
		return nil, nil
	}
	bars := make([]templates.ChartBar, 0, len(days))
	for _, d := range days {
		bars = append(bars, templates.ChartBar{
			Label:  d.Day.Format("2 Jan"),
			Amount: d.Spent.FormatCents(h.Catalog.Currency),
			Height: percent(int64(d.Spent), int64(highest)),
		})
	}
	return bars, nil
}

func (h *Handler) grantProvider(i int, d access.Detail, c usage.Counters) templates.GrantProvider {
	p := templates.GrantProvider{
		Index:    i,
		Name:     h.Catalog.ProviderName(d.Provider),
		AnyModel: d.AnyModel,
		Expires:  d.Expires.UTC().Format(dateFormat),
	}

	models := []string{"Any model, including models added later"}
	if !d.AnyModel {
		models = models[:0]
		for _, id := range d.Models {
			models = append(models, h.Catalog.ModelName(d.Provider, id))
		}
	}
	p.Granted = strings.Join(models, ", ") + "; " + strings.Join(d.Capabilities, ", ")

	for _, id := range h.modelChoices(d) {
		p.Models = append(p.Models, templates.ModelChoice{ID: id, Name: h.Catalog.ModelName(d.Provider, id), Checked: slices.Contains(d.Models, id)})
	}
	for _, capability := range d.Capabilities {
		p.Capabilities = append(p.Capabilities, templates.CapabilityChoice{ID: capability, Label: templates.CapabilityLabel(capability), Checked: true})
	}

	cur := h.Catalog.Currency
	for _, spec := range templates.LimitLabels {
		f := templates.LimitField{Name: spec.Name, Label: spec.Label, Money: access.IsSpendLimit(spec.Name), Unit: spec.Unit,
			Value: access.FormatLimit(d.Limits, spec.Name, cur, false)}
		if f.Money {
			f.Unit = cur + " " + spec.Unit
		}
		if max := access.FormatLimit(d.Limits, spec.Name, cur, true); max != "" {
			f.MaxHint = "At most " + max + ", the current limit."
		} else {
			f.MaxHint = "No limit now. You may set one."
		}
		p.Limits = append(p.Limits, f)
	}

	for _, line := range []struct {
		label  string
		period usage.Period
	}{{"Today", usage.PeriodDaily}, {"This month", usage.PeriodMonthly}, {"In total", usage.PeriodTotal}} {
		spent := periodSpent(c, line.period)
		sl := templates.SpendLine{Label: line.label, Spent: spent.FormatCents(cur)}
		if limit := usage.CapOf(d.Limits, line.period); limit != nil {
			sl.Cap = limit.Format(cur)
			sl.Percent = percent(int64(spent), int64(*limit))
		}
		p.Spend = append(p.Spend, sl)
	}
	return p
}

// modelChoices lists the models shown in the edit form: the granted ones,
// or every catalog model of the provider for an any-model grant.
func (h *Handler) modelChoices(d access.Detail) []string {
	if !d.AnyModel {
		return d.Models
	}
	prov, ok := h.Catalog.Provider(d.Provider)
	if !ok {
		return nil
	}
	var ids []string
	for _, m := range prov.Models {
		ids = append(ids, m.ID)
	}
	return ids
}

// historyLine describes an audit entry in words: who, what, and which
// fields changed from what to what.
func (h *Handler) historyLine(e access.AuditEntry) templates.HistoryLine {
	line := templates.HistoryLine{At: e.At.UTC().Format("2 Jan 2006 15:04 UTC"), Actor: "You", Action: actionText(e.Action)}
	if strings.HasPrefix(e.Actor, "admin:") {
		line.Actor = "Administrator " + strings.TrimPrefix(e.Actor, "admin:")
	}

	var before, after auditState
	if json.Unmarshal([]byte(e.Before), &before) != nil || json.Unmarshal([]byte(e.After), &after) != nil {
		return line
	}
	if before.Status != after.Status {
		line.Changes = append(line.Changes, fmt.Sprintf("status %s → %s", before.Status, after.Status))
	}
	for _, b := range before.Details {
		name := h.Catalog.ProviderName(b.Provider)
		i := slices.IndexFunc(after.Details, func(a access.ClaimDetail) bool { return a.Provider == b.Provider })
		if i < 0 {
			line.Changes = append(line.Changes, name+" removed")
			continue
		}
		a := after.Details[i]
		line.Changes = append(line.Changes, diffStrings(name+" models", b.Models, a.Models)...)
		line.Changes = append(line.Changes, diffStrings(name+" capabilities", b.Capabilities, a.Capabilities)...)
		line.Changes = append(line.Changes, diffLimits(name, b.Limits, a.Limits)...)
	}
	return line
}

type auditState struct {
	Status  string               `json:"status"`
	Details []access.ClaimDetail `json:"details"`
}

// periodSpent returns the settled spend of a period; counters without the
// period (no usage yet) mean zero.
func periodSpent(c usage.Counters, p usage.Period) money.Amount {
	for _, pc := range c.Periods {
		if pc.Period == p {
			return pc.Spent
		}
	}
	return 0
}

func diffStrings(label string, before, after []string) []string {
	if slices.Equal(before, after) {
		return nil
	}
	return []string{fmt.Sprintf("%s %s → %s", label, strings.Join(before, ", "), strings.Join(after, ", "))}
}

func diffLimits(provider string, b, a access.ClaimLimits) []string {
	var out []string
	pairs := []struct{ name, before, after string }{
		{"daily spending cap", b.DailySpend, a.DailySpend},
		{"monthly spending cap", b.MonthlySpend, a.MonthlySpend},
		{"total spending cap", b.TotalSpend, a.TotalSpend},
		{"requests per minute", intText(b.RequestsPerMinute), intText(a.RequestsPerMinute)},
		{"requests per day", intText(b.RequestsPerDay), intText(a.RequestsPerDay)},
		{"tokens per minute", intText(b.TokensPerMinute), intText(a.TokensPerMinute)},
	}
	for _, p := range pairs {
		if p.before != p.after {
			out = append(out, fmt.Sprintf("%s %s %s → %s", provider, p.name, orNone(p.before), orNone(p.after)))
		}
	}
	return out
}

func intText(v *int64) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(*v)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (h *Handler) clientView(c echo.Context, clientID string) templates.ClientView {
	v := templates.ClientView{ID: clientID, Name: clientID}
	client, _, err := h.Hydra.OAuth2API.GetOAuth2Client(c.Request().Context(), clientID).Execute()
	if err != nil {
		// The page still lists the grant by client id when Hydra is
		// unreachable: the person may be here to revoke it.
		h.Log.Warn("reading client record failed", slog.String("request_id", web.RequestID(c)),
			slog.String("client_id", clientID), slog.Any("error", err))
		return v
	}
	return consent.ClientView(client)
}

// actionText describes an audit action in words.
func actionText(action string) string {
	switch action {
	case access.ActionEdit:
		return "changed models or limits"
	case access.ActionPause:
		return "paused access"
	case access.ActionResume:
		return "resumed access"
	case access.ActionRevoke:
		return "revoked access"
	}
	return action
}

func statusText(s access.Status) string {
	switch s {
	case access.StatusActive:
		return "Active"
	case access.StatusPaused:
		return "Paused: AI requests are refused until you resume"
	case access.StatusRevoked:
		return "Revoked"
	}
	return "Replaced by a newer consent"
}

// percent returns spent as a whole percentage of limit, from 0 to 100.
func percent(spent, limit int64) int {
	if limit <= 0 {
		if spent > 0 {
			return 100
		}
		return 0
	}
	if spent >= limit {
		return 100
	}
	// spent < limit <= 1e18 picounits, so spent/(limit/100) cannot
	// overflow where spent*100 could.
	if limit < 100 {
		return int(spent * 100 / limit)
	}
	return int(min(spent/(limit/100), 100))
}
