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
	return web.Render(c, http.StatusOK, templates.AdminGrantsPage(view))
}

func (h *Handler) adminRow(c echo.Context, g *access.Grant, names map[string]string) templates.AdminGrantRow {
	name, ok := names[g.Subject]
	if !ok {
		name = g.Subject
		if u, err := h.Users.FindUserBySubject(c.Request().Context(), g.Subject); err == nil {
			name = u.Username
		}
		names[g.Subject] = name
	}

	var providers []string
	for _, d := range g.Details {
		models := strings.Join(d.Models, ", ")
		if d.AnyModel {
			models = "any model"
		}
		providers = append(providers, h.providerName(d.Provider)+" ("+models+")")
	}
	return templates.AdminGrantRow{
		ID:        g.ID,
		Username:  name,
		ClientID:  g.ClientID,
		Status:    string(g.Status),
		Providers: strings.Join(providers, "; "),
		Created:   g.CreatedAt.UTC().Format(dateFormat),
		Expires:   latestExpiry(g.Details).UTC().Format(dateFormat),
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
		change := access.GrantChange{GrantID: c.Param("id"), Actor: "admin:" + admin.Username, Action: action}
		q := url.Values{"notice": {pastTense(action)}}
		return h.change(c, change, "/admin/grants?"+q.Encode())
	}
}
