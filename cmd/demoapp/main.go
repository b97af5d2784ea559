// Command demoapp is the "Example App" of the demo, a third-party web app.
// It requests access to a person's AI models through Hydra and aiconsent
// with RFC 9396 authorization_details. Then it shows the tokens it received
// and Hydra's introspection of the access token.
//
// Configuration comes from environment variables:
//
//	DEMOAPP_ADDR                   listen address (127.0.0.1:5555)
//	DEMOAPP_URL                    the app's own base URL as the browser sees it (http://127.0.0.1:5555)
//	DEMOAPP_HYDRA_PUBLIC_URL       Hydra's public URL as the browser sees it (http://127.0.0.1:4444)
//	DEMOAPP_HYDRA_BACKCHANNEL_URL  Hydra's public URL for the token exchange (DEMOAPP_HYDRA_PUBLIC_URL)
//	DEMOAPP_HYDRA_ADMIN_URL        Hydra's admin URL for introspection (http://127.0.0.1:4445)
//	DEMOAPP_CLIENT_ID              OAuth2 client id (example-app)
//	DEMOAPP_CLIENT_SECRET          OAuth2 client secret (required)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// shutdownTimeout bounds how long in-flight requests may finish after
// SIGINT or SIGTERM.
const shutdownTimeout = 5 * time.Second

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	cfg, err := readConfig(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demoapp:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("demoapp stopped", slog.Any("error", err))
		os.Exit(1)
	}
}

// serve listens on cfg.addr until ctx is done, then shuts down.
func serve(ctx context.Context, cfg config, logger *slog.Logger) error {
	listener, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on DEMOAPP_ADDR=%q: %w", cfg.addr, err)
	}

	srv := &http.Server{
		Handler:           newApp(cfg, logger).routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(listener) }()
	logger.Info("demoapp listening", slog.String("addr", listener.Addr().String()), slog.String("url", cfg.selfURL.String()))

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	logger.Info("demoapp stopped")
	return nil
}

// config is the validated configuration. The package comment lists the
// variables it comes from.
type config struct {
	addr           string
	selfURL        *url.URL
	publicURL      *url.URL
	backchannelURL *url.URL
	adminURL       *url.URL
	clientID       string
	clientSecret   string
}

func readConfig(getenv func(string) string) (config, error) {
	cfg := config{
		addr:         valueOr(getenv("DEMOAPP_ADDR"), "127.0.0.1:5555"),
		clientID:     valueOr(getenv("DEMOAPP_CLIENT_ID"), "example-app"),
		clientSecret: getenv("DEMOAPP_CLIENT_SECRET"),
	}
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		return cfg, fmt.Errorf("DEMOAPP_ADDR=%q is not a host:port listen address: use a value such as 127.0.0.1:5555", cfg.addr)
	}
	if cfg.clientSecret == "" {
		return cfg, errors.New("DEMOAPP_CLIENT_SECRET is not set: set it to the client secret registered in Hydra (make demo does this)")
	}

	publicURL := valueOr(getenv("DEMOAPP_HYDRA_PUBLIC_URL"), "http://127.0.0.1:4444")
	urls := []struct {
		name, fallback string
		dst            **url.URL
	}{
		{"DEMOAPP_URL", "http://127.0.0.1:5555", &cfg.selfURL},
		{"DEMOAPP_HYDRA_PUBLIC_URL", publicURL, &cfg.publicURL},
		{"DEMOAPP_HYDRA_BACKCHANNEL_URL", publicURL, &cfg.backchannelURL},
		{"DEMOAPP_HYDRA_ADMIN_URL", "http://127.0.0.1:4445", &cfg.adminURL},
	}
	for _, u := range urls {
		parsed, err := parseBaseURL(u.name, valueOr(getenv(u.name), u.fallback))
		if err != nil {
			return cfg, err
		}
		*u.dst = parsed
	}
	return cfg, nil
}

// parseBaseURL parses an absolute http or https URL without query or
// fragment, and drops a trailing slash so paths can be appended.
func parseBaseURL(name, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s=%q is not an absolute http or https URL without query: use a value such as http://127.0.0.1:4444", name, raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

func valueOr(value, fallback string) string {
	if value != "" {
		return value
	}
	return fallback
}
