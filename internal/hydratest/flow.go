package hydratest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// maxRedirects bounds the hops of one authorization request. Hydra needs
// four (login, back to Hydra, consent, back to Hydra) before the client's
// redirect_uri.
const maxRedirects = 10

// ConsentFunc returns the body of the consent accept call
// (grant_scope, session, remember, ...) for a consent request as Hydra's
// admin API returns it.
type ConsentFunc func(request map[string]any) map[string]any

// NewBrowser returns an HTTP client that keeps cookies like a browser but
// does not follow redirects, so a test can see each hop.
func NewBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Authorize drives the authorization request authURL through Hydra in
// place of a login and consent app: it follows Hydra's redirects with
// browser (from NewBrowser), accepts the login request for subject, and
// accepts the consent request with the body consent returns. A nil consent
// grants the requested scope. Authorize returns the first redirect that
// leaves Hydra and the app, which is the client's redirect_uri with a code
// or an error.
func (h *Hydra) Authorize(t testing.TB, browser *http.Client, authURL, subject string, consent ConsentFunc) *url.URL {
	t.Helper()
	if consent == nil {
		consent = grantRequestedScope
	}

	next := authURL
	for range maxRedirects {
		loc := redirectOf(t, browser, next)

		switch {
		case strings.HasPrefix(loc.String(), h.PublicURL+"/"):
			next = loc.String()
		case withoutQuery(loc) == h.loginURL && loc.Query().Has("login_challenge"):
			next = h.accept(t, "login", loc.Query().Get("login_challenge"), map[string]any{"subject": subject})
		case withoutQuery(loc) == h.consentURL && loc.Query().Has("consent_challenge"):
			challenge := loc.Query().Get("consent_challenge")
			request := h.consentRequest(t, challenge)
			next = h.accept(t, "consent", challenge, consent(request))
		default:
			return loc
		}
	}

	t.Fatalf("authorize: more than %d redirects", maxRedirects)
	return nil
}

func grantRequestedScope(request map[string]any) map[string]any {
	return map[string]any{"grant_scope": request["requested_scope"]}
}

// redirectOf sends GET target and returns the resolved Location of its
// redirect. Failure messages leave out the query, which carries challenges
// and verifiers.
func redirectOf(t testing.TB, browser *http.Client, target string) *url.URL {
	t.Helper()

	resp, err := browser.Get(target)
	if err != nil {
		t.Fatalf("authorize: GET %s: %v", withoutQuery(mustParse(t, target)), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))

	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("authorize: GET %s returned %s, want a redirect; body: %s",
			withoutQuery(resp.Request.URL), resp.Status, body)
	}
	return loc
}

// consentRequest returns the consent request as the admin API shows it.
func (h *Hydra) consentRequest(t testing.TB, challenge string) map[string]any {
	t.Helper()

	target := h.AdminURL + "/admin/oauth2/auth/requests/consent?consent_challenge=" + url.QueryEscape(challenge)
	resp, err := http.Get(target)
	if err != nil {
		t.Fatalf("authorize: get consent request: %v", err)
	}
	defer resp.Body.Close()

	var request map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&request); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize: get consent request returned %s (decode error: %v)", resp.Status, err)
	}
	return request
}

// accept accepts a login or consent request and returns its redirect_to.
func (h *Hydra) accept(t testing.TB, flow, challenge string, body map[string]any) string {
	t.Helper()

	payload, err := json.Marshal(body)
	if err != nil {
		t.Fatalf("authorize: encode %s accept: %v", flow, err)
	}
	target := h.AdminURL + "/admin/oauth2/auth/requests/" + flow + "/accept?" + flow + "_challenge=" + url.QueryEscape(challenge)
	req, err := http.NewRequest(http.MethodPut, target, bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("authorize: accept %s request: %v", flow, err)
	}
	defer resp.Body.Close()

	var answer struct {
		RedirectTo  string `json:"redirect_to"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer.RedirectTo == "" {
		t.Fatalf("authorize: accept %s request with %s returned %s: %s %s (decode error: %v)",
			flow, payload, resp.Status, answer.Error, answer.Description, err)
	}
	return answer.RedirectTo
}

func withoutQuery(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.Path
}

func mustParse(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("authorize: parse %q: %v", raw, err)
	}
	return u
}
