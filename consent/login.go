package consent

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	hydra "github.com/ory/hydra-client-go/v2"

	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/templates"
	"github.com/aiconsent/aiconsent/web"
)

// loginFailed is the one public message for every failed sign-in, whether
// the user exists, is disabled, or typed a wrong password.
const loginFailed = "The username or password is incorrect."

// showLogin handles GET /login. It checks the app's AI request first, so
// an invalid request fails before the person types a password.
func (h *Handler) showLogin(c echo.Context) error {
	challenge, err := readChallenge(c, "login_challenge")
	if err != nil {
		return err
	}

	ctx := c.Request().Context()
	lr, resp, err := h.Hydra.OAuth2API.GetOAuth2LoginRequest(ctx).LoginChallenge(challenge).Execute()
	if err != nil {
		return hydraError("get login request", resp, err)
	}

	if _, err := h.readRequest(lr.RequestUrl, lr.RequestedScope); err != nil {
		if e, ok := asRequestError(err); ok {
			return h.rejectLogin(c, challenge, oauthRejection(e))
		}
		return err
	}

	if lr.Skip {
		return h.acceptSkippedLogin(c, challenge, lr.Subject)
	}
	return web.Render(c, http.StatusOK, templates.LoginPage(h.loginView(c, challenge, &lr.Client, "", "")))
}

// acceptSkippedLogin accepts a login that Hydra already authenticated,
// after checking that the account still exists and is enabled.
func (h *Handler) acceptSkippedLogin(c echo.Context, challenge, subject string) error {
	user, err := h.Users.FindUserBySubject(c.Request().Context(), subject)
	if errors.Is(err, account.ErrUserNotFound) || (err == nil && user.Disabled) {
		desc := "The account that was signed in is no longer enabled."
		code := "access_denied"
		status := int64(http.StatusForbidden)
		return h.rejectLogin(c, challenge, hydra.RejectOAuth2Request{Error: &code, ErrorDescription: &desc, StatusCode: &status})
	}
	if err != nil {
		return web.Internal(err)
	}

	body := hydra.AcceptOAuth2LoginRequest{Subject: subject}
	to, resp, err := h.Hydra.OAuth2API.AcceptOAuth2LoginRequest(c.Request().Context()).
		LoginChallenge(challenge).AcceptOAuth2LoginRequest(body).Execute()
	if err != nil {
		return hydraError("accept login request", resp, err)
	}
	return redirect(c, to)
}

// submitLogin handles POST /login: it checks the password, with the same
// work whether or not the user exists, and slows down repeated failures.
func (h *Handler) submitLogin(c echo.Context) error {
	challenge, err := readChallenge(c, "login_challenge")
	if err != nil {
		return err
	}

	ctx := c.Request().Context()
	lr, resp, err := h.Hydra.OAuth2API.GetOAuth2LoginRequest(ctx).LoginChallenge(challenge).Execute()
	if err != nil {
		return hydraError("get login request", resp, err)
	}

	if c.FormValue("action") == "cancel" {
		code, desc := "access_denied", "The user cancelled the sign-in."
		status := int64(http.StatusForbidden)
		return h.rejectLogin(c, challenge, hydra.RejectOAuth2Request{Error: &code, ErrorDescription: &desc, StatusCode: &status})
	}

	username := strings.TrimSpace(c.FormValue("username"))
	password := c.FormValue("password")
	keys := throttleKeys(username, c.RealIP())

	if wait := h.Throttle.Wait(keys...); wait > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)))
		msg := "Too many failed sign-ins. Wait " + waitText(wait) + " and try again."
		return web.Render(c, http.StatusTooManyRequests, templates.LoginPage(h.loginView(c, challenge, &lr.Client, username, msg)))
	}

	user, ok, err := h.checkCredentials(c, username, password)
	if err != nil {
		return web.Internal(err)
	}
	if !ok {
		h.Throttle.Fail(keys...)
		h.Log.Info("sign-in failed", slog.String("request_id", web.RequestID(c)), slog.String("client_ip", c.RealIP()))
		return web.Render(c, http.StatusUnauthorized, templates.LoginPage(h.loginView(c, challenge, &lr.Client, username, loginFailed)))
	}
	h.Throttle.Succeed(keys...)

	remember := c.FormValue("remember") == "1"
	rememberFor := int64(h.LoginRememberFor / time.Second)
	body := hydra.AcceptOAuth2LoginRequest{Subject: user.Subject, Remember: &remember, RememberFor: &rememberFor}
	to, resp, err := h.Hydra.OAuth2API.AcceptOAuth2LoginRequest(ctx).
		LoginChallenge(challenge).AcceptOAuth2LoginRequest(body).Execute()
	if err != nil {
		return hydraError("accept login request", resp, err)
	}
	return redirect(c, to)
}

// checkCredentials reports whether username and password match an enabled
// account. A missing user costs the same password hash as a present one.
func (h *Handler) checkCredentials(c echo.Context, username, password string) (*account.User, bool, error) {
	if username == "" || password == "" || len(password) > 1024 {
		account.CheckDummyPassword(password)
		return nil, false, nil
	}

	user, err := h.Users.FindUserByUsername(c.Request().Context(), username)
	if errors.Is(err, account.ErrUserNotFound) {
		account.CheckDummyPassword(password)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}

	match, err := account.CheckPassword(user.PasswordHash, password)
	if err != nil {
		return nil, false, err
	}
	if !match || user.Disabled {
		return nil, false, nil
	}
	return user, true, nil
}

func (h *Handler) rejectLogin(c echo.Context, challenge string, body hydra.RejectOAuth2Request) error {
	to, resp, err := h.Hydra.OAuth2API.RejectOAuth2LoginRequest(c.Request().Context()).
		LoginChallenge(challenge).RejectOAuth2Request(body).Execute()
	if err != nil {
		return hydraError("reject login request", resp, err)
	}
	h.Log.Info("login request rejected", slog.String("request_id", web.RequestID(c)), slog.String("error", body.GetError()))
	return redirect(c, to)
}

func (h *Handler) loginView(c echo.Context, challenge string, client *hydra.OAuth2Client, username, msg string) templates.LoginView {
	return templates.LoginView{
		CSRF:      web.CSRFToken(c),
		Challenge: challenge,
		Client:    ClientView(client),
		Username:  username,
		Error:     msg,
	}
}

// throttleKeys names the counters a sign-in attempt counts against: the
// account (whether or not it exists) and the client address.
func throttleKeys(username, ip string) []string {
	keys := []string{"user:" + strings.ToLower(username)}
	if addr := net.ParseIP(ip); addr != nil {
		keys = append(keys, "addr:"+addr.String())
	}
	return keys
}

func waitText(d time.Duration) string {
	if d < time.Minute {
		return strconv.Itoa(int((d+time.Second-1)/time.Second)) + " seconds"
	}
	return strconv.Itoa(int((d+time.Minute-1)/time.Minute)) + " minutes"
}

// ClientView describes an OAuth 2.0 client for a page from its Hydra
// record. Only absolute http and https URLs of the record are kept.
func ClientView(c *hydra.OAuth2Client) templates.ClientView {
	v := templates.ClientView{
		Name:       clientName(c),
		ClientURI:  clientURI(c),
		Verified:   metadataFlag(c, "verified"),
		FirstParty: metadataFlag(c, "first_party"),
	}
	if c == nil {
		return v
	}

	v.ID = c.GetClientId()
	for _, u := range []struct {
		dst *string
		src string
	}{{&v.LogoURI, c.GetLogoUri()}, {&v.PolicyURI, c.GetPolicyUri()}, {&v.TosURI, c.GetTosUri()}} {
		if strings.HasPrefix(u.src, "https://") || strings.HasPrefix(u.src, "http://") {
			*u.dst = u.src
		}
	}
	return v
}
