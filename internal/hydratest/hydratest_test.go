package hydratest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/internal/demo"
	"github.com/aiconsent/aiconsent/internal/hydratest"
)

func TestStartStopRestart(t *testing.T) {
	h := hydratest.Start(t, hydratest.Options{})

	if got := statusOf(t, h.AdminURL+"/health/ready"); got != http.StatusOK {
		t.Fatalf("GET /health/ready = %d; want 200", got)
	}
	if got := issuerOf(t, h.PublicURL); got != h.PublicURL {
		t.Errorf("discovery issuer = %q; want PublicURL %q", got, h.PublicURL)
	}

	createClient(t, h, "self-test")
	if got := statusOf(t, h.AdminURL+"/admin/clients/self-test"); got != http.StatusOK {
		t.Errorf("GET /admin/clients/self-test after create = %d; want 200", got)
	}

	h.Stop()
	if _, err := http.Get(h.AdminURL + "/health/ready"); err == nil {
		t.Errorf("GET %s/health/ready after Stop succeeded; want a connection error", h.AdminURL)
	}
	h.Stop() // a second Stop must return at once

	h.Restart(t)
	if got := statusOf(t, h.AdminURL+"/health/ready"); got != http.StatusOK {
		t.Fatalf("GET /health/ready after Restart = %d; want 200", got)
	}
	if got := statusOf(t, h.AdminURL+"/admin/clients/self-test"); got != http.StatusNotFound {
		t.Errorf("GET /admin/clients/self-test after Restart = %d; want 404 (memory database)", got)
	}
}

// TestStartParallel starts two Hydras that run at the same time and checks
// that each has its own ports and its own database.
func TestStartParallel(t *testing.T) {
	var (
		mu      sync.Mutex
		admins  []string
		started sync.WaitGroup
	)
	started.Add(2)

	t.Run("group", func(t *testing.T) {
		for _, name := range []string{"first", "second"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var once sync.Once
				defer once.Do(started.Done)

				h := hydratest.Start(t, hydratest.Options{})
				mu.Lock()
				admins = append(admins, h.AdminURL)
				mu.Unlock()

				// The same client id in both succeeds only with two databases.
				createClient(t, h, "same-id")
				once.Do(started.Done)

				if !waitTimeout(&started, 2*time.Minute) {
					t.Fatal("the other Hydra did not start within 2 minutes")
				}
				if got := statusOf(t, h.AdminURL+"/health/ready"); got != http.StatusOK {
					t.Errorf("GET %s/health/ready while both run = %d; want 200", h.AdminURL, got)
				}
			})
		}
	})

	if len(admins) != 2 || admins[0] == admins[1] {
		t.Errorf("admin URLs = %q; want two different URLs", admins)
	}
}

func TestOptionsURLs(t *testing.T) {
	opt := hydratest.Options{
		LoginURL:   "http://127.0.0.1:9/custom-login",
		ConsentURL: "http://127.0.0.1:9/custom-consent",
	}
	h := hydratest.Start(t, opt)
	createClient(t, h, "urls")

	query := url.Values{
		"response_type": {"code"},
		"client_id":     {"urls"},
		"redirect_uri":  {"http://127.0.0.1:9/callback"},
		"scope":         {"openid"},
		"state":         {"state-of-at-least-8-chars"},
	}
	resp, err := hydratest.NewBrowser().Get(h.PublicURL + "/oauth2/auth?" + query.Encode())
	if err != nil {
		t.Fatalf("GET /oauth2/auth: %v", err)
	}
	resp.Body.Close()

	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("GET /oauth2/auth returned %s without a redirect; want a redirect to the login URL", resp.Status)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != opt.LoginURL {
		t.Errorf("login redirect = %q; want %q", got, opt.LoginURL)
	}
}

func TestAuthorize(t *testing.T) {
	h := hydratest.Start(t, hydratest.Options{})
	createClient(t, h, "flow")

	var seenScope any
	consent := func(request map[string]any) map[string]any {
		seenScope = request["requested_scope"]
		return map[string]any{"grant_scope": request["requested_scope"]}
	}
	query := url.Values{
		"response_type": {"code"},
		"client_id":     {"flow"},
		"redirect_uri":  {"http://127.0.0.1:9/callback"},
		"scope":         {"openid"},
		"state":         {"state-of-at-least-8-chars"},
	}
	got := h.Authorize(t, hydratest.NewBrowser(), h.PublicURL+"/oauth2/auth?"+query.Encode(), "alice", consent)

	if want := "http://127.0.0.1:9/callback"; got.Scheme+"://"+got.Host+got.Path != want {
		t.Errorf("Authorize returned a redirect to %s; want %s", got.Scheme+"://"+got.Host+got.Path, want)
	}
	if got.Query().Get("code") == "" {
		t.Errorf("Authorize redirect has error=%q %q; want a code",
			got.Query().Get("error"), got.Query().Get("error_description"))
	}
	if s, _ := json.Marshal(seenScope); string(s) != `["openid"]` {
		t.Errorf("consent request requested_scope = %s; want [\"openid\"]", s)
	}
}

func TestBinaryEnv(t *testing.T) {
	want := hydratest.Binary(t)
	t.Setenv(hydratest.BinaryEnv, want)

	if got := hydratest.Binary(t); got != want {
		t.Errorf("Binary() with %s=%q = %q; want %q", hydratest.BinaryEnv, want, got, want)
	}
}

func createClient(t *testing.T, h *hydratest.Hydra, id string) {
	t.Helper()

	client := demo.Client{
		ClientID:                id,
		ClientSecret:            "secret-of-" + id,
		RedirectURIs:            []string{"http://127.0.0.1:9/callback"},
		GrantTypes:              []string{"authorization_code"},
		ResponseTypes:           []string{"code"},
		Scope:                   "openid",
		TokenEndpointAuthMethod: "client_secret_basic",
	}
	req := mustJSONRequest(t, http.MethodPost, h.AdminURL+"/admin/clients", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /admin/clients: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /admin/clients with client_id %q = %s; want 201 Created", id, resp.Status)
	}
}

func mustJSONRequest(t *testing.T, method, target string, body any) *http.Request {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, target, strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

func statusOf(t *testing.T, target string) int {
	t.Helper()
	resp, err := http.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func issuerOf(t *testing.T, publicURL string) string {
	t.Helper()
	resp, err := http.Get(publicURL + "/.well-known/openid-configuration")
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
	return doc.Issuer
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}
