package e2e

import (
	"net/http"
	"testing"
)

// TestRememberedConsent approves with "remember", then asks again: within
// the grant no screen is shown and the token carries the stored grant;
// beyond it the screen returns, or with prompt=none consent_required.
func TestRememberedConsent(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)

	r := newAuthRequest(s.client.ID, demoScope, demoDetails)
	p := b.open(s.authURL(r))
	action, form := p.form(t, `form[action="/login"]`)
	form.Set("username", testUser)
	form.Set("password", testPassword)
	form.Set("remember", "1")
	action, form = consentForm(t, b.post(action, form))
	form["remember"] = []string{"1"}
	form["action"] = []string{"allow"}
	p = b.post(action, form)
	wantCallback(t, p)
	first := s.introspect(t, s.exchange(t, s.client, r, p.callback).AccessToken).details(t)
	grantID := checkOneGrantID(t, first)

	t.Run("within", func(t *testing.T) {
		within := `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o"],"capabilities":["chat"],"limits":{"monthly_spend":"3.00"}}]`
		r := newAuthRequest(s.client.ID, demoScope, within)
		p := b.open(s.authURL(r))
		wantCallback(t, p)

		details := s.introspect(t, s.exchange(t, s.client, r, p.callback).AccessToken).details(t)
		checkDetail(t, details, "openai", []string{"gpt-4o"}, []string{"chat"}, map[string]any{"monthly_spend": "3.00"})
		if got := details["openai"].GrantID; got != grantID {
			t.Errorf("grant_id = %q; want the stored grant %q", got, grantID)
		}
		if got := s.countGrants(t); got != 1 {
			t.Errorf("stored grants = %d; want 1", got)
		}
	})

	beyond := `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o","o3-mini"],"capabilities":["chat"]}]`
	t.Run("beyond", func(t *testing.T) {
		r := newAuthRequest(s.client.ID, demoScope, beyond)
		p := b.open(s.authURL(r))
		if p.status != http.StatusOK {
			t.Fatalf("status = %d; want the consent page", p.status)
		}
		consentForm(t, p)
	})

	t.Run("beyond with prompt none", func(t *testing.T) {
		r := newAuthRequest(s.client.ID, demoScope, beyond)
		r.params.Set("prompt", "none")
		p := b.open(s.authURL(r))
		wantCallback(t, p)
		if got := p.callback.Query().Get("error"); got != "consent_required" {
			t.Errorf("error = %q; want consent_required", got)
		}
	})
}

// TestLogout signs in, then logs out through Hydra's logout endpoint with
// the ID token as hint; the next authorization asks for the password.
func TestLogout(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)

	r := newAuthRequest(s.client.ID, demoScope, demoDetails)
	p := b.open(s.authURL(r))
	action, form := p.form(t, `form[action="/login"]`)
	form.Set("username", testUser)
	form.Set("password", testPassword)
	form.Set("remember", "1")
	action, form = consentForm(t, b.post(action, form))
	form["action"] = []string{"allow"}
	p = b.post(action, form)
	wantCallback(t, p)
	tok := s.exchange(t, s.client, r, p.callback)

	p = b.open(s.hydra.PublicURL + "/oauth2/sessions/logout?id_token_hint=" + tok.IDToken)
	if p.doc == nil || p.doc.Find(`[data-testid="logout-page"]`).Length() != 1 {
		t.Fatalf("expected the logout page, got status %d: %s", p.status, p.text())
	}
	action, form = p.form(t, "form")
	form.Set("action", "accept")
	p = b.post(action, form)
	if p.status != http.StatusFound && p.status != http.StatusSeeOther {
		t.Fatalf("logout: status %d, want a redirect to the post-logout URL: %s", p.status, p.text())
	}

	r = newAuthRequest(s.client.ID, demoScope, demoDetails)
	p = b.open(s.authURL(r))
	if p.doc == nil || p.doc.Find(`[data-testid="login-page"]`).Length() != 1 {
		t.Errorf("after logout: want the login page, got status %d: %s", p.status, p.text())
	}
}
