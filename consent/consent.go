// Package consent holds the login, consent and logout flow that Ory Hydra
// delegates to this app: it reads Hydra's login, consent and logout
// requests, shows the pages, and accepts or rejects each request through
// Hydra's admin API. Hydra's vocabulary (challenge, skip, remember,
// redirect_to, subject) is used as Hydra uses it.
package consent

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
	hydra "github.com/ory/hydra-client-go/v2"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
)

// Handler serves /login, /consent and /logout. Every field must be set
// except Now and Log, which default to time.Now and slog.Default().
type Handler struct {
	// Hydra is the client of Hydra's admin API.
	Hydra *hydra.APIClient

	Catalog  *access.Catalog
	Grants   access.GrantStore
	Users    account.Store
	Throttle *account.Throttle

	// Sessions, when set, are this app's own page sessions, such as "My
	// grants", which end with an accepted logout too.
	Sessions account.SessionStore

	// LoginRememberFor is how long Hydra remembers a sign-in when the
	// person ticks "keep me signed in".
	LoginRememberFor time.Duration

	Now func() time.Time
	Log *slog.Logger
}

// Register adds the flow's routes to e.
func (h *Handler) Register(e *echo.Echo) {
	if h.Now == nil {
		h.Now = time.Now
	}
	if h.Log == nil {
		h.Log = slog.Default()
	}
	if h.LoginRememberFor == 0 {
		h.LoginRememberFor = 30 * 24 * time.Hour
	}

	e.GET("/login", h.showLogin)
	e.POST("/login", h.submitLogin)
	e.GET("/consent", h.showConsent)
	e.POST("/consent", h.submitConsent)
	e.GET("/logout", h.showLogout)
	e.POST("/logout", h.submitLogout)
}
