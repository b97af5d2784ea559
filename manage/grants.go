package manage

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/templates"
	"github.com/aiconsent/aiconsent/web"
)

// notices are the confirmations shown after a change, by the notice
// query parameter. Only these fixed texts are shown.
var notices = map[string]string{
	"edited":  "Changes saved. The app's next token carries them, and usage checks apply them at once.",
	"paused":  "Access paused. The app's AI requests are refused until you resume.",
	"resumed": "Access resumed.",
	"revoked": "Access revoked. The app's tokens stop working.",
}

// showGrants handles GET /grants: the signed-in person's live grants, or
// a sign-in through Hydra first.
func (h *Handler) showGrants(c echo.Context) error {
	user, err := h.currentUser(c)
	if err != nil {
		return err
	}
	if user == nil {
		return h.startSignIn(c)
	}

	ctx := c.Request().Context()
	grants, err := h.Grants.ListGrants(ctx, access.GrantFilter{Subject: user.Subject, Live: true})
	if err != nil {
		return web.Internal(err)
	}

	view := templates.GrantsView{
		CSRF:     web.CSRFToken(c),
		Username: user.Username,
		Admin:    user.Admin,
		Notice:   notices[c.QueryParam("notice")],
	}
	for _, g := range grants {
		card, err := h.grantCard(c, g)
		if err != nil {
			return err
		}
		view.Grants = append(view.Grants, card)
	}
	return web.Render(c, http.StatusOK, templates.GrantsPage(view))
}

// ownGrant returns the grant named in the path if it belongs to the
// signed-in person. Another person's grant gets 403 whether or not it
// exists, so ids cannot be probed.
func (h *Handler) ownGrant(c echo.Context) (*account.User, *access.Grant, error) {
	user, err := h.currentUser(c)
	if err != nil {
		return nil, nil, err
	}
	if user == nil {
		return nil, nil, &web.Error{Status: http.StatusUnauthorized, Title: "Signed out",
			Message: "Your session ended, so nothing changed. Open My grants to sign in again."}
	}

	g, err := h.Grants.FindGrant(c.Request().Context(), c.Param("id"))
	if err != nil && !errors.Is(err, access.ErrGrantNotFound) {
		return nil, nil, web.Internal(err)
	}
	if g == nil || g.Subject != user.Subject {
		return nil, nil, forbidden("This grant is not yours, so nothing changed.")
	}
	return user, g, nil
}

// editGrant handles POST /grants/:id/edit: models and capabilities may be
// removed and limits lowered, never the reverse.
func (h *Handler) editGrant(c echo.Context) error {
	user, g, err := h.ownGrant(c)
	if err != nil {
		return err
	}

	form, err := c.FormParams()
	if err != nil {
		return web.BadRequest("Malformed form", "The form could not be read. Go back, reload the page and try again.")
	}
	next, problem := h.parseEditForm(form, g.Details)
	if problem != "" {
		e := web.BadRequest("Check your changes", problem+" Nothing changed.")
		e.Action = &web.Link{Label: "Back to My grants", URL: "/grants"}
		return e
	}
	if ok, why := access.Narrows(g.Details, next); !ok {
		return forbidden("You can only remove models and lower limits: " + why + ". Nothing changed.")
	}

	return h.change(c, access.GrantChange{GrantID: g.ID, Actor: user.Subject, Action: access.ActionEdit, Details: next}, "/grants?notice=edited")
}

// changeStatus handles pause, resume and revoke of the person's own grant.
// A revocation cannot be undone, so it is done only once confirmed.
func (h *Handler) changeStatus(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		user, g, err := h.ownGrant(c)
		if err != nil {
			return err
		}
		if action == access.ActionRevoke && c.FormValue("confirm") != "yes" {
			return h.confirmRevoke(c, g, "/grants/"+g.ID+"/revoke", "/grants", "")
		}
		return h.change(c, access.GrantChange{GrantID: g.ID, Actor: user.Subject, Action: action}, "/grants?notice="+pastTense(action))
	}
}

// confirmRevoke shows the confirmation page of a revocation.
func (h *Handler) confirmRevoke(c echo.Context, g *access.Grant, action, cancel, owner string) error {
	view := templates.RevokeView{
		CSRF:      web.CSRFToken(c),
		Action:    action,
		CancelURL: cancel,
		Client:    h.clientView(c, g.ClientID),
		Owner:     owner,
		Paused:    g.Status == access.StatusPaused,
	}
	return web.Render(c, http.StatusOK, templates.RevokePage(view))
}

// change stores a change and redirects to a fixed local page.
func (h *Handler) change(c echo.Context, ch access.GrantChange, next string) error {
	_, err := h.Grants.ChangeGrant(c.Request().Context(), ch)
	switch {
	case errors.Is(err, access.ErrGrantNotLive), errors.Is(err, access.ErrGrantNotFound):
		return &web.Error{Status: http.StatusConflict, Title: "Grant already ended",
			Message: "This grant was revoked or replaced by a newer consent, so it cannot change. Reload the page."}
	case err != nil:
		return web.Internal(err)
	}

	h.Log.Info("grant changed", slog.String("request_id", web.RequestID(c)), slog.String("grant_id", ch.GrantID),
		slog.String("action", ch.Action), slog.String("actor", ch.Actor))
	if ch.Action == access.ActionRevoke && h.Revoker != nil {
		h.Revoker.Kick()
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// parseEditForm reads the edit form of a grant. Fields are named by the
// index of the detail: d<i>.model, d<i>.capability, d<i>.<limit>. A detail
// with no model left is removed. It returns a problem to show when a
// value is malformed or nothing would remain.
func (h *Handler) parseEditForm(form url.Values, current []access.Detail) ([]access.Detail, string) {
	for key := range form {
		if key == "csrf" {
			continue
		}
		index, suffix, ok := strings.Cut(strings.TrimPrefix(key, "d"), ".")
		n, err := strconv.Atoi(index)
		if !strings.HasPrefix(key, "d") || !ok || err != nil || n < 0 || n >= len(current) || !slices.Contains(editSuffixes, suffix) {
			return nil, fmt.Sprintf("The form contains the unknown field %q.", key)
		}
	}

	var next []access.Detail
	for i, d := range current {
		prefix := "d" + strconv.Itoa(i) + "."
		e := access.Detail{Type: d.Type, Provider: d.Provider, Expires: d.Expires, Limits: access.Limits{Currency: d.Limits.Currency}}
		e.AnyModel = form.Get(prefix+"any") == "1"
		if !e.AnyModel {
			e.Models = access.Distinct(form[prefix+"model"])
		}
		e.Capabilities = access.Distinct(form[prefix+"capability"])
		if !e.AnyModel && len(e.Models) == 0 {
			continue
		}
		if len(e.Capabilities) == 0 {
			return nil, h.Catalog.ProviderName(d.Provider) + ": keep at least one capability, or untick every model to remove the provider."
		}
		for _, spec := range templates.LimitLabels {
			if err := access.ParseLimit(&e.Limits, spec.Name, form.Get(prefix+spec.Name)); err != nil {
				return nil, h.Catalog.ProviderName(d.Provider) + " " + strings.ToLower(spec.Label) + ": " + err.Error() + "."
			}
		}
		next = append(next, e)
	}

	if len(next) == 0 {
		return nil, "Keep at least one model. To end all access, use Revoke access instead."
	}
	return next, ""
}

var editSuffixes = []string{"any", "model", "capability", "daily_spend", "monthly_spend", "total_spend",
	"requests_per_minute", "requests_per_day", "tokens_per_minute"}

func forbidden(msg string) *web.Error {
	return &web.Error{Status: http.StatusForbidden, Title: "Not allowed", Message: msg,
		Action: &web.Link{Label: "Back to My grants", URL: "/grants"}}
}

func pastTense(action string) string {
	switch action {
	case access.ActionPause:
		return "paused"
	case access.ActionResume:
		return "resumed"
	case access.ActionRevoke:
		return "revoked"
	}
	return "edited"
}
