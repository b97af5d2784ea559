package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// tokenResponse is the part of Hydra's token response the tests read.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
}

// exchange redeems the code in a callback URL at Hydra's token endpoint.
func (s *stack) exchange(t *testing.T, c testClient, r *authRequest, callback *url.URL) tokenResponse {
	t.Helper()
	q := callback.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("callback error %q: %s", e, q.Get("error_description"))
	}
	if got, want := q.Get("state"), r.params.Get("state"); got != want {
		t.Fatalf("callback state = %q; want %q", got, want)
	}

	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {q.Get("code")},
		"redirect_uri":  {callbackURL},
		"code_verifier": {r.verifier},
	}
	tok, status := s.tokenRequest(t, c, form)
	if status != http.StatusOK {
		t.Fatalf("token exchange: status %d, error %q", status, tok.Error)
	}
	return tok
}

func (s *stack) refresh(t *testing.T, c testClient, refreshToken string) (tokenResponse, int) {
	t.Helper()
	return s.tokenRequest(t, c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

func (s *stack) tokenRequest(t *testing.T, c testClient, form url.Values) (tokenResponse, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.hydra.PublicURL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok tokenResponse
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &tok); err != nil {
		t.Fatalf("token response: %v in %s", err, data)
	}
	return tok, resp.StatusCode
}

// introspection is Hydra's admin introspection of an access token.
type introspection struct {
	Active   bool           `json:"active"`
	Scope    string         `json:"scope"`
	Subject  string         `json:"sub"`
	ClientID string         `json:"client_id"`
	Ext      map[string]any `json:"ext"`
}

func (s *stack) introspect(t *testing.T, token string) introspection {
	t.Helper()
	resp, err := http.PostForm(s.hydra.AdminURL+"/admin/oauth2/introspect", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out introspection
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("introspection: %v in %s", err, data)
	}
	return out
}

// claimDetail is one granted detail as a resource server reads it.
type claimDetail struct {
	Type         string            `json:"type"`
	GrantID      string            `json:"grant_id"`
	Provider     string            `json:"provider"`
	Models       []string          `json:"models"`
	Capabilities []string          `json:"capabilities"`
	Limits       map[string]any    `json:"limits"`
	Expires      string            `json:"expires"`
	Extra        map[string]string `json:"-"`
}

// details decodes ext.authorization_details of an introspection.
func (in introspection) details(t *testing.T) map[string]claimDetail {
	t.Helper()
	raw, err := json.Marshal(in.Ext["authorization_details"])
	if err != nil {
		t.Fatal(err)
	}
	var list []claimDetail
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("authorization_details: %v in %s", err, raw)
	}
	byProvider := map[string]claimDetail{}
	for _, d := range list {
		if _, dup := byProvider[d.Provider]; dup {
			t.Fatalf("authorization_details has provider %q twice: %s", d.Provider, raw)
		}
		byProvider[d.Provider] = d
	}
	return byProvider
}
