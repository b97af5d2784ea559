package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aiconsent/aiconsent/internal/demo"
	"github.com/aiconsent/aiconsent/internal/hydratest"
)

// startWithHydra runs the app against a real Hydra, with its client
// registered as make demo does. A non-empty appSecret gives the app another
// client secret than the registered one.
func startWithHydra(t *testing.T, appSecret string) (*hydratest.Hydra, *httptest.Server) {
	t.Helper()
	h := hydratest.Start(t, hydratest.Options{})

	srv := httptest.NewUnstartedServer(nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	ports := demo.Ports{DemoApp: port}
	secret := "a-client-secret-with-url-unsafe-chars:+/%"
	if err := demo.RegisterClient(context.Background(), http.DefaultClient, h.AdminURL, demo.ExampleClient(ports, secret)); err != nil {
		t.Fatalf("register the example client: %v", err)
	}

	cfg, err := readConfig(mapEnv{
		"DEMOAPP_URL":              ports.DemoAppURL(),
		"DEMOAPP_HYDRA_PUBLIC_URL": h.PublicURL,
		"DEMOAPP_HYDRA_ADMIN_URL":  h.AdminURL,
		"DEMOAPP_CLIENT_SECRET":    valueOr(appSecret, secret),
	}.get)
	if err != nil {
		t.Fatalf("readConfig: %v", err)
	}
	srv.Config.Handler = newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))).routes()
	srv.Start()
	t.Cleanup(srv.Close)
	return h, srv
}

func TestFlowWithHydra(t *testing.T) {
	h, app := startWithHydra(t, "")
	browser := hydratest.NewBrowser()

	var requestURL string
	consent := func(request map[string]any) map[string]any {
		requestURL, _ = request["request_url"].(string)
		var details any
		_ = json.Unmarshal([]byte(authorizationDetails), &details)
		return map[string]any{
			"grant_scope": request["requested_scope"],
			"session":     map[string]any{"access_token": map[string]any{"authorization_details": details}},
		}
	}
	callback := h.Authorize(t, browser, app.URL+"/connect", "alice", consent)

	t.Run("consent request carries authorization_details", func(t *testing.T) {
		u, err := url.Parse(requestURL)
		if err != nil {
			t.Fatalf("parse request_url %q: %v", requestURL, err)
		}
		if got := u.Query().Get("authorization_details"); got != authorizationDetails {
			t.Errorf("request_url authorization_details = %q; want %q", got, authorizationDetails)
		}
	})

	resp, err := browser.Get(callback.String())
	if err != nil {
		t.Fatalf("GET /callback: %v", err)
	}
	body := bodyOf(t, resp)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /callback status = %d; want 200; body:\n%s", resp.StatusCode, body)
	}

	for _, want := range []string{
		`data-testid="active">active<`,
		`&#34;access_token&#34;`,
		`&#34;refresh_token&#34;`,
		`&#34;provider&#34;: &#34;anthropic&#34;`,
		"ai:google:gemini-2.0-flash:chat",
		h.PublicURL + "/oauth2/sessions/logout?id_token_hint=",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("callback page does not contain %q; page:\n%s", want, body)
		}
	}

	t.Run("callback is single-use", func(t *testing.T) {
		resp, err := browser.Get(callback.String())
		if err != nil {
			t.Fatalf("GET /callback again: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("second GET /callback status = %d; want 400 (flow cookie cleared)", resp.StatusCode)
		}
	})
}

func TestFlowWithHydraWrongSecret(t *testing.T) {
	h, app := startWithHydra(t, "not-the-registered-secret")
	browser := hydratest.NewBrowser()
	callback := h.Authorize(t, browser, app.URL+"/connect", "alice", nil)

	resp, err := browser.Get(callback.String())
	if err != nil {
		t.Fatalf("GET /callback: %v", err)
	}
	body := bodyOf(t, resp)
	resp.Body.Close()

	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("GET /callback with a wrong client secret status = %d; want 502", resp.StatusCode)
	}
	if !strings.Contains(body, `data-testid="error">invalid_client<`) {
		t.Errorf("callback page does not show Hydra's invalid_client error; page:\n%s", body)
	}
}
