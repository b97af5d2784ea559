package manage

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	hydra "github.com/ory/hydra-client-go/v2"

	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/web"
)

const (
	signInCookie = "aiconsent_signin"
	signInTTL    = 10 * time.Minute
)

// currentUser returns the signed-in user, or nil when the browser has no
// valid session.
func (h *Handler) currentUser(c echo.Context) (*account.User, error) {
	cookie, err := c.Cookie(account.SessionCookie)
	if err != nil || cookie.Value == "" {
		return nil, nil
	}

	ctx := c.Request().Context()
	s, err := h.Sessions.FindSession(ctx, account.HashSessionToken(cookie.Value))
	if errors.Is(err, account.ErrSessionNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, web.Internal(err)
	}

	user, err := h.Users.FindUserBySubject(ctx, s.Subject)
	if errors.Is(err, account.ErrUserNotFound) || (err == nil && user.Disabled) {
		return nil, nil
	}
	if err != nil {
		return nil, web.Internal(err)
	}
	return user, nil
}

// startSignIn sends the browser to Hydra's authorization endpoint with
// PKCE, as this app's own public client. After sign-in the browser comes
// back to the page it asked for.
func (h *Handler) startSignIn(c echo.Context) error {
	if err := h.ensureClient(c); err != nil {
		return err
	}

	state := rand.Text()
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":             {h.ClientID},
		"response_type":         {"code"},
		"scope":                 {"openid"},
		"redirect_uri":          {h.callbackURL()},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}

	returnTo := base64.RawURLEncoding.EncodeToString([]byte(c.Request().URL.RequestURI()))
	h.setCookie(c, signInCookie, state+"."+verifier+"."+returnTo, "/grants", signInTTL)
	return c.Redirect(http.StatusSeeOther, h.HydraPublicURL.JoinPath("/oauth2/auth").String()+"?"+q.Encode())
}

// signInCallback completes the sign-in: it checks state, redeems the code
// with the PKCE verifier, learns the subject from Hydra's introspection of
// the access token, and starts a session.
func (h *Handler) signInCallback(c echo.Context) error {
	cookie, err := c.Cookie(signInCookie)
	h.setCookie(c, signInCookie, "", "/grants", -1)
	if err != nil {
		return web.BadRequest("Sign-in expired", "The sign-in took too long or started in another browser. Open My grants again to sign in.")
	}
	parts := strings.Split(cookie.Value, ".")
	if len(parts) != 3 {
		return web.BadRequest("Sign-in failed", "The sign-in cookie is malformed. Open My grants again to sign in.")
	}
	state, verifier := parts[0], parts[1]
	returnTo := localPath(parts[2])

	if e := c.QueryParam("error"); e != "" {
		// The error text in the URL is not shown: anyone can link here
		// with text of their choosing.
		return &web.Error{Status: http.StatusForbidden, Title: "Sign-in did not complete",
			Message: "Your grants are not shown because the sign-in was cancelled or refused. If you cancelled, open My grants again. If your account is disabled, ask your administrator.",
			Action:  &web.Link{Label: "Open My grants", URL: "/grants"}}
	}
	got := c.QueryParam("state")
	if state == "" || subtle.ConstantTimeCompare([]byte(got), []byte(state)) != 1 {
		return web.BadRequest("Sign-in failed", "The sign-in response does not match this browser's sign-in. Open My grants again to sign in.")
	}

	subject, sid, err := h.redeem(c, c.QueryParam("code"), verifier)
	if err != nil {
		return err
	}

	token := rand.Text() + rand.Text()
	s := account.Session{Subject: subject, HydraSessionID: sid, ExpiresAt: h.Now().Add(h.SessionLifetime)}
	if err := h.Sessions.CreateSession(c.Request().Context(), account.HashSessionToken(token), s); err != nil {
		return web.Internal(err)
	}
	h.setCookie(c, account.SessionCookie, token, "/", h.SessionLifetime)
	h.Log.Info("signed in to My grants", slog.String("request_id", web.RequestID(c)), slog.String("subject", subject))
	return c.Redirect(http.StatusSeeOther, returnTo)
}

// redeem exchanges an authorization code at Hydra's token endpoint and
// returns the subject of the access token and the sid of Hydra's login
// session.
func (h *Handler) redeem(c echo.Context, code, verifier string) (string, string, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {h.callbackURL()},
		"client_id":     {h.ClientID},
		"code_verifier": {verifier},
	}
	req, err := http.NewRequestWithContext(c.Request().Context(), http.MethodPost, h.HydraTokenURL.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", web.Internal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := h.HTTPClient.Do(req)
	if err != nil {
		return "", "", web.Unavailable(fmt.Errorf("hydra token endpoint: %w", err))
	}
	defer resp.Body.Close()

	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
		return "", "", &web.Error{Status: http.StatusBadGateway, Title: "Sign-in failed",
			Message: "The sign-in could not be completed. Open My grants again to sign in.",
			Err:     fmt.Errorf("hydra token endpoint: status %d, error %q: %v", resp.StatusCode, tok.Error, err)}
	}

	in, iresp, err := h.Hydra.OAuth2API.IntrospectOAuth2Token(c.Request().Context()).Token(tok.AccessToken).Execute()
	if err != nil {
		if iresp == nil {
			return "", "", web.Unavailable(err)
		}
		return "", "", web.Internal(fmt.Errorf("hydra introspection: %w", err))
	}
	if !in.Active || in.GetClientId() != h.ClientID || in.GetSub() == "" {
		return "", "", web.Internal(errors.New("hydra introspection: the new token is inactive or not this app's"))
	}
	return in.GetSub(), idTokenSID(tok.IDToken), nil
}

// idTokenSID returns the sid claim of an ID token, or "". The signature is
// not checked: the token came straight from Hydra's token endpoint, and
// the sid only names the login session to end at sign-out.
func idTokenSID(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		SID string `json:"sid"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.SID
}

// signOut ends the "My grants" session and the Hydra login session
// behind it, so the next visitor of a shared browser is asked to sign in.
func (h *Handler) signOut(c echo.Context) error {
	ctx := c.Request().Context()
	if cookie, err := c.Cookie(account.SessionCookie); err == nil && cookie.Value != "" {
		hash := account.HashSessionToken(cookie.Value)
		if s, err := h.Sessions.FindSession(ctx, hash); err == nil && s.HydraSessionID != "" {
			h.endHydraSession(c, s.HydraSessionID)
		}
		if err := h.Sessions.DeleteSession(ctx, hash); err != nil {
			return web.Internal(err)
		}
	}
	h.setCookie(c, account.SessionCookie, "", "/", -1)
	return c.Redirect(http.StatusSeeOther, "/grants/signed-out")
}

// endHydraSession ends one Hydra login session. A failure is logged and
// otherwise ignored: this app's own session still ends.
func (h *Handler) endHydraSession(c echo.Context, sid string) {
	resp, err := h.Hydra.OAuth2API.RevokeOAuth2LoginSessions(c.Request().Context()).Sid(sid).Execute()
	if resp != nil {
		resp.Body.Close()
	}
	if err != nil {
		h.Log.Warn("ending Hydra's login session failed", slog.String("request_id", web.RequestID(c)), slog.Any("error", err))
	}
}

// ensureClient registers this app's own public client in Hydra, or
// updates it, once per process: a failed attempt is tried again on the
// next sign-in.
func (h *Handler) ensureClient(c echo.Context) error {
	h.clientMu.Lock()
	defer h.clientMu.Unlock()
	if h.clientOK {
		return nil
	}

	client := hydra.OAuth2Client{
		ClientId:                hydra.PtrString(h.ClientID),
		ClientName:              hydra.PtrString("aiconsent: My grants"),
		RedirectUris:            []string{h.callbackURL()},
		GrantTypes:              []string{"authorization_code"},
		ResponseTypes:           []string{"code"},
		Scope:                   hydra.PtrString("openid"),
		TokenEndpointAuthMethod: hydra.PtrString("none"),
		SkipConsent:             hydra.PtrBool(true),
		Metadata:                map[string]any{"verified": true, "first_party": true},
	}

	ctx := c.Request().Context()
	_, resp, err := h.Hydra.OAuth2API.SetOAuth2Client(ctx, h.ClientID).OAuth2Client(client).Execute()
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		_, resp, err = h.Hydra.OAuth2API.CreateOAuth2Client(ctx).OAuth2Client(client).Execute()
	}
	if err != nil {
		if resp == nil || resp.StatusCode >= 500 {
			return web.Unavailable(fmt.Errorf("register own client: %w", err))
		}
		return web.Internal(fmt.Errorf("register own client: status %d: %w", resp.StatusCode, err))
	}
	h.clientOK = true
	return nil
}

func (h *Handler) callbackURL() string {
	return h.PublicURL.JoinPath("/grants/callback").String()
}

func (h *Handler) setCookie(c echo.Context, name, value, path string, maxAge time.Duration) {
	cookie := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		HttpOnly: true,
		Secure:   h.SecureCookies,
		SameSite: http.SameSiteLaxMode,
		MaxAge:   int(maxAge / time.Second),
	}
	if maxAge < 0 {
		cookie.MaxAge = -1
	}
	c.SetCookie(cookie)
}

// localPath decodes the page to return to after sign-in. Only this app's
// own pages qualify, so the value cannot redirect anywhere else.
func localPath(encoded string) string {
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	p := string(raw)
	if err != nil || !(strings.HasPrefix(p, "/grants") || strings.HasPrefix(p, "/admin/grants")) || strings.ContainsAny(p, "\\\r\n") {
		return "/grants"
	}
	return p
}
