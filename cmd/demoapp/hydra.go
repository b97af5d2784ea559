package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxResponseBytes bounds what the app reads from Hydra.
const maxResponseBytes = 1 << 20

// tokenResponse holds the fields of Hydra's token response that the app
// uses. The page shows the whole JSON.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// oauthError is an error response of the token endpoint (RFC 6749, section
// 5.2). Its fields come from Hydra and contain no secret, so the page
// shows them.
type oauthError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *oauthError) Error() string {
	return fmt.Sprintf("token endpoint returned %d: %s: %s", e.Status, e.Code, e.Description)
}

// exchangeCode redeems an authorization code at Hydra's token endpoint
// with client_secret_basic and the PKCE verifier. It returns the raw JSON
// and its parsed fields. A non-200 response becomes an *oauthError.
func (a *app) exchangeCode(ctx context.Context, code, verifier string) (json.RawMessage, tokenResponse, error) {
	return a.requestTokens(ctx, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {a.redirectURI()},
		"code_verifier": {verifier},
	})
}

// refreshTokens redeems a refresh token at Hydra's token endpoint, which
// runs aiconsent's token hook, so the new access token shows the grant as
// it is now.
func (a *app) refreshTokens(ctx context.Context, refreshToken string) (json.RawMessage, tokenResponse, error) {
	return a.requestTokens(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

// requestTokens posts form to Hydra's token endpoint with
// client_secret_basic.
func (a *app) requestTokens(ctx context.Context, form url.Values) (json.RawMessage, tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.backchannelURL.JoinPath("/oauth2/token").String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, tokenResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// RFC 6749, section 2.3.1: the id and secret are form-encoded before
	// they go into the Basic header.
	req.SetBasicAuth(url.QueryEscape(a.cfg.clientID), url.QueryEscape(a.cfg.clientSecret))

	status, body, err := a.send(req)
	if err != nil {
		return nil, tokenResponse{}, fmt.Errorf("token request: %w", err)
	}
	if status != http.StatusOK {
		oauthErr := &oauthError{Status: status}
		_ = json.Unmarshal(body, oauthErr)
		return nil, tokenResponse{}, oauthErr
	}

	var tokens tokenResponse
	if err := json.Unmarshal(body, &tokens); err != nil {
		return nil, tokenResponse{}, fmt.Errorf("decode token response: %w", err)
	}
	return body, tokens, nil
}

// introspect returns Hydra's admin introspection of a token as raw JSON.
func (a *app) introspect(ctx context.Context, token string) (json.RawMessage, error) {
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.adminURL.JoinPath("/admin/oauth2/introspect").String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	status, body, err := a.send(req)
	if err != nil {
		return nil, fmt.Errorf("introspection request: %w", err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("introspection returned %d", status)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("introspection returned a body that is not JSON")
	}
	return body, nil
}

// send runs req and returns the status code and at most maxResponseBytes
// of the body.
func (a *app) send(req *http.Request) (int, []byte, error) {
	req.Header.Set("Accept", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, nil, fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, body, nil
}

// indentJSON returns raw JSON indented for display, or raw unchanged when
// it does not parse.
func indentJSON(raw []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return string(raw)
	}
	return out.String()
}
