package consent

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	hydra "github.com/ory/hydra-client-go/v2"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/web"
)

// maxChallengeLength bounds challenges before they reach Hydra. Hydra
// v2.3.0 challenges are encrypted flow states of about 1 KB.
const maxChallengeLength = 8192

// readChallenge returns the challenge in the named query or form parameter,
// or a 400 error page when it is missing or not a URL-safe token.
func readChallenge(c echo.Context, name string) (string, error) {
	v := c.QueryParam(name)
	if c.Request().Method == http.MethodPost {
		v = c.FormValue(name)
	}

	if v == "" {
		return "", web.BadRequest("Missing request",
			"This page needs the "+name+" that Hydra adds to the address. Go back to the app you came from and start again.")
	}
	if len(v) > maxChallengeLength || !isToken(v) {
		return "", web.BadRequest("Malformed request",
			"The "+name+" in the address is not valid. Go back to the app you came from and start again.")
	}
	return v, nil
}

// isToken reports whether s holds only base64url characters and padding,
// which is every challenge Hydra makes.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case b == '-' || b == '_' || b == '=' || b == '.':
		default:
			return false
		}
	}
	return true
}

// hydraError turns a failed call of Hydra's admin API into an error page.
// Hydra returns 404 for challenges it never made or that expired, and 400
// or 410 for requests that were already handled. A call without a
// response means Hydra is unreachable.
func hydraError(op string, resp *http.Response, err error) error {
	if resp == nil {
		return web.Unavailable(fmt.Errorf("hydra %s: %w", op, err))
	}

	err = fmt.Errorf("hydra %s: status %d: %w", op, resp.StatusCode, err)
	switch {
	case resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusGone,
		resp.StatusCode == http.StatusBadRequest, resp.StatusCode == http.StatusConflict:
		return expiredError(err)
	case resp.StatusCode >= 500:
		return web.Unavailable(err)
	}
	return web.Internal(err)
}

func expiredError(err error) *web.Error {
	return &web.Error{
		Status:  http.StatusGone,
		Title:   "This request has expired or was already used",
		Message: "Sign-in and consent requests can be used once and only for a short time. Go back to the app you came from and start again.",
		Err:     err,
	}
}

// alreadyUsedError is shown when this app has stored a grant for the
// consent challenge: Hydra would accept it again, so this app must not.
func alreadyUsedError(client *hydra.OAuth2Client) *web.Error {
	e := &web.Error{
		Status:  http.StatusConflict,
		Title:   "This consent request was already used",
		Message: "You already answered this request, so nothing more was done. Go back to the app and start again if you need to change your answer.",
	}
	if u := clientURI(client); u != "" {
		e.Action = &web.Link{Label: "Back to " + clientName(client), URL: u}
	}
	return e
}

// oauthRejection is the body of a reject call for an invalid request.
// RFC 6749 section 4.1.2.1 allows neither '"' nor '\' in
// error_description, so quotes become apostrophes and backslashes slashes.
func oauthRejection(e *access.Error) hydra.RejectOAuth2Request {
	status := int64(http.StatusBadRequest)
	desc := strings.NewReplacer(`"`, "'", `\`, "/").Replace(e.Description)
	return hydra.RejectOAuth2Request{
		Error:            &e.Code,
		ErrorDescription: &desc,
		StatusCode:       &status,
	}
}

// asRequestError reports whether err is a validation error of the app's
// request, returning it.
func asRequestError(err error) (*access.Error, bool) {
	var e *access.Error
	ok := errors.As(err, &e)
	return e, ok
}

// redirect sends the browser to a redirect_to that Hydra returned. It is
// the only redirect target this app uses, so it cannot be an open
// redirect.
func redirect(c echo.Context, to *hydra.OAuth2RedirectTo) error {
	if to == nil || to.RedirectTo == "" {
		return web.Internal(errors.New("hydra returned no redirect_to"))
	}
	return c.Redirect(http.StatusSeeOther, to.RedirectTo)
}

func clientName(c *hydra.OAuth2Client) string {
	if c == nil {
		return "The app"
	}
	if n := strings.TrimSpace(c.GetClientName()); n != "" {
		return n
	}
	if id := c.GetClientId(); id != "" {
		return id
	}
	return "The app"
}

// clientURI returns the client's home page when it is an absolute http or
// https URL, else "".
func clientURI(c *hydra.OAuth2Client) string {
	if c == nil {
		return ""
	}
	u := c.GetClientUri()
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return u
	}
	return ""
}

// metadataFlag reports whether the client's Hydra metadata sets key to
// true, as an admin sets "verified" and this app sets "first_party" on
// its own client.
func metadataFlag(c *hydra.OAuth2Client, key string) bool {
	if c == nil {
		return false
	}
	md, ok := c.Metadata.(map[string]any)
	if !ok {
		return false
	}
	v, _ := md[key].(bool)
	return v
}
