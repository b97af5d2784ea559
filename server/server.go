// Package server assembles aiconsent from its parts: the SQLite store, the
// client of Hydra's admin API, the catalog and the HTTP routes. The
// aiconsent command reads its configuration and calls New; tests call New
// with a temporary database and a test Hydra.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	hydra "github.com/ory/hydra-client-go/v2"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/consent"
	"github.com/aiconsent/aiconsent/manage"
	"github.com/aiconsent/aiconsent/revocation"
	"github.com/aiconsent/aiconsent/sqlite"
	"github.com/aiconsent/aiconsent/tokenhook"
	"github.com/aiconsent/aiconsent/usage"
	"github.com/aiconsent/aiconsent/usageapi"
	"github.com/aiconsent/aiconsent/web"
)

// Config is the validated configuration of one aiconsent process.
type Config struct {
	// HydraAdminURL is the base URL of Hydra's admin API, such as
	// http://127.0.0.1:4445.
	HydraAdminURL *url.URL

	// DatabasePath is the SQLite database file; it is created if missing.
	DatabasePath string

	// Catalog lists the providers and models that may be granted, with the
	// admin's policy. Nil means access.DefaultCatalog().
	Catalog *access.Catalog

	// HydraPublicURL is the base URL of Hydra's public API as browsers
	// reach it, such as http://127.0.0.1:4444. The "My grants" sign-in
	// sends browsers there.
	HydraPublicURL *url.URL

	// HydraTokenURL is Hydra's token endpoint as this app reaches it. Nil
	// means HydraPublicURL + /oauth2/token; set it when browsers and this
	// app reach Hydra under different names, as in docker compose.
	HydraTokenURL *url.URL

	// PublicURL is this app's base URL as browsers reach it, such as
	// http://127.0.0.1:3000.
	PublicURL *url.URL

	// HookAPIKey is the secret Hydra sends to the token hook in the
	// X-Hook-Key header. Empty disables the hook endpoint.
	HookAPIKey string

	// ResourceServers may call the usage API. None disables the API.
	ResourceServers []usageapi.ResourceServer

	// HoldTTL is how long a usage reservation holds its amount before it
	// is released; zero means usage.DefaultHoldTTL.
	HoldTTL time.Duration

	// Calendar sets where daily and monthly spend periods start; the zero
	// value is UTC.
	Calendar usage.Calendar

	// SecureCookies marks cookies Secure; set it when served over HTTPS.
	SecureCookies bool

	// TrustProxy takes the client address from X-Forwarded-For, for
	// deployments behind a reverse proxy that sets it. Without a proxy it
	// must stay off, or anyone could choose the address that failed
	// sign-ins are counted against.
	TrustProxy bool

	Logger *slog.Logger

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is a running aiconsent: an http.Handler and the resources it
// holds.
type Server struct {
	db      *sqlite.DB
	handler http.Handler
	revoker *revocation.Worker
	stop    context.CancelFunc
	done    chan struct{}
}

// New opens the database, applies its migrations and builds the routes.
// Callers must call Close.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.HydraAdminURL == nil || cfg.HydraPublicURL == nil || cfg.PublicURL == nil {
		return nil, errors.New("server: the Hydra admin URL, the Hydra public URL and the public URL are required")
	}
	if cfg.HydraTokenURL == nil {
		cfg.HydraTokenURL = cfg.HydraPublicURL.JoinPath("/oauth2/token")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Catalog == nil {
		cfg.Catalog = access.DefaultCatalog()
	}

	db, err := sqlite.Open(ctx, cfg.DatabasePath)
	if err != nil {
		return nil, err
	}

	admin := NewHydraClient(cfg.HydraAdminURL)
	revoker := revocation.NewWorker(db, admin, cfg.Logger)
	revoker.Now = cfg.Now

	e := web.New(web.Options{
		Logger:        cfg.Logger,
		SecureCookies: cfg.SecureCookies,
		TrustProxy:    cfg.TrustProxy,
		APIPrefixes:   []string{"/hooks/", usageapi.PathPrefix},
	})
	flow := &consent.Handler{
		Hydra:    admin,
		Catalog:  cfg.Catalog,
		Grants:   db,
		Users:    db,
		Throttle: account.NewThrottle(cfg.Now),
		Sessions: db,
		Now:      cfg.Now,
		Log:      cfg.Logger,
	}
	flow.Register(e)

	meter := db.UsageStore(cfg.Calendar)
	if cfg.HoldTTL == 0 {
		cfg.HoldTTL = usage.DefaultHoldTTL
	}

	pages := &manage.Handler{
		Usage:          meter,
		Grants:         db,
		Users:          db,
		Sessions:       db,
		Catalog:        cfg.Catalog,
		Revoker:        revoker,
		Hydra:          admin,
		HydraPublicURL: cfg.HydraPublicURL,
		HydraTokenURL:  cfg.HydraTokenURL,
		PublicURL:      cfg.PublicURL,
		SecureCookies:  cfg.SecureCookies,
		Now:            cfg.Now,
		Log:            cfg.Logger,
	}
	pages.Register(e)

	if cfg.HookAPIKey != "" {
		hook := &tokenhook.Handler{Store: db, APIKey: cfg.HookAPIKey, Now: cfg.Now, Log: cfg.Logger}
		e.POST(HookPath, echo.WrapHandler(hook))
	}

	if len(cfg.ResourceServers) > 0 {
		api := &usageapi.Handler{
			Store:                meter,
			Catalog:              cfg.Catalog,
			ResourceServers:      cfg.ResourceServers,
			HydraAdminURL:        cfg.HydraAdminURL,
			PublicURL:            cfg.PublicURL,
			AuthorizationServers: []string{strings.TrimRight(cfg.HydraPublicURL.String(), "/")},
			HoldTTL:              cfg.HoldTTL,
			Now:                  cfg.Now,
			Log:                  cfg.Logger,
		}
		api.Register(e)
	}
	expirer := &usage.Expirer{Store: meter, TTL: cfg.HoldTTL, Now: cfg.Now, Log: cfg.Logger}

	ctx, stop := context.WithCancel(context.Background())
	s := &Server{db: db, handler: e, revoker: revoker, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		var wg sync.WaitGroup
		wg.Go(func() { revoker.Run(ctx) })
		wg.Go(func() { expirer.Run(ctx) })
		wg.Wait()
	}()
	return s, nil
}

// HookPath is the path of Hydra's token hook.
const HookPath = "/hooks/token"

// Handler returns the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.handler }

// DB returns the store, for admin commands and tests.
func (s *Server) DB() *sqlite.DB { return s.db }

// Close stops the background work and closes the database.
func (s *Server) Close() error {
	s.stop()
	<-s.done
	return s.db.Close()
}

// NewHydraClient returns a client of Hydra's admin API at adminURL with a
// timeout, so a hung Hydra cannot hold a request forever.
func NewHydraClient(adminURL *url.URL) *hydra.APIClient {
	cfg := hydra.NewConfiguration()
	cfg.Servers = hydra.ServerConfigurations{{URL: adminURL.String()}}
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	cfg.UserAgent = "aiconsent"
	return hydra.NewAPIClient(cfg)
}
