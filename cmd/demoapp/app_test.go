package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func testConfig(t *testing.T) config {
	t.Helper()
	cfg, err := readConfig(mapEnv{"DEMOAPP_CLIENT_SECRET": "test-secret"}.get)
	if err != nil {
		t.Fatalf("readConfig: %v", err)
	}
	return cfg
}

type mapEnv map[string]string

func (m mapEnv) get(key string) string { return m[key] }

func newTestApp(t *testing.T, cfg config) http.Handler {
	t.Helper()
	return newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))).routes()
}

func get(t *testing.T, h http.Handler, target string, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func bodyOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(data)
}

func TestConnectRedirect(t *testing.T) {
	cfg := testConfig(t)
	resp := get(t, newTestApp(t, cfg), "/connect")

	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /connect status = %d; want %d", resp.StatusCode, http.StatusSeeOther)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("GET /connect has no Location: %v", err)
	}
	if got, want := loc.Scheme+"://"+loc.Host+loc.Path, "http://127.0.0.1:4444/oauth2/auth"; got != want {
		t.Errorf("GET /connect redirects to %q; want %q", got, want)
	}

	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != flowCookie {
		t.Fatalf("GET /connect cookies = %v; want one %q cookie", cookies, flowCookie)
	}
	f, ok := parseFlowCookie(cookies[0].Value)
	if !ok {
		t.Fatalf("flow cookie value %q does not parse", cookies[0].Value)
	}

	query := loc.Query()
	wantParams := map[string]string{
		"response_type":         "code",
		"client_id":             "example-app",
		"redirect_uri":          "http://127.0.0.1:5555/callback",
		"scope":                 "openid offline_access ai:google:gemini-2.0-flash:chat",
		"state":                 f.state,
		"code_challenge":        codeChallenge(f.verifier),
		"code_challenge_method": "S256",
	}
	for key, want := range wantParams {
		if got := query.Get(key); got != want {
			t.Errorf("authorization URL parameter %s = %q; want %q", key, got, want)
		}
	}
	if query.Has("code_verifier") || strings.Contains(loc.RawQuery, f.verifier) {
		t.Errorf("authorization URL contains the PKCE verifier; only its challenge may leave the browser's cookie")
	}
}

func TestConnectAuthorizationDetails(t *testing.T) {
	resp := get(t, newTestApp(t, testConfig(t)), "/connect")
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("GET /connect has no Location: %v", err)
	}

	var details []map[string]any
	raw := loc.Query().Get("authorization_details")
	if err := json.Unmarshal([]byte(raw), &details); err != nil {
		t.Fatalf("authorization_details %q is not a JSON array: %v", raw, err)
	}

	if len(details) != 2 {
		t.Fatalf("authorization_details has %d entries; want 2", len(details))
	}
	for i, provider := range []string{"openai", "anthropic"} {
		if got := details[i]["type"]; got != "ai_model_access" {
			t.Errorf("authorization_details[%d].type = %v; want ai_model_access", i, got)
		}
		if got := details[i]["provider"]; got != provider {
			t.Errorf("authorization_details[%d].provider = %v; want %q", i, got, provider)
		}
	}
	if got, want := details[0]["models"], []any{"gpt-4o", "gpt-4o-mini"}; !reflect.DeepEqual(got, want) {
		t.Errorf("authorization_details[0].models = %v; want %v", got, want)
	}
	if _, ok := details[1]["models"]; ok {
		t.Errorf("authorization_details[1].models = %v; want no models (any Claude model)", details[1]["models"])
	}
	if got, want := details[1]["limits"], map[string]any{"daily_spend": "1.00", "monthly_spend": "10.00"}; !reflect.DeepEqual(got, want) {
		t.Errorf("authorization_details[1].limits = %v; want %v", got, want)
	}
}

func TestConnectCookieAttributes(t *testing.T) {
	tests := []struct {
		name       string
		selfURL    string
		wantSecure bool
	}{
		{"plain HTTP", "http://127.0.0.1:5555", false},
		{"HTTPS", "https://app.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := readConfig(mapEnv{"DEMOAPP_CLIENT_SECRET": "s", "DEMOAPP_URL": tt.selfURL}.get)
			if err != nil {
				t.Fatalf("readConfig: %v", err)
			}
			cookies := get(t, newTestApp(t, cfg), "/connect").Cookies()
			if len(cookies) != 1 {
				t.Fatalf("GET /connect set %d cookies; want 1", len(cookies))
			}
			c := cookies[0]

			if !c.HttpOnly {
				t.Errorf("flow cookie HttpOnly = false; want true")
			}
			if c.SameSite != http.SameSiteLaxMode {
				t.Errorf("flow cookie SameSite = %v; want Lax", c.SameSite)
			}
			if c.Secure != tt.wantSecure {
				t.Errorf("flow cookie Secure with DEMOAPP_URL=%q = %v; want %v", tt.selfURL, c.Secure, tt.wantSecure)
			}
			if c.MaxAge <= 0 {
				t.Errorf("flow cookie MaxAge = %d; want a positive lifetime", c.MaxAge)
			}
		})
	}
}

func TestCallbackRejects(t *testing.T) {
	f := newFlow()
	validCookie := &http.Cookie{Name: flowCookie, Value: f.cookieValue()}

	tests := []struct {
		name   string
		query  url.Values
		cookie *http.Cookie
		want   string
	}{
		{"no cookie", url.Values{"state": {f.state}, "code": {"c"}}, nil, "no sign-in in progress"},
		{"garbled cookie", url.Values{"state": {f.state}, "code": {"c"}}, &http.Cookie{Name: flowCookie, Value: "x.y"}, "no sign-in in progress"},
		{"missing state", url.Values{"code": {"c"}}, validCookie, "state returned by Hydra does not match"},
		{"other state", url.Values{"state": {newFlow().state}, "code": {"c"}}, validCookie, "state returned by Hydra does not match"},
		{"neither code nor error", url.Values{"state": {f.state}}, validCookie, "neither a code nor an error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cookies []*http.Cookie
			if tt.cookie != nil {
				cookies = append(cookies, tt.cookie)
			}
			resp := get(t, newTestApp(t, testConfig(t)), "/callback?"+tt.query.Encode(), cookies...)
			body := bodyOf(t, resp)

			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("GET /callback?%s status = %d; want 400", tt.query.Encode(), resp.StatusCode)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("GET /callback?%s body does not contain %q:\n%s", tt.query.Encode(), tt.want, body)
			}
		})
	}
}

func TestCallbackShowsErrorEscaped(t *testing.T) {
	f := newFlow()
	query := url.Values{
		"state":             {f.state},
		"error":             {"access_denied"},
		"error_description": {`The resource owner denied the request <script>alert(1)</script>`},
	}
	resp := get(t, newTestApp(t, testConfig(t)), "/callback?"+query.Encode(), &http.Cookie{Name: flowCookie, Value: f.cookieValue()})
	body := bodyOf(t, resp)

	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /callback with error status = %d; want 200", resp.StatusCode)
	}
	for _, want := range []string{"access_denied", "The resource owner denied the request &lt;script&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /callback with error body does not contain %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Errorf("GET /callback body contains an unescaped <script> from error_description")
	}
	if !clearsFlowCookie(resp) {
		t.Errorf("GET /callback with error does not clear the flow cookie; want it single-use")
	}
}

func clearsFlowCookie(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if c.Name == flowCookie && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

func TestSecurityHeaders(t *testing.T) {
	want := map[string]string{
		"Content-Security-Policy": contentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	}
	h := newTestApp(t, testConfig(t))

	for _, path := range []string{"/", "/connect", "/callback", "/logo.svg", "/no-such-page"} {
		resp := get(t, h, path)
		for name, value := range want {
			if got := resp.Header.Get(name); got != value {
				t.Errorf("GET %s header %s = %q; want %q", path, name, got, value)
			}
		}
	}
	if !strings.Contains(contentSecurityPolicy, "default-src 'self'") {
		t.Errorf("Content-Security-Policy %q lacks default-src 'self'", contentSecurityPolicy)
	}
}

func TestStaticFiles(t *testing.T) {
	tests := []struct {
		path        string
		contentType string
		contains    string
	}{
		{"/logo.svg", "image/svg+xml", "<svg"},
		{"/style.css", "text/css; charset=utf-8", "body"},
		{"/", "text/html; charset=utf-8", `href="/connect"`},
	}
	h := newTestApp(t, testConfig(t))

	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := get(t, h, tt.path)
			body := bodyOf(t, resp)

			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s status = %d; want 200", tt.path, resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("GET %s Content-Type = %q; want %q", tt.path, got, tt.contentType)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("GET %s body does not contain %q", tt.path, tt.contains)
			}
		})
	}
}

func TestReadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     mapEnv
		wantErr string // substring; "" means success
		check   func(t *testing.T, cfg config)
	}{
		{
			name: "defaults",
			env:  mapEnv{"DEMOAPP_CLIENT_SECRET": "s"},
			check: func(t *testing.T, cfg config) {
				got := []string{cfg.addr, cfg.selfURL.String(), cfg.publicURL.String(), cfg.backchannelURL.String(), cfg.adminURL.String(), cfg.clientID}
				want := []string{"127.0.0.1:5555", "http://127.0.0.1:5555", "http://127.0.0.1:4444", "http://127.0.0.1:4444", "http://127.0.0.1:4445", "example-app"}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("readConfig defaults = %q; want %q", got, want)
				}
			},
		},
		{
			name: "backchannel follows public URL",
			env:  mapEnv{"DEMOAPP_CLIENT_SECRET": "s", "DEMOAPP_HYDRA_PUBLIC_URL": "http://127.0.0.1:14444/"},
			check: func(t *testing.T, cfg config) {
				if got := cfg.backchannelURL.String(); got != "http://127.0.0.1:14444" {
					t.Errorf("backchannel URL = %q; want the public URL without its trailing slash", got)
				}
			},
		},
		{
			name: "backchannel set",
			env:  mapEnv{"DEMOAPP_CLIENT_SECRET": "s", "DEMOAPP_HYDRA_BACKCHANNEL_URL": "http://hydra:4444"},
			check: func(t *testing.T, cfg config) {
				if got := cfg.backchannelURL.String(); got != "http://hydra:4444" {
					t.Errorf("backchannel URL = %q; want http://hydra:4444", got)
				}
				if got := cfg.publicURL.String(); got != "http://127.0.0.1:4444" {
					t.Errorf("public URL = %q; want http://127.0.0.1:4444", got)
				}
			},
		},
		{name: "missing secret", env: mapEnv{}, wantErr: "DEMOAPP_CLIENT_SECRET is not set"},
		{name: "relative URL", env: mapEnv{"DEMOAPP_CLIENT_SECRET": "s", "DEMOAPP_URL": "/app"}, wantErr: `DEMOAPP_URL="/app"`},
		{name: "other scheme", env: mapEnv{"DEMOAPP_CLIENT_SECRET": "s", "DEMOAPP_HYDRA_ADMIN_URL": "ftp://x"}, wantErr: `DEMOAPP_HYDRA_ADMIN_URL="ftp://x"`},
		{name: "URL with query", env: mapEnv{"DEMOAPP_CLIENT_SECRET": "s", "DEMOAPP_HYDRA_PUBLIC_URL": "http://h/?a=b"}, wantErr: "DEMOAPP_HYDRA_PUBLIC_URL"},
		{name: "bad address", env: mapEnv{"DEMOAPP_CLIENT_SECRET": "s", "DEMOAPP_ADDR": "5555"}, wantErr: `DEMOAPP_ADDR="5555"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := readConfig(tt.env.get)

			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readConfig(%v) error = %v; want one containing %q", tt.env, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readConfig(%v) = %v; want no error", tt.env, err)
			}
			tt.check(t, cfg)
		})
	}
}
