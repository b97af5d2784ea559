package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	_ "modernc.org/sqlite"

	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/internal/hydratest"
	"github.com/aiconsent/aiconsent/server"
	"github.com/aiconsent/aiconsent/usageapi"
)

// callbackURL is the test client's redirect URI. Nothing listens there:
// the browser stops before following a redirect to it.
const callbackURL = "http://127.0.0.1:9/callback"

// gatewayKey is the usage API key of the test's resource server.
const gatewayKey = "test-gateway-key-0123456789abcdef"

// hookKey is the API key Hydra sends to the token hook in the tests.
const hookKey = "test-hook-key-0123456789"

// hookSetting is Hydra's OAUTH2_TOKEN_HOOK setting for the hook at url, as
// one JSON value: Hydra v2.3.0 ignores the split _AUTH_ variables.
func hookSetting(url string) string {
	v, _ := json.Marshal(map[string]any{
		"url":  url,
		"auth": map[string]any{"type": "api_key", "config": map[string]any{"in": "header", "name": "X-Hook-Key", "value": hookKey}},
	})
	return string(v)
}

const (
	testUser     = "alice"
	testPassword = "correct horse battery staple"
)

// stack is one Hydra, one aiconsent and one registered client.
type stack struct {
	hydra      *hydratest.Hydra
	adminProxy *proxy
	appURL     string
	dbPath     string
	server     *server.Server
	client     testClient
	subject    string
}

type testClient struct {
	ID     string
	Secret string
}

// clientScope is registered on the test client: Hydra's exact scope
// strategy lets a client request only the scopes on its record.
var clientScope = []string{
	"openid", "offline_access",
	"ai:google:gemini-2.0-flash:chat",
	"ai:openai:gpt-4o:chat",
	"ai:openai:*:chat",
	"ai:openai:gpt-4o",
}

func startStack(t *testing.T) *stack {
	t.Helper()
	return startStackEnv(t, nil)
}

// startStackEnv starts a stack whose Hydra has extra settings.
func startStackEnv(t *testing.T, hydraEnv map[string]string) *stack {
	t.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{appURL: "http://" + ln.Addr().String()}
	env := map[string]string{"OAUTH2_TOKEN_HOOK": hookSetting(s.appURL + server.HookPath)}
	maps.Copy(env, hydraEnv)
	s.hydra = hydratest.Start(t, hydratest.Options{
		LoginURL:   s.appURL + "/login",
		ConsentURL: s.appURL + "/consent",
		LogoutURL:  s.appURL + "/logout",
		Env:        env,
	})

	s.adminProxy = startProxy(t, s.hydra.AdminURL)
	adminURL, _ := url.Parse(s.adminProxy.URL)
	publicURL, _ := url.Parse(s.hydra.PublicURL)
	appURL, _ := url.Parse(s.appURL)
	s.dbPath = filepath.Join(t.TempDir(), "aiconsent.db")
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s.server, err = server.New(context.Background(), server.Config{
		HydraAdminURL:   adminURL,
		HydraPublicURL:  publicURL,
		PublicURL:       appURL,
		HookAPIKey:      hookKey,
		ResourceServers: []usageapi.ResourceServer{{Name: "gateway", Key: gatewayKey}},
		DatabasePath:    s.dbPath,
		Logger:          logger,
	})
	if err != nil {
		t.Fatal(err)
	}

	hs := &http.Server{Handler: s.server.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		s.server.Close()
	})

	s.subject = s.addUser(t, testUser, testPassword)
	s.client = s.createClient(t, map[string]any{"client_name": "Example App"})
	return s
}

// testWriter sends log lines to t.Log, so they show only for failing tests.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (s *stack) addUser(t *testing.T, username, password string) string {
	t.Helper()
	hash, err := account.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	u := &account.User{Subject: account.NewSubject(), Username: username, PasswordHash: hash}
	if err := s.server.DB().CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u.Subject
}

// createClient registers an OAuth 2.0 client; extra overrides the
// defaults of its record.
func (s *stack) createClient(t *testing.T, extra map[string]any) testClient {
	t.Helper()
	body := map[string]any{
		"client_secret":              "secret-" + rand.Text(),
		"redirect_uris":              []string{callbackURL},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"scope":                      strings.Join(clientScope, " "),
		"token_endpoint_auth_method": "client_secret_basic",
	}
	for k, v := range extra {
		body[k] = v
	}

	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	s.postJSON(t, s.hydra.AdminURL+"/admin/clients", body, &out)
	return testClient{ID: out.ClientID, Secret: out.ClientSecret}
}

func (s *stack) postJSON(t *testing.T, target string, body, out any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(target, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: status %d: %s", target, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("POST %s: %v in %s", target, err, data)
	}
}

// countGrants counts stored grants by reading the database directly, as
// an admin would, so the check does not depend on the store's own code.
func (s *stack) countGrants(t *testing.T) int {
	t.Helper()
	db, err := sql.Open("sqlite", s.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM grants").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// browser is a cookie-keeping HTTP client that follows redirects between
// the app and Hydra, and stops at a redirect anywhere else, such as the
// client's callback.
type browser struct {
	*http.Client
	t *testing.T
}

func newBrowser(t *testing.T, s *stack) *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	app, _ := url.Parse(s.appURL)
	hydra, _ := url.Parse(s.hydra.PublicURL)
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != app.Host && req.URL.Host != hydra.Host {
			return http.ErrUseLastResponse
		}
		if len(via) > 20 {
			return errors.New("too many redirects")
		}
		return nil
	}
	return &browser{Client: c, t: t}
}

// page is a response the browser stopped at: an HTML page of the app, or
// a redirect to the callback.
type page struct {
	status   int
	url      *url.URL
	callback *url.URL
	location string
	doc      *goquery.Document
	body     string
}

func (b *browser) open(target string) *page {
	b.t.Helper()
	resp, err := b.Get(target)
	if err != nil {
		b.t.Fatalf("GET %s: %v", target, err)
	}
	return b.read(resp)
}

func (b *browser) post(target string, form url.Values) *page {
	b.t.Helper()
	resp, err := b.PostForm(target, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", target, err)
	}
	return b.read(resp)
}

func (b *browser) read(resp *http.Response) *page {
	b.t.Helper()
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)

	p := &page{status: resp.StatusCode, url: resp.Request.URL, body: string(data), location: resp.Header.Get("Location")}
	if loc := resp.Header.Get("Location"); loc != "" && strings.HasPrefix(loc, callbackURL) {
		p.callback, _ = url.Parse(loc)
		return p
	}
	p.doc, _ = goquery.NewDocumentFromReader(bytes.NewReader(data))
	return p
}

// form returns what a browser would submit from the form matching sel:
// hidden, text, password and date inputs, and ticked checkboxes.
func (p *page) form(t *testing.T, sel string) (string, url.Values) {
	t.Helper()
	if p.doc == nil {
		t.Fatalf("no HTML page at %v (status %d)", p.url, p.status)
	}
	f := p.doc.Find(sel)
	if f.Length() == 0 {
		t.Fatalf("no form %q on %v (status %d): %s", sel, p.url, p.status, p.text())
	}

	values := url.Values{}
	f.Find("input[name]").Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		value, _ := in.Attr("value")
		switch typ, _ := in.Attr("type"); typ {
		case "checkbox", "radio":
			if _, checked := in.Attr("checked"); checked {
				values.Add(name, value)
			}
		default:
			values.Add(name, value)
		}
	})

	action, _ := f.Attr("action")
	return p.url.ResolveReference(&url.URL{Path: action}).String(), values
}

func (p *page) text() string {
	if p.doc == nil {
		return p.body
	}
	return strings.Join(strings.Fields(p.doc.Find("main").Text()), " ")
}

// authRequest is an authorization request with PKCE.
type authRequest struct {
	params   url.Values
	verifier string
}

func newAuthRequest(clientID, scope, details string) *authRequest {
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	params := url.Values{
		"client_id":             {clientID},
		"response_type":         {"code"},
		"redirect_uri":          {callbackURL},
		"scope":                 {scope},
		"state":                 {"state-" + rand.Text()},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	if details != "" {
		params.Set("authorization_details", details)
	}
	return &authRequest{params: params, verifier: verifier}
}

func (s *stack) authURL(r *authRequest) string {
	return s.hydra.PublicURL + "/oauth2/auth?" + r.params.Encode()
}
