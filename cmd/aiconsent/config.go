package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/server"
)

// serveConfig is the configuration of aiconsent serve, read from the
// environment and validated before anything starts.
type serveConfig struct {
	addr   string
	server server.Config
}

func readServeConfig(getenv func(string) string, logOut io.Writer) (serveConfig, error) {
	var cfg serveConfig

	raw := getenv("HYDRA_ADMIN_URL")
	if raw == "" {
		return cfg, fmt.Errorf("HYDRA_ADMIN_URL is not set: set it to the base URL of Hydra's admin API, for example HYDRA_ADMIN_URL=http://127.0.0.1:4445")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return cfg, fmt.Errorf("HYDRA_ADMIN_URL=%q is not an absolute http or https URL: use a value such as http://127.0.0.1:4445", raw)
	}
	cfg.server.HydraAdminURL = u

	cfg.addr = getenvDefault(getenv, "AICONSENT_ADDR", "127.0.0.1:3000")
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		return cfg, fmt.Errorf("AICONSENT_ADDR=%q is not a host:port listen address: use a value such as 127.0.0.1:3000", cfg.addr)
	}

	cfg.server.DatabasePath = getenvDefault(getenv, "AICONSENT_DATABASE", "aiconsent.db")

	cat, err := access.LoadCatalog(getenv("AICONSENT_CATALOG"))
	if err != nil {
		return cfg, fmt.Errorf("AICONSENT_CATALOG=%q: %w", getenv("AICONSENT_CATALOG"), err)
	}
	cfg.server.Catalog = cat

	for _, b := range []struct {
		name string
		dst  *bool
	}{{"AICONSENT_SECURE_COOKIES", &cfg.server.SecureCookies}, {"AICONSENT_TRUST_PROXY", &cfg.server.TrustProxy}} {
		if v := getenv(b.name); v != "" {
			*b.dst, err = strconv.ParseBool(v)
			if err != nil {
				return cfg, fmt.Errorf("%s=%q is not a boolean: use true or false", b.name, v)
			}
		}
	}

	level := new(slog.LevelVar)
	if v := getenv("AICONSENT_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return cfg, fmt.Errorf("AICONSENT_LOG_LEVEL=%q is not a log level: use debug, info, warn or error", v)
		}
	}
	cfg.server.Logger = slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	return cfg, nil
}

func getenvDefault(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
