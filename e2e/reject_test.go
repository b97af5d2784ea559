package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestInvalidRequestRejected checks that bad requests fail at the login
// step, before the person types a password, with the RFC 9396 or OAuth
// error code and a description naming the field.
func TestInvalidRequestRejected(t *testing.T) {
	s := startStack(t)

	tests := []struct {
		name      string
		scope     string
		details   string
		extra     url.Values
		wantError string
		wantDesc  string
	}{
		{"not an array", "openid", `{"type":"ai_model_access"}`, nil, "invalid_authorization_details", "authorization_details"},
		{"unknown type", "openid", `[{"type":"payment_initiation","provider":"openai"}]`, nil, "invalid_authorization_details", "authorization_details[0].type"},
		{"unknown field", "openid", `[{"type":"ai_model_access","provider":"openai","colour":"red"}]`, nil, "invalid_authorization_details", "colour"},
		{"negative cap", "openid", `[{"type":"ai_model_access","provider":"openai","limits":{"daily_spend":"-1"}}]`, nil, "invalid_authorization_details", "daily_spend"},
		{"other currency", "openid", `[{"type":"ai_model_access","provider":"openai","limits":{"currency":"EUR","daily_spend":"1"}}]`, nil, "invalid_authorization_details", "currency"},
		{"unknown model", "openid", `[{"type":"ai_model_access","provider":"openai","models":["gpt-99"]}]`, nil, "invalid_authorization_details", "models"},
		{"unknown provider", "openid", `[{"type":"ai_model_access","provider":"acme"}]`, nil, "invalid_authorization_details", "provider"},
		{"malformed ai scope", "openid ai:openai:gpt-4o", "", nil, "invalid_scope", "ai:openai:gpt-4o"},
		{"request_uri", "offline_access", "", url.Values{"request_uri": {"https://app.example/req/1"}}, "request_uri_not_supported", "request_uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, s)
			r := newAuthRequest(s.client.ID, tt.scope, tt.details)
			for k, v := range tt.extra {
				r.params[k] = v
			}

			p := b.open(s.authURL(r))
			wantCallback(t, p)
			q := p.callback.Query()
			if got := q.Get("error"); got != tt.wantError {
				t.Errorf("error = %q (%s); want %q", got, q.Get("error_description"), tt.wantError)
			}
			if got := q.Get("error_description"); !strings.Contains(got, tt.wantDesc) {
				t.Errorf("error_description = %q; want it to name %q", got, tt.wantDesc)
			}
		})
	}
	if got := s.countGrants(t); got != 0 {
		t.Errorf("stored grants = %d; want 0", got)
	}
}

// TestTamperedConsentRejected posts consent forms that widen the request.
// Each is rejected with nothing stored, and the untampered form still
// works afterwards.
func TestTamperedConsentRejected(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)
	r := newAuthRequest(s.client.ID, demoScope, demoDetails)
	action, original := consentForm(t, signIn(t, b, b.open(s.authURL(r))))

	tests := []struct {
		name   string
		change func(url.Values)

		// invalid is the id of the input that must be marked invalid.
		invalid string
	}{
		{"added model", func(f url.Values) { f.Add("p0.model", "o3-mini") }, ""},
		{"raised cap", func(f url.Values) { f.Set("p0.monthly_spend", "500.00") }, "p0-monthly_spend-0"},
		{"removed cap", func(f url.Values) { f.Set("p0.monthly_spend", "") }, "p0-monthly_spend-0"},
		{"added capability", func(f url.Values) { f.Add("p0.capability", "embeddings") }, ""},
		{"raised rate limit", func(f url.Values) { f.Set("p0.requests_per_minute", "31") }, "p0-requests_per_minute-0"},
		{"unknown provider index", func(f url.Values) { f.Set("p9.model", "gpt-4o") }, ""},
		{"expiry far away", func(f url.Values) { f.Set("p0.expires", "2099-01-01") }, "p0-expires-0"},
		{"any model not requested", func(f url.Values) { f.Set("p0.any", "1") }, ""},
		{"not a number", func(f url.Values) { f.Set("p1.daily_spend", "lots") }, "p1-daily_spend-0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range original {
				form[k] = append([]string(nil), v...)
			}
			tt.change(form)
			form.Set("action", "allow")

			p := b.post(action, form)
			if p.status != http.StatusBadRequest {
				t.Fatalf("status = %d; want 400 (%s)", p.status, p.text())
			}
			if p.doc.Find(`[data-testid="consent-errors"]`).Length() != 1 {
				t.Errorf("no error list on the re-rendered consent page: %s", p.text())
			}
			if tt.invalid != "" && p.doc.Find("#"+tt.invalid+`[aria-invalid="true"]`).Length() != 1 {
				t.Errorf("input #%s is not marked aria-invalid", tt.invalid)
			}
		})
	}

	if got := s.countGrants(t); got != 0 {
		t.Fatalf("stored grants after tampered posts = %d; want 0", got)
	}
	original.Set("action", "allow")
	p := b.post(action, original)
	wantCallback(t, p)
	tok := s.exchange(t, s.client, r, p.callback)
	checkDetail(t, s.introspect(t, tok.AccessToken).details(t), "openai", []string{"gpt-4o", "gpt-4o-mini"}, []string{"chat"},
		map[string]any{"monthly_spend": "5.00"})
}

// TestReusedConsentChallenge posts the same consent twice. Hydra would
// accept it twice, so the app must refuse the second post.
func TestReusedConsentChallenge(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)
	r := newAuthRequest(s.client.ID, demoScope, demoDetails)
	action, form := consentForm(t, signIn(t, b, b.open(s.authURL(r))))
	form["action"] = []string{"allow"}

	first := b.post(action, form)
	wantCallback(t, first)

	second := b.post(action, form)
	if second.callback != nil {
		t.Fatalf("second post redirected to %v; want the already-used page", second.callback)
	}
	if second.status != http.StatusConflict && second.status != http.StatusGone {
		t.Errorf("second post status = %d; want 409 or 410 (%s)", second.status, second.text())
	}
	if got := s.countGrants(t); got != 1 {
		t.Errorf("stored grants = %d; want 1", got)
	}

	tok := s.exchange(t, s.client, r, first.callback)
	if !s.introspect(t, tok.AccessToken).Active {
		t.Error("token of the first consent is not active")
	}
}

func TestLoginFailures(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)
	r := newAuthRequest(s.client.ID, demoScope, demoDetails)
	p := b.open(s.authURL(r))

	tests := []struct {
		name     string
		username string
		password string
	}{
		{"wrong password", testUser, "wrong password"},
		{"unknown user", "mallory", testPassword},
		{"empty password", testUser, ""},
	}
	var messages []string
	for _, tt := range tests {
		action, form := p.form(t, `form[action="/login"]`)
		form.Set("username", tt.username)
		form.Set("password", tt.password)
		got := b.post(action, form)
		if got.status != http.StatusUnauthorized {
			t.Errorf("%s: status = %d; want 401", tt.name, got.status)
		}
		messages = append(messages, got.doc.Find(`[data-testid="login-error"]`).Text())
	}
	for i, m := range messages {
		if m == "" || m != messages[0] {
			t.Errorf("%s: message %q; want the same public message as %q", tests[i].name, m, messages[0])
		}
	}

	// Failures go on until the throttle rejects an attempt: not before the fifth
	// failure, and no later than a few attempts after it.
	failures := len(tests)
	var last *page
	for failures < 10 {
		action, form := p.form(t, `form[action="/login"]`)
		form.Set("username", testUser)
		form.Set("password", "wrong again")
		last = b.post(action, form)
		if last.status == http.StatusTooManyRequests {
			break
		}
		failures++
	}
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("after %d failures: status = %d; want 429 (%s)", failures, last.status, last.text())
	}
	if failures < 5 {
		t.Errorf("throttled after %d failures; want at least 5 free attempts", failures)
	}
	action, form := p.form(t, `form[action="/login"]`)
	form.Set("username", testUser)
	form.Set("password", testPassword)
	if got := b.post(action, form); got.status != http.StatusTooManyRequests {
		t.Errorf("correct password while throttled: status = %d; want 429", got.status)
	}
}

func TestChallengeErrors(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)

	tests := []struct {
		name   string
		path   string
		status int
	}{
		{"login missing", "/login", http.StatusBadRequest},
		{"login malformed", "/login?login_challenge=%3Cscript%3E", http.StatusBadRequest},
		{"login unknown", "/login?login_challenge=bm90LWEtY2hhbGxlbmdl", http.StatusGone},
		{"consent missing", "/consent", http.StatusBadRequest},
		{"consent unknown", "/consent?consent_challenge=bm90LWEtY2hhbGxlbmdl", http.StatusGone},
		{"logout missing", "/logout", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.open(s.appURL + tt.path)
			if p.status != tt.status {
				t.Errorf("GET %s: status = %d; want %d (%s)", tt.path, p.status, tt.status, p.text())
			}
			if p.doc.Find(`[data-testid="error-page"]`).Length() != 1 {
				t.Errorf("GET %s: no error page: %s", tt.path, p.text())
			}
			if p.doc.Find(`[data-testid="request-id"]`).Text() == "" {
				t.Errorf("GET %s: error page shows no request id", tt.path)
			}
		})
	}
}

func TestHydraUnreachable(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)
	s.hydra.Stop()

	p := b.open(s.appURL + "/login?login_challenge=bm90LWEtY2hhbGxlbmdl")
	if p.status != http.StatusServiceUnavailable {
		t.Errorf("status = %d; want 503 (%s)", p.status, p.text())
	}
}
