package usageapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/access"
)

// UsageMember is the top-level member of an introspection response that
// contains the grant's status and usage.
const UsageMember = "ai_usage"

// maxHydraAnswer bounds the size of Hydra's introspection response.
const maxHydraAnswer = 1 << 20

// introspect handles POST /usage/v1/introspect, an RFC 7662 introspection
// endpoint with the form parameter token. It calls Hydra's admin
// introspection. For an active token with an AI grant it returns Hydra's
// response with two top-level members added: authorization_details as
// currently granted, never wider than the token carries, and ai_usage.
// A token that Hydra reports inactive, or whose grant is revoked, replaced,
// missing or expired, gets exactly {"active": false}. A paused grant stays
// active, with its status in ai_usage.
func (h *Handler) introspect(c echo.Context) error {
	mediaType, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mediaType != echo.MIMEApplicationForm {
		return h.writeFailure(c, "introspect", badRequest("body", "must be a form sent with Content-Type: application/x-www-form-urlencoded"))
	}
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, maxBody)
	token := c.FormValue("token")
	if token == "" {
		return h.writeFailure(c, "introspect", badRequest("token", "is missing; send the access token as the form parameter token"))
	}

	answer, err := h.introspectAtHydra(c.Request().Context(), token)
	if err != nil {
		return h.unavailable(c, err)
	}
	if !isActive(answer) {
		return inactive(c)
	}
	return h.extendAnswer(c, answer)
}

// extendAnswer adds the grant's current details and usage to Hydra's
// response for an active token.
func (h *Handler) extendAnswer(c echo.Context, answer map[string]any) error {
	claims, tokenDetails, err := tokenClaim(answer)
	if err != nil {
		h.Log.Warn("introspected token has an invalid claim",
			slog.String("request_id", requestID(c)),
			slog.String("resource_server", callerName(c)),
			slog.Any("error", err))
		return inactive(c)
	}
	if len(claims) == 0 {
		return writeJSON(c, http.StatusOK, answer)
	}

	grantID := claims[0].GrantID
	report, err := h.Store.Report(c.Request().Context(), grantID)
	if errors.Is(err, access.ErrGrantNotFound) {
		return inactive(c)
	}
	if err != nil {
		return h.writeFailure(c, "introspect", err)
	}
	if report.Status != access.StatusActive && report.Status != access.StatusPaused || report.OwnerDisabled {
		return inactive(c)
	}

	current := currentDetails(report.Details, tokenDetails, h.Now())
	if len(current) == 0 {
		return inactive(c)
	}
	answer[access.ClaimName] = access.Claim(grantID, current)
	answer[UsageMember] = newGrantUsageJSON(report, current)
	return writeJSON(c, http.StatusOK, answer)
}

// currentDetails returns what the grant's details allow now within what
// the token carries: per provider in both, the models and capabilities in
// both, the tighter of each limit and the earlier expiry. Expired details
// are left out.
func currentDetails(granted, token []access.Detail, now time.Time) []access.Detail {
	var current []access.Detail
	for _, d := range access.Restrict(granted, &access.Request{Details: token}) {
		if d.Expires.After(now) {
			current = append(current, d)
		}
	}
	return current
}

// inactive responds {"active": false} and nothing else, as RFC 7662
// requires for a token that must not be used.
func inactive(c echo.Context) error {
	return writeJSON(c, http.StatusOK, map[string]bool{"active": false})
}

// introspectAtHydra calls Hydra's admin introspection for token and
// returns the decoded response. Numbers stay json.Number, so they pass through
// unchanged. The token is sent in the body and never appears in errors.
func (h *Handler) introspectAtHydra(ctx context.Context, token string) (map[string]any, error) {
	target := h.HydraAdminURL.JoinPath("/admin/oauth2/introspect").String()
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("hydra introspection: %w", err)
	}
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
	req.Header.Set(echo.HeaderAccept, echo.MIMEApplicationJSON)

	resp, err := h.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hydra introspection: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("hydra introspection: POST %s returned status %d", target, resp.StatusCode)
	}

	dec := json.NewDecoder(io.LimitReader(resp.Body, maxHydraAnswer))
	dec.UseNumber()
	var answer map[string]any
	if err := dec.Decode(&answer); err != nil {
		return nil, fmt.Errorf("hydra introspection: decode response: %w", err)
	}
	return answer, nil
}

func isActive(answer map[string]any) bool {
	active, _ := answer["active"].(bool)
	return active
}

// tokenClaim returns the authorization_details claim of an introspection
// response, under ext as Hydra puts a session claim there. A token without
// the claim returns no details and no error.
func tokenClaim(answer map[string]any) ([]access.ClaimDetail, []access.Detail, error) {
	ext, _ := answer["ext"].(map[string]any)
	raw, ok := ext[access.ClaimName]
	if !ok {
		return nil, nil, nil
	}
	return access.ParseClaim(raw)
}
