package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// apiCall sends a JSON request to the usage API as the test's resource
// server and returns the status and the decoded body.
func (s *stack) apiCall(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, s.appURL+path, r)
	req.Header.Set("Authorization", "Bearer "+gatewayKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: status %d, body not JSON: %s", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, out
}

func (s *stack) reserve(t *testing.T, grantID, model, amount string) (int, map[string]any) {
	t.Helper()
	return s.apiCall(t, http.MethodPost, "/usage/v1/reservations", map[string]any{
		"grant_id": grantID, "provider": "openai", "model": model, "capability": "chat", "amount": amount,
	})
}

// TestUsageFollowsGrant meters spend through the running server and checks
// that edits, pauses and revocations on "My grants" apply to the usage
// checks at once, before any token refresh.
func TestUsageFollowsGrant(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)
	tok := s.approve(t, b)
	grantID := checkOneGrantID(t, s.introspect(t, tok.AccessToken).details(t))

	status, res := s.reserve(t, grantID, "gpt-4o-mini", "1.50")
	if status != http.StatusCreated {
		t.Fatalf("reserve: status %d, body %v; want 201", status, res)
	}
	id, _ := res["reservation_id"].(string)
	if status, res := s.apiCall(t, http.MethodPost, "/usage/v1/reservations/"+id+"/settle", map[string]any{"amount": "1.25"}); status != http.StatusOK {
		t.Fatalf("settle: status %d, body %v; want 200", status, res)
	}

	p := s.openGrants(t, b)
	card := p.doc.Find(`[data-testid="grant-` + grantID + `"]`)
	if text := strings.Join(strings.Fields(card.Text()), " "); !strings.Contains(text, "This month: $1.25 of $5.00") {
		t.Errorf("My grants card lacks the month's spend; card text: %s", text)
	}
	if card.Find(`[data-testid="spend-chart"]`).Length() != 1 {
		t.Error("My grants card has no spend chart")
	}

	tests := []struct {
		name       string
		change     func()
		model      string
		amount     string
		wantStatus int
		wantError  string
	}{
		{"above the monthly cap", func() {}, "gpt-4o", "4.00", http.StatusPaymentRequired, "budget_exhausted"},
		{"model not granted", func() {}, "o3-mini", "0.01", http.StatusForbidden, "not_granted"},
		{"cap lowered on the page", func() {
			action, form := grantForm(t, s.openGrants(t, b), grantID, "/edit")
			form.Set("d0.monthly_spend", "1.50")
			b.post(action, form)
		}, "gpt-4o", "0.50", http.StatusPaymentRequired, "budget_exhausted"},
		{"model removed on the page", func() {
			action, form := grantForm(t, s.openGrants(t, b), grantID, "/edit")
			form["d0.model"] = []string{"gpt-4o"}
			b.post(action, form)
		}, "gpt-4o-mini", "0.01", http.StatusForbidden, "not_granted"},
		{"paused", func() {
			action, form := grantForm(t, s.openGrants(t, b), grantID, "/pause")
			b.post(action, form)
		}, "gpt-4o", "0.01", http.StatusForbidden, "grant_paused"},
		{"resumed", func() {
			action, form := grantForm(t, s.openGrants(t, b), grantID, "/resume")
			b.post(action, form)
		}, "gpt-4o", "0.01", http.StatusCreated, ""},
		{"revoked", func() {
			revoke(t, b, s.openGrants(t, b), grantID)
		}, "gpt-4o", "0.01", http.StatusForbidden, "grant_revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.change()
			status, res := s.reserve(t, grantID, tt.model, tt.amount)
			if status != tt.wantStatus {
				t.Errorf("reserve %s %s: status %d, body %v; want %d", tt.model, tt.amount, status, res, tt.wantStatus)
			}
			if got, _ := res["error"].(string); got != tt.wantError {
				t.Errorf("reserve %s %s: error %q; want %q", tt.model, tt.amount, got, tt.wantError)
			}
		})
	}
}

// TestUsageAPIErrorsAreJSON checks that the API responds in JSON, not with
// HTML pages, for unknown paths and missing keys, and that its POSTs need
// no CSRF token.
func TestUsageAPIErrorsAreJSON(t *testing.T) {
	s := startStack(t)

	tests := []struct {
		name   string
		method string
		path   string
		key    string
		status int
	}{
		{"unknown path", http.MethodGet, "/usage/v1/nothing-here", gatewayKey, http.StatusNotFound},
		{"missing key", http.MethodPost, "/usage/v1/reservations", "", http.StatusUnauthorized},
		{"wrong key", http.MethodPost, "/usage/v1/reservations", "not-the-key-0123456789abcdef", http.StatusUnauthorized},
		{"malformed body", http.MethodPost, "/usage/v1/reservations", gatewayKey, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.appURL+tt.path, strings.NewReader("{"))
			req.Header.Set("Content-Type", "application/json")
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d; want %d", resp.StatusCode, tt.status)
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body["error"] == nil {
				t.Errorf("body = %v (%v); want a JSON object with error", body, err)
			}
		})
	}
}
