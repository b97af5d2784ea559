package usageapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// realm is the realm of the WWW-Authenticate challenges.
const realm = "aiconsent usage API"

// resourceServerKey is the echo context key of the authenticated
// resource server's name.
const resourceServerKey = "usageapi.resource_server"

// authenticate lets a request through only with the key of a configured
// resource server, sent as a Bearer token or as the password of HTTP Basic
// authentication with the server's name as the user.
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		name, ok := h.resourceServer(c.Request())
		if !ok {
			h.Log.Info("usage API authentication failed",
				slog.String("request_id", requestID(c)),
				slog.String("path", c.Request().URL.Path),
				slog.String("remote_ip", c.RealIP()))
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="`+realm+`", Basic realm="`+realm+`"`)
			return writeError(c, http.StatusUnauthorized, errorBody{
				Error:       "invalid_client",
				Description: "a resource-server key is missing or wrong; send the key as Authorization: Bearer <key>, or with HTTP Basic as <name>:<key>",
			})
		}

		c.Set(resourceServerKey, name)
		return next(c)
	}
}

// resourceServer returns the name of the resource server whose key the
// request carries. Every configured key is compared, each in constant
// time, so the time taken does not reveal which key came close.
func (h *Handler) resourceServer(r *http.Request) (string, bool) {
	user, key, basic := r.BasicAuth()
	if !basic {
		scheme, token, found := strings.Cut(r.Header.Get(echo.HeaderAuthorization), " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		key = strings.TrimSpace(token)
	}
	if key == "" {
		return "", false
	}

	digest := sha256.Sum256([]byte(key))
	match := ""
	for _, k := range h.keys {
		same := subtle.ConstantTimeCompare(digest[:], k.digest[:]) == 1
		if same && (!basic || user == k.name) {
			match = k.name
		}
	}
	return match, match != ""
}

// callerName returns the name of the authenticated resource server.
func callerName(c echo.Context) string {
	name, _ := c.Get(resourceServerKey).(string)
	return name
}

// requestID returns the id that the shared web middleware gave the
// request, or "" without it.
func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}
