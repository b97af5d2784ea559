package usageapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/usage"
)

// errorBody is the JSON body of every error response. Error is a stable
// reason; the other members are for people reading logs.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`

	// Field names the rejected field of an invalid_request.
	Field string `json:"field,omitempty"`

	// Cap names the exhausted cap of budget_exhausted: daily, monthly or
	// total.
	Cap usage.Period `json:"cap,omitempty"`

	// Limit names the exhausted limit of rate_limited, such as
	// requests_per_minute.
	Limit usage.RateLimit `json:"limit,omitempty"`

	// ResetsAt is when the exhausted period or window ends, in RFC 3339.
	ResetsAt string `json:"resets_at,omitempty"`
}

// statusOf returns the HTTP status of a refusal reason:
//
//	invalid_request                  400
//	budget_exhausted                 402
//	not_granted                      403
//	grant_paused, grant_revoked      403
//	grant_expired                    403
//	grant_not_found                  404
//	reservation_not_found            404
//	already_settled                  409
//	rate_limited                     429 with Retry-After
//
// Failed authentication is 401 (invalid_client for the resource-server key,
// invalid_token for an access token that Hydra reports inactive), and a
// failure of the store or of Hydra is 500 (server_error) or 503
// (temporarily_unavailable).
func statusOf(r usage.Reason) int {
	switch r {
	case usage.ReasonInvalidRequest:
		return http.StatusBadRequest
	case usage.ReasonBudgetExhausted:
		return http.StatusPaymentRequired
	case usage.ReasonNotGranted, usage.ReasonGrantPaused, usage.ReasonGrantRevoked, usage.ReasonGrantExpired:
		return http.StatusForbidden
	case usage.ReasonGrantNotFound, usage.ReasonReservationNotFound:
		return http.StatusNotFound
	case usage.ReasonAlreadySettled:
		return http.StatusConflict
	case usage.ReasonRateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// writeFailure responds with a refusal's reason and status, or logs any
// other error and responds 500 without its text.
func (h *Handler) writeFailure(c echo.Context, op string, err error) error {
	var r *usage.Refusal
	if !errors.As(err, &r) {
		h.Log.Error("usage API request failed",
			slog.String("request_id", requestID(c)),
			slog.String("operation", op),
			slog.String("resource_server", callerName(c)),
			slog.Any("error", err))
		return writeError(c, http.StatusInternalServerError, errorBody{
			Error:       "server_error",
			Description: "the request failed on the server and changed nothing; try again, and report the X-Request-Id if it keeps failing",
		})
	}

	h.Log.Info("usage API request rejected",
		slog.String("request_id", requestID(c)),
		slog.String("operation", op),
		slog.String("resource_server", callerName(c)),
		slog.String("reason", string(r.Reason)))

	body := errorBody{Error: string(r.Reason), Description: r.Description, Field: r.Field, Cap: r.Cap, Limit: r.Limit}
	if !r.ResetsAt.IsZero() {
		body.ResetsAt = r.ResetsAt.UTC().Format(time.RFC3339)
	}
	if r.Reason == usage.ReasonRateLimited {
		c.Response().Header().Set("Retry-After", strconv.FormatInt(int64(r.RetryAfter/time.Second), 10))
	}
	return writeError(c, statusOf(r.Reason), body)
}

// unavailable responds 503 when Hydra could not be reached, and logs err.
func (h *Handler) unavailable(c echo.Context, err error) error {
	h.Log.Error("hydra introspection failed",
		slog.String("request_id", requestID(c)),
		slog.String("resource_server", callerName(c)),
		slog.Any("error", err))
	return writeError(c, http.StatusServiceUnavailable, errorBody{
		Error:       "temporarily_unavailable",
		Description: "the authorization server could not be asked about the token; try again shortly",
	})
}

func writeError(c echo.Context, status int, body errorBody) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, body)
}

func writeJSON(c echo.Context, status int, body any) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, body)
}
