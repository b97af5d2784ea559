package browser

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/internal/demo"
)

// backendTimeout bounds one request of a test to Hydra or to the usage API.
const backendTimeout = 10 * time.Second

// backend sends the requests that a test makes from Go, in the roles of
// the Example App's server and of a resource server, not of the browser.
var backend = &http.Client{Timeout: backendTimeout}

// tokenResponse is the part of a token endpoint response that the tests
// use. The tokens are secrets: failure messages never show them.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// String keeps the tokens out of failure messages that print a whole
// tokenResponse.
func (tok tokenResponse) String() string {
	return fmt.Sprintf("tokens (access token given %v, refresh token given %v, error %q)",
		tok.AccessToken != "", tok.RefreshToken != "", tok.Error)
}

// refreshExampleApp redeems the Example App's refresh token at Hydra's
// token endpoint, as the Example App's server would, and returns the new
// tokens. Hydra calls aiconsent's token hook on the way, which writes the
// grant's current models and limits into the new access token.
func (s *stack) refreshExampleApp(t *testing.T, refreshToken string) tokenResponse {
	t.Helper()

	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	req := formRequest(t, s.hydra.PublicURL+"/oauth2/token", form)
	// RFC 6749 section 2.3.1 has client_secret_basic form-encode the id
	// and secret before Base64.
	req.SetBasicAuth(url.QueryEscape(demo.ExampleClientID), url.QueryEscape(s.demoSecret))

	var tok tokenResponse
	if status := sendJSON(t, req, &tok); status != http.StatusOK {
		t.Fatalf("refresh the Example App's token: status %d, error %q; want 200", status, tok.Error)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("refresh the Example App's token: access token given %v, refresh token given %v; want both",
			tok.AccessToken != "", tok.RefreshToken != "")
	}
	return tok
}

// introspect returns what Hydra's admin API reports about an access token.
func (s *stack) introspect(t *testing.T, token string) introspection {
	t.Helper()

	req := formRequest(t, s.hydra.AdminURL+"/admin/oauth2/introspect", url.Values{"token": {token}})
	var in introspection
	if status := sendJSON(t, req, &in); status != http.StatusOK {
		t.Fatalf("introspect at Hydra: status %d; want 200", status)
	}
	return in
}

// waitInactive polls Hydra's introspection of token until Hydra reports
// it inactive, and fails the test after limit.
func (s *stack) waitInactive(t *testing.T, token string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for s.introspect(t, token).Active {
		if time.Now().After(deadline) {
			t.Fatalf("access token still active %s after the grant was revoked; want inactive", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// usageReply is the part of a usage API response that the tests use.
type usageReply struct {
	ReservationID string `json:"reservation_id"`
	Error         string `json:"error"`
	Cap           string `json:"cap"` // the exhausted cap of budget_exhausted
}

// reserve calls the usage API, as the resource server "gateway", to hold
// amount (US dollars, as a decimal string) for a GPT-4o chat call on the
// grant.
func (s *stack) reserve(t *testing.T, grantID, amount string) (int, usageReply) {
	t.Helper()
	return s.callUsageAPI(t, "/usage/v1/reservations", map[string]string{
		"grant_id": grantID, "provider": "openai", "model": "gpt-4o", "capability": "chat", "amount": amount,
	})
}

// spend reserves amount on the grant and settles the reservation at the
// same amount, as a resource server does after a call that cost it.
func (s *stack) spend(t *testing.T, grantID, amount string) {
	t.Helper()

	status, r := s.reserve(t, grantID, amount)
	if status != http.StatusCreated {
		t.Fatalf("reserve %s on grant %s: status %d, error %q; want 201", amount, grantID, status, r.Error)
	}
	path := "/usage/v1/reservations/" + url.PathEscape(r.ReservationID) + "/settle"
	if status, r := s.callUsageAPI(t, path, map[string]string{"amount": amount}); status != http.StatusOK {
		t.Fatalf("settle %s on grant %s: status %d, error %q; want 200", amount, grantID, status, r.Error)
	}
}

// release gives back the amount a reservation holds.
func (s *stack) release(t *testing.T, reservationID string) {
	t.Helper()
	path := "/usage/v1/reservations/" + url.PathEscape(reservationID) + "/release"
	if status, r := s.callUsageAPI(t, path, map[string]string{}); status != http.StatusOK {
		t.Fatalf("release reservation %s: status %d, error %q; want 200", reservationID, status, r.Error)
	}
}

// callUsageAPI posts body as JSON to aiconsent's usage API with the
// resource server's key and decodes the response.
func (s *stack) callUsageAPI(t *testing.T, path string, body any) (int, usageReply) {
	t.Helper()

	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatalf("encode the body of POST %s: %v", path, err)
	}
	req, err := http.NewRequest(http.MethodPost, s.appURL+path, strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("build POST %s: %v", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.usageKey)

	var r usageReply
	status := sendJSON(t, req, &r)
	return status, r
}

func formRequest(t *testing.T, target string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("build POST %s: %v", target, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// sendJSON sends req, decodes a JSON body into out and returns the
// status. Failure messages name the request but never show its body or
// the response body, which may contain tokens.
func sendJSON(t *testing.T, req *http.Request, out any) int {
	t.Helper()

	resp, err := backend.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s %s: read the response: %v", req.Method, req.URL.Path, err)
	}
	if len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: status %d, %s body is not JSON: %v", req.Method, req.URL.Path, resp.StatusCode,
				resp.Header.Get("Content-Type"), err)
		}
	}
	return resp.StatusCode
}
