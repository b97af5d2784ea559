package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/aiconsent/aiconsent/server"
)

// serve runs the HTTP server until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, cfg serveConfig) error {
	log := cfg.server.Logger

	srv, err := server.New(ctx, cfg.server)
	if err != nil {
		return fmt.Errorf("%w; set AICONSENT_DATABASE to a file in a writable directory, for example AICONSENT_DATABASE=/var/lib/aiconsent/aiconsent.db", err)
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on AICONSENT_ADDR=%q: %w", cfg.addr, err)
	}

	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if cfg.server.HookAPIKey == "" {
		log.Warn("AICONSENT_HOOK_API_KEY is not set: the token hook is off, so edits, pauses and revocations reach tokens only through Hydra's own revocation")
	}
	if len(cfg.server.ResourceServers) == 0 {
		log.Warn("AICONSENT_RESOURCE_SERVERS is not set: the usage API is off, so no resource server can check or meter spend")
	}
	log.Info("aiconsent started",
		slog.String("addr", ln.Addr().String()),
		slog.String("hydra_admin_url", cfg.server.HydraAdminURL.String()),
		slog.String("database", cfg.server.DatabasePath))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	log.Info("aiconsent stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
