package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// flowCookie holds the state and the PKCE verifier between /connect and
// /callback.
const flowCookie = "demoapp_flow"

// flowLifetime is how long a person has to log in and consent.
const flowLifetime = 10 * time.Minute

// requestedScope is the scope the app requests: an ID token, a refresh
// token and one ai: scope, next to the authorization details.
const requestedScope = "openid offline_access ai:google:gemini-2.0-flash:chat"

// authorizationDetails is the RFC 9396 request for two providers. The
// anthropic entry names no models on purpose, which requests any model.
const authorizationDetails = `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o","gpt-4o-mini"],"capabilities":["chat","vision"],"limits":{"monthly_spend":"5.00","currency":"USD","requests_per_minute":30},"reason":"Summarise your notes with GPT-4o."},` +
	`{"type":"ai_model_access","provider":"anthropic","capabilities":["chat"],"limits":{"daily_spend":"1.00","monthly_spend":"10.00"},"reason":"Draft replies with any Claude model."}]`

// contentSecurityPolicy allows only the app's own files: no inline script
// or style, no framing.
const contentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/logo.svg
var logoSVG []byte

//go:embed static/style.css
var styleCSS []byte

var (
	indexPage  = parsePage("templates/index.html")
	resultPage = parsePage("templates/result.html")
	errorPage  = parsePage("templates/error.html")
)

func parsePage(name string) *template.Template {
	return template.Must(template.ParseFS(templateFiles, "templates/layout.html", name))
}

// app is the Example App's HTTP handler set.
type app struct {
	cfg    config
	http   *http.Client
	logger *slog.Logger
}

func newApp(cfg config, logger *slog.Logger) *app {
	return &app{cfg: cfg, http: &http.Client{Timeout: 10 * time.Second}, logger: logger}
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.handleIndex)
	mux.HandleFunc("GET /connect", a.handleConnect)
	mux.HandleFunc("GET /callback", a.handleCallback)
	mux.HandleFunc("POST /refresh", a.handleRefresh)
	mux.HandleFunc("GET /logo.svg", serveFile("image/svg+xml", logoSVG))
	mux.HandleFunc("GET /style.css", serveFile("text/css; charset=utf-8", styleCSS))
	return a.logRequests(secureHeaders(mux))
}

func (a *app) redirectURI() string {
	return a.cfg.selfURL.JoinPath("/callback").String()
}

func (a *app) handleIndex(w http.ResponseWriter, r *http.Request) {
	a.render(w, http.StatusOK, indexPage, map[string]any{
		"Scope":   requestedScope,
		"Details": indentJSON([]byte(authorizationDetails)),
	})
}

// handleConnect starts an authorization code flow with PKCE and sends the
// browser to Hydra.
func (a *app) handleConnect(w http.ResponseWriter, r *http.Request) {
	f := newFlow()
	http.SetCookie(w, &http.Cookie{
		Name:     flowCookie,
		Value:    f.cookieValue(),
		Path:     "/",
		MaxAge:   int(flowLifetime.Seconds()),
		HttpOnly: true,
		Secure:   a.cfg.selfURL.Scheme == "https",
		SameSite: http.SameSiteLaxMode,
	})

	http.Redirect(w, r, a.authorizationURL(f), http.StatusSeeOther)
}

func (a *app) authorizationURL(f flow) string {
	query := url.Values{
		"response_type":         {"code"},
		"client_id":             {a.cfg.clientID},
		"redirect_uri":          {a.redirectURI()},
		"scope":                 {requestedScope},
		"state":                 {f.state},
		"code_challenge":        {codeChallenge(f.verifier)},
		"code_challenge_method": {"S256"},
		"authorization_details": {authorizationDetails},
	}
	target := a.cfg.publicURL.JoinPath("/oauth2/auth")
	target.RawQuery = query.Encode()
	return target.String()
}

// handleCallback checks the state, then shows either the error Hydra
// returned or the tokens from the code exchange and their introspection.
func (a *app) handleCallback(w http.ResponseWriter, r *http.Request) {
	cookie, err := r.Cookie(flowCookie)
	f, ok := flow{}, false
	if err == nil {
		f, ok = parseFlowCookie(cookie.Value)
	}
	if !ok {
		a.fail(w, http.StatusBadRequest, "This browser has no sign-in in progress: it expired after 10 minutes, finished already, or started in another browser. Start again.")
		return
	}

	query := r.URL.Query()
	if !sameState(query.Get("state"), f.state) {
		a.fail(w, http.StatusBadRequest, "The state returned by Hydra does not match the one this browser sent. Start again.")
		return
	}
	// The flow is single-use: clear it before anything can fail.
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})

	if code := query.Get("error"); code != "" {
		a.render(w, http.StatusOK, resultPage, map[string]any{
			"Error":       code,
			"Description": query.Get("error_description"),
			"Hint":        errorHint(code),
		})
		return
	}
	if query.Get("code") == "" {
		a.fail(w, http.StatusBadRequest, "Hydra returned neither a code nor an error. Start again.")
		return
	}

	a.showTokens(w, r, func() (json.RawMessage, tokenResponse, error) {
		return a.exchangeCode(r.Context(), query.Get("code"), f.verifier)
	})
}

// handleRefresh refreshes the tokens shown on the page, so a person can
// see what a grant change does to the next token. The refresh token comes
// from the page's form: this is a demo, and a real app keeps it on its
// server.
func (a *app) handleRefresh(w http.ResponseWriter, r *http.Request) {
	refreshToken := r.PostFormValue("refresh_token")
	if refreshToken == "" {
		a.fail(w, http.StatusBadRequest, "The form sent no refresh token. Connect again.")
		return
	}
	a.showTokens(w, r, func() (json.RawMessage, tokenResponse, error) {
		return a.refreshTokens(r.Context(), refreshToken)
	})
}

func (a *app) showTokens(w http.ResponseWriter, r *http.Request, redeem func() (json.RawMessage, tokenResponse, error)) {
	raw, tokens, err := redeem()
	var oauthErr *oauthError
	if errors.As(err, &oauthErr) {
		a.logger.Warn("token exchange rejected", slog.Int("status", oauthErr.Status), slog.String("error", oauthErr.Code))
		a.render(w, http.StatusBadGateway, resultPage, map[string]any{
			"Error":       oauthErr.Code,
			"Description": oauthErr.Description,
			"Hint":        errorHint(oauthErr.Code),
		})
		return
	}
	if err != nil {
		a.logger.Error("token exchange failed", slog.Any("error", err))
		a.fail(w, http.StatusBadGateway, "The app could not reach Hydra's token endpoint. Check that Hydra runs, then start again.")
		return
	}

	data := map[string]any{
		"Scope":        tokens.Scope,
		"Tokens":       indentJSON(raw),
		"RefreshToken": tokens.RefreshToken,
	}
	if intro, err := a.introspect(r.Context(), tokens.AccessToken); err != nil {
		a.logger.Error("introspection failed", slog.Any("error", err))
		data["IntrospectionError"] = "Hydra's admin API did not return an introspection."
	} else {
		data["Introspection"] = indentJSON(intro)
		data["Active"] = isActive(intro)
	}
	if tokens.IDToken != "" {
		data["SignOutURL"] = a.signOutURL(tokens.IDToken)
	}

	a.render(w, http.StatusOK, resultPage, data)
}

// errorHint explains the OAuth errors a person meets in this demo in one
// plain sentence; Hydra's own descriptions are long and generic.
func errorHint(code string) string {
	switch code {
	case "access_denied":
		return "Access was denied: the person chose Deny, cancelled the sign-in, or the grant is no longer allowed (for example a disabled account)."
	case "invalid_grant":
		return "The token no longer works: the grant was revoked or replaced, or the token expired. Connect again."
	case "consent_required":
		return "The app asked for more than was granted before, and it asked not to show the consent screen."
	case "invalid_authorization_details", "invalid_scope":
		return "The app's request was invalid, so nobody was asked. The description below names the field."
	}
	return ""
}

func isActive(introspection []byte) bool {
	var result struct {
		Active bool `json:"active"`
	}
	return json.Unmarshal(introspection, &result) == nil && result.Active
}

// signOutURL returns Hydra's OpenID Connect logout URL, which ends the
// person's Hydra session and comes back to the app's home page.
func (a *app) signOutURL(idToken string) string {
	target := a.cfg.publicURL.JoinPath("/oauth2/sessions/logout")
	target.RawQuery = url.Values{
		"id_token_hint":            {idToken},
		"post_logout_redirect_uri": {a.cfg.selfURL.JoinPath("/").String()},
	}.Encode()
	return target.String()
}

func (a *app) fail(w http.ResponseWriter, status int, message string) {
	a.render(w, status, errorPage, map[string]any{"Message": message})
}

// render executes page into a buffer first, so a template error becomes a
// 500 instead of half a page.
func (a *app) render(w http.ResponseWriter, status int, page *template.Template, data map[string]any) {
	var body bytes.Buffer
	if err := page.ExecuteTemplate(&body, "layout", data); err != nil {
		a.logger.Error("render page failed", slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}

	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}

func serveFile(contentType string, content []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(content)
	}
}

// secureHeaders sets the browser defences on every response. Pages are not
// cached because the callback page shows tokens.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The callback URL carries the code: never send it as a Referer.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// logRequests logs each request's method, path and status. It leaves out
// the query, which carries codes and states.
func (a *app) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		a.logger.Info("request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
