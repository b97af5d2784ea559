package manage

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/templates"
	"github.com/aiconsent/aiconsent/usage"
	"github.com/aiconsent/aiconsent/web"
)

// adminUser returns the signed-in admin. A signed-out browser is sent to
// sign in; a signed-in person without the admin role gets 403.
func (h *Handler) adminUser(c echo.Context) (*account.User, error) {
	user, err := h.currentUser(c)
	if err != nil {
		return nil, err
	}
	if user == nil {
		return nil, h.startSignIn(c)
	}
	if !user.Admin {
		return nil, forbidden("This page is for administrators.")
	}
	return user, nil
}

// showAdminGrants handles GET /admin/grants, filtered by username and
// client id.
func (h *Handler) showAdminGrants(c echo.Context) error {
	admin, err := h.adminUser(c)
	if admin == nil {
		return err
	}

	ctx := c.Request().Context()
	view := templates.AdminGrantsView{
		CSRF:     web.CSRFToken(c),
		Username: admin.Username,
		User:     strings.TrimSpace(c.QueryParam("user")),
		Client:   strings.TrimSpace(c.QueryParam("client")),
		Notice:   notices[c.QueryParam("notice")],
	}

	filter := access.GrantFilter{ClientID: view.Client}
	if view.User != "" {
		u, err := h.Users.FindUserByUsername(ctx, view.User)
		if errors.Is(err, account.ErrUserNotFound) {
			return web.Render(c, http.StatusOK, templates.AdminGrantsPage(view))
		}
		if err != nil {
			return web.Internal(err)
		}
		filter.Subject = u.Subject
	}

	grants, err := h.Grants.ListGrants(ctx, filter)
	if err != nil {
		return web.Internal(err)
	}
	names := map[string]string{}
	for _, g := range grants {
		view.Rows = append(view.Rows, h.adminRow(c, g, names))
	}
	if err := h.adminSpend(c, &view, names); err != nil {
		return err
	}
	return web.Render(c, http.StatusOK, templates.AdminGrantsPage(view))
}

// adminSpend fills in this month's spend by user and by client.
func (h *Handler) adminSpend(c echo.Context, view *templates.AdminGrantsView, names map[string]string) error {
	now := h.Now()
	view.Month = now.UTC().Format("January 2006")
	if h.Usage == nil {
		return nil
	}

	ctx := c.Request().Context()
	byUser, err := h.Usage.SpendByUser(ctx, usage.PeriodMonthly, now)
	if err != nil {
		return web.Internal(err)
	}
	byClient, err := h.Usage.SpendByClient(ctx, usage.PeriodMonthly, now)
	if err != nil {
		return web.Internal(err)
	}

	cur := h.Catalog.Currency
	for _, s := range byUser {
		view.SpendByUser = append(view.SpendByUser, templates.SpendRow{Name: h.username(c, s.Key, names), Spent: s.Spent.FormatCents(cur), Held: s.Held.FormatCents(cur)})
	}
	for _, s := range byClient {
		view.SpendByClient = append(view.SpendByClient, templates.SpendRow{Name: s.Key, Spent: s.Spent.FormatCents(cur), Held: s.Held.FormatCents(cur)})
	}
	return nil
}

// username returns the username of subject, remembering it in names.
func (h *Handler) username(c echo.Context, subject string, names map[string]string) string {
	if name, ok := names[subject]; ok {
		return name
	}
	name := subject
	if u, err := h.Users.FindUserBySubject(c.Request().Context(), subject); err == nil {
		name = u.Username
	}
	names[subject] = name
	return name
}

func (h *Handler) adminRow(c echo.Context, g *access.Grant, names map[string]string) templates.AdminGrantRow {
	name := h.username(c, g.Subject, names)

	var providers []string
	for _, d := range g.Details {
		models := strings.Join(d.Models, ", ")
		if d.AnyModel {
			models = "any model"
		}
		providers = append(providers, h.Catalog.ProviderName(d.Provider)+" ("+models+")")
	}
	return templates.AdminGrantRow{
		ID:        g.ID,
		Username:  name,
		ClientID:  g.ClientID,
		Status:    string(g.Status),
		Providers: strings.Join(providers, "; "),
		Created:   g.CreatedAt.UTC().Format(dateFormat),
		Expires:   access.LatestExpiry(g.Details).UTC().Format(dateFormat),
		Live:      g.Status == access.StatusActive || g.Status == access.StatusPaused,
	}
}

// adminChange handles pause, resume and revoke of anyone's grant by an
// admin; the audit log records the admin as the actor.
func (h *Handler) adminChange(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		admin, err := h.adminUser(c)
		if admin == nil {
			return err
		}
		if action == access.ActionRevoke && c.FormValue("confirm") != "yes" {
			g, err := h.Grants.FindGrant(c.Request().Context(), c.Param("id"))
			if errors.Is(err, access.ErrGrantNotFound) {
				return &web.Error{Status: http.StatusNotFound, Title: "Grant not found", Message: "There is no such grant. Reload the list.",
					Action: &web.Link{Label: "Back to all grants", URL: "/admin/grants"}}
			}
			if err != nil {
				return web.Internal(err)
			}
			owner := h.username(c, g.Subject, map[string]string{})
			return h.confirmRevoke(c, g, "/admin/grants/"+g.ID+"/revoke", "/admin/grants", owner)
		}
		change := access.GrantChange{GrantID: c.Param("id"), Actor: "admin:" + admin.Username, Action: action}
		q := url.Values{"notice": {pastTense(action)}}
		return h.change(c, change, "/admin/grants?"+q.Encode())
	}
}
