// Package server assembles aiconsent from its parts: the SQLite store, the
// client of Hydra's admin API, the catalog and the HTTP routes. The
// aiconsent command reads its configuration and calls New; tests call New
// with a temporary database and a test Hydra.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	hydra "github.com/ory/hydra-client-go/v2"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/consent"
	"github.com/aiconsent/aiconsent/sqlite"
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
}

// New opens the database, applies its migrations and builds the routes.
// Callers must call Close.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.HydraAdminURL == nil {
		return nil, errors.New("server: missing Hydra admin URL")
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
		return nil, fmt.Errorf("open database %q: %w", cfg.DatabasePath, err)
	}

	e := web.New(web.Options{Logger: cfg.Logger, SecureCookies: cfg.SecureCookies, TrustProxy: cfg.TrustProxy})
	flow := &consent.Handler{
		Hydra:    NewHydraClient(cfg.HydraAdminURL),
		Catalog:  cfg.Catalog,
		Grants:   db,
		Users:    db,
		Throttle: account.NewThrottle(cfg.Now),
		Now:      cfg.Now,
		Log:      cfg.Logger,
	}
	flow.Register(e)

	return &Server{db: db, handler: e}, nil
}

// Handler returns the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.handler }

// DB returns the store, for admin commands and tests.
func (s *Server) DB() *sqlite.DB { return s.db }

// Close closes the database.
func (s *Server) Close() error { return s.db.Close() }

// NewHydraClient returns a client of Hydra's admin API at adminURL with a
// timeout, so a hung Hydra cannot hold a request forever.
func NewHydraClient(adminURL *url.URL) *hydra.APIClient {
	cfg := hydra.NewConfiguration()
	cfg.Servers = hydra.ServerConfigurations{{URL: adminURL.String()}}
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	cfg.UserAgent = "aiconsent"
	return hydra.NewAPIClient(cfg)
}
