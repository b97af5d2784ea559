// Package manage holds the pages where people see and change the AI access
// they granted ("My grants") and where admins see and stop everyone's.
// People sign in to these pages through Hydra, as a first-party OAuth 2.0
// client of this app, so the pages reuse Hydra's login session.
package manage

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	hydra "github.com/ory/hydra-client-go/v2"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/templates"
	"github.com/aiconsent/aiconsent/usage"
	"github.com/aiconsent/aiconsent/web"
)

// DefaultClientID is the OAuth 2.0 client id this app registers in Hydra
// for its own sign-in.
const DefaultClientID = "aiconsent"

// UsageReader reports spend for the pages. Nil means no usage is metered,
// and every grant shows zero spend.
type UsageReader interface {
	usage.Store

	// LastUsed returns when the grant was last used, or the zero time.
	LastUsed(ctx context.Context, grantID string) (time.Time, error)
}

// Revoker is notified when a revocation was queued, so it is delivered to
// Hydra at once rather than at the next poll.
type Revoker interface {
	Kick()
}

// Handler serves /grants and /admin/grants. Every field must be set
// except Usage, Revoker, Now and Log.
type Handler struct {
	Grants   access.LiveGrantStore
	Users    account.Store
	Sessions account.SessionStore
	Catalog  *access.Catalog
	Usage    UsageReader
	Revoker  Revoker

	// Hydra is the client of Hydra's admin API, for client records, token
	// introspection and registering this app's own client.
	Hydra *hydra.APIClient

	// HydraPublicURL is the base URL of Hydra's public API as browsers
	// reach it; HydraTokenURL is the token endpoint as this app reaches
	// it, which differs when Hydra's public name resolves only outside.
	HydraPublicURL *url.URL
	HydraTokenURL  *url.URL

	// PublicURL is this app's base URL as browsers reach it.
	PublicURL *url.URL

	// ClientID is this app's own client in Hydra; empty means
	// DefaultClientID.
	ClientID string

	SecureCookies bool

	// SessionLifetime bounds a "My grants" session; zero means 12 hours.
	SessionLifetime time.Duration

	Now func() time.Time
	Log *slog.Logger

	HTTPClient *http.Client

	clientMu sync.Mutex // guards clientOK
	clientOK bool
}

// Register adds the routes to e.
func (h *Handler) Register(e *echo.Echo) {
	if h.Now == nil {
		h.Now = time.Now
	}
	if h.Log == nil {
		h.Log = slog.Default()
	}
	if h.ClientID == "" {
		h.ClientID = DefaultClientID
	}
	if h.SessionLifetime == 0 {
		h.SessionLifetime = 12 * time.Hour
	}
	if h.HTTPClient == nil {
		h.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}

	e.GET("/grants", h.showGrants)
	e.GET("/grants/callback", h.signInCallback)
	e.POST("/grants/signout", h.signOut)
	e.GET("/grants/signed-out", func(c echo.Context) error {
		return web.Render(c, http.StatusOK, templates.MessagePage(templates.MessageView{
			Title:     "Signed out of My grants",
			Message:   "Your grants are unchanged. You are also signed out of aiconsent in this browser.",
			LinkURL:   "/grants",
			LinkLabel: "Sign in to My grants",
		}))
	})
	e.POST("/grants/:id/edit", h.editGrant)
	e.POST("/grants/:id/pause", h.changeStatus(access.ActionPause))
	e.POST("/grants/:id/resume", h.changeStatus(access.ActionResume))
	e.POST("/grants/:id/revoke", h.changeStatus(access.ActionRevoke))

	e.GET("/admin/grants", h.showAdminGrants)
	e.POST("/admin/grants/:id/pause", h.adminChange(access.ActionPause))
	e.POST("/admin/grants/:id/resume", h.adminChange(access.ActionResume))
	e.POST("/admin/grants/:id/revoke", h.adminChange(access.ActionRevoke))
}
