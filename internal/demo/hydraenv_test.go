package demo_test

// These tests run Hydra with the shared settings and check that each
// setting takes effect, because Hydra silently ignores some misspelt or
// malformed variables.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aiconsent/aiconsent/internal/demo"
	"github.com/aiconsent/aiconsent/internal/hydratest"
)

const (
	testRedirectURI = "http://127.0.0.1:9/callback"
	testSecret      = "a-test-secret-that-is-long-enough"
)

// grantedDetails is what a consent app puts into the access-token session.
var grantedDetails = []any{map[string]any{
	"type":     "ai_model_access",
	"provider": "openai",
	"models":   []any{"gpt-4o"},
}}

func TestHydraEnvIssuer(t *testing.T) {
	h := hydratest.Start(t, hydratest.Options{})

	resp, err := http.Get(h.PublicURL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("GET discovery document: %v", err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("decode discovery document: %v", err)
	}

	if doc.Issuer != h.PublicURL {
		t.Errorf("discovery issuer = %q; want URLS_SELF_ISSUER %q", doc.Issuer, h.PublicURL)
	}
}

func TestHydraEnvExactScope(t *testing.T) {
	h := hydratest.Start(t, hydratest.Options{})
	client := testClient("scopes", "openid ai:ollama:llama3.* ai:google:gemini-2.0-flash:chat")
	registerClient(t, h, client)

	tests := []struct {
		name      string
		scope     string
		wantError string // "" means Hydra accepts the scope and redirects to the login page
	}{
		{"registered scope", "openid ai:google:gemini-2.0-flash:chat", ""},
		{"wildcard is literal", "ai:ollama:llama3.*", ""},
		{"dotted model under wildcard", "ai:ollama:llama3.1:8b:chat", "invalid_scope"},
		{"prefix of registered scope", "ai:google:gemini-2.0-flash", "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := hydratest.NewBrowser().Get(authURL(h, client.ClientID, tt.scope, nil))
			if err != nil {
				t.Fatalf("GET /oauth2/auth: %v", err)
			}
			resp.Body.Close()
			loc, err := resp.Location()
			if err != nil {
				t.Fatalf("GET /oauth2/auth with scope %q returned %s; want a redirect", tt.scope, resp.Status)
			}

			if got := loc.Query().Get("error"); got != tt.wantError {
				t.Errorf("scope %q: redirect error = %q (%s); want %q",
					tt.scope, got, loc.Query().Get("error_description"), tt.wantError)
			}
		})
	}
}

func TestHydraEnvOpaqueTokenClaims(t *testing.T) {
	h := hydratest.Start(t, hydratest.Options{})
	client := testClient("opaque", "openid")
	registerClient(t, h, client)

	token := accessToken(t, h, client)
	if strings.Count(token, ".") == 2 {
		t.Errorf("access token looks like a JWT; want an opaque token (STRATEGIES_ACCESS_TOKEN=opaque)")
	}

	intro := introspect(t, h, token)
	if intro["active"] != true {
		t.Fatalf("introspection active = %v; want true", intro["active"])
	}
	ext, _ := intro["ext"].(map[string]any)
	if got := ext["authorization_details"]; !reflect.DeepEqual(got, grantedDetails) {
		t.Errorf("introspection ext.authorization_details = %v; want %v", got, grantedDetails)
	}
}

func TestHydraEnvTopLevelClaimInJWT(t *testing.T) {
	h := hydratest.Start(t, hydratest.Options{Env: map[string]string{"STRATEGIES_ACCESS_TOKEN": "jwt"}})
	client := testClient("jwt", "openid")
	registerClient(t, h, client)

	claims := jwtClaims(t, accessToken(t, h, client))

	if got := claims["authorization_details"]; !reflect.DeepEqual(got, grantedDetails) {
		t.Errorf("JWT claim authorization_details = %v; want %v (OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS)", got, grantedDetails)
	}
	ext, _ := claims["ext"].(map[string]any)
	if got := ext["authorization_details"]; !reflect.DeepEqual(got, grantedDetails) {
		t.Errorf("JWT claim ext.authorization_details = %v; want %v", got, grantedDetails)
	}
}

func TestTokenHookSetting(t *testing.T) {
	const apiKey = "hook-key-0123456789abcdef"
	var (
		mu      sync.Mutex
		gotKeys []string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotKeys = append(gotKeys, r.Header.Get("X-Hook-Key"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent) // keep the token unchanged
	}))
	defer hook.Close()

	setting := demo.TokenHook(hook.URL+"/hooks/token", "X-Hook-Key", apiKey)
	h := hydratest.Start(t, hydratest.Options{Env: map[string]string{"OAUTH2_TOKEN_HOOK": setting}})
	client := testClient("hook", "openid")
	registerClient(t, h, client)
	accessToken(t, h, client)

	mu.Lock()
	defer mu.Unlock()
	if len(gotKeys) != 1 || gotKeys[0] != apiKey {
		t.Errorf("OAUTH2_TOKEN_HOOK=%s: hook calls carried X-Hook-Key %q; want one call with %q", setting, gotKeys, apiKey)
	}
}

func TestRegisterClient(t *testing.T) {
	h := hydratest.Start(t, hydratest.Options{})
	client := demo.ExampleClient(demo.DefaultPorts(), testSecret)

	if err := demo.RegisterClient(context.Background(), http.DefaultClient, h.AdminURL, client); err != nil {
		t.Fatalf("RegisterClient(new client) = %v; want nil", err)
	}
	if got := clientName(t, h, client.ClientID); got != "Example App" {
		t.Errorf("client_name after create = %q; want %q", got, "Example App")
	}

	client.ClientName = "Example App, renamed"
	if err := demo.RegisterClient(context.Background(), http.DefaultClient, h.AdminURL, client); err != nil {
		t.Fatalf("RegisterClient(existing client) = %v; want nil", err)
	}
	if got := clientName(t, h, client.ClientID); got != client.ClientName {
		t.Errorf("client_name after replace = %q; want %q", got, client.ClientName)
	}

	client.RedirectURIs = []string{"not a url"}
	err := demo.RegisterClient(context.Background(), http.DefaultClient, h.AdminURL, client)
	if err == nil {
		t.Fatalf("RegisterClient(redirect_uris %q) = nil; want an error", client.RedirectURIs)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("RegisterClient error %q contains the client secret", err)
	}
}

func testClient(id, scope string) demo.Client {
	return demo.Client{
		ClientID:                id,
		ClientSecret:            testSecret,
		RedirectURIs:            []string{testRedirectURI},
		GrantTypes:              []string{"authorization_code"},
		ResponseTypes:           []string{"code"},
		Scope:                   scope,
		TokenEndpointAuthMethod: "client_secret_basic",
	}
}

func registerClient(t *testing.T, h *hydratest.Hydra, c demo.Client) {
	t.Helper()
	if err := demo.RegisterClient(context.Background(), http.DefaultClient, h.AdminURL, c); err != nil {
		t.Fatalf("register client %q: %v", c.ClientID, err)
	}
}

func authURL(h *hydratest.Hydra, clientID, scope string, extra url.Values) string {
	query := url.Values{
		"response_type": {"code"},
		"client_id":     {clientID},
		"redirect_uri":  {testRedirectURI},
		"scope":         {scope},
		"state":         {"state-of-at-least-8-chars"},
	}
	for key, values := range extra {
		query[key] = values
	}
	return h.PublicURL + "/oauth2/auth?" + query.Encode()
}

// accessToken runs an authorization code flow whose consent puts
// grantedDetails into the access-token session, and returns the token.
func accessToken(t *testing.T, h *hydratest.Hydra, c demo.Client) string {
	t.Helper()

	consent := func(request map[string]any) map[string]any {
		return map[string]any{
			"grant_scope": request["requested_scope"],
			"session": map[string]any{
				"access_token": map[string]any{"authorization_details": grantedDetails},
			},
		}
	}
	callback := h.Authorize(t, hydratest.NewBrowser(), authURL(h, c.ClientID, c.Scope, nil), "alice", consent)
	code := callback.Query().Get("code")
	if code == "" {
		t.Fatalf("authorization ended with error %q: %s; want a code",
			callback.Query().Get("error"), callback.Query().Get("error_description"))
	}

	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirectURI}}
	req, _ := http.NewRequest(http.MethodPost, h.PublicURL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)

	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	status := doJSON(t, req, &tokens)
	if status != http.StatusOK || tokens.AccessToken == "" {
		t.Fatalf("POST /oauth2/token = %d with access_token set: %v; want 200 and a token", status, tokens.AccessToken != "")
	}
	return tokens.AccessToken
}

func introspect(t *testing.T, h *hydratest.Hydra, token string) map[string]any {
	t.Helper()

	form := url.Values{"token": {token}}
	req, _ := http.NewRequest(http.MethodPost, h.AdminURL+"/admin/oauth2/introspect", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	var result map[string]any
	if status := doJSON(t, req, &result); status != http.StatusOK {
		t.Fatalf("POST /admin/oauth2/introspect = %d; want 200", status)
	}
	return result
}

func clientName(t *testing.T, h *hydratest.Hydra, id string) string {
	t.Helper()

	req, _ := http.NewRequest(http.MethodGet, h.AdminURL+"/admin/clients/"+id, nil)
	var client struct {
		ClientName string `json:"client_name"`
	}
	if status := doJSON(t, req, &client); status != http.StatusOK {
		t.Fatalf("GET /admin/clients/%s = %d; want 200", id, status)
	}
	return client.ClientName
}

func doJSON(t *testing.T, req *http.Request, into any) int {
	t.Helper()

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("%s %s returned %s with a body that is not JSON: %v", req.Method, req.URL.Path, resp.Status, err)
	}
	return resp.StatusCode
}

// jwtClaims decodes the payload of a JWT without checking its signature,
// which is enough to see which claims Hydra put where.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()

	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d parts; want a JWT with 3 (STRATEGIES_ACCESS_TOKEN=jwt)", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode JWT payload: %v", err)
	}

	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("parse JWT payload: %v", err)
	}
	return claims
}
