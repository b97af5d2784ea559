package e2e

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
)

// approve runs a full authorization with every requested item allowed and
// returns the tokens.
func (s *stack) approve(t *testing.T, b *browser) tokenResponse {
	t.Helper()
	r := newAuthRequest(s.client.ID, demoScope, demoDetails)
	action, form := consentForm(t, signIn(t, b, b.open(s.authURL(r))))
	form["action"] = []string{"allow"}
	p := b.post(action, form)
	wantCallback(t, p)
	return s.exchange(t, s.client, r, p.callback)
}

// openGrants opens "My grants", signing in through Hydra when needed.
func (s *stack) openGrants(t *testing.T, b *browser) *page {
	t.Helper()
	p := b.open(s.appURL + "/grants")
	if p.doc != nil && p.doc.Find(`[data-testid="login-page"]`).Length() == 1 {
		p = signIn(t, b, p)
	}
	if p.doc == nil || p.doc.Find(`[data-testid="grants-page"]`).Length() != 1 {
		t.Fatalf("expected My grants, got status %d at %v: %s", p.status, p.url, p.text())
	}
	return p
}

// grantForm returns the form of the grant whose action path ends in
// suffix, such as "/edit" or "/pause".
func grantForm(t *testing.T, p *page, grantID, suffix string) (string, url.Values) {
	t.Helper()
	return p.form(t, `form[action="/grants/`+grantID+suffix+`"]`)
}

// revoke presses Revoke access on the grant's card, checks that the
// revocation waits for confirmation, and confirms it.
func revoke(t *testing.T, b *browser, p *page, grantID string) {
	t.Helper()
	action, form := grantForm(t, p, grantID, "/revoke")
	confirm := b.post(action, form)
	if confirm.doc == nil || confirm.doc.Find(`[data-testid="revoke-page"]`).Length() != 1 {
		t.Fatalf("revoke: want the confirmation page, got status %d: %s", confirm.status, confirm.text())
	}
	action, form = confirm.form(t, "form")
	if form.Get("confirm") != "yes" {
		t.Fatalf("confirmation form = %v; want confirm=yes", form)
	}
	if got := b.post(action, form); got.status != http.StatusOK || got.doc.Find(`[data-testid="notice"]`).Length() != 1 {
		t.Fatalf("confirmed revoke: status %d: %s", got.status, got.text())
	}
}

// refreshClaims refreshes and returns the new tokens and the details the
// new access token carries.
func (s *stack) refreshClaims(t *testing.T, refreshToken string) (tokenResponse, map[string]claimDetail) {
	t.Helper()
	tok, status := s.refresh(t, s.client, refreshToken)
	if status != http.StatusOK {
		t.Fatalf("refresh: status %d, error %q", status, tok.Error)
	}
	return tok, s.introspect(t, tok.AccessToken).details(t)
}

// TestLiveGrantChanges edits, pauses and revokes a grant on "My grants"
// and checks what each refresh and introspection shows afterwards.
func TestLiveGrantChanges(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)
	tok := s.approve(t, b)
	grantID := checkOneGrantID(t, s.introspect(t, tok.AccessToken).details(t))

	tok, details := s.refreshClaims(t, tok.RefreshToken)
	checkDetail(t, details, "openai", []string{"gpt-4o", "gpt-4o-mini"}, []string{"chat"}, map[string]any{"monthly_spend": "5.00"})

	p := s.openGrants(t, b)
	if p.doc.Find(`[data-testid="grant-`+grantID+`"]`).Length() != 1 {
		t.Fatalf("grant %s not listed: %s", grantID, p.text())
	}

	t.Run("lower cap", func(t *testing.T) {
		action, form := grantForm(t, p, grantID, "/edit")
		form.Set("d0.monthly_spend", "2.00")
		if got := b.post(action, form); got.status != http.StatusOK {
			t.Fatalf("edit: status %d: %s", got.status, got.text())
		}
		tok, details = s.refreshClaims(t, tok.RefreshToken)
		checkDetail(t, details, "openai", []string{"gpt-4o", "gpt-4o-mini"}, []string{"chat"}, map[string]any{"monthly_spend": "2.00"})
	})

	t.Run("raise cap rejected", func(t *testing.T) {
		p := s.openGrants(t, b)
		action, form := grantForm(t, p, grantID, "/edit")
		form.Set("d0.monthly_spend", "50.00")
		if got := b.post(action, form); got.status != http.StatusForbidden {
			t.Errorf("edit above the grant: status %d; want 403", got.status)
		}
		tok, details = s.refreshClaims(t, tok.RefreshToken)
		checkDetail(t, details, "openai", []string{"gpt-4o", "gpt-4o-mini"}, []string{"chat"}, map[string]any{"monthly_spend": "2.00"})
	})

	t.Run("remove model", func(t *testing.T) {
		p := s.openGrants(t, b)
		action, form := grantForm(t, p, grantID, "/edit")
		form["d0.model"] = []string{"gpt-4o"}
		if got := b.post(action, form); got.status != http.StatusOK {
			t.Fatalf("edit: status %d: %s", got.status, got.text())
		}
		tok, details = s.refreshClaims(t, tok.RefreshToken)
		checkDetail(t, details, "openai", []string{"gpt-4o"}, []string{"chat"}, map[string]any{"monthly_spend": "2.00"})
	})

	t.Run("pause", func(t *testing.T) {
		p := s.openGrants(t, b)
		action, form := grantForm(t, p, grantID, "/pause")
		got := b.post(action, form)
		if status := got.doc.Find(`[data-testid="grant-` + grantID + `"] [data-testid="grant-status"]`).Text(); got.status != http.StatusOK || status == "" {
			t.Fatalf("pause: status %d, grant status %q", got.status, status)
		}
		tok, details = s.refreshClaims(t, tok.RefreshToken)
		checkDetail(t, details, "openai", []string{"gpt-4o"}, []string{"chat"}, nil)
	})

	t.Run("revoke", func(t *testing.T) {
		old := tok
		revoke(t, b, s.openGrants(t, b), grantID)
		s.waitInactive(t, old.AccessToken, 10*time.Second)
		if got, status := s.refresh(t, s.client, old.RefreshToken); status != http.StatusBadRequest || got.Error != "invalid_grant" {
			t.Errorf("refresh after revoke: status %d, error %q; want 400 invalid_grant", status, got.Error)
		}
	})

	entries, err := s.server.DB().ListAudit(context.Background(), grantID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.Actor != s.subject {
			t.Errorf("audit entry %q actor = %q; want %q", e.Action, e.Actor, s.subject)
		}
		if e.Before == "" || e.After == "" || e.Before == e.After {
			t.Errorf("audit entry %q before %q after %q; want both, different", e.Action, e.Before, e.After)
		}
	}
	want := []string{access.ActionEdit, access.ActionEdit, access.ActionPause, access.ActionRevoke}
	if !slices.Equal(actions, want) {
		t.Errorf("audit actions = %q; want %q", actions, want)
	}
}

// waitInactive polls Hydra's introspection until the token is inactive.
func (s *stack) waitInactive(t *testing.T, token string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for s.introspect(t, token).Active {
		if time.Now().After(deadline) {
			t.Fatalf("token still active %v after revoking", limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRevokeWhileHydraUnreachable revokes while aiconsent cannot reach
// Hydra's admin API: the hook refuses refreshes at once, and the queued
// revocation deletes the tokens once Hydra is reachable again.
func TestRevokeWhileHydraUnreachable(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)
	tok := s.approve(t, b)
	grantID := checkOneGrantID(t, s.introspect(t, tok.AccessToken).details(t))
	p := s.openGrants(t, b)

	s.adminProxy.down.Store(true)
	revoke(t, b, p, grantID)

	got, status := s.refresh(t, s.client, tok.RefreshToken)
	if status != http.StatusForbidden || got.Error != "access_denied" {
		t.Errorf("refresh while revocation is pending: status %d, error %q; want 403 access_denied", status, got.Error)
	}
	if !s.introspect(t, tok.AccessToken).Active {
		t.Fatal("token inactive before Hydra was reachable; the test cannot show the retry")
	}

	s.adminProxy.down.Store(false)
	s.waitInactive(t, tok.AccessToken, 30*time.Second)
	if got, status := s.refresh(t, s.client, tok.RefreshToken); status != http.StatusBadRequest || got.Error != "invalid_grant" {
		t.Errorf("refresh after the retried revocation: status %d, error %q; want 400 invalid_grant", status, got.Error)
	}
}

// TestOtherPersonsGrant checks that one person cannot change another's
// grant, and that a form without the CSRF token changes nothing.
func TestOtherPersonsGrant(t *testing.T) {
	s := startStack(t)
	alice := newBrowser(t, s)
	tok := s.approve(t, alice)
	grantID := checkOneGrantID(t, s.introspect(t, tok.AccessToken).details(t))
	alicePage := s.openGrants(t, alice)

	s.addUser(t, "bob", "bob's long password")
	bob := newBrowser(t, s)
	p := bob.open(s.appURL + "/grants")
	action, form := p.form(t, `form[action="/login"]`)
	form.Set("username", "bob")
	form.Set("password", "bob's long password")
	p = bob.post(action, form)
	if p.doc.Find(`[data-testid="no-grants"]`).Length() != 1 {
		t.Fatalf("bob's page: want no grants: %s", p.text())
	}
	_, bobForm := p.form(t, `form[action="/grants/signout"]`)
	_, aliceForm := alicePage.form(t, `form[action="/grants/signout"]`)

	tests := []struct {
		name   string
		b      *browser
		path   string
		form   url.Values
		status int
	}{
		{"pause by another person", bob, "/grants/" + grantID + "/pause", bobForm, http.StatusForbidden},
		{"revoke by another person", bob, "/grants/" + grantID + "/revoke", bobForm, http.StatusForbidden},
		{"unknown grant", bob, "/grants/gr_doesnotexist/revoke", bobForm, http.StatusForbidden},
		{"admin page by non-admin", bob, "/admin/grants/" + grantID + "/revoke", bobForm, http.StatusForbidden},
		{"missing CSRF token", alice, "/grants/" + grantID + "/revoke", url.Values{}, http.StatusForbidden},
		{"revoke without confirmation", alice, "/grants/" + grantID + "/revoke", aliceForm, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.post(s.appURL+tt.path, tt.form); got.status != tt.status {
				t.Errorf("POST %s: status %d; want %d", tt.path, got.status, tt.status)
			}
		})
	}

	if !s.introspect(t, tok.AccessToken).Active {
		t.Error("alice's token is inactive after rejected changes")
	}
	if g, err := s.server.DB().FindGrant(context.Background(), grantID); err != nil || g.Status != access.StatusActive {
		t.Errorf("grant after rejected changes: %v, %v; want active", g, err)
	}
}

// TestAdminPausesGrant lists grants on the admin page as an admin and
// pauses one; the audit log names the admin.
func TestAdminPausesGrant(t *testing.T) {
	s := startStack(t)
	tok := s.approve(t, newBrowser(t, s))
	grantID := checkOneGrantID(t, s.introspect(t, tok.AccessToken).details(t))

	hash, err := account.HashPassword("admin's long password")
	if err != nil {
		t.Fatal(err)
	}
	admin := &account.User{Subject: account.NewSubject(), Username: "root", PasswordHash: hash, Admin: true}
	if err := s.server.DB().CreateUser(context.Background(), admin); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, s)
	p := b.open(s.appURL + "/admin/grants?user=" + testUser)
	action, form := p.form(t, `form[action="/login"]`)
	form.Set("username", "root")
	form.Set("password", "admin's long password")
	p = b.post(action, form)
	if p.doc == nil || p.doc.Find(`[data-testid="admin-grants-page"]`).Length() != 1 {
		t.Fatalf("expected the admin page, got status %d: %s", p.status, p.text())
	}
	if p.doc.Find(`[data-testid="admin-grant-`+grantID+`"]`).Length() != 1 {
		t.Fatalf("grant %s not listed for user %s: %s", grantID, testUser, p.text())
	}

	action, form = p.form(t, `form[action="/admin/grants/`+grantID+`/pause"]`)
	if got := b.post(action, form); got.status != http.StatusOK {
		t.Fatalf("pause: status %d: %s", got.status, got.text())
	}
	entries, err := s.server.DB().ListAudit(context.Background(), grantID)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit = %v, %v; want one entry", entries, err)
	}
	if got := entries[0].Actor; got != "admin:root" {
		t.Errorf("audit actor = %q; want admin:root", got)
	}
	if g, _ := s.server.DB().FindGrant(context.Background(), grantID); g.Status != access.StatusPaused {
		t.Errorf("grant status = %q; want paused", g.Status)
	}
}

// TestSignOutEndsSessions signs in with "keep me signed in", then checks
// that signing out of My grants, and logging out through Hydra, each leave
// the browser signed out of both My grants and Hydra.
func TestSignOutEndsSessions(t *testing.T) {
	s := startStack(t)

	signInRemembered := func(b *browser) *page {
		t.Helper()
		p := b.open(s.appURL + "/grants")
		action, form := p.form(t, `form[action="/login"]`)
		form.Set("username", testUser)
		form.Set("password", testPassword)
		form.Set("remember", "1")
		p = b.post(action, form)
		if p.doc == nil || p.doc.Find(`[data-testid="grants-page"]`).Length() != 1 {
			t.Fatalf("expected My grants after sign-in, got status %d: %s", p.status, p.text())
		}
		return p
	}
	wantLoginPage := func(b *browser, when string) {
		t.Helper()
		p := b.open(s.appURL + "/grants")
		if p.doc == nil || p.doc.Find(`[data-testid="login-page"]`).Length() != 1 {
			t.Errorf("%s: /grants shows status %d without asking for the password: %s", when, p.status, p.text())
		}
	}

	t.Run("My grants sign out", func(t *testing.T) {
		b := newBrowser(t, s)
		p := signInRemembered(b)
		if again := b.open(s.appURL + "/grants"); again.doc.Find(`[data-testid="grants-page"]`).Length() != 1 {
			t.Fatal("a second visit asked to sign in again; the test cannot show sign-out")
		}
		action, form := p.form(t, `form[action="/grants/signout"]`)
		b.post(action, form)
		wantLoginPage(b, "after signing out of My grants")
	})

	t.Run("Hydra logout", func(t *testing.T) {
		b := newBrowser(t, s)
		signInRemembered(b)
		p := b.open(s.hydra.PublicURL + "/oauth2/sessions/logout")
		if p.doc == nil || p.doc.Find(`[data-testid="logout-page"]`).Length() != 1 {
			t.Fatalf("expected the logout page, got status %d: %s", p.status, p.text())
		}
		action, form := p.form(t, "form")
		form.Set("action", "accept")
		b.post(action, form)
		wantLoginPage(b, "after logging out through Hydra")
	})
}
