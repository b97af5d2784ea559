package consent

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/templates"
	"github.com/aiconsent/aiconsent/web"
)

// showLogout handles GET /logout with a confirmation page, because a
// logout request can be started by any page that links to Hydra.
func (h *Handler) showLogout(c echo.Context) error {
	challenge, err := readChallenge(c, "logout_challenge")
	if err != nil {
		return err
	}

	lr, resp, err := h.Hydra.OAuth2API.GetOAuth2LogoutRequest(c.Request().Context()).LogoutChallenge(challenge).Execute()
	if err != nil {
		return hydraError("get logout request", resp, err)
	}

	view := templates.LogoutView{CSRF: web.CSRFToken(c), Challenge: challenge}
	if lr.Client != nil {
		view.Client = clientName(lr.Client)
	}
	return web.Render(c, http.StatusOK, templates.LogoutPage(view))
}

// submitLogout handles POST /logout.
func (h *Handler) submitLogout(c echo.Context) error {
	challenge, err := readChallenge(c, "logout_challenge")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()

	if c.FormValue("action") != "accept" {
		resp, err := h.Hydra.OAuth2API.RejectOAuth2LogoutRequest(ctx).LogoutChallenge(challenge).Execute()
		if err != nil {
			return hydraError("reject logout request", resp, err)
		}
		return web.Render(c, http.StatusOK, templates.MessagePage(templates.MessageView{
			Title:   "You are still signed in",
			Message: "Nothing changed. You can close this page and go back to the app.",
		}))
	}

	to, resp, err := h.Hydra.OAuth2API.AcceptOAuth2LogoutRequest(ctx).LogoutChallenge(challenge).Execute()
	if err != nil {
		return hydraError("accept logout request", resp, err)
	}
	if err := h.endPageSession(c); err != nil {
		return err
	}
	return redirect(c, to)
}

// endPageSession ends this app's own page session in this browser, so a
// logout through Hydra also signs the person out of "My grants".
func (h *Handler) endPageSession(c echo.Context) error {
	cookie, err := c.Cookie(account.SessionCookie)
	if h.Sessions == nil || err != nil || cookie.Value == "" {
		return nil
	}
	if err := h.Sessions.DeleteSession(c.Request().Context(), account.HashSessionToken(cookie.Value)); err != nil {
		return web.Internal(err)
	}
	c.SetCookie(&http.Cookie{Name: account.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}
