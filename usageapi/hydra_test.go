package usageapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/internal/hydratest"
	"github.com/aiconsent/aiconsent/money"
	"github.com/aiconsent/aiconsent/usageapi"
)

// callbackURL is the test client's redirect URI. Nothing listens there:
// Authorize stops at the redirect to it.
const callbackURL = "http://127.0.0.1:9/callback"

// clientScope is registered on the test client, because the test Hydra
// uses the exact scope strategy.
const clientScope = "ai:openai:gpt-4o-mini:chat"

// hydraClient is an OAuth 2.0 client registered at the test Hydra.
type hydraClient struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret"`
}

func createClient(t *testing.T, h *hydratest.Hydra) hydraClient {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"client_secret":              "secret-" + rand.Text(),
		"redirect_uris":              []string{callbackURL},
		"grant_types":                []string{"authorization_code"},
		"response_types":             []string{"code"},
		"scope":                      clientScope,
		"token_endpoint_auth_method": "client_secret_basic",
	})
	resp, err := http.Post(h.AdminURL+"/admin/clients", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	var c hydraClient
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(data, &c) != nil {
		t.Fatalf("create client: status %d: %s", resp.StatusCode, data)
	}
	return c
}

// issueToken runs an authorization code flow through Hydra for subject,
// accepting the consent with claim in the access token's session (no
// session when claim is nil), and returns the access token.
func issueToken(t *testing.T, h *hydratest.Hydra, c hydraClient, subject string, claim []access.ClaimDetail) string {
	t.Helper()
	params := url.Values{
		"client_id":     {c.ID},
		"response_type": {"code"},
		"redirect_uri":  {callbackURL},
		"scope":         {clientScope},
		"state":         {"state-" + rand.Text()},
	}
	consent := func(request map[string]any) map[string]any {
		accept := map[string]any{"grant_scope": request["requested_scope"]}
		if claim != nil {
			accept["session"] = map[string]any{"access_token": map[string]any{access.ClaimName: claim}}
		}
		return accept
	}
	callback := h.Authorize(t, hydratest.NewBrowser(), h.PublicURL+"/oauth2/auth?"+params.Encode(), subject, consent)
	code := callback.Query().Get("code")
	if code == "" {
		t.Fatalf("authorization ended without a code: error %q", callback.Query().Get("error"))
	}

	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callbackURL}}
	req, _ := http.NewRequest(http.MethodPost, h.PublicURL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token exchange: status %d, error %q (decode error: %v)", resp.StatusCode, tok.Error, err)
	}
	return tok.AccessToken
}

func (a *api) introspect(token string) reply {
	a.t.Helper()
	return a.do(http.MethodPost, usageapi.PathIntrospect, "application/x-www-form-urlencoded", url.Values{"token": {token}}.Encode(), nil)
}

// claimOf returns the claim a consent for g would put in a token, with
// only the models given.
func claimOf(g *access.Grant, models ...string) []access.ClaimDetail {
	details := []access.Detail{g.Details[0]}
	details[0].Models = models
	return access.Claim(g.ID, details)
}

// TestIntrospectionWithHydra runs real authorization code flows through
// Hydra and introspects the tokens through the extension.
func TestIntrospectionWithHydra(t *testing.T) {
	h := hydratest.Start(t, hydratest.Options{})
	a := newAPI(t, h.AdminURL)
	client := createClient(t, h)

	limits := access.Limits{MonthlySpend: amountPtr(money.Scale / 10), RequestsPerMinute: count(30)}
	g := a.addGrant("gr_hydra", "alice", client.ID, limits, future.Truncate(time.Second))
	token := issueToken(t, h, client, "alice", claimOf(g, "gpt-4o-mini"))

	t.Run("active token with usage", func(t *testing.T) {
		id := a.reserve(`{"access_token":` + quoteJSON(token) + `,"provider":"openai","model":"gpt-4o-mini","capability":"chat","input_tokens":1000,"max_tokens":1000}`)
		a.reserve(`{"grant_id":"gr_hydra","provider":"openai","model":"gpt-4o-mini","capability":"chat","amount":"0.002"}`)
		if r := a.postJSON(settlePath(id), `{"input_tokens":1000,"output_tokens":250}`); r.status != http.StatusOK {
			t.Fatalf("settle = %d %s", r.status, r.raw)
		}

		r := a.introspect(token)
		if r.status != http.StatusOK || r.body["active"] != true || r.str("client_id") != client.ID || r.str("sub") != "alice" {
			t.Fatalf("introspect = %d %s; want 200, active, with Hydra's client_id and sub", r.status, r.raw)
		}
		if _, ok := r.body["ext"].(map[string]any)[access.ClaimName]; !ok {
			t.Errorf("introspect %s lost Hydra's ext.%s", r.raw, access.ClaimName)
		}

		details := topLevelDetails(t, r)
		if len(details) != 1 || details[0].GrantID != "gr_hydra" || details[0].Limits.MonthlySpend != "0.10" ||
			strings.Join(details[0].Models, ",") != "gpt-4o-mini" {
			t.Errorf("authorization_details = %+v; want gr_hydra with gpt-4o-mini only and monthly_spend 0.10", details)
		}

		monthly := usagePeriod(t, r, "monthly")
		// 1000 input tokens at 0.15 and 250 output tokens at 0.60 per
		// million cost 0.0003; 0.002 is still held.
		if monthly["spent"] != "0.0003" || monthly["held"] != "0.002" || monthly["cap"] != "0.10" || monthly["remaining"] != "0.0977" {
			t.Errorf("ai_usage monthly = %v; want spent 0.0003, held 0.002, cap 0.10, remaining 0.0977", monthly)
		}
		if monthly["resets_at"] == nil {
			t.Errorf("ai_usage monthly = %v; want resets_at", monthly)
		}
		rpm := r.body[usageapi.UsageMember].(map[string]any)["details"].([]any)[0].(map[string]any)["rate_limits"].(map[string]any)["requests_per_minute"].(map[string]any)
		if rpm["limit"] != 30.0 || rpm["used"] == 0.0 {
			t.Errorf("ai_usage requests_per_minute = %v; want limit 30 and a count", rpm)
		}
	})

	t.Run("narrowed and widened grant", func(t *testing.T) {
		setMonthlyCap(t, a, "gr_hydra", "0.05")
		if got := topLevelDetails(t, a.introspect(token))[0].Limits.MonthlySpend; got != "0.05" {
			t.Errorf("monthly_spend after lowering the cap to 0.05 = %q; want \"0.05\"", got)
		}
		setMonthlyCap(t, a, "gr_hydra", "5.00")
		if got := topLevelDetails(t, a.introspect(token))[0].Limits.MonthlySpend; got != "0.10" {
			t.Errorf("monthly_spend after raising the cap to 5.00 = %q; want the token's \"0.10\"", got)
		}
		setMonthlyCap(t, a, "gr_hydra", "0.10")
	})

	t.Run("reserve by token", func(t *testing.T) {
		r := a.postJSON(usageapi.PathReservations, `{"access_token":`+quoteJSON(token)+`,"provider":"openai","model":"gpt-4o","capability":"chat","amount":"0.001"}`)
		wantError(t, "reserve gpt-4o by a token that carries only gpt-4o-mini", r, 403, "not_granted")

		r = a.postJSON(usageapi.PathReservations, `{"access_token":"ory_at_not-a-token","provider":"openai","model":"gpt-4o-mini","capability":"chat","amount":"0.001"}`)
		wantError(t, "reserve by an unknown token", r, 401, "invalid_token")
	})

	t.Run("paused grant stays active", func(t *testing.T) {
		a.exec(`UPDATE grants SET status = 'paused' WHERE id = 'gr_hydra'`)
		defer a.exec(`UPDATE grants SET status = 'active' WHERE id = 'gr_hydra'`)

		r := a.introspect(token)
		status := r.body[usageapi.UsageMember].(map[string]any)["grant_status"]
		if r.body["active"] != true || status != "paused" {
			t.Errorf("introspect of a paused grant = %s; want active with grant_status paused", r.raw)
		}
	})

	t.Run("revoked grant", func(t *testing.T) {
		a.exec(`UPDATE grants SET status = 'revoked' WHERE id = 'gr_hydra'`)
		defer a.exec(`UPDATE grants SET status = 'active' WHERE id = 'gr_hydra'`)

		if r := a.introspect(token); r.status != http.StatusOK || r.raw != `{"active":false}`+"\n" {
			t.Errorf("introspect of a revoked grant = %d %q; want exactly {\"active\":false}", r.status, r.raw)
		}
	})

	t.Run("expired grant", func(t *testing.T) {
		past := time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
		a.exec(`UPDATE grants SET details = json_set(details, '$[0].expires', ?) WHERE id = 'gr_hydra'`, past)
		defer a.exec(`UPDATE grants SET details = json_set(details, '$[0].expires', ?) WHERE id = 'gr_hydra'`,
			g.Details[0].Expires.UTC().Format("2006-01-02T15:04:05.000000000Z07:00"))

		if r := a.introspect(token); r.raw != `{"active":false}`+"\n" {
			t.Errorf("introspect of an expired grant = %q; want exactly {\"active\":false}", r.raw)
		}
	})

	t.Run("inactive token", func(t *testing.T) {
		if r := a.introspect("ory_at_" + rand.Text()); r.status != http.StatusOK || r.raw != `{"active":false}`+"\n" {
			t.Errorf("introspect of an unknown token = %d %q; want exactly {\"active\":false}", r.status, r.raw)
		}
	})

	t.Run("token without claim", func(t *testing.T) {
		plain := issueToken(t, h, client, "bob", nil)
		r := a.introspect(plain)
		if r.body["active"] != true || r.body[access.ClaimName] != nil || r.body[usageapi.UsageMember] != nil {
			t.Errorf("introspect of a token without AI grant = %s; want Hydra's answer unchanged", r.raw)
		}
	})
}

// topLevelDetails decodes the top-level authorization_details.
func topLevelDetails(t *testing.T, r reply) []access.ClaimDetail {
	t.Helper()
	raw, _ := json.Marshal(r.body[access.ClaimName])
	var details []access.ClaimDetail
	if err := json.Unmarshal(raw, &details); err != nil || len(details) == 0 {
		t.Fatalf("top-level %s in %s: %v", access.ClaimName, r.raw, err)
	}
	return details
}

// usagePeriod returns one period of the first detail of ai_usage.
func usagePeriod(t *testing.T, r reply, period string) map[string]any {
	t.Helper()
	member, _ := r.body[usageapi.UsageMember].(map[string]any)
	details, _ := member["details"].([]any)
	if len(details) != 1 {
		t.Fatalf("%s in %s: want one detail", usageapi.UsageMember, r.raw)
	}
	periods, _ := details[0].(map[string]any)["periods"].(map[string]any)
	p, _ := periods[period].(map[string]any)
	return p
}

// setMonthlyCap changes the grant's monthly cap with SQL, in picounits as
// the details JSON stores amounts.
func setMonthlyCap(t *testing.T, a *api, grantID, cap string) {
	t.Helper()
	amount, err := money.Parse(cap)
	if err != nil {
		t.Fatal(err)
	}
	a.exec(`UPDATE grants SET details = json_set(details, '$[0].limits.monthly_spend', ?) WHERE id = ?`, int64(amount), grantID)
}

func quoteJSON(s string) string {
	return fmt.Sprintf("%q", s)
}
