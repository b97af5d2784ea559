package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// demoDetails asks for two providers, one of them for any model.
const demoDetails = `[` +
	`{"type":"ai_model_access","provider":"openai","models":["gpt-4o","gpt-4o-mini"],"capabilities":["chat"],` +
	`"limits":{"monthly_spend":"5.00","currency":"USD","requests_per_minute":30},"reason":"Summarise your notes."},` +
	`{"type":"ai_model_access","provider":"anthropic","capabilities":["chat"],"limits":{"daily_spend":"1.00","monthly_spend":"10.00"}}]`

const demoScope = "openid offline_access ai:google:gemini-2.0-flash:chat"

// signIn submits the login form on p with the test user's credentials.
func signIn(t *testing.T, b *browser, p *page) *page {
	t.Helper()
	if p.status != http.StatusOK || p.doc.Find(`[data-testid="login-page"]`).Length() == 0 {
		t.Fatalf("expected the login page, got status %d at %v: %s", p.status, p.url, p.text())
	}
	action, form := p.form(t, `form[action="/login"]`)
	form.Set("username", testUser)
	form.Set("password", testPassword)
	form.Set("action", "login")
	return b.post(action, form)
}

// consentForm returns the consent form on p, failing unless p is the
// consent page.
func consentForm(t *testing.T, p *page) (string, url.Values) {
	t.Helper()
	if p.doc == nil || p.doc.Find(`[data-testid="consent-page"]`).Length() == 0 {
		t.Fatalf("expected the consent page, got status %d at %v: %s", p.status, p.url, p.text())
	}
	return p.form(t, "#consent-form")
}

func wantCallback(t *testing.T, p *page) {
	t.Helper()
	if p.callback == nil {
		t.Fatalf("expected a redirect to the callback, got status %d at %v: %s", p.status, p.url, p.text())
	}
}

func TestApproveAll(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)
	r := newAuthRequest(s.client.ID, demoScope, demoDetails)

	p := signIn(t, b, b.open(s.authURL(r)))
	action, form := consentForm(t, p)
	if got := p.doc.Find(`[data-testid="any-model-anthropic"]`).Length(); got != 1 {
		t.Errorf("any-model flag for anthropic shown %d times; want 1", got)
	}
	if got := p.doc.Find(`[data-testid="client-unverified"]`).Length(); got != 1 {
		t.Errorf("unverified mark shown %d times; want 1", got)
	}
	form["action"] = []string{"allow"}
	p = b.post(action, form)
	wantCallback(t, p)

	tok := s.exchange(t, s.client, r, p.callback)
	in := s.introspect(t, tok.AccessToken)
	if !in.Active || in.Subject != s.subject || in.ClientID != s.client.ID {
		t.Fatalf("introspection = active %v, sub %q, client %q; want active, %q, %q", in.Active, in.Subject, in.ClientID, s.subject, s.client.ID)
	}
	for _, want := range strings.Fields(demoScope) {
		if !slices.Contains(strings.Fields(in.Scope), want) {
			t.Errorf("introspection scope %q lacks %q", in.Scope, want)
		}
	}

	details := in.details(t)
	checkDetail(t, details, "openai", []string{"gpt-4o", "gpt-4o-mini"}, []string{"chat"},
		map[string]any{"currency": "USD", "monthly_spend": "5.00", "requests_per_minute": 30.0})
	checkDetail(t, details, "anthropic", []string{"*"}, []string{"chat"},
		map[string]any{"currency": "USD", "daily_spend": "1.00", "monthly_spend": "10.00"})
	checkDetail(t, details, "google", []string{"gemini-2.0-flash"}, []string{"chat"}, nil)
	checkOneGrantID(t, details)

	if got := s.countGrants(t); got != 1 {
		t.Errorf("stored grants = %d; want 1", got)
	}

	idClaims := jwtClaims(t, tok.IDToken)
	if _, ok := idClaims["authorization_details"]; !ok {
		t.Errorf("ID token claims %v lack authorization_details", idClaims)
	}
}

func TestApproveSubsetLowerCap(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)
	r := newAuthRequest(s.client.ID, demoScope, demoDetails)

	action, form := consentForm(t, signIn(t, b, b.open(s.authURL(r))))
	form["p0.model"] = []string{"gpt-4o"}
	form["p0.monthly_spend"] = []string{"2.50"}
	delete(form, "p1.any")
	delete(form, "p1.model")
	form["action"] = []string{"allow"}
	p := b.post(action, form)
	wantCallback(t, p)

	tok := s.exchange(t, s.client, r, p.callback)
	in := s.introspect(t, tok.AccessToken)
	details := in.details(t)
	checkDetail(t, details, "openai", []string{"gpt-4o"}, []string{"chat"},
		map[string]any{"currency": "USD", "monthly_spend": "2.50", "requests_per_minute": 30.0})
	if _, ok := details["anthropic"]; ok {
		t.Errorf("anthropic granted although no model was ticked: %v", details["anthropic"])
	}
}

func TestDeny(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)
	r := newAuthRequest(s.client.ID, demoScope, demoDetails)

	action, form := consentForm(t, signIn(t, b, b.open(s.authURL(r))))
	form["action"] = []string{"deny"}
	p := b.post(action, form)
	wantCallback(t, p)

	if got := p.callback.Query().Get("error"); got != "access_denied" {
		t.Errorf("callback error = %q; want access_denied", got)
	}
	if got := s.countGrants(t); got != 0 {
		t.Errorf("stored grants = %d; want 0", got)
	}
}

func checkDetail(t *testing.T, details map[string]claimDetail, provider string, models, capabilities []string, limits map[string]any) {
	t.Helper()
	d, ok := details[provider]
	if !ok {
		t.Errorf("no detail for %q in %v", provider, details)
		return
	}
	if d.Type != "ai_model_access" {
		t.Errorf("%s type = %q; want ai_model_access", provider, d.Type)
	}
	if !slices.Equal(d.Models, models) {
		t.Errorf("%s models = %q; want %q", provider, d.Models, models)
	}
	if !slices.Equal(d.Capabilities, capabilities) {
		t.Errorf("%s capabilities = %q; want %q", provider, d.Capabilities, capabilities)
	}
	for k, want := range limits {
		if got := d.Limits[k]; got != want {
			t.Errorf("%s limits.%s = %v (%T); want %v (%T)", provider, k, got, got, want, want)
		}
	}
	if exp, err := time.Parse(time.RFC3339, d.Expires); err != nil || !exp.After(time.Now()) {
		t.Errorf("%s expires = %q; want a future RFC 3339 time", provider, d.Expires)
	}
}

func checkOneGrantID(t *testing.T, details map[string]claimDetail) string {
	t.Helper()
	id := ""
	for p, d := range details {
		if d.GrantID == "" {
			t.Errorf("%s has no grant_id", p)
		}
		if id != "" && d.GrantID != id {
			t.Errorf("%s grant_id = %q; want %q like the others", p, d.GrantID, id)
		}
		id = d.GrantID
	}
	return id
}

// jwtClaims decodes a JWT's payload without checking its signature: Hydra
// made it and the test only reads it.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}
