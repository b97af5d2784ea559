package consent

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	hydra "github.com/ory/hydra-client-go/v2"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/templates"
	"github.com/aiconsent/aiconsent/web"
)

// consentFlow is a consent request with everything this app derived from
// it: the validated AI request and the signed-in user.
type consentFlow struct {
	challenge string
	cr        *hydra.OAuth2ConsentRequest
	request   *access.Request
	user      *account.User
}

// loadConsent fetches the consent request, validates the app's request and
// looks up the user. A result of (nil, nil) means the request was invalid
// and has already been rejected, with the browser redirected.
func (h *Handler) loadConsent(c echo.Context, challenge string) (*consentFlow, error) {
	ctx := c.Request().Context()
	cr, resp, err := h.Hydra.OAuth2API.GetOAuth2ConsentRequest(ctx).ConsentChallenge(challenge).Execute()
	if err != nil {
		return nil, hydraError("get consent request", resp, err)
	}

	req, err := h.readRequest(cr.GetRequestUrl(), cr.RequestedScope)
	if e, ok := asRequestError(err); ok {
		return nil, h.rejectConsent(c, challenge, oauthRejection(e))
	}
	if err != nil {
		return nil, web.Internal(err)
	}

	user, err := h.Users.FindUserBySubject(ctx, cr.GetSubject())
	if errors.Is(err, account.ErrUserNotFound) || (err == nil && user.Disabled) {
		return nil, h.rejectConsent(c, challenge, rejection("access_denied", "The signed-in account is not enabled.", http.StatusForbidden))
	}
	if err != nil {
		return nil, web.Internal(err)
	}

	return &consentFlow{challenge: challenge, cr: cr, request: req, user: user}, nil
}

// openConsent reads the challenge of a GET or POST /consent, loads the
// flow, and rejects a challenge this app already stored a grant for. A
// result of (nil, nil) means a response was already written.
func (h *Handler) openConsent(c echo.Context) (*consentFlow, error) {
	challenge, err := readChallenge(c, "consent_challenge")
	if err != nil {
		return nil, err
	}

	f, err := h.loadConsent(c, challenge)
	if f == nil {
		return nil, err
	}

	_, err = h.Grants.FindGrantByChallenge(c.Request().Context(), challenge)
	switch {
	case err == nil:
		return nil, alreadyUsedError(f.cr.Client)
	case !errors.Is(err, access.ErrGrantNotFound):
		return nil, web.Internal(err)
	}
	return f, nil
}

// showConsent handles GET /consent. When Hydra sets skip, the stored grant
// decides, and a request within it is accepted without a screen.
func (h *Handler) showConsent(c echo.Context) error {
	f, err := h.openConsent(c)
	if f == nil {
		return err
	}

	if f.cr.GetSkip() || f.cr.Client.GetSkipConsent() {
		done, err := h.acceptRemembered(c, f)
		if done || err != nil {
			return err
		}
	}
	if slices.Contains(strings.Fields(f.request.Prompt), "none") {
		return h.rejectConsent(c, f.challenge, rejection("consent_required",
			"The request asks for more than the person granted before, and prompt=none forbids asking.", http.StatusBadRequest))
	}

	view := h.consentView(c, f, nil, nil)
	return web.Render(c, http.StatusOK, templates.ConsentPage(view))
}

// acceptRemembered accepts a skipped consent when the stored grant covers
// the request, injecting the requested part of that grant: accepting with
// an empty session would drop the claims. It reports whether it wrote a
// response.
func (h *Handler) acceptRemembered(c echo.Context, f *consentFlow) (bool, error) {
	if len(f.request.Details) == 0 {
		return true, h.acceptConsent(c, f, nil, "", false, false)
	}

	g, err := h.Grants.FindLiveGrant(c.Request().Context(), f.cr.GetSubject(), f.cr.Client.GetClientId())
	if errors.Is(err, access.ErrGrantNotFound) {
		return false, nil
	}
	if err != nil {
		return true, web.Internal(err)
	}
	if !access.Covers(g.Details, f.request, h.Now()) {
		return false, nil
	}

	granted := access.Restrict(g.Details, f.request)
	return true, h.acceptConsent(c, f, granted, g.ID, false, false)
}

// submitConsent handles POST /consent. The posted form is checked against
// the request as Hydra stores it, never against hidden fields, so a
// tampered form cannot widen the grant.
func (h *Handler) submitConsent(c echo.Context) error {
	f, err := h.openConsent(c)
	if f == nil {
		return err
	}

	if c.FormValue("action") != "allow" {
		return h.rejectConsent(c, f.challenge, rejection("access_denied", "The user denied the request.", http.StatusForbidden))
	}

	form, err := c.FormParams()
	if err != nil {
		return web.BadRequest("Malformed form", "The form could not be read. Go back, reload the page and try again.")
	}
	granted, problems := h.parseGrantForm(form, f.request)
	if len(problems) == 0 {
		if err := h.Catalog.CheckGrant(f.request, granted, h.Now()); err != nil {
			problems = append(problems, formProblem{Text: grantProblem(err)})
		}
	}
	if len(problems) > 0 {
		h.Log.Info("consent form rejected", slog.String("request_id", web.RequestID(c)), slog.Any("problems", problems))
		view := h.consentView(c, f, form, problems)
		return web.Render(c, http.StatusBadRequest, templates.ConsentPage(view))
	}

	// NOTE: a consent without AI details stores no grant, so a second
	// accept of its challenge is not detected here. Hydra still redeems
	// the verifier only once, and such a token carries no AI access.
	grantID := ""
	if len(granted) > 0 {
		grantID = newGrantID()
	}
	return h.acceptConsent(c, f, granted, grantID, form.Get("remember") == "1", grantID != "")
}

// acceptConsent accepts the consent request with the granted details in
// the token session, then stores a new grant when store is set, and only
// then redirects. When
// the grant cannot be stored the browser is not redirected, so Hydra's
// verifier is never redeemed and no token is issued.
func (h *Handler) acceptConsent(c echo.Context, f *consentFlow, granted []access.Detail, grantID string, remember, store bool) error {
	ctx := c.Request().Context()
	scopes := access.GrantedScopes(f.request, granted)
	body := hydra.AcceptOAuth2ConsentRequest{
		GrantScope:               scopes,
		GrantAccessTokenAudience: f.cr.RequestedAccessTokenAudience,
		Remember:                 &remember,
		Session:                  sessionClaims(grantID, granted, scopes),
	}
	if remember {
		rememberFor := int64(access.LatestExpiry(granted).Sub(h.Now()) / time.Second)
		body.RememberFor = &rememberFor
	}

	to, resp, err := h.Hydra.OAuth2API.AcceptOAuth2ConsentRequest(ctx).
		ConsentChallenge(f.challenge).AcceptOAuth2ConsentRequest(body).Execute()
	if err != nil {
		return hydraError("accept consent request", resp, err)
	}

	if store {
		if err := h.storeGrant(c, f, grantID, granted, scopes, remember); err != nil {
			return err
		}
	}
	return redirect(c, to)
}

func (h *Handler) storeGrant(c echo.Context, f *consentFlow, id string, granted []access.Detail, scopes []string, remember bool) error {
	g := &access.Grant{
		ID:               id,
		Subject:          f.cr.GetSubject(),
		ClientID:         f.cr.Client.GetClientId(),
		ConsentChallenge: f.challenge,
		Status:           access.StatusActive,
		Details:          granted,
		Scopes:           scopes,
		Remember:         remember,
	}
	err := h.Grants.CreateGrant(c.Request().Context(), g)
	if errors.Is(err, access.ErrChallengeUsed) {
		return alreadyUsedError(f.cr.Client)
	}
	if err != nil {
		return web.Internal(fmt.Errorf("store grant: %w", err))
	}

	h.Log.Info("grant created",
		slog.String("request_id", web.RequestID(c)),
		slog.String("grant_id", id),
		slog.String("subject", g.Subject),
		slog.String("client_id", g.ClientID))
	return nil
}

func (h *Handler) rejectConsent(c echo.Context, challenge string, body hydra.RejectOAuth2Request) error {
	to, resp, err := h.Hydra.OAuth2API.RejectOAuth2ConsentRequest(c.Request().Context()).
		ConsentChallenge(challenge).RejectOAuth2Request(body).Execute()
	if err != nil {
		return hydraError("reject consent request", resp, err)
	}
	h.Log.Info("consent request rejected", slog.String("request_id", web.RequestID(c)), slog.String("error", body.GetError()))
	return redirect(c, to)
}

// sessionClaims puts the granted details into the access token and, when
// openid is granted, into the ID token too: Hydra cannot put them in the
// token response, so the ID token is how the app learns what was granted.
func sessionClaims(grantID string, granted []access.Detail, scopes []string) *hydra.AcceptOAuth2ConsentRequestSession {
	if len(granted) == 0 {
		return nil
	}

	claims := map[string]any{access.ClaimName: access.Claim(grantID, granted)}
	s := &hydra.AcceptOAuth2ConsentRequestSession{AccessToken: claims}
	if slices.Contains(scopes, "openid") {
		s.IdToken = claims
	}
	return s
}

func rejection(code, description string, status int) hydra.RejectOAuth2Request {
	s := int64(status)
	return hydra.RejectOAuth2Request{Error: &code, ErrorDescription: &description, StatusCode: &s}
}

// newGrantID returns a random grant id with 130 bits of entropy.
func newGrantID() string {
	return "gr_" + strings.ToLower(rand.Text())
}

func grantProblem(err error) string {
	var e *access.Error
	if errors.As(err, &e) {
		return e.Description
	}
	return "The choices could not be checked. Reload the page and try again."
}
