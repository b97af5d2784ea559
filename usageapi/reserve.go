package usageapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/usage"
)

// reserveRequest is the body of POST /usage/v1/reservations. It names the
// grant by grant_id, which the resource server read from the token's
// claim, or by access_token, which this app then introspects at Hydra.
// The cost is amount, or input_tokens and max_tokens priced from the
// catalog.
type reserveRequest struct {
	GrantID     string          `json:"grant_id"`
	AccessToken string          `json:"access_token"`
	Provider    string          `json:"provider"`
	Model       string          `json:"model"`
	Capability  string          `json:"capability"`
	Amount      json.RawMessage `json:"amount"`
	InputTokens *int64          `json:"input_tokens"`
	MaxTokens   *int64          `json:"max_tokens"`
}

// settleRequest is the body of POST /usage/v1/reservations/{id}/settle:
// the real cost as amount, or the real token counts priced at the prices
// of the reservation.
type settleRequest struct {
	Amount       json.RawMessage `json:"amount"`
	InputTokens  *int64          `json:"input_tokens"`
	OutputTokens *int64          `json:"output_tokens"`
}

// reserve handles POST /usage/v1/reservations: 201 with the reservation,
// or a refusal.
func (h *Handler) reserve(c echo.Context) error {
	var body reserveRequest
	if err := decodeJSON(c, &body); err != nil {
		return h.writeFailure(c, "reserve", err)
	}
	amount, err := parseAmount(body.Amount, "amount")
	if err != nil {
		return h.writeFailure(c, "reserve", err)
	}

	req := usage.Request{
		GrantID:     body.GrantID,
		Provider:    body.Provider,
		Model:       body.Model,
		Capability:  body.Capability,
		Amount:      amount,
		InputTokens: tokenCount(body.InputTokens),
		MaxTokens:   tokenCount(body.MaxTokens),
	}
	var tokenDetails []access.Detail
	switch {
	case body.GrantID != "" && body.AccessToken != "":
		return h.writeFailure(c, "reserve", badRequest("access_token", "is given together with grant_id; send one of them"))
	case body.AccessToken != "":
		grantID, details, err := h.tokenGrant(c, body.AccessToken)
		if err != nil {
			return err
		}
		if grantID == "" {
			return nil
		}
		req.GrantID, tokenDetails = grantID, details
	case body.GrantID == "":
		return h.writeFailure(c, "reserve", badRequest("grant_id", "is missing; send the grant_id of the token's authorization_details, or the access_token"))
	}

	return h.reserveHold(c, req, tokenDetails)
}

// reserveHold prices req and reserves it. With tokenDetails, from an
// introspected access token, the hold must also be within what the token
// carries.
func (h *Handler) reserveHold(c echo.Context, req usage.Request, tokenDetails []access.Detail) error {
	hold, err := usage.NewHold(h.Catalog, req)
	if err != nil {
		return h.writeFailure(c, "reserve", h.notGrantedFirst(c, req, err))
	}
	if tokenDetails != nil {
		if _, err := usage.CheckDetail(tokenDetails, hold, h.Now()); err != nil {
			return h.writeFailure(c, "reserve", err)
		}
	}

	r, err := h.Store.Reserve(c.Request().Context(), hold)
	if err != nil {
		return h.writeFailure(c, "reserve", err)
	}
	return writeJSON(c, http.StatusCreated, newReservationJSON(r, h.Catalog.Currency))
}

// notGrantedFirst returns a not_granted refusal instead of err when the
// request names a provider, model or capability the grant does not
// include: telling the caller to send an amount for a model it may not use
// at all would mislead. Only failed requests pay for this read.
func (h *Handler) notGrantedFirst(c echo.Context, req usage.Request, err error) error {
	var refusal *usage.Refusal
	if !errors.As(err, &refusal) || refusal.Field != "model" || req.Model == "" {
		return err
	}
	report, rerr := h.Store.Report(c.Request().Context(), req.GrantID)
	if rerr != nil {
		return err
	}
	probe := usage.Hold{GrantID: req.GrantID, Provider: req.Provider, Model: req.Model, Capability: req.Capability}
	if _, cerr := usage.CheckDetail(report.Details, probe, h.Now()); cerr != nil {
		return cerr
	}
	return err
}

// tokenGrant introspects an app's access token and returns the grant id
// and details of its claim. When it returns an empty grant id it has
// already written the response: 401 invalid_token for an inactive token,
// 403 not_granted for a token without a valid claim, 503 when Hydra cannot
// be reached.
func (h *Handler) tokenGrant(c echo.Context, token string) (string, []access.Detail, error) {
	answer, err := h.introspectAtHydra(c.Request().Context(), token)
	if err != nil {
		return "", nil, h.unavailable(c, err)
	}
	if !isActive(answer) {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="`+realm+`", error="invalid_token"`)
		return "", nil, writeError(c, http.StatusUnauthorized, errorBody{
			Error:       "invalid_token",
			Description: "the access_token is not active: it expired, was revoked or was never issued",
		})
	}

	claims, details, err := tokenClaim(answer)
	if err != nil || len(claims) == 0 {
		refusal := &usage.Refusal{Reason: usage.ReasonNotGranted, Description: "the access_token carries no valid authorization_details, so it grants no AI access"}
		return "", nil, h.writeFailure(c, "reserve", refusal)
	}
	return claims[0].GrantID, details, nil
}

// settle handles POST /usage/v1/reservations/{id}/settle: 200 with the
// settlement, or a refusal.
func (h *Handler) settle(c echo.Context) error {
	var body settleRequest
	if err := decodeJSON(c, &body); err != nil {
		return h.writeFailure(c, "settle", err)
	}
	amount, err := parseAmount(body.Amount, "amount")
	if err != nil {
		return h.writeFailure(c, "settle", err)
	}
	u := usage.Usage{
		Amount:       amount,
		InputTokens:  tokenCount(body.InputTokens),
		OutputTokens: tokenCount(body.OutputTokens),
		HasTokens:    body.InputTokens != nil || body.OutputTokens != nil,
	}
	if u.Amount == nil && !u.HasTokens {
		return h.writeFailure(c, "settle", badRequest("amount", "is missing; send the real cost as amount, or input_tokens and output_tokens"))
	}

	id := c.Param("id")
	st, err := h.Store.Settle(c.Request().Context(), id, u)
	if err != nil {
		return h.writeFailure(c, "settle", err)
	}
	if st.AboveHold > 0 {
		h.Log.Warn("usage settled above its hold",
			slog.String("request_id", requestID(c)),
			slog.String("resource_server", callerName(c)),
			slog.String("reservation_id", id),
			slog.String("held", st.Held.String()),
			slog.String("cost", st.Cost.String()))
	}
	return writeJSON(c, http.StatusOK, newSettlementJSON(st))
}

// release handles POST /usage/v1/reservations/{id}/release: 200, or a
// refusal. A body, if any, is ignored.
func (h *Handler) release(c echo.Context) error {
	id := c.Param("id")
	if err := h.Store.Release(c.Request().Context(), id); err != nil {
		return h.writeFailure(c, "release", err)
	}
	return writeJSON(c, http.StatusOK, map[string]any{"reservation_id": id, "released": true})
}

// grantUsage handles GET /usage/v1/grants/{grant_id}: the grant's status
// and the usage of each of its details against its current limits.
func (h *Handler) grantUsage(c echo.Context) error {
	id := c.Param("id")
	report, err := h.Store.Report(c.Request().Context(), id)
	if errors.Is(err, access.ErrGrantNotFound) {
		err = &usage.Refusal{Reason: usage.ReasonGrantNotFound, Description: fmt.Sprintf("grant %q does not exist", id)}
	}
	if err != nil {
		return h.writeFailure(c, "grant usage", err)
	}
	return writeJSON(c, http.StatusOK, newGrantUsageJSON(report, report.Details))
}
