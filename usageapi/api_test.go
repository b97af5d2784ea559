package usageapi_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/money"
	"github.com/aiconsent/aiconsent/sqlite"
	"github.com/aiconsent/aiconsent/usage"
	"github.com/aiconsent/aiconsent/usageapi"
)

// gatewayKey is the key of the resource server "gateway" in every test.
const gatewayKey = "gw-key-0123456789abcdefghijklmnop"

// api is a usage API on a real SQLite database, served by httptest.
type api struct {
	t       *testing.T
	db      *sqlite.DB
	dbPath  string
	url     string
	handler *usageapi.Handler
}

// newAPI starts the API with hydraAdmin as Hydra's admin URL; an empty
// one points at a port where nothing listens.
func newAPI(t *testing.T, hydraAdmin string) *api {
	t.Helper()
	if hydraAdmin == "" {
		hydraAdmin = closedPortURL(t)
	}
	adminURL, err := url.Parse(hydraAdmin)
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "usage.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	h := &usageapi.Handler{
		Store:                db.UsageStore(usage.Calendar{}),
		Catalog:              access.DefaultCatalog(),
		ResourceServers:      []usageapi.ResourceServer{{Name: "gateway", Key: gatewayKey}},
		HydraAdminURL:        adminURL,
		AuthorizationServers: []string{"http://127.0.0.1:4444"},
		Log:                  slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	}
	e := echo.New()
	h.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	return &api{t: t, db: db, dbPath: path, url: srv.URL, handler: h}
}

// closedPortURL returns the URL of a port on 127.0.0.1 that was free a
// moment ago, where nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// testWriter sends log lines to t.Log, so they show only for failing tests.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func amountPtr(a money.Amount) *money.Amount { return &a }

func count(n int64) *int64 { return &n }

// addGrant stores an active grant of openai gpt-4o-mini and gpt-4o for
// chat, with the given limits, that expires at expires.
func (a *api) addGrant(id, subject, clientID string, limits access.Limits, expires time.Time) *access.Grant {
	a.t.Helper()
	limits.Currency = "USD"
	g := &access.Grant{
		ID:               id,
		Subject:          subject,
		ClientID:         clientID,
		ConsentChallenge: "challenge-" + id,
		Status:           access.StatusActive,
		Details: []access.Detail{{
			Type:         access.DetailType,
			Provider:     "openai",
			Models:       []string{"gpt-4o-mini", "gpt-4o"},
			Capabilities: []string{"chat"},
			Limits:       limits,
			Expires:      expires,
		}},
		Scopes: []string{"ai:openai:gpt-4o-mini:chat"},
	}
	u := &account.User{Subject: subject, Username: "user-" + subject, PasswordHash: "unused"}
	if err := a.db.CreateUser(context.Background(), u); err != nil && !errors.Is(err, account.ErrUserExists) {
		a.t.Fatalf("CreateUser(%q) error = %v", subject, err)
	}
	if err := a.db.CreateGrant(context.Background(), g); err != nil {
		a.t.Fatalf("CreateGrant(%q) error = %v", id, err)
	}
	return g
}

// exec runs SQL on the database file through its own connection, as an
// admin or another engineer's code would change a grant.
func (a *api) exec(query string, args ...any) {
	a.t.Helper()
	conn, err := sql.Open("sqlite", a.dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		a.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(query, args...); err != nil {
		a.t.Fatalf("%s: %v", query, err)
	}
}

// reply is a response with its body decoded as a JSON object.
type reply struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (r reply) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// do sends a request with the gateway's key, or with the credentials that
// auth sets when auth is not nil.
func (a *api) do(method, path, contentType, body string, auth func(*http.Request)) reply {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth == nil {
		req.Header.Set("Authorization", "Bearer "+gatewayKey)
	} else {
		auth(req)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)

	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if err := json.Unmarshal(data, &r.body); err != nil {
		a.t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, data, err)
	}
	return r
}

func (a *api) postJSON(path, body string) reply {
	a.t.Helper()
	return a.do(http.MethodPost, path, "application/json", body, nil)
}

// reserve reserves and fails the test unless the response is 201.
func (a *api) reserve(body string) string {
	a.t.Helper()
	r := a.postJSON(usageapi.PathReservations, body)
	if r.status != http.StatusCreated {
		a.t.Fatalf("POST reservations %s = %d %s; want 201", body, r.status, r.raw)
	}
	return r.str("reservation_id")
}

func settlePath(id string) string  { return "/usage/v1/reservations/" + id + "/settle" }
func releasePath(id string) string { return "/usage/v1/reservations/" + id + "/release" }

// wantError checks the status and the error member of a reply.
func wantError(t *testing.T, call string, r reply, status int, reason string) {
	t.Helper()
	if r.status != status || r.str("error") != reason {
		t.Errorf("%s = %d %s; want %d with error %q", call, r.status, r.raw, status, reason)
	}
	if r.str("error_description") == "" {
		t.Errorf("%s body %s has no error_description", call, r.raw)
	}
}

var future = time.Now().Add(365 * 24 * time.Hour)

func TestReserveSettleReleaseReport(t *testing.T) {
	a := newAPI(t, "")
	a.addGrant("gr_flow", "alice", "app", access.Limits{DailySpend: amountPtr(money.Scale)}, future)

	r := a.postJSON(usageapi.PathReservations,
		`{"grant_id":"gr_flow","provider":"openai","model":"gpt-4o-mini","capability":"chat","input_tokens":1000,"max_tokens":500}`)
	if r.status != http.StatusCreated {
		t.Fatalf("reserve = %d %s; want 201", r.status, r.raw)
	}
	if r.str("amount") != "0.00045" || r.body["tokens"] != 1500.0 || r.str("currency") != "USD" {
		t.Errorf("reserve body = %s; want amount \"0.00045\", tokens 1500, currency USD", r.raw)
	}
	daily, _ := r.body["remaining"].(map[string]any)["daily"].(map[string]any)
	if daily["cap"] != "1.00" || daily["remaining"] != "0.99955" {
		t.Errorf("reserve remaining = %v; want daily cap \"1.00\" with \"0.99955\" left", r.body["remaining"])
	}
	id := r.str("reservation_id")

	s := a.postJSON(settlePath(id), `{"input_tokens":800,"output_tokens":100}`)
	if s.status != http.StatusOK || s.str("cost") != "0.00018" || s.str("held") != "0.00045" || s.str("above_hold") != "0.00" || s.body["late"] != false {
		t.Errorf("settle = %d %s; want 200 with cost \"0.00018\", held \"0.00045\", above_hold \"0.00\", late false", s.status, s.raw)
	}

	released := a.reserve(`{"grant_id":"gr_flow","provider":"openai","model":"gpt-4o","capability":"chat","amount":"0.05"}`)
	rel := a.do(http.MethodPost, releasePath(released), "", "", nil)
	if rel.status != http.StatusOK || rel.body["released"] != true {
		t.Errorf("release = %d %s; want 200 with released true", rel.status, rel.raw)
	}

	report := a.do(http.MethodGet, "/usage/v1/grants/gr_flow", "", "", nil)
	if report.status != http.StatusOK || report.str("grant_status") != "active" {
		t.Fatalf("report = %d %s; want 200 with grant_status active", report.status, report.raw)
	}
	detail := report.body["details"].([]any)[0].(map[string]any)
	periods := detail["periods"].(map[string]any)
	if d := periods["daily"].(map[string]any); d["spent"] != "0.00018" || d["held"] != "0.00" || d["remaining"] != "0.99982" {
		t.Errorf("report daily = %v; want spent \"0.00018\", held \"0.00\", remaining \"0.99982\"", d)
	}
	if tot := periods["total"].(map[string]any); tot["spent"] != "0.00018" || tot["cap"] != nil || tot["resets_at"] != nil {
		t.Errorf("report total = %v; want spent \"0.00018\" with no cap and no reset", tot)
	}
	if rpm := detail["rate_limits"].(map[string]any)["requests_per_minute"].(map[string]any); rpm["used"] != 2.0 || rpm["limit"] != nil {
		t.Errorf("report requests_per_minute = %v; want used 2 and no limit", rpm)
	}
}

func TestRefusals(t *testing.T) {
	a := newAPI(t, "")
	a.addGrant("gr_ok", "alice", "app-ok", access.Limits{MonthlySpend: amountPtr(money.Scale / 100), RequestsPerMinute: count(3)}, future)
	a.addGrant("gr_paused", "alice", "app-paused", access.Limits{}, future)
	a.addGrant("gr_revoked", "alice", "app-revoked", access.Limits{}, future)
	a.addGrant("gr_expired", "alice", "app-expired", access.Limits{}, time.Now().Add(-time.Hour))
	a.exec(`UPDATE grants SET status = 'paused' WHERE id = 'gr_paused'`)
	a.exec(`UPDATE grants SET status = 'revoked' WHERE id = 'gr_revoked'`)

	settled := a.reserve(`{"grant_id":"gr_ok","provider":"openai","model":"gpt-4o-mini","capability":"chat","amount":"0.001"}`)
	if r := a.postJSON(settlePath(settled), `{"amount":"0.001"}`); r.status != http.StatusOK {
		t.Fatalf("settle = %d %s; want 200", r.status, r.raw)
	}

	const body = `{"grant_id":%q,"provider":"openai","model":%q,"capability":%q,"amount":%q}`
	tests := []struct {
		name     string
		path     string
		body     string
		status   int
		reason   string
		mentions string
		check    func(t *testing.T, r reply)
	}{
		{name: "model not granted", body: fmt.Sprintf(body, "gr_ok", "o3-mini", "chat", "0.001"), status: 403, reason: "not_granted", mentions: `model "o3-mini"`},
		{name: "capability not granted", body: fmt.Sprintf(body, "gr_ok", "gpt-4o", "vision", "0.001"), status: 403, reason: "not_granted", mentions: `capability "vision"`},
		{name: "unknown model priced by tokens", body: `{"grant_id":"gr_ok","provider":"openai","model":"gpt-9","capability":"chat","input_tokens":10,"max_tokens":8}`, status: 403, reason: "not_granted", mentions: `model "gpt-9"`},
		{name: "unknown provider priced by tokens", body: `{"grant_id":"gr_ok","provider":"mistral","model":"x","capability":"chat","input_tokens":10,"max_tokens":8}`, status: 403, reason: "not_granted", mentions: `provider "mistral"`},
		{
			name: "budget exhausted", body: fmt.Sprintf(body, "gr_ok", "gpt-4o", "chat", "0.0095"), status: 402, reason: "budget_exhausted", mentions: "monthly spend cap",
			check: func(t *testing.T, r reply) {
				if r.str("cap") != "monthly" || r.str("resets_at") == "" {
					t.Errorf("budget_exhausted body = %s; want cap \"monthly\" and resets_at", r.raw)
				}
			},
		},
		{name: "paused", body: fmt.Sprintf(body, "gr_paused", "gpt-4o", "chat", "0.001"), status: 403, reason: "grant_paused"},
		{name: "revoked", body: fmt.Sprintf(body, "gr_revoked", "gpt-4o", "chat", "0.001"), status: 403, reason: "grant_revoked"},
		{name: "expired", body: fmt.Sprintf(body, "gr_expired", "gpt-4o", "chat", "0.001"), status: 403, reason: "grant_expired"},
		{name: "grant not found", body: fmt.Sprintf(body, "gr_nobody", "gpt-4o", "chat", "0.001"), status: 404, reason: "grant_not_found"},
		{name: "settle unknown reservation", path: settlePath("rs_nobody"), body: `{"amount":"0.001"}`, status: 404, reason: "reservation_not_found"},
		{name: "release unknown reservation", path: releasePath("rs_nobody"), body: `{}`, status: 404, reason: "reservation_not_found"},
		{name: "settle again with other usage", path: settlePath(settled), body: `{"amount":"0.002"}`, status: 409, reason: "already_settled"},
		{name: "release settled", path: releasePath(settled), body: `{}`, status: 409, reason: "already_settled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = usageapi.PathReservations
			}
			r := a.postJSON(path, tt.body)
			wantError(t, "POST "+path+" "+tt.body, r, tt.status, tt.reason)
			if !strings.Contains(r.str("error_description"), tt.mentions) {
				t.Errorf("error_description = %q; want it to mention %q", r.str("error_description"), tt.mentions)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}

	t.Run("rate limited", func(t *testing.T) {
		// Four reservations reach the limit of 3 per minute even when a
		// minute boundary passes after the first.
		var r reply
		for range 4 {
			if r = a.postJSON(usageapi.PathReservations, fmt.Sprintf(body, "gr_ok", "gpt-4o", "chat", "0.0001")); r.status != http.StatusCreated {
				break
			}
		}
		wantError(t, "reservations beyond requests_per_minute 3", r, 429, "rate_limited")
		retry, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || retry < 1 || retry > 60 || r.str("limit") != "requests_per_minute" {
			t.Errorf("rate_limited Retry-After = %q, body %s; want 1 to 60 seconds and limit requests_per_minute", r.header.Get("Retry-After"), r.raw)
		}
	})
}

func TestAuthentication(t *testing.T) {
	a := newAPI(t, "")
	a.addGrant("gr_auth", "alice", "app", access.Limits{}, future)

	tests := []struct {
		name       string
		auth       func(*http.Request)
		wantStatus int
	}{
		{"missing", func(*http.Request) {}, 401},
		{"wrong key", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+gatewayKey+"x") }, 401},
		{"key prefix", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+gatewayKey[:10]) }, 401},
		{"empty bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }, 401},
		{"other scheme", func(r *http.Request) { r.Header.Set("Authorization", "Token "+gatewayKey) }, 401},
		{"basic with other name", func(r *http.Request) { r.SetBasicAuth("batch", gatewayKey) }, 401},
		{"basic with wrong key", func(r *http.Request) { r.SetBasicAuth("gateway", "wrong") }, 401},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+gatewayKey) }, 200},
		{"bearer lowercase scheme", func(r *http.Request) { r.Header.Set("Authorization", "bearer "+gatewayKey) }, 200},
		{"basic", func(r *http.Request) { r.SetBasicAuth("gateway", gatewayKey) }, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(http.MethodGet, "/usage/v1/grants/gr_auth", "", "", tt.auth)
			if r.status != tt.wantStatus {
				t.Fatalf("GET grant usage = %d %s; want %d", r.status, r.raw, tt.wantStatus)
			}
			if tt.wantStatus != 401 {
				return
			}
			wantError(t, "GET grant usage", r, 401, "invalid_client")
			if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q; want a Bearer challenge", got)
			}
		})
	}

	for _, path := range []string{usageapi.PathReservations, settlePath("rs_x"), releasePath("rs_x"), usageapi.PathIntrospect} {
		r := a.do(http.MethodPost, path, "application/json", `{}`, func(*http.Request) {})
		wantError(t, "POST "+path+" without a key", r, 401, "invalid_client")
	}
	for _, path := range []string{usageapi.PathIndex, usageapi.PathMetadata} {
		if r := a.do(http.MethodGet, path, "", "", func(*http.Request) {}); r.status != http.StatusOK {
			t.Errorf("GET %s without a key = %d; want 200, because it is public", path, r.status)
		}
	}
}

func TestMalformedRequests(t *testing.T) {
	a := newAPI(t, "")
	a.addGrant("gr_bad", "alice", "app", access.Limits{}, future)
	id := a.reserve(`{"grant_id":"gr_bad","provider":"openai","model":"gpt-4o","capability":"chat","amount":"0.001"}`)

	const reserve = usageapi.PathReservations
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		field       string
	}{
		{"not JSON content type", reserve, "text/plain", `{}`, "body"},
		{"invalid JSON", reserve, "application/json", `{"grant_id":`, "body"},
		{"empty body", reserve, "application/json", ``, "body"},
		{"array", reserve, "application/json", `[]`, "body"},
		{"two objects", reserve, "application/json", `{} {}`, "body"},
		{"unknown field", reserve, "application/json", `{"grant_id":"gr_bad","colour":"red"}`, "colour"},
		{"tokens as string", reserve, "application/json", `{"grant_id":"gr_bad","input_tokens":"10"}`, "input_tokens"},
		{"tokens as fraction", reserve, "application/json", `{"grant_id":"gr_bad","max_tokens":1.5}`, "max_tokens"},
		{"model as number", reserve, "application/json", `{"grant_id":"gr_bad","model":4}`, "model"},
		{"missing grant", reserve, "application/json", `{"provider":"openai","model":"gpt-4o","capability":"chat","amount":"0.001"}`, "grant_id"},
		{"grant and token", reserve, "application/json", `{"grant_id":"gr_bad","access_token":"ory_at_x","provider":"openai","model":"gpt-4o","capability":"chat","amount":"0.001"}`, "access_token"},
		{"missing model", reserve, "application/json", `{"grant_id":"gr_bad","provider":"openai","capability":"chat","amount":"0.001"}`, "model"},
		{"missing cost", reserve, "application/json", `{"grant_id":"gr_bad","provider":"openai","model":"gpt-4o","capability":"chat"}`, "amount"},
		{"amount not decimal", reserve, "application/json", `{"grant_id":"gr_bad","provider":"openai","model":"gpt-4o","capability":"chat","amount":"abc"}`, "amount"},
		{"amount with exponent", reserve, "application/json", `{"grant_id":"gr_bad","provider":"openai","model":"gpt-4o","capability":"chat","amount":1e-3}`, "amount"},
		{"amount negative", reserve, "application/json", `{"grant_id":"gr_bad","provider":"openai","model":"gpt-4o","capability":"chat","amount":"-1"}`, "amount"},
		{"amount as boolean", reserve, "application/json", `{"grant_id":"gr_bad","provider":"openai","model":"gpt-4o","capability":"chat","amount":true}`, "amount"},
		{"negative tokens", reserve, "application/json", `{"grant_id":"gr_bad","provider":"openai","model":"gpt-4o","capability":"chat","input_tokens":-5,"max_tokens":10}`, "input_tokens"},
		{"settle without usage", settlePath(id), "application/json", `{}`, "amount"},
		{"settle tokens as string", settlePath(id), "application/json", `{"output_tokens":"7"}`, "output_tokens"},
		{"settle unknown field", settlePath(id), "application/json", `{"cost":"0.1"}`, "cost"},
		{"introspect as JSON", usageapi.PathIntrospect, "application/json", `{"token":"x"}`, "body"},
		{"introspect without token", usageapi.PathIntrospect, "application/x-www-form-urlencoded", `token_type_hint=access_token`, "token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(http.MethodPost, tt.path, tt.contentType, tt.body, nil)
			wantError(t, "POST "+tt.path+" "+tt.body, r, 400, "invalid_request")
			if r.str("field") != tt.field || !strings.HasPrefix(r.str("error_description"), tt.field+" ") {
				t.Errorf("POST %s %s field = %q, description %q; want field %q named first", tt.path, tt.body, r.str("field"), r.str("error_description"), tt.field)
			}
		})
	}

	report := a.do(http.MethodGet, "/usage/v1/grants/gr_bad", "", "", nil)
	held := report.body["details"].([]any)[0].(map[string]any)["periods"].(map[string]any)["total"].(map[string]any)["held"]
	if held != "0.001" {
		t.Errorf("held after malformed requests = %v; want \"0.001\", the one valid reservation", held)
	}
}

func TestHydraUnreachable(t *testing.T) {
	a := newAPI(t, "")
	a.addGrant("gr_down", "alice", "app", access.Limits{}, future)

	r := a.postJSON(usageapi.PathReservations, `{"access_token":"ory_at_secret-token-value","provider":"openai","model":"gpt-4o","capability":"chat","amount":"0.001"}`)
	wantError(t, "reserve by token with Hydra down", r, 503, "temporarily_unavailable")
	if strings.Contains(r.raw, "secret-token-value") {
		t.Errorf("answer %s contains the access token", r.raw)
	}

	r = a.do(http.MethodPost, usageapi.PathIntrospect, "application/x-www-form-urlencoded", "token=ory_at_x", nil)
	wantError(t, "introspect with Hydra down", r, 503, "temporarily_unavailable")
}

func TestMetadataAndIndex(t *testing.T) {
	a := newAPI(t, "")
	public, _ := url.Parse("https://consent.example.com/")
	a.handler.PublicURL = public

	m := a.do(http.MethodGet, usageapi.PathMetadata, "", "", nil)
	if m.status != http.StatusOK || m.str("resource") != "https://consent.example.com" {
		t.Errorf("metadata = %d %s; want 200 with resource https://consent.example.com", m.status, m.raw)
	}
	types, _ := m.body["authorization_details_types_supported"].([]any)
	if len(types) != 1 || types[0] != access.DetailType {
		t.Errorf("authorization_details_types_supported = %v; want [%q]", types, access.DetailType)
	}
	if servers, _ := m.body["authorization_servers"].([]any); len(servers) != 1 || servers[0] != "http://127.0.0.1:4444" {
		t.Errorf("authorization_servers = %v; want [http://127.0.0.1:4444]", servers)
	}
	if !strings.Contains(m.raw, `"ai:openai:gpt-4o-mini:chat"`) {
		t.Errorf("scopes_supported in %s lacks ai:openai:gpt-4o-mini:chat", m.raw)
	}

	doc := a.do(http.MethodGet, usageapi.PathIndex, "", "", nil)
	endpoints, _ := doc.body["endpoints"].(map[string]any)
	wantEndpoints := map[string]string{
		"reserve":       "https://consent.example.com/usage/v1/reservations",
		"settle":        "https://consent.example.com/usage/v1/reservations/{reservation_id}/settle",
		"introspection": "https://consent.example.com/usage/v1/introspect",
		"grant_usage":   "https://consent.example.com/usage/v1/grants/{grant_id}",
	}
	for name, want := range wantEndpoints {
		if endpoints[name] != want {
			t.Errorf("index endpoints[%q] = %v; want %q", name, endpoints[name], want)
		}
	}
	if doc.body["hold_ttl_seconds"] != 600.0 || doc.str("currency") != "USD" {
		t.Errorf("index = %s; want hold_ttl_seconds 600 and currency USD", doc.raw)
	}
	if !strings.Contains(doc.raw, `{"id":"gpt-4o-mini","name":"GPT-4o mini","capabilities":["chat","vision","tools"],"input_per_million":"0.15","output_per_million":"0.60"}`) {
		t.Errorf("index %s does not list gpt-4o-mini with its prices", doc.raw)
	}
}

func TestParseResourceServers(t *testing.T) {
	key := strings.Repeat("k", usageapi.MinKeyLength)
	tests := []struct {
		in      string
		want    []usageapi.ResourceServer
		wantErr bool
	}{
		{"gateway:" + key, []usageapi.ResourceServer{{Name: "gateway", Key: key}}, false},
		{"gateway:" + key + ", batch:" + key + "2", []usageapi.ResourceServer{{Name: "gateway", Key: key}, {Name: "batch", Key: key + "2"}}, false},
		{"", nil, true},
		{"gateway", nil, true},
		{"gateway:short", nil, true},
		{"Gateway:" + key, nil, true},
		{"gateway:" + key + ",gateway:" + key, nil, true},
		{"gateway:" + key + " space", nil, true},
		{"gateway:" + key + ",", nil, true},
	}
	for _, tt := range tests {
		got, err := usageapi.ParseResourceServers(tt.in)
		if (err != nil) != tt.wantErr || !equalServers(got, tt.want) {
			t.Errorf("ParseResourceServers(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("ParseResourceServers(%q) error %q shows the key", tt.in, err)
		}
	}
}

func equalServers(a, b []usageapi.ResourceServer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRegisterRejectsMissingFields(t *testing.T) {
	admin, _ := url.Parse("http://127.0.0.1:4445")
	valid := func() *usageapi.Handler {
		return &usageapi.Handler{
			Store:           (*sqlite.UsageStore)(nil),
			Catalog:         access.DefaultCatalog(),
			ResourceServers: []usageapi.ResourceServer{{Name: "gateway", Key: gatewayKey}},
			HydraAdminURL:   admin,
		}
	}
	tests := []struct {
		name   string
		change func(*usageapi.Handler)
	}{
		{"no store", func(h *usageapi.Handler) { h.Store = nil }},
		{"no catalog", func(h *usageapi.Handler) { h.Catalog = nil }},
		{"no Hydra", func(h *usageapi.Handler) { h.HydraAdminURL = nil }},
		{"no resource servers", func(h *usageapi.Handler) { h.ResourceServers = nil }},
		{"short key", func(h *usageapi.Handler) { h.ResourceServers[0].Key = "short" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := valid()
			tt.change(h)
			defer func() {
				if recover() == nil {
					t.Errorf("Register() with %s did not panic", tt.name)
				}
			}()
			h.Register(echo.New())
		})
	}
}
