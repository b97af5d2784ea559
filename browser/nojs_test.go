package browser

import (
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWithoutJavaScript completes a sign-in and a consent with JavaScript
// off, as some people browse: the forms post, the login error renders on
// the server, and the chosen limits reach the token.
func TestWithoutJavaScript(t *testing.T) {
	s := startStack(t)
	tb := newTab(t, s, tabOptions{noScript: true})

	tb.connect(s)
	tb.submitLogin(s.user.username, "not the password", false)
	tb.waitFor("login-error")
	if got := tb.text(testID("login-error")); got != loginFailed {
		t.Errorf("login error without JavaScript = %q; want %q", got, loginFailed)
	}

	tb.signIn(s.user)
	tb.do(chromedp.Click(chromedp.CSS(`input[name="p0.model"][value="gpt-4o-mini"]`)))
	tb.setField("p0.monthly_spend", "1.25")
	// consent.js adds this note on every change, so its absence shows that
	// scripts are really off.
	if n := tb.count(`#summary li.muted`); n != 0 {
		t.Fatalf("notes under the summary = %d; want 0 because consent.js must not run with JavaScript off", n)
	}
	tb.follow(chromedp.Click(testID("allow")))

	openai := tb.tokenIntrospection().detail(t, "openai")
	if !slices.Equal(openai.Models, []string{"gpt-4o"}) {
		t.Errorf("openai models = %q; want [gpt-4o]", openai.Models)
	}
	if got := openai.Limits["monthly_spend"]; got != "1.25" {
		t.Errorf("openai limits.monthly_spend = %v; want \"1.25\"", got)
	}
}
