package tokenhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/money"
	"github.com/aiconsent/aiconsent/sqlite"
)

const testKey = "hook-key-for-tests"

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func amount(s string) *money.Amount {
	a, err := money.Parse(s)
	if err != nil {
		panic(err)
	}
	return &a
}

// fixture is a store with one user and grants in each state.
type fixture struct {
	db      *sqlite.DB
	handler *Handler
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hook.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return now }

	ctx := context.Background()
	for _, u := range []account.User{
		{Subject: "usr_alice", Username: "alice", PasswordHash: "x"},
		{Subject: "usr_bob", Username: "bob", PasswordHash: "x", Disabled: true},
	} {
		if err := db.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}

	grants := []struct {
		id, subject, client string
		status              access.Status
	}{
		{"gr_active", "usr_alice", "app", access.StatusActive},
		{"gr_paused", "usr_alice", "app2", access.StatusPaused},
		{"gr_disabled", "usr_bob", "app", access.StatusActive},
		{"gr_expired", "usr_alice", "app3", access.StatusActive},
	}
	for _, g := range grants {
		d := grantedDetail()
		if g.id == "gr_expired" {
			d.Expires = now.Add(-time.Hour)
		}
		err := db.CreateGrant(ctx, &access.Grant{
			ID: g.id, Subject: g.subject, ClientID: g.client, ConsentChallenge: "challenge-" + g.id,
			Status: g.status, Details: []access.Detail{d},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A second consent replaces the first grant of usr_alice and app4.
	for _, id := range []string{"gr_old", "gr_new"} {
		err := db.CreateGrant(ctx, &access.Grant{ID: id, Subject: "usr_alice", ClientID: "app4",
			ConsentChallenge: "challenge-" + id, Status: access.StatusActive, Details: []access.Detail{grantedDetail()}})
		if err != nil {
			t.Fatal(err)
		}
	}

	return &fixture{db: db, handler: &Handler{Store: db, APIKey: testKey, Now: func() time.Time { return now }}}
}

func grantedDetail() access.Detail {
	rpm := int64(30)
	return access.Detail{
		Type: access.DetailType, Provider: "openai", Models: []string{"gpt-4o", "gpt-4o-mini"},
		Capabilities: []string{"chat"},
		Limits:       access.Limits{Currency: "USD", MonthlySpend: amount("5.00"), RequestsPerMinute: &rpm},
		Expires:      now.Add(30 * 24 * time.Hour),
	}
}

// hookBody is a hook request as Hydra v2.3.0 sends it, with the claim of
// grantID in the access token and the ID token.
func hookBody(grantID, subject, client string, details []access.Detail) string {
	extra := map[string]any{"other_claim": "kept"}
	idExt := map[string]any{"sid": "session-1"}
	if grantID != "" {
		claim := access.Claim(grantID, details)
		extra[access.ClaimName] = claim
		idExt[access.ClaimName] = claim
	}
	body := map[string]any{
		"session": map[string]any{
			"client_id": client,
			"subject":   subject,
			"extra":     extra,
			"id_token":  map[string]any{"id_token_claims": map[string]any{"sub": subject, "ext": idExt}},
		},
		"request": map[string]any{"client_id": client, "grant_types": []string{"refresh_token"}},
	}
	data, _ := json.Marshal(body)
	return string(data)
}

func (f *fixture) call(t *testing.T, key, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/hooks/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(DefaultHeader, key)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

func TestHookStatus(t *testing.T) {
	f := newFixture(t)
	d := []access.Detail{grantedDetail()}

	tests := []struct {
		name string
		key  string
		body string
		want int
	}{
		{"active grant", testKey, hookBody("gr_active", "usr_alice", "app", d), http.StatusOK},
		{"paused grant still gets tokens", testKey, hookBody("gr_paused", "usr_alice", "app2", d), http.StatusOK},
		{"no AI claim", testKey, hookBody("", "usr_alice", "app", nil), http.StatusNoContent},
		{"missing key", "", hookBody("gr_active", "usr_alice", "app", d), http.StatusUnauthorized},
		{"wrong key", "wrong", hookBody("gr_active", "usr_alice", "app", d), http.StatusUnauthorized},
		{"key with extra byte", testKey + "x", hookBody("gr_active", "usr_alice", "app", d), http.StatusUnauthorized},
		{"replaced grant", testKey, hookBody("gr_old", "usr_alice", "app4", d), http.StatusForbidden},
		{"unknown grant", testKey, hookBody("gr_missing", "usr_alice", "app", d), http.StatusForbidden},
		{"other client", testKey, hookBody("gr_active", "usr_alice", "app2", d), http.StatusForbidden},
		{"other subject", testKey, hookBody("gr_active", "usr_bob", "app", d), http.StatusForbidden},
		{"disabled user", testKey, hookBody("gr_disabled", "usr_bob", "app", d), http.StatusForbidden},
		{"expired grant", testKey, hookBody("gr_expired", "usr_alice", "app3", d), http.StatusForbidden},
		{"not JSON", testKey, "{", http.StatusBadRequest},
		{"no session", testKey, `{"request":{}}`, http.StatusBadRequest},
		{"claim not a list", testKey, `{"session":{"extra":{"authorization_details":"x"}},"request":{}}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.call(t, tt.key, tt.body)
			if rec.Code != tt.want {
				t.Errorf("status = %d; want %d (body %s)", rec.Code, tt.want, rec.Body)
			}
			if rec.Code == http.StatusOK && rec.Body.Len() == 0 {
				t.Error("200 with an empty body; Hydra cannot decode that")
			}
		})
	}
}

// TestHookNarrowsClaims edits the grant, then checks that the 200 response
// carries the narrowed claim in both the access token and the ID token,
// keeps every other claim, and is never wider than the token.
func TestHookNarrowsClaims(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	edited := grantedDetail()
	edited.Models = []string{"gpt-4o"}
	edited.Limits.MonthlySpend = amount("2.00")
	if _, err := f.db.ChangeGrant(ctx, access.GrantChange{GrantID: "gr_active", Actor: "usr_alice", Action: access.ActionEdit, Details: []access.Detail{edited}}); err != nil {
		t.Fatal(err)
	}

	// The token was issued for a lower rate limit than the grant has.
	token := grantedDetail()
	rpm := int64(10)
	token.Limits.RequestsPerMinute = &rpm

	rec := f.call(t, testKey, hookBody("gr_active", "usr_alice", "app", []access.Detail{token}))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; want 200 (%s)", rec.Code, rec.Body)
	}
	var resp struct {
		Session struct {
			AccessToken map[string]any `json:"access_token"`
			IDToken     map[string]any `json:"id_token"`
		} `json:"session"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}

	if got := resp.Session.AccessToken["other_claim"]; got != "kept" {
		t.Errorf("access_token.other_claim = %v; want kept", got)
	}
	if got := resp.Session.IDToken["sid"]; got != "session-1" {
		t.Errorf("id_token.sid = %v; want session-1", got)
	}
	for name, claims := range map[string]map[string]any{"access_token": resp.Session.AccessToken, "id_token": resp.Session.IDToken} {
		list, details, err := access.ParseClaim(claims[access.ClaimName])
		if err != nil || len(details) != 1 {
			t.Fatalf("%s claim = %v, %v; want one detail", name, claims[access.ClaimName], err)
		}
		if !slices.Equal(details[0].Models, []string{"gpt-4o"}) {
			t.Errorf("%s models = %q; want [gpt-4o]", name, details[0].Models)
		}
		if got := list[0].Limits.MonthlySpend; got != "2.00" {
			t.Errorf("%s monthly_spend = %q; want 2.00", name, got)
		}
		if got := *details[0].Limits.RequestsPerMinute; got != 10 {
			t.Errorf("%s requests_per_minute = %d; want 10, the token's lower value", name, got)
		}
		if got := list[0].GrantID; got != "gr_active" {
			t.Errorf("%s grant_id = %q; want gr_active", name, got)
		}
	}
}

func TestHookRevokedGrant(t *testing.T) {
	f := newFixture(t)
	if _, err := f.db.ChangeGrant(context.Background(), access.GrantChange{GrantID: "gr_active", Actor: "usr_alice", Action: access.ActionRevoke}); err != nil {
		t.Fatal(err)
	}
	rec := f.call(t, testKey, hookBody("gr_active", "usr_alice", "app", []access.Detail{grantedDetail()}))
	if rec.Code != http.StatusForbidden {
		t.Errorf("status = %d; want 403", rec.Code)
	}
}
