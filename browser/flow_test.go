package browser

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// loginFailed is aiconsent's one message for every failed sign-in.
const loginFailed = "The username or password is incorrect."

// introspection is the part of Hydra's introspection that the Example App
// shows and the tests check.
type introspection struct {
	Active bool   `json:"active"`
	Sub    string `json:"sub"`
	Ext    struct {
		AuthorizationDetails []grantedDetail `json:"authorization_details"`
	} `json:"ext"`
}

// grantedDetail is one granted authorization detail in the token.
type grantedDetail struct {
	Type     string         `json:"type"`
	GrantID  string         `json:"grant_id"`
	Provider string         `json:"provider"`
	Models   []string       `json:"models"`
	Limits   map[string]any `json:"limits"`
}

// connect starts the Example App's authorization request, which Hydra
// sends on to aiconsent's login page.
func (tb *tab) connect(s *stack) {
	tb.t.Helper()
	tb.open(s.demoURL+"/", "connect")
	tb.follow(chromedp.Click(testID("connect")))
	tb.waitFor("login-page")
}

// submitLogin types the credentials into the login form and submits it.
func (tb *tab) submitLogin(username, password string, remember bool) {
	tb.t.Helper()
	tb.do(
		chromedp.Clear(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	if remember {
		tb.do(chromedp.Click(chromedp.ID("remember")))
	}
	tb.follow(chromedp.Click(chromedp.CSS(`button[value="login"]`)))
}

// signIn signs the stack's user in and waits for the consent page.
func (tb *tab) signIn(u testUser) {
	tb.t.Helper()
	tb.submitLogin(u.username, u.password, false)
	tb.waitFor("consent-page")
}

// reachLogout signs in with "keep me signed in", allows the Example App's
// request and signs out from the Example App, which leads through Hydra to
// aiconsent's logout page.
func (tb *tab) reachLogout(s *stack) {
	tb.t.Helper()
	tb.connect(s)
	tb.submitLogin(s.user.username, s.user.password, true)
	tb.waitFor("consent-page")
	tb.follow(chromedp.Click(testID("allow")))
	tb.waitFor("sign-out")
	tb.follow(chromedp.Click(testID("sign-out")))
	tb.waitFor("logout-page")
}

// setField replaces the text of the input named name by typing.
func (tb *tab) setField(name, value string) {
	tb.t.Helper()
	sel := chromedp.CSS(`input[name="` + name + `"]`)
	tb.do(chromedp.Clear(sel), chromedp.SendKeys(sel, value))
}

// tokenIntrospection reads the introspection the Example App shows after
// a successful consent.
func (tb *tab) tokenIntrospection() introspection {
	tb.t.Helper()
	tb.waitFor("introspection")

	raw, err := chromedp.Run(tb.ctx, chromedp.TextContent(testID("introspection")))
	if err != nil {
		tb.t.Fatalf("read the introspection at %s: %v", tb.location(), err)
	}
	var in introspection
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		tb.t.Fatalf("introspection shown by the Example App is not JSON (%v): %s", err, raw)
	}
	return in
}

// detail returns the granted detail for provider, failing the test when
// there is none.
func (in introspection) detail(t *testing.T, provider string) grantedDetail {
	t.Helper()
	for _, d := range in.Ext.AuthorizationDetails {
		if d.Provider == provider {
			return d
		}
	}
	t.Fatalf("introspection ext.authorization_details = %+v; want a detail for %q", in.Ext.AuthorizationDetails, provider)
	return grantedDetail{}
}

// TestConsentLowerCap signs in, unticks one model, lowers a spending cap
// and allows; the Example App must show a token with exactly that grant.
// The Example App requests GPT-4o and GPT-4o mini with $5.00 a month, any
// Anthropic model, and Gemini 2.0 Flash by scope.
func TestConsentLowerCap(t *testing.T) {
	s := startStack(t)
	tb := newTab(t, s, tabOptions{})

	tb.connect(s)
	tb.signIn(s.user)
	if got := tb.text(testID("summary")); !containsAll(got, "Example App can spend up to", "$5.00 a month", "OpenAI models (GPT-4o") {
		t.Errorf("consent summary = %q; want it to lead with the app, the $5.00 monthly cap and the models", got)
	}

	tb.do(chromedp.Click(chromedp.CSS(`input[name="p0.model"][value="gpt-4o-mini"]`)))
	tb.setField("p0.monthly_spend", "2.50")
	if n := tb.count(`#summary li.muted`); n != 1 {
		t.Errorf("notes under the summary after a change = %d; want 1 from consent.js saying the form's limits apply", n)
	}
	tb.follow(chromedp.Click(testID("allow")))

	in := tb.tokenIntrospection()
	if !in.Active || in.Sub != s.user.subject {
		t.Fatalf("introspection active = %v, sub = %q; want active for %q", in.Active, in.Sub, s.user.subject)
	}
	openai := in.detail(t, "openai")
	if !slices.Equal(openai.Models, []string{"gpt-4o"}) {
		t.Errorf("openai models = %q; want [gpt-4o] after unticking gpt-4o-mini", openai.Models)
	}
	if got := openai.Limits["monthly_spend"]; got != "2.50" {
		t.Errorf("openai limits.monthly_spend = %v; want \"2.50\" as typed", got)
	}
	if got := openai.Limits["currency"]; got != "USD" {
		t.Errorf("openai limits.currency = %v; want \"USD\"", got)
	}
}

// TestDeny denies on the consent page; the Example App must receive
// access_denied and no token.
func TestDeny(t *testing.T) {
	s := startStack(t)
	tb := newTab(t, s, tabOptions{})

	tb.connect(s)
	tb.signIn(s.user)
	tb.follow(chromedp.Click(testID("deny")))
	tb.waitFor("error")

	if got := tb.text(testID("error")); got != "access_denied" {
		t.Errorf("Example App error = %q; want access_denied", got)
	}
	if n := tb.count(`[data-testid="tokens"]`); n != 0 {
		t.Errorf("Example App shows %d token blocks after Deny; want 0", n)
	}
}

// TestWrongPassword signs in with bad credentials: every failure shows
// the same message, keeps the username and clears the password.
func TestWrongPassword(t *testing.T) {
	s := startStack(t)
	tb := newTab(t, s, tabOptions{})
	tb.connect(s)

	tests := []struct {
		name     string
		username string
		password string
	}{
		{"wrong password", s.user.username, "not the password"},
		{"unknown user", "mallory", s.user.password},
		{"empty password", s.user.username, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb.submitLogin(tt.username, tt.password, false)
			tb.waitFor("login-error")

			if got := tb.text(testID("login-error")); got != loginFailed {
				t.Errorf("sign in as %q: error = %q; want %q", tt.username, got, loginFailed)
			}
			if got := evaluate[string](tb, `document.getElementById("username").value`); got != tt.username {
				t.Errorf("sign in as %q: username field = %q; want it kept", tt.username, got)
			}
			if got := evaluate[string](tb, `document.getElementById("password").value`); got != "" {
				t.Errorf("sign in as %q: password field is not empty after the failure", tt.username)
			}
		})
	}

	tb.signIn(s.user)
}

// TestLogout signs in with "keep me signed in", consents, then signs out
// from the Example App: aiconsent shows a confirmation, Hydra ends the
// session and the next authorization request shows the login page again.
func TestLogout(t *testing.T) {
	s := startStack(t)
	tb := newTab(t, s, tabOptions{})

	tb.reachLogout(s)
	if got := tb.text(chromedp.CSS("h1")); got != "Sign out?" {
		t.Errorf("logout page heading = %q; want %q", got, "Sign out?")
	}
	tb.follow(chromedp.Click(chromedp.CSS(`button[value="accept"]`)))
	tb.waitFor("connect")

	tb.follow(chromedp.Click(testID("connect")))
	tb.waitFor("login-page")
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
